"""Model layer: the Dask engine gives the local engine's answers, survives a lost worker and resumes a failed job.

Every test runs on a LocalCluster of 2 worker processes reached through its scheduler address, the path a
multi-machine cluster takes (``--scheduler`` / ``DASK_SCHEDULER_ADDRESS``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.distributed import DistributedScoringError
from riskmodel.scoring.batch import run_score_job

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

OUTPUTS = ("scores.parquet", "scores.csv", "quarantine.csv", "report.html")
#: Features compared with their sector in the training tests (a TOML list for --set).
PEERS = '["cash_share_of_current_assets_latest", "turnover_per_employee_latest"]'
CHUNK = 1_500


def _cluster(**config: object) -> distributed.LocalCluster:
    with dask.config.set(config):
        return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = _cluster()
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(scope="module")
def local_job(world: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_score_job(world, model_dir, out, chunk_size=CHUNK)
    return out


def _same_outputs(out: Path, reference: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def _worker_pids(address: str) -> list[int]:
    with distributed.Client(address) as client:
        return sorted(client.run(os.getpid).values())


def test_dask_engine_writes_exactly_the_local_engines_files(world: Path, model_dir: Path, local_job: Path,
                                                             scheduler: str, tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_score_job(world, model_dir, tmp_path / "out", chunk_size=CHUNK, engine="dask", scheduler=scheduler,
                           announce=lines.append)
    _same_outputs(tmp_path / "out", local_job)
    engine = result.manifest["engine"]
    assert engine["name"] == "dask" and engine["workers"] == 2 and engine["scheduler"] == scheduler
    assert engine["partitions"] == json.loads((local_job / "manifest.json").read_text())["chunks"]
    assert len(engine["worker_peak_rss_mb"]) == 2, "both workers scored partitions"
    assert "dashboard http" in lines[0]
    assert not (tmp_path / "out" / ".partial").exists()
    from riskmodel.distributed import _release

    with distributed.Client(scheduler) as client:
        assert set(client.run(_release).values()) == {0}, "the workers let go of the job's tables and model"


def test_dask_features_equal_the_local_build(world: Path, scheduler: str, tmp_path: Path) -> None:
    import datetime as dt

    import features
    from riskmodel.contract import load_dataset
    from riskmodel.distributed import features_job

    when = dt.date(2024, 6, 30)
    names = features.feature_set("all")
    businesses, _ = features_job(world, when, names, tmp_path / "f.parquet", scheduler=scheduler, chunk_size=2_500)
    got = pd.read_parquet(tmp_path / "f.parquet")
    assert len(list((tmp_path / "f.parquet").glob("*.parquet"))) > 1, "written as partitioned parquet"
    expected = features.build(load_dataset(world), when, names)
    assert businesses == len(expected)
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_a_worker_killed_mid_job_loses_and_duplicates_no_row(world: Path, model_dir: Path, local_job: Path,
                                                              scheduler: str, tmp_path: Path) -> None:
    victim = _worker_pids(scheduler)[0]
    killed: list[int] = []

    def kill_once(done: int, total: int) -> None:
        if done >= 1 and not killed:  # a partition is finished: the workers are busy with the next ones
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    run_score_job(world, model_dir, tmp_path / "out", chunk_size=CHUNK, engine="dask", scheduler=scheduler,
                  progress=kill_once)
    assert killed and victim not in _worker_pids(scheduler), "the worker was killed (its nanny started a new one)"
    _same_outputs(tmp_path / "out", local_job)


def test_a_job_that_loses_its_partitions_fails_clearly_and_resumes(world: Path, model_dir: Path, local_job: Path,
                                                                    tmp_path: Path) -> None:
    # No retries: the partition a killed worker held fails the job at once.
    cluster = _cluster(**{"distributed.scheduler.allowed-failures": 0})
    out = tmp_path / "out"
    try:
        victims = _worker_pids(cluster.scheduler_address)

        def kill_all(done: int, total: int) -> None:
            if done >= 1:
                for pid in victims:
                    with contextlib.suppress(ProcessLookupError):  # already gone
                        os.kill(pid, signal.SIGKILL)

        with pytest.raises(DistributedScoringError, match="rerun with --resume") as err:
            run_score_job(world, model_dir, out, chunk_size=CHUNK, engine="dask",
                          scheduler=cluster.scheduler_address, progress=kill_all)
    finally:
        cluster.close()
    finished = sorted((out / ".partial").glob("part-*.parquet"))
    assert 1 <= len(finished) < err.value.evidence["partitions"]
    assert err.value.evidence["finished"] >= 1 and err.value.evidence["failed"]
    for name in (*OUTPUTS, "manifest.json"):
        assert not (out / name).exists(), f"{name} must not look finished after a failed job"
    # The rerun finishes on the local engine (either engine resumes the other's parts).
    result = run_score_job(world, model_dir, out, chunk_size=CHUNK, resume=True)
    assert result.manifest["engine"] == {"name": "local"}
    _same_outputs(out, local_job)


def test_score_command_on_a_scheduler_address(world: Path, model_dir: Path, local_job: Path, scheduler: str,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["score", str(world), "--model", str(model_dir), "--out", str(out),
                                 "--chunk-size", str(CHUNK), "--engine", "dask", "--scheduler", scheduler])
    assert result.exit_code == 0, result.output
    _same_outputs(out, local_job)
    # The environment variable Dask itself reads names the scheduler too.
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler)
    env_out = tmp_path / "env"
    result = runner.invoke(app, ["score", str(world), "--model", str(model_dir), "--out", str(env_out),
                                 "--chunk-size", str(CHUNK), "--engine", "dask", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((env_out / "manifest.json").read_text())["engine"]["scheduler"] == scheduler


@pytest.mark.parametrize(("options", "message"), [
    (["--engine", "spark"], "engine must be one of local, dask"),
    (["--engine", "local", "--scheduler", "tcp://127.0.0.1:1"], "needs --engine dask"),
])
def test_engine_usage_errors(world: Path, model_dir: Path, tmp_path: Path, options: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["score", str(world), "--model", str(model_dir), "--out", str(tmp_path / "o"),
                                      *options])
    assert result.exit_code == 2 and message in result.output


def test_an_unreachable_scheduler_is_a_clear_error(world: Path, model_dir: Path, tmp_path: Path) -> None:
    from riskmodel.engine import EngineError, dask_client

    with pytest.raises(EngineError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"), \
            dask_client("tcp://127.0.0.1:9", timeout="2s"):
        pass


def test_training_on_dask_builds_features_and_fits_on_the_cluster(world: Path, store: Path, scheduler: str) -> None:
    from support_model import FAST

    from riskmodel.config import load_config
    from riskmodel.contract import load_dataset
    from riskmodel.training.fit import fit_model
    from riskmodel.training.track import train

    lines: list[str] = []
    config = load_config(overrides=[*FAST, "name=test-dask", f"features.sector_relative={PEERS}"])
    result = train(world, config, register=False, engine="dask", scheduler=scheduler, announce=lines.append)
    fm = result.fitted
    booster = fm.bundle.booster
    assert booster.num_trees() == fm.bundle.metadata["best_iteration"]
    text = booster.model_to_string()
    assert "[num_machines: 1]" in text and "127.0.0.1" not in text, "a local model, no worker addresses"
    # The feature rows stayed on the workers; the client holds per-business arrays and the explained rows. The
    # cluster built the local engine's features, and on a data set this small the client's sample is every
    # training row, so the probe chose the same number of trees and the reason grids are the local ones; the
    # sector statistics are fitted on every training row's compared columns, as locally. The data-parallel fit
    # bins each feature on one worker's rows, so the model is close, not equal.
    local = fit_model(load_dataset(world), config)
    assert fm.bundle.metadata["sector_relative"]["params"]["columns"] == list(json.loads(PEERS))
    assert fm.X is None and local.X is not None
    pd.testing.assert_frame_equal(fm.evaluation_X, local.evaluation_X)
    pd.testing.assert_series_equal(fm.status, local.status)
    assert (fm.split.train == local.split.train).all() and (fm.split.evaluation == local.split.evaluation).all()
    assert fm.pu_info["client_sample_rows"] == local.pu_info["positives"] + local.pu_info["known_negatives"] + \
        local.pu_info["unlabelled"]
    assert fm.bundle.metadata["best_iteration"] == local.bundle.metadata["best_iteration"]
    for key in ("sector_relative", "reference", "lightgbm_params"):
        assert fm.bundle.metadata[key] == local.bundle.metadata[key], key
    assert len(fm.log_odds) == len(local.log_odds) and len(fm.index) == len(local.X)
    root = booster.dump_model()["tree_info"][0]["tree_structure"]["internal_count"]
    assert root == fm.pu_info["training_rows"] == local.pu_info["training_rows"]
    # Close: the log-odds of the evaluation businesses agree (0.97 measured; its 2 new positives make ROC AUC noise).
    ev = fm.split.evaluation
    assert np.corrcoef(fm.log_odds[ev], local.log_odds[ev])[0, 1] > 0.95
    assert booster.model_to_string() != local.bundle.booster.model_to_string()
    import mlflow

    tags = mlflow.get_run(result.run_id).data.tags
    assert tags["engine"] == "dask" and tags["engine.workers"] == "2"
    assert "dashboard" in lines[0]


def test_training_on_dask_with_a_sampled_client_and_elkan_noto_first_stages(
        world: Path, store: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a client sample smaller than the training rows, the first stages and the final fit still see every row."""
    from scipy.stats import spearmanr
    from support_model import FAST

    import riskmodel.training.cluster as on_cluster
    from riskmodel.config import load_config
    from riskmodel.contract import load_dataset
    from riskmodel.training.fit import fit_model
    from riskmodel.training.track import train

    config = load_config(overrides=[*FAST, "name=test-dask-pu", "pu.strategy=elkan-noto", "pu.folds=3",
                                    f"features.sector_relative={PEERS}"])
    local = fit_model(load_dataset(world), config)
    monkeypatch.setattr(on_cluster, "PROBE_ROWS", 1_500)
    fm = train(world, config, register=False, engine="dask", scheduler=scheduler).fitted
    info, expected = fm.pu_info, local.pu_info
    assert info["client_sample_rows"] <= 1_500 < expected["positives"] + expected["unlabelled"]
    assert {k: info[k] for k in ("positives", "known_negatives", "unlabelled")} == \
        {k: expected[k] for k in ("positives", "known_negatives", "unlabelled")}
    # The final fit saw every training row (the root of a tree counts them), not the client's sample. (Their number
    # is not the local one: an unlabelled business enters twice unless its first-stage weight is 0 or 1.)
    root = fm.bundle.booster.dump_model()["tree_info"][0]["tree_structure"]["internal_count"]
    assert root == info["training_rows"] > 2 * info["client_sample_rows"]
    assert info["training_rows"] > info["positives"] + info["known_negatives"] + info["unlabelled"]
    # The sector statistics too were fitted on every training row, not on the sample.
    sizes = sum(n for _, n in fm.bundle.metadata["sector_relative"]["group_sizes"])
    assert 2 * info["client_sample_rows"] < sizes <= info["training_rows"]
    # First stages fitted on samples of the rows estimate the labelling frequency close to the local one; the
    # probe on a fifth of the rows stops earlier, so the ranking is close to the local model's, not equal.
    assert 0.5 < info["labelling_frequency_c"] / expected["labelling_frequency_c"] < 2
    ev = fm.split.evaluation
    assert spearmanr(fm.log_odds[ev], local.log_odds[ev]).statistic > 0.6
    assert fm.metrics["roc_auc"] > 0.6


