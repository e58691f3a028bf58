"""``riskmodel train``: fit a model and record everything about it in MLflow, then register it as challenger.

One run holds the experiment's parameters, the measures on the evaluation set (overall, per sector, per region,
fairness), the git commit, the SHA-256 of the training data, the feature set and catalogue version, plots, the
model card and the model itself (a pyfunc logged from code, whose artifact is the verified model folder).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import features
from riskmodel import __version__
from riskmodel.config import ExperimentConfig
from riskmodel.contract import Dataset, load_dataset
from riskmodel.engine import resolve_engine
from riskmodel.registry import MODEL_NAME
from riskmodel.tracking import data_sha256, experiment_id, git_commit
from riskmodel.training import plots
from riskmodel.training.card import CardInputs, flagged_groups, model_card
from riskmodel.training.fit import FittedModel, fit_model, protected_columns

if TYPE_CHECKING:
    from riskmodel.distributed import ClusterFeatures

__all__ = ["TrainResult", "card_inputs", "train"]

log = logging.getLogger(__name__)

_PU_TEXT = {
    "weighted-negative": "unlabelled businesses count as negatives with a small weight; businesses investigated and "
                         "found clean count as reliable negatives with a larger weight",
    "elkan-noto": "Elkan & Noto (2008): unlabelled businesses enter as weighted positives and negatives, the weight "
                  "from an out-of-fold estimate of how often a true case is labelled",
    "spy": "spy positives hidden among the unlabelled mark which unlabelled businesses are reliable negatives; the "
           "model learns positives against those only",
}


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    run_id: str
    experiment_id: str
    model_version: str | None
    metrics: dict[str, float]
    fitted: FittedModel


def card_inputs(fm: FittedModel, *, run_id: str | None, version: str | None, code_version: str,
                data_source: str, data_sha: str) -> CardInputs:
    """Return the model card's inputs from a fitted model."""
    cfg = fm.config
    y_all = fm.y_future.to_numpy()
    band_rows = []
    ev = fm.split.evaluation
    band_of = fm.bundle.band(fm.log_odds[ev])
    positives = max(int(y_all[ev].sum()), 1)
    for name, _, min_score in fm.bundle.bands:
        in_band = band_of == name
        band_rows.append({"band": name, "min_score": min_score, "share": float(in_band.mean()),
                          "precision": float(y_all[ev][in_band].mean()) if in_band.any() else float("nan"),
                          "recall": float(y_all[ev][in_band].sum() / positives)})
    feats = [(n, features.CATALOGUE[n].family, features.CATALOGUE[n].rationale) for n in fm.bundle.feature_names]
    return CardInputs(
        model_name=MODEL_NAME, model_version=version, run_id=run_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), code_version=code_version,
        data_source=data_source, data_sha256=data_sha,
        extract_date=str(fm.bundle.metadata.get("extract_date")), train_as_of=fm.as_of.isoformat(),
        validation_window=f"{fm.as_of + dt.timedelta(days=1)} to {fm.validation_end}",
        counts={"businesses_at_training_date": len(fm.index), "positives_known_at_training_date": int(
            (fm.status == 1).sum()), "training_rows_with_history": int(fm.pu_info.get("positives", 0)
                                                                        + fm.pu_info.get("known_negatives", 0)
                                                                        + fm.pu_info.get("unlabelled", 0)),
            "businesses_tuning": int(fm.split.tuning.sum()), "positives_tuning": int(y_all[fm.split.tuning].sum()),
            "businesses_evaluation": int(ev.sum()), "positives_evaluation": int(y_all[ev].sum())},
        feature_set=cfg.features.set, features=feats, pu_strategy=cfg.pu.strategy,
        pu_description=_PU_TEXT[cfg.pu.strategy],
        calibration=("isotonic, fitted on the tuning set (businesses unlabelled at the training date, positives "
                     "labelled in the validation window)" if cfg.calibration.method == "isotonic"
                     else "none (the model's own probability; experiments only)"),
        bands=band_rows, metrics=fm.metrics, slices=fm.slices, fairness=fm.fairness,
        protected_columns=protected_columns(),
    )


