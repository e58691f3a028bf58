"""Model layer: a tiny end-to-end training run in a private MLflow store, and what the model must guarantee.

One synthetic world (10,000 businesses) is trained on once per module; the tests then check the registry, the
exported folder, tamper refusal, reproducibility, that protected attributes never reach the model (invariance),
promotion and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support_model import FAST
from typer.testing import CliRunner

import features
from riskmodel.artifact import ModelIntegrityError, load_bundle
from riskmodel.config import load_config
from riskmodel.contract import load_dataset
from riskmodel.registry import RegistryError, export_model, load_model, promote
from riskmodel.tracking import data_sha256
from riskmodel.training.fit import fit_model, protected_columns
from riskmodel.training.track import TrainResult, train


def test_run_records_what_the_issue_asks_for(trained: TrainResult, world: Path, store: Path) -> None:
    import mlflow

    run = mlflow.get_run(trained.run_id)
    assert run.data.tags["data.sha256"] == data_sha256(world) and len(run.data.tags["data.sha256"]) == 64
    assert run.data.tags["catalogue_version"] == features.catalogue_version(trained.fitted.bundle.feature_names)
    assert run.data.tags["mlflow.source.git.commit"]
    assert run.data.params["pu.strategy"] == "weighted-negative"
    for key in ("pr_auc", "roc_auc", "precision_at_50", "precision_at_100", "precision_at_500", "recall_at_top_1pct",
                "brier", "explanations_per_second"):
        assert key in run.data.metrics or np.isnan(trained.metrics[key]), key
    assert run.data.metrics["explanations_per_second"] > 0
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(trained.run_id)}
    assert {"plots", "evaluation", "model_card.md", "config.json"} <= artifacts
    plots = {Path(a.path).name for a in mlflow.MlflowClient().list_artifacts(trained.run_id, "plots")}
    assert plots == {"pr_curve.png", "calibration.png", "shap_beeswarm.png", "feature_importance.png"}
    card = mlflow.artifacts.load_text(f"runs:/{trained.run_id}/model_card.md")
    for heading in ("Intended use", "Fairness", "How to challenge a score", "ATRS"):
        assert heading in card
    # The fairness report: selection rate and precision by protected attribute (audit only), sector and region.
    fairness = pd.read_csv(mlflow.artifacts.download_artifacts(f"runs:/{trained.run_id}/evaluation/fairness.csv"))
    assert set(fairness["attribute"]) == {"director_nationality", "youngest_director_age", "sector", "region"}
    assert {"selected", "share_in_top_1pct", "precision_in_top_1pct", "ratio_to_overall"} <= set(fairness.columns)
    for attribute, part in fairness.groupby("attribute"):  # each attribute splits the same evaluation businesses
        assert part["businesses"].sum() == trained.metrics["businesses"], attribute
        assert part["selected"].sum() == int(np.ceil(0.01 * trained.metrics["businesses"])), attribute
    assert run.data.metrics["fairness_flagged_groups"] >= 0
    for heading in ("#### By director nationality", "#### By youngest director age", "#### By sector",
                    "#### By region"):
        assert heading in card
    # Registered, with the alias the issue names.
    version = mlflow.MlflowClient().get_model_version_by_alias("riskmodel", "challenger")
    assert str(version.version) == trained.model_version
    # The store sits at the documented absolute path, not in the working directory.
    assert (store / "mlflow.db").is_file()
    assert run.info.artifact_uri.startswith((store / "mlartifacts").as_uri())
    assert not (Path.cwd() / "mlruns").exists()


def test_model_ranks_true_cases_well_above_chance(trained: TrainResult, world: Path) -> None:
    # Minimum functionality against the synthetic truth, on businesses never seen in training.
    fm = trained.fitted
    truth = pd.read_parquet(world / "_truth" / "businesses.parquet", columns=["company_number", "infiltrated"])
    y = truth.set_index("company_number")["infiltrated"].reindex(fm.X.index).fillna(False).astype(int).to_numpy()
    held_out = fm.split.evaluation | fm.split.tuning
    from sklearn.metrics import average_precision_score

    assert average_precision_score(y[held_out], fm.log_odds[held_out]) > 2 * y[held_out].mean()


def test_model_loads_by_alias_and_from_an_export_with_identical_scores(trained: TrainResult, tmp_path: Path) -> None:
    X = trained.fitted.X.iloc[:500]
    by_alias = load_model(f"models:/riskmodel/{trained.model_version}")
    folder = export_model("challenger", tmp_path / "models")
    assert folder.name == f"riskmodel-{trained.model_version}"
    exported = load_model(folder)
    expected = trained.fitted.bundle.predict(X)
    pd.testing.assert_frame_equal(by_alias.predict(X), expected)
    pd.testing.assert_frame_equal(exported.predict(X), expected)
    contrib = exported.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), expected["log_odds"].to_numpy(), atol=1e-9)


def test_pyfunc_is_a_thin_adapter(trained: TrainResult) -> None:
    import mlflow

    from riskmodel.scoring.core import Scorer

    model = mlflow.pyfunc.load_model(f"models:/riskmodel/{trained.model_version}")
    X = trained.fitted.X.iloc[:200]
    out = model.predict(X.reset_index(), params={"as_of": "2025-06-30", "model_version": trained.model_version})
    expected = Scorer(trained.fitted.bundle, str(trained.model_version)).score_frame(X, "2025-06-30")
    pd.testing.assert_frame_equal(out, expected.drop(columns=["company_name"]))


@pytest.mark.parametrize("target", ["model.txt", "metadata.json"])
def test_a_tampered_model_file_is_refused(trained: TrainResult, tmp_path: Path, target: str) -> None:
    folder = export_model(trained.model_version or "challenger", tmp_path)
    path = folder / target
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("0.", "1.", 1), encoding="utf-8")
    with pytest.raises(ModelIntegrityError) as caught:
        load_model(folder)
    assert caught.value.evidence["file"].endswith(target)


def test_unknown_alias_is_a_clear_error(trained: TrainResult) -> None:
    with pytest.raises(RegistryError):
        load_model("models:/riskmodel@nobody")


def test_same_data_config_and_seed_give_an_identical_model_file(world: Path, tmp_path: Path) -> None:
    ds = load_dataset(world)
    config = load_config(overrides=FAST)
    first = fit_model(ds, config).bundle.save(tmp_path / "a")
    second = fit_model(ds, config).bundle.save(tmp_path / "b")
    assert (first / "model.txt").read_bytes() == (second / "model.txt").read_bytes()
    other = fit_model(ds, load_config(overrides=[*FAST, "seed=7"])).bundle.save(tmp_path / "c")
    assert (other / "model.txt").read_bytes() != (first / "model.txt").read_bytes()


def test_no_protected_attribute_reaches_the_model(trained: TrainResult, world: Path, tmp_path: Path) -> None:
    bundle = trained.fitted.bundle
    protected = {p.split(".")[1] for p in protected_columns()}
    assert protected, "the contract marks protected columns"
    assert not protected & set(bundle.model_features)
    # Invariance: scrambling nationality and birth year changes no score.
    scrambled = tmp_path / "scrambled"
    scrambled.mkdir()
    for path in world.iterdir():
        if path.is_file():
            (scrambled / path.name).write_bytes(path.read_bytes())
    officers = pd.read_parquet(world / "officers.parquet")
    rng = np.random.default_rng(0)
    officers["nationality"] = rng.permutation(officers["nationality"].to_numpy())
    officers["birth_year"] = rng.permutation(officers["birth_year"].to_numpy())
    officers.to_parquet(scrambled / "officers.parquet", index=False)
    as_of = trained.fitted.as_of
    names = bundle.feature_names
    before = bundle.predict(features.build(load_dataset(world), as_of, names))
    after = bundle.predict(features.build(load_dataset(scrambled), as_of, names))
    pd.testing.assert_frame_equal(before, after)


def test_promotion_moves_champion_only_when_not_worse(trained: TrainResult, world: Path) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    first = promote(world, force=True)  # no champion yet
    assert first.promoted
    assert str(client.get_model_version_by_alias("riskmodel", "champion").version) == trained.model_version
    second = train(world, load_config(overrides=[*FAST, "name=test", "seed=11"]))
    result = promote(world)
    champion = str(client.get_model_version_by_alias("riskmodel", "champion").version)
    assert result.challenger_version == second.model_version
    if result.challenger_pr_auc >= (result.champion_pr_auc or 0):
        assert result.promoted and champion == second.model_version
    else:
        assert not result.promoted and champion == trained.model_version
        forced = promote(world, force=True)
        assert forced.forced and forced.promoted
        tags = client.get_model_version("riskmodel", second.model_version).tags
        assert tags["promotion_forced"] == "true"


def test_train_command(world: Path, store: Path, tmp_path: Path) -> None:
    from riskmodel.cli import app

    config = tmp_path / "exp.toml"
    config.write_text('name = "cli"\nseed = 3\n[model]\nn_estimators = 30\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(world), "--config", str(config), "--set",
                                      "data.history_snapshots=0", "--as-of", "2024-03-31", "--no-register"])
    assert result.exit_code == 0, result.output
    assert "training date 2024-03-31" in result.output
    bad = CliRunner().invoke(app, ["train", str(world), "--set", "model.no_such_key"])
    assert bad.exit_code != 0


def test_model_metadata_is_complete(trained: TrainResult, tmp_path: Path) -> None:
    folder = trained.fitted.bundle.save(tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    for key in ("feature_names", "categorical", "calibration", "bands", "catalogue_version", "train_as_of",
                "data_sha256", "code_version", "config", "files"):
        assert key in meta, key
    assert [b["name"] for b in meta["bands"]] == ["high", "medium", "low"]
    assert meta["calibration"]["method"] == "isotonic"
    assert load_bundle(folder).bands[-1][1] == float("-inf")


def test_labels_after_the_training_date_never_reach_the_trees(world: Path, tmp_path: Path) -> None:
    # Leakage check: later labels may only calibrate and evaluate. Dropping them must leave the trees identical,
    # and the data set must still have such labels for the test to mean anything.
    config = load_config(overrides=FAST)
    ds = load_dataset(world)
    fitted = fit_model(ds, config)
    labels = pd.read_parquet(world / "labels.parquet")
    later = pd.to_datetime(labels["labelled_on"]) > pd.Timestamp(fitted.as_of)
    assert later.sum() > 0
    cut = tmp_path / "cut"
    cut.mkdir()
    for path in world.iterdir():
        if path.is_file():
            (cut / path.name).write_bytes(path.read_bytes())
    labels[~later].to_parquet(cut / "labels.parquet", index=False)
    refit = fit_model(load_dataset(cut), load_config(overrides=[*FAST, f"data.as_of={fitted.as_of}"]))
    assert refit.bundle.booster.model_to_string() == fitted.bundle.booster.model_to_string()


def test_hyper_parameter_search_logs_nested_runs(world: Path, store: Path) -> None:
    import mlflow

    pytest.importorskip("optuna")
    result = train(world, load_config(overrides=[*FAST, "name=search", "search.trials=2"]), register=False)
    children = mlflow.search_runs(experiment_ids=[result.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert len(children) == 2
    assert {"params.num_leaves", "metrics.holdout_average_precision"} <= set(children.columns)
    chosen = mlflow.get_run(result.run_id).data.params
    assert int(chosen["chosen.num_leaves"]) in set(children["params.num_leaves"].astype(int))