def test_network_family_from_dask_shuffles_and_joins_equals_the_local_graph(world: Path, scheduler: str,
                                                                              tmp_path: Path) -> None:
    import datetime as dt

    import features
    from riskmodel.contract import load_dataset
    from riskmodel.contract.staged import stage_dataset
    from riskmodel.distributed_graph import NETWORK_FEATURES, network_features

    when = dt.date(2023, 6, 30)
    expected = features.build(load_dataset(world), when, list(NETWORK_FEATURES))
    assert expected["network_component_size"].max() > 2 and (expected["distance_to_labelled_positive"] < 4).any()
    with distributed.Client(scheduler):
        got = network_features(stage_dataset(world, tmp_path / "staged"), when)
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_features_command_on_dask_shows_dasks_progress(world: Path, scheduler: str, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    result = CliRunner().invoke(app, ["features", str(world), "--as-of", "2023-06-30", "--out", str(out),
                                      "--engine", "dask", "--scheduler", scheduler, "--chunk-size", "4000"])
    assert result.exit_code == 0, result.output
    assert "100% Completed" in result.output and "(partitioned parquet)" in result.output
    assert len(list(out.glob("part.*.parquet"))) == 3 and len(pd.read_parquet(out)) > 8_000
    bad = CliRunner().invoke(app, ["features", str(world), "--as-of", "2023-06-30", "--out", str(tmp_path / "f.csv"),
                                   "--engine", "dask", "--scheduler", scheduler])
    assert bad.exit_code == 2 and "writes partitioned parquet" in bad.output


def test_features_command_on_dask_names_an_output_it_cannot_write(world: Path, tmp_path: Path) -> None:
    from riskmodel.distributed import features_job
    from riskmodel.errors import OutputWriteError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output's folder should be", encoding="utf-8")
    out = blocker / "f.parquet"
    with pytest.raises(OutputWriteError) as caught:
        features_job(world, dt.date(2023, 6, 30), ["director_changes_last_12m"], out, scheduler="tcp://127.0.0.1:9")
    assert caught.value.evidence["path"] == str(out) and caught.value.evidence["errno_name"] == "ENOTDIR"
    assert str(caught.value).startswith(f"cannot write {out}: ")
