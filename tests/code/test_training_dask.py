"""The final LightGBM refit on a Dask cluster: same model quality as locally, weights used, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from riskmodel.errors import RiskmodelError
from riskmodel.training.distributed import DistributedTrainingError, _to_cluster, fit_pipeline_dask
from riskmodel.training.model import fit_pipeline, lgbm_params, make_pipeline

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

TREES = 30
SECTOR = ["f0", "f3"]
CATEGORICAL = ["sic_division"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Six float features with a noisy, partly non-linear signal, and a sector with its own base rate."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 6))
    sector = rng.choice([10.0, 47.0, 56.0, 68.0, 70.0], size=n)
    logit = (1.2 * f[:, 0] + 0.8 * f[:, 1] - 0.65 * f[:, 2] + 0.65 * f[:, 3] * f[:, 4] + 0.5 * np.sin(2 * f[:, 5])
             + 0.8 * (sector == 47.0) - 1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(f, columns=[f"f{i}" for i in range(6)],
                     index=pd.Index([f"B{seed}-{i}" for i in range(n)], name="company_number"))
    X["sic_division"] = sector
    return X, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    X, y = _frame(4000, seed=1)
    X_test, y_test = _frame(2000, seed=2)
    return X, y, X_test, y_test


def _pipeline(sector: list[str] | None = None) -> Pipeline:
    params, _ = lgbm_params({"n_estimators": TREES}, seed=0)
    return make_pipeline(params, sector_relative=SECTOR if sector is None else sector)


def test_dask_fit_matches_a_local_fit(client: Any, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame,
                                                                 np.ndarray]) -> None:
    X, y, X_test, y_test = data
    unfitted = _pipeline()
    params = unfitted[-1].get_params()
    pipe = fit_pipeline_dask(client, unfitted, X, y, np.ones(len(y)), categorical=CATEGORICAL)
    assert pipe is unfitted
    assert [name for name, _ in pipe.steps] == ["peers", "model"]
    peers = pipe.named_steps["peers"]
    assert peers.columns_ == SECTOR and set(peers.group_sizes_.index) == {10.0, 47.0, 56.0, 68.0, 70.0}
    model = pipe[-1]
    assert type(model) is lgb.LGBMClassifier
    assert model.booster_.num_trees() == TREES
    assert model.get_params() == params  # cluster settings (threads, tree learner, time-out) are gone
    assert model.booster_.feature_name() == [*X.columns, "f0_to_sector_median", "f0_sector_percentile",
                                             "f3_to_sector_median", "f3_sector_percentile"]
    assert model.booster_.dump_model()["feature_infos"]["sic_division"]["values"]  # categorical, as declared
    local = fit_pipeline(_pipeline(), X, y, np.ones(len(y)), categorical=CATEGORICAL)
    auc_dask = roc_auc_score(y_test, pipe.predict_proba(X_test)[:, 1])
    auc_local = roc_auc_score(y_test, local.predict_proba(X_test)[:, 1])
    assert auc_dask > 0.75
    assert abs(auc_dask - auc_local) < 0.03
    # Fitted on the cluster, not a local fit in disguise: data-parallel bins come from one worker's rows each.
    assert not np.array_equal(pipe.predict_proba(X_test), local.predict_proba(X_test))


def test_model_string_round_trips(client: Any, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame,
                                                             np.ndarray]) -> None:
    X, y, X_test, _ = data
    pipe = fit_pipeline_dask(client, _pipeline([]), X, y, categorical=CATEGORICAL)
    booster = pipe[-1].booster_
    text = booster.model_to_string()
    # Parameters section as in a local fit: no worker addresses or ports, one machine.
    assert "[num_machines: 1]" in text and "[machines: ]" in text and "[local_listen_port: 12400]" in text
    assert "[tree_learner: serial]" in text and "[num_threads: 2]" in text and "127.0.0.1" not in text
    reloaded = lgb.Booster(model_str=text)
    assert reloaded.params["num_machines"] == 1
    assert reloaded.num_trees() == TREES
    np.testing.assert_array_equal(reloaded.predict(X_test), pipe.predict_proba(X_test)[:, 1])


def test_sample_weights_are_used(client: Any, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame,
                                                            np.ndarray]) -> None:
    X, y, X_test, _ = data
    positives = np.flatnonzero(y == 1)
    weight = np.ones(len(y))
    weight[positives[::2]] = 0.0
    plain = fit_pipeline_dask(client, _pipeline([]), X, y, np.ones(len(y)), categorical=CATEGORICAL)
    weighted = fit_pipeline_dask(client, _pipeline([]), X, y, weight, categorical=CATEGORICAL)
    p_plain, p_weighted = plain.predict_proba(X_test)[:, 1], weighted.predict_proba(X_test)[:, 1]
    assert not np.array_equal(p_plain, p_weighted)
    assert p_weighted.mean() < p_plain.mean()  # half the positives count for nothing


def test_pieces_align_and_sit_on_their_workers(client: Any) -> None:
    X, y = _frame(11, seed=3)
    bounds = np.array([0, 4, 8, 11])
    workers = sorted(client.scheduler_info()["workers"])
    (dX, dy, dw), pieces = _to_cluster(client, X, y, np.arange(11.0), bounds, workers)
    assert dX.npartitions == dy.npartitions == dw.npartitions == 3
    assert dX.divisions == dy.divisions == dw.divisions == (0, 4, 8, 10)
    lengths = [c.map_partitions(len).compute().tolist() for c in (dX, dy, dw)]
    assert lengths == [[4, 4, 3]] * 3
    np.testing.assert_array_equal(dy.compute().to_numpy(), y)
    np.testing.assert_array_equal(dw.compute().to_numpy(), np.arange(11.0))
    pd.testing.assert_frame_equal(dX.compute(), X.reset_index(drop=True))
    # Piece i of X, y and weight sits on worker i % 2 only (strict restriction: not moved by work stealing).
    for i, parts in enumerate(zip(*pieces, strict=True)):
        held = client.who_has([f for part in parts for f in distributed.futures_of(part)])
        assert [set(w) for w in held.values()] == [{workers[i % 2]}] * 3


def test_fewer_rows_than_partitions(client: Any) -> None:
    X, y = _frame(3, seed=4)
    y = np.array([0, 1, 0])
    with pytest.raises(DistributedTrainingError, match="cannot be split into 4 partitions") as caught:
        fit_pipeline_dask(client, _pipeline([]), X, y, partitions=4)
    assert isinstance(caught.value, RiskmodelError)
    evidence = caught.value.evidence
    assert evidence["rows"] == 3 and evidence["partitions"] == 4
    assert sorted(evidence["workers"]) == sorted(client.scheduler_info()["workers"])


def test_default_partitions_are_one_per_worker(client: Any) -> None:
    X, _ = _frame(1, seed=5)
    with pytest.raises(DistributedTrainingError) as caught:
        fit_pipeline_dask(client, _pipeline([]), X, np.array([1]))
    assert caught.value.evidence["partitions"] == 2 and caught.value.evidence["rows"] == 1


@pytest.mark.parametrize("label", [0, 1])
def test_a_single_class_is_refused(client: Any, label: int) -> None:
    X, _ = _frame(100, seed=6)
    with pytest.raises(DistributedTrainingError, match="single class") as caught:
        fit_pipeline_dask(client, _pipeline([]), X, np.full(100, label))
    evidence = caught.value.evidence
    assert evidence["positives"] == 100 * label and evidence["negatives"] == 100 * (1 - label)
    assert evidence["rows"] == 100 and len(evidence["workers"]) == 2


def test_a_partition_without_both_classes_is_refused(client: Any) -> None:
    # lightgbm.dask label-encodes each worker's rows alone: a piece of positives only would become negatives.
    X, _ = _frame(100, seed=7)
    y = np.r_[np.ones(50, dtype=int), np.zeros(20, dtype=int), np.ones(30, dtype=int)]
    with pytest.raises(DistributedTrainingError, match=r"partition\(s\) \[0\] of 2 lack a class") as caught:
        fit_pipeline_dask(client, _pipeline([]), X, y)
    assert caught.value.evidence["partition_rows"] == [50, 50]
    assert caught.value.evidence["partition_positives"] == [50, 30]
    assert caught.value.evidence["positives"] == 80 and caught.value.evidence["negatives"] == 20


def test_cluster_failures_are_wrapped(client: Any, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame,
                                                                 np.ndarray]) -> None:
    # A fixed listen port with two workers on one host is refused by lightgbm.dask before any socket opens.
    X, y, _, _ = data
    params, _ = lgbm_params({"n_estimators": 2, "local_listen_port": 12400}, seed=0)
    with pytest.raises(DistributedTrainingError, match="LightGBMError") as caught:
        fit_pipeline_dask(client, make_pipeline(params), X, y)
    assert "local_listen_port" in caught.value.evidence["cause"]
    assert caught.value.evidence["rows"] == len(X) and len(caught.value.evidence["workers"]) == 2
    assert type(caught.value.__cause__).__name__ == "LightGBMError"


def test_bad_arguments(client: Any) -> None:
    X, y = _frame(10, seed=8)
    with pytest.raises(ValueError, match="one value per row"):
        fit_pipeline_dask(client, _pipeline([]), X, y[:5])
    with pytest.raises(ValueError, match="at least 1"):
        fit_pipeline_dask(client, _pipeline([]), X, y, partitions=0)


def _held(client: Any, X: pd.DataFrame, chunk: int) -> Any:
    """``X`` as a ClusterFrame: one scattered frame per chunk of ``chunk`` rows."""
    from riskmodel.distributed import ClusterFrame

    parts = client.scatter([X.iloc[i:i + chunk] for i in range(0, len(X), chunk)], hash=False)
    return ClusterFrame(index=X.index, parts=list(parts), columns=list(X.columns), chunk_size=chunk)


def test_cluster_rows_number_gather_and_apply_exactly(client: Any) -> None:
    from riskmodel.training.cluster import ClusterRows

    X, _ = _frame(10, seed=9)
    Z, _ = _frame(5, seed=10)
    rows = ClusterRows(client)
    rows.add(_held(client, X, 4), np.array([1, 0, 1, 1, 0, 1, 0, 0, 0, 1], dtype=bool))  # rows 0-4
    rows.add(_held(client, Z, 2), np.array([0, 1, 1, 0, 1], dtype=bool))  # rows 5-7
    assert len(rows) == 8
    assert rows.source.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert rows.part.tolist() == [0, 0, 0, 1, 2, 0, 1, 2]
    assert rows.position.tolist() == [0, 2, 3, 1, 1, 1, 0, 0]
    assert [(p.tolist(), r.tolist()) for _, p, r in rows.runs(np.array([0, 1, 3, 5, 6, 7, 2]))] == [
        ([0, 2], [0, 1]), ([1], [2]), ([1], [3]), ([0], [4]), ([0], [5]), ([3], [6])]
    # Any order, repeats kept: the order asked for.
    got = rows.gather(np.array([7, 0, 3, 0]))
    assert list(got.index) == [Z.index[4], X.index[0], X.index[5], X.index[0]]
    pd.testing.assert_frame_equal(got, pd.concat([Z.iloc[[4]], X.iloc[[0, 5, 0]]]))

    def f0_plus(part: pd.DataFrame, positions: np.ndarray, per_row: np.ndarray, shift: float) -> np.ndarray:
        return part["f0"].to_numpy()[positions] + per_row + shift

    every = np.arange(8)
    expected = np.r_[X["f0"].to_numpy()[[0, 2, 3, 5, 9]], Z["f0"].to_numpy()[[1, 2, 4]]] + every + 0.5
    np.testing.assert_array_equal(rows.apply(every, f0_plus, every.astype(float), 0.5), expected)


def test_rows_on_the_cluster_fit_like_rows_sent_from_the_client(
        client: Any, data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]) -> None:
    from riskmodel.training.distributed import RowPiece, fit_rows_dask

    X, y, X_test, y_test = data
    frame = _held(client, X, 1500)
    bounds = [(a, min(a + 1500, len(X))) for a in range(0, len(X), 1500)]
    pieces = [RowPiece(part, np.arange(b - a), y[a:b], np.ones(b - a))
              for part, (a, b) in zip(frame.parts, bounds, strict=True)]
    unfitted = _pipeline()
    unfitted[:-1].fit(X)  # sector statistics fitted by the caller; the rows are transformed on the workers
    pipe = fit_rows_dask(client, unfitted, pieces, categorical=CATEGORICAL)
    model = pipe[-1]
    assert model.booster_.num_trees() == TREES and "127.0.0.1" not in model.booster_.model_to_string()
    assert model.booster_.feature_name()[-1] == "f3_sector_percentile"
    local = fit_pipeline(_pipeline(), X, y, np.ones(len(y)), categorical=CATEGORICAL)
    auc = roc_auc_score(y_test, pipe.predict_proba(X_test)[:, 1])
    assert auc > 0.75 and abs(auc - roc_auc_score(y_test, local.predict_proba(X_test)[:, 1])) < 0.03
    # Repeated rows count: the positives entered twice shift the scores up.
    positives = np.flatnonzero(y[:1500] == 1)
    twice = [RowPiece(frame.parts[0], np.r_[np.arange(1500), positives], np.r_[y[:1500], np.ones(len(positives))],
                      np.ones(1500 + len(positives))), *pieces[1:]]
    doubled = fit_rows_dask(client, _pipeline([]), twice, categorical=CATEGORICAL)
    plain = fit_rows_dask(client, _pipeline([]), pieces, categorical=CATEGORICAL)
    assert doubled.predict_proba(X_test)[:, 1].mean() > plain.predict_proba(X_test)[:, 1].mean()


def test_rows_on_the_cluster_one_piece_is_halved_and_a_worker_without_a_class_refused(client: Any) -> None:
    from riskmodel.training.distributed import RowPiece, _split_pieces, fit_rows_dask

    X, _ = _frame(100, seed=11)
    frame = _held(client, X, 100)
    one = RowPiece(frame.parts[0], np.arange(100), np.r_[np.zeros(50), np.ones(50)].astype(np.int8), np.ones(100))
    assert [p.positions.tolist() for p in _split_pieces([one], 2)] == [list(range(50)), list(range(50, 100))]
    # Halved, worker 0 would hold only negatives and worker 1 only positives.
    with pytest.raises(DistributedTrainingError, match=r"lack a class") as caught:
        fit_rows_dask(client, _pipeline([]), [one])
    assert caught.value.evidence["worker_positives"] == [0, 50]
    assert caught.value.evidence["worker_rows"] == [50, 50] and caught.value.evidence["partitions"] == 2


def test_the_client_sample_takes_whole_groups_up_to_the_limit() -> None:
    from riskmodel.training.cluster import _capped

    groups = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    every = np.ones(10, dtype=bool)
    assert _capped(groups, every, 10, seed=0) is every  # it fits: unchanged
    for seed in range(20):
        got = _capped(groups, every, 5, seed)
        assert got.sum() <= 5 and got.any()
        kept = set(groups[got])
        assert all(set(np.flatnonzero(got)) >= set(np.flatnonzero(groups == k)) for k in kept), "whole groups"
        assert not got[~every].any()
    # Only rows of the mask; a group larger than the limit is kept whole rather than cut.
    mask = groups == 3
    np.testing.assert_array_equal(_capped(groups, mask, 2, seed=0), mask)


def _slow_piece(i: int) -> pd.DataFrame:
    import time

    time.sleep(0.3)
    return pd.DataFrame({"x": [i]})


def test_persisted_returns_only_once_the_collection_is_held(client: Any) -> None:
    # The client must not build the next collection while this process's scheduler still builds the last one's
    # graph (a cached_property deadlock before Python 3.12, see riskmodel.engine.persisted).
    import dask.dataframe as dd

    from riskmodel.engine import persisted

    held = persisted(dd.from_map(_slow_piece, [1, 2], meta=pd.DataFrame({"x": pd.Series(dtype="int64")})))
    futures = distributed.futures_of(held)
    assert len(futures) == 2 and {f.status for f in futures} == {"finished"}
    local = persisted(dd.from_map(_slow_piece, [3], meta=pd.DataFrame({"x": pd.Series(dtype="int64")})),
                      scheduler="sync")
    assert not distributed.futures_of(local) and local.compute(scheduler="sync")["x"].tolist() == [3]