def _log_metrics(mlflow: Any, metrics: dict[str, float], prefix: str = "") -> None:
    clean = {f"{prefix}{k}": float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
    mlflow.log_metrics(clean)


def train(data_dir: str | Path, config: ExperimentConfig, *, register: bool = True,
          alias: str = "challenger", engine: str = "local", scheduler: str | None = None,
          announce: Callable[[str], None] | None = None, show_progress: bool = False) -> TrainResult:
    """Train, evaluate, log to MLflow and register the model under ``alias``.

    Parameters
    ----------
    data_dir : str or Path
        A data set written to the contract, with labels.
    config : ExperimentConfig
        The experiment.
    register : bool
        Register the model as ``riskmodel`` and point ``alias`` at the new version.
    alias : str
        Registry alias of the new version.
    engine : {"local", "dask"}
        With ``dask``, features are built and the final LightGBM fit runs on a Dask cluster
        (:func:`riskmodel.training.fit.fit_model`); the tables are staged for the workers in a temporary folder
        under ``RISKMODEL_SCRATCH`` (default: the system's temporary folder), which must be storage every worker
        reads on a multi-machine cluster.
    scheduler : str, optional
        With ``engine="dask"``: a scheduler address (default ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
    announce : callable, optional
        Called with a line naming the Dask cluster and its dashboard when it starts.
    show_progress : bool
        Show Dask's progress bar while features are built on the cluster.

    Returns
    -------
    TrainResult
    """
    engine, scheduler = resolve_engine(engine, scheduler)
    data_dir = Path(data_dir)
    if engine == "dask":
        from riskmodel.contract.staged import stage_dataset
        from riskmodel.distributed import ClusterFeatures
        from riskmodel.engine import dask_client

        scratch_root = os.environ.get("RISKMODEL_SCRATCH")
        with tempfile.TemporaryDirectory(prefix="riskmodel-train-", dir=scratch_root) as scratch, \
                dask_client(scheduler, announce=announce) as client:
            staged = stage_dataset(data_dir, Path(scratch) / "staged")
            workers = len(client.scheduler_info()["workers"])
            # The client keeps the staged key columns only; the feature rows stay on the workers.
            return _train(data_dir, staged.dataset, config, register=register, alias=alias,
                          cluster=ClusterFeatures(client, staged, show_progress=show_progress),
                          engine_tags={"engine": "dask", "engine.scheduler": scheduler or "LocalCluster",
                                       "engine.workers": str(workers)})
    return _train(data_dir, load_dataset(data_dir), config, register=register, alias=alias, cluster=None,
                  engine_tags={"engine": "local"})


def _train(data_dir: Path, dataset: Dataset, config: ExperimentConfig, *, register: bool, alias: str,
           cluster: ClusterFeatures | None, engine_tags: dict[str, str]) -> TrainResult:
    import mlflow
    from mlflow.models import infer_signature

    data_sha = data_sha256(data_dir)
    commit = git_commit()
    code_version = f"{__version__}+{commit}"
    exp_id = experiment_id(config.name)
    with mlflow.start_run(experiment_id=exp_id) as run, tempfile.TemporaryDirectory() as tmp_name:

        def log_trial(number: int, params: dict[str, Any], measures: dict[str, float]) -> None:
            with mlflow.start_run(experiment_id=exp_id, run_name=f"trial-{number}", nested=True):
                mlflow.log_params(params)
                mlflow.log_metrics(measures)

        fm = fit_model(dataset, config, data_sha256=data_sha, code_version=code_version, on_trial=log_trial,
                       cluster=cluster)
        tmp = Path(tmp_name)
        mlflow.log_params({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in config.flat().items()})
        mlflow.log_params({"train_as_of": fm.as_of.isoformat(), "validation_end": fm.validation_end.isoformat(),
                           "best_iteration": fm.bundle.metadata["best_iteration"]})
        mlflow.set_tags({"mlflow.source.git.commit": commit, "riskmodel.version": __version__,
                         "data.sha256": data_sha, "data.path": str(data_dir.resolve()),
                         "data.source": dataset.source or data_dir.name,
                         "data.extract_date": str(dataset.extract_date), "feature_set": config.features.set,
                         "catalogue_version": fm.bundle.metadata["catalogue_version"],
                         "pu.strategy": config.pu.strategy, **engine_tags})
        _log_metrics(mlflow, fm.metrics)
        _log_metrics(mlflow, fm.tuning_metrics, "tuning_")
        _log_metrics(mlflow, {f"{k}": v for k, v in fm.pu_info.items() if isinstance(v, int | float)}, "pu_")
        _log_metrics(mlflow, fm.timings)
        # The fairness table itself is the artifact evaluation/fairness.csv; the count makes runs comparable.
        _log_metrics(mlflow, {"fairness_flagged_groups": float(len(flagged_groups(fm.fairness)))})
        if config.search.trials:
            mlflow.log_params({f"chosen.{k}": v for k, v in fm.bundle.metadata["lightgbm_params"].items()
                               if k in ("num_leaves", "max_depth", "learning_rate", "min_child_samples",
                                        "colsample_bytree", "reg_lambda")})
        ev = fm.split.evaluation
        y_ev = fm.evaluation_y
        sample = fm.evaluation_X.iloc[:5000]
        contrib = fm.bundle.contributions(sample).drop(columns="bias")
        figures = [
            plots.pr_curve(y_ev, fm.log_odds[ev], tmp / "pr_curve.png",
                           title="Precision-recall, evaluation set (new labels after the training date)"),
            plots.calibration_plot(y_ev, fm.probability[ev], tmp / "calibration.png"),
            plots.shap_beeswarm(contrib.to_numpy(), fm.bundle.transform(sample), tmp / "shap_beeswarm.png",
                                seed=config.seed),
            plots.feature_importance(list(fm.importance.index), fm.importance.to_numpy(),
                                     tmp / "feature_importance.png"),
        ]
        for fig in figures:
            mlflow.log_artifact(str(fig), "plots")
        tables = {"slices.csv": fm.slices, "fairness.csv": fm.fairness,
                  "calibration.csv": plots.calibration_table(y_ev, fm.probability[ev]),
                  "feature_importance.csv": fm.importance.rename_axis("feature").reset_index()}
        for name, frame in tables.items():
            frame.to_csv(tmp / name, index=False)
            mlflow.log_artifact(str(tmp / name), "evaluation")
        (tmp / "config.json").write_text(json.dumps(config.to_dict(), indent=1), encoding="utf-8")
        mlflow.log_artifact(str(tmp / "config.json"))
        # The card travels with the model (exports, scoring reports); the registry version is not known yet.
        fm.bundle.model_card = model_card(card_inputs(fm, run_id=run.info.run_id, version=None,
                                                      code_version=code_version,
                                                      data_source=dataset.source or data_dir.name, data_sha=data_sha))
        bundle_dir = fm.bundle.save(tmp / "bundle")
        from riskmodel.scoring.core import Scorer

        example = fm.evaluation_X.iloc[:100].reset_index()
        example_out = Scorer(fm.bundle).score_frame(fm.evaluation_X.iloc[:100], fm.as_of.isoformat()).drop(
            columns=["company_name"])
        signature = infer_signature(example, example_out,
                                    params={"as_of": fm.as_of.isoformat(), "explain": "all", "model_version": ""})
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).resolve().parent.parent / "_pyfunc_entry.py"),
            artifacts={"bundle": str(bundle_dir)}, signature=signature, input_example=example.iloc[:3],
            pip_requirements=["lightgbm", "pandas", "numpy", "scikit-learn", "mlflow"],
            registered_model_name=MODEL_NAME if register else None)
        version = str(info.registered_model_version) if register and info.registered_model_version else None
        if version is not None:
            client = mlflow.MlflowClient()
            client.set_registered_model_alias(MODEL_NAME, alias, version)
            client.set_model_version_tag(MODEL_NAME, version, "run_id", run.info.run_id)
        card = model_card(card_inputs(fm, run_id=run.info.run_id, version=version, code_version=code_version,
                                      data_source=dataset.source or data_dir.name, data_sha=data_sha))
        mlflow.log_text(card, "model_card.md")
        log.info("run %s: PR-AUC %.3f on %d evaluation businesses", run.info.run_id, fm.metrics["pr_auc"],
                 int(ev.sum()))
        return TrainResult(run.info.run_id, exp_id, version, dict(fm.metrics), fm)


def summary_frame(result: TrainResult) -> pd.DataFrame:
    """Headline measures of a run as a two-column frame (for the CLI)."""
    keys = ["pr_auc", "roc_auc", "precision_at_50", "precision_at_100", "precision_at_500", "recall_at_top_1pct",
            "brier", "prevalence", "positives", "businesses", "explanations_per_second", "trees"]
    return pd.DataFrame({"measure": keys, "value": [result.metrics.get(k, np.nan) for k in keys]})
