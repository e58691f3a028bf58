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
