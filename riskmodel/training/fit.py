"""Fit and evaluate one model from a data set and an experiment configuration, without any tracking.

The steps, in order: features and labels as of the training date; network components and the honest split;
the positive-unlabelled training set; the pipeline with early stopping on the tuning set (labels that appeared
after the training date); isotonic calibration and band thresholds on the tuning set; measures on the evaluation
set only. :func:`riskmodel.training.train` wraps this with MLflow.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pandas as pd

import features
from features.peers import fit_grid
from riskmodel import __version__
from riskmodel.artifact import ModelBundle, peers_to_dict
from riskmodel.config import ExperimentConfig
from riskmodel.contract import TABLES, Dataset
from riskmodel.errors import RiskmodelError
from riskmodel.training import evaluate as ev
from riskmodel.training.model import bands_from_config, fit_isotonic, fit_pipeline, lgbm_params, make_pipeline
from riskmodel.training.pu import pu_training_set
from riskmodel.training.search import TrialCallback, search
from riskmodel.training.split import (
    POSITIVE,
    UNLABELLED,
    Split,
    label_status,
    network_components,
    new_positives,
    split_components,
)

if TYPE_CHECKING:
    from riskmodel.distributed import ClusterFeatures

__all__ = ["EXPLAINED_ROWS", "PROBE_ROWS", "FittedModel", "TrainingError", "TrainingLabels", "best_iteration",
           "check_features", "finish_model", "first_stage_params", "fit_model", "model_metadata", "protected_columns",
           "snapshot_dates", "snapshot_rows", "training_data", "training_dates", "training_labels"]

log = logging.getLogger(__name__)


class TrainingError(RiskmodelError):
    """Training cannot proceed with this data and configuration (e.g. no labels before the training date)."""


def protected_columns() -> list[str]:
    """Contract columns marked protected (``table.column``): never model inputs."""
    return [f"{t}.{c.name}" for t, spec in TABLES.items() for c in spec.columns if c.protected]


def training_data(dataset: Dataset) -> dict[str, Any]:
    """Where the training rows came from: the data set's ``source`` and whether it is synthetic.

    A data set is synthetic when its ``dataset.json`` says ``"synthetic": true`` (``riskmodel synth`` writes it) or
    its source names ``riskmodel synth`` (worlds written before the flag). Scoring reports show a model trained on
    synthetic data as a demonstration.
    """
    source = dataset.source or ""
    synthetic = dataset.metadata.get("synthetic") is True or source.startswith("riskmodel synth")
    return {"source": source or None, "synthetic": bool(synthetic)}


def training_dates(dataset: Dataset, config: ExperimentConfig) -> tuple[dt.date, dt.date]:
    """Training date and end of the validation window.

    Raises
    ------
    TrainingError
        If the data set has no extract date, or the window after the training date is empty.
    """
    extract = dataset.extract_date
    if extract is None:
        raise TrainingError("the data set has no extract date and no dated rows")
    as_of = config.data.as_of or (pd.Timestamp(extract) - pd.DateOffset(months=config.data.horizon_months)).date()
    end = config.data.validation_end or min(
        extract, (pd.Timestamp(as_of) + pd.DateOffset(months=config.data.horizon_months)).date())
    if end <= as_of:
        raise TrainingError(f"the validation window after the training date {as_of} is empty (it ends {end}); "
                            "choose an earlier data.as_of", as_of=as_of.isoformat(), validation_end=end.isoformat())
    return as_of, end


@dataclass
class FittedModel:
    """A fitted, calibrated model with everything measured on the way (the input to tracking and the model card).

    ``X`` is the feature frame at the training date, or None when it was built on a cluster and stayed there
    (:mod:`riskmodel.training.cluster`); ``evaluation_X`` holds the features of the first
    :data:`EXPLAINED_ROWS` evaluation businesses either way. The per-business arrays (``status``, ``components``,
    ``y_future``, ``log_odds``, ``probability`` and the split's masks) cover every business.
    """

    bundle: ModelBundle
    config: ExperimentConfig
    as_of: dt.date
    validation_end: dt.date
    X: pd.DataFrame | None
    status: pd.Series
    components: pd.Series
    split: Split
    y_future: pd.Series
    log_odds: np.ndarray
    probability: np.ndarray
    metrics: dict[str, float]
    tuning_metrics: dict[str, float]
    slices: pd.DataFrame
    fairness: pd.DataFrame
    pu_info: dict[str, Any]
    importance: pd.Series
    evaluation_X: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def index(self) -> pd.Index:
        """Every business at the training date (company numbers), in the order of the per-business arrays."""
        return self.status.index

    @property
    def evaluation_y(self) -> np.ndarray:
        """New positives of the evaluation set."""
        return self.y_future.to_numpy()[self.split.evaluation]


#: With a cluster, the rows the client fits on are a sample of at most this many training rows (whole network
#: components): the probe that chooses the number of trees by early stopping (LightGBM's Dask learner has none), the
#: hyper-parameter search and each positive-unlabelled first stage.
PROBE_ROWS = 250_000

#: Evaluation businesses whose explanations are timed (and kept in ``FittedModel.evaluation_X``).
EXPLAINED_ROWS = 20_000


def fit_model(dataset: Dataset, config: ExperimentConfig, *, data_sha256: str = "", code_version: str = "",
              X: pd.DataFrame | None = None, on_trial: TrialCallback | None = None,
              cluster: ClusterFeatures | None = None) -> FittedModel:
    """Train, calibrate and evaluate a model.

    Parameters
    ----------
    dataset : Dataset
        A loaded data set with a ``labels`` table (with a cluster: the staged data set's key columns,
        ``cluster.staged.dataset``).
    config : ExperimentConfig
        The experiment.
    data_sha256, code_version : str
        Recorded in the model metadata.
    X : DataFrame, optional
        Features as of the training date, when already built (benchmarks); built here otherwise.
    on_trial : callable, optional
        Called with each hyper-parameter search trial (number, parameters, measures) when ``search.trials > 0``.
    cluster : ClusterFeatures, optional
        Train on a Dask cluster without bringing the feature rows to this process
        (:func:`riskmodel.training.cluster.fit_on_cluster`).

    Returns
    -------
    FittedModel

    Raises
    ------
    TrainingError
        If there is nothing to learn from (no labels, no positive before the training date).
    """
    if "labels" not in dataset or dataset["labels"].empty:
        raise TrainingError("the data set has no labels table (or it is empty): labels are needed to train")
    as_of, end = training_dates(dataset, config)
    if cluster is not None:
        from riskmodel.training.cluster import fit_on_cluster

        return fit_on_cluster(dataset, config, cluster, as_of, end, data_sha256=data_sha256,
                              code_version=code_version, on_trial=on_trial)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if X is None:
        X = features.build(dataset, as_of, config.features.set)
    timings["features_seconds"] = time.perf_counter() - start
    names = list(X.columns)
    check_features(names)
    labels = training_labels(dataset, config, X.index, as_of, end)
    status, components, split = labels.status, labels.components, labels.split
    params, patience = lgbm_params(config.model, config.seed)
    sector = [c for c in config.features.sector_relative if c in names]
    categorical = [c for c in config.features.categorical if c in names]

    def first_stage() -> Any:
        return _Stage(make_pipeline(first_stage_params(params), sector), categorical)

    start = time.perf_counter()
    train_X, train_status, train_groups = _training_rows(dataset, config, X, status, components, split, as_of)
    timings["history_features_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    tset = pu_training_set(train_X, train_status, train_groups, config.pu, first_stage, config.seed)
    tset.info["training_rows"] = len(tset.y)
    # Early stopping on held-out training components (their labels), then a refit on every training row with the
    # chosen number of trees: the tuning set's few new positives are kept for calibration.
    stop = _group_sample(tset.groups, config.split.early_stopping_share, config.seed)
    if config.search.trials > 0:
        params, best_score = search(params, config.search.trials, X=tset.X, y=tset.y, weight=tset.weight,
                                    holdout=stop, sector=sector, categorical=categorical, patience=patience,
                                    seed=config.seed, on_trial=on_trial)
        tset.info["search_best_holdout_average_precision"] = best_score
    probe = make_pipeline(params, sector)
    learn = ~stop
    fit_pipeline(probe, tset.X[learn], tset.y[learn], tset.weight[learn], categorical=categorical,
                 X_valid=tset.X[stop], y_valid=tset.y[stop], w_valid=tset.weight[stop], patience=patience)
    best = best_iteration(probe)
    pipeline = make_pipeline({**params, "n_estimators": max(best, 1)}, sector)
    fit_pipeline(pipeline, tset.X, tset.y, tset.weight, categorical=categorical)
    timings["fit_seconds"] = time.perf_counter() - start
    metadata = model_metadata(dataset, config, pipeline, names, categorical, params, best, tset.info, as_of, end,
                              X[split.train], data_sha256=data_sha256, code_version=code_version)
    bundle = ModelBundle(pipeline[-1].booster_, metadata)
    sectors = ev.sector_of(X["sic_division"]) if "sic_division" in X else pd.Series("unknown", index=X.index)
    explained = X[split.evaluation].iloc[:EXPLAINED_ROWS]
    return finish_model(bundle, config, dataset, labels, bundle.log_odds(X), sectors, explained, dataset,
                        tset.info, timings, X=X)


@dataclass(frozen=True)
class TrainingLabels:
    """What the labels say about every business at the training date, and the honest split drawn from them."""

    status: pd.Series
    components: pd.Series
    split: Split
    y_future: pd.Series


def check_features(names: list[str]) -> None:
    """Raise :class:`TrainingError` when a protected attribute is among the features."""
    leaked = [n for n in names if any(n == p.split(".")[1] for p in protected_columns())]
    if leaked:
        raise TrainingError(f"protected attributes cannot be features: {leaked}", features=leaked)


def training_labels(dataset: Dataset, config: ExperimentConfig, index: pd.Index, as_of: dt.date,
                    end: dt.date) -> TrainingLabels:
    """Label status, network components, the split and the new positives of the businesses ``index``.

    Raises
    ------
    TrainingError
        With fewer than 5 positives known at ``as_of``, or a split with no tuning or evaluation business.
    """
    status = label_status(dataset, index, as_of)
    positives = int((status == POSITIVE).sum())
    if positives < 5:
        raise TrainingError(f"only {positives} positive label(s) recorded on or before {as_of}; at least 5 are "
                            "needed to train", positives=positives, as_of=as_of.isoformat())
    components = network_components(dataset, index, as_of, config.split.max_link_degree)
    split = split_components(components, status, config.split.tuning_share, config.split.evaluation_share,
                             config.seed)
    _require_tuning_and_evaluation(split, components, status)
    return TrainingLabels(status, components, split, new_positives(dataset, index, as_of, end))


def first_stage_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters of a positive-unlabelled first stage: the model's, with at most 200 trees."""
    return {**params, "n_estimators": min(int(params["n_estimators"]), 200)}


def best_iteration(probe: Any) -> int:
    """Return the number of trees early stopping chose in a fitted probe pipeline (all of them if it never stopped)."""
    model: lgb.LGBMClassifier = probe[-1]
    return int(model.best_iteration_ or model.booster_.current_iteration())


def model_metadata(dataset: Dataset, config: ExperimentConfig, pipeline: Any, names: list[str],
                   categorical: list[str], params: dict[str, Any], best: int, pu_info: dict[str, Any],
                   as_of: dt.date, end: dt.date, reference: pd.DataFrame, *, data_sha256: str,
                   code_version: str) -> dict[str, Any]:
    """Return the model's metadata before calibration; ``reference`` rows give the reason texts' grids."""
    peers = pipeline.named_steps.get("peers")
    metadata: dict[str, Any] = {
        "name": config.name, "feature_names": names, "feature_set": config.features.set,
        "categorical": categorical, "sector_relative": peers_to_dict(peers) if peers is not None else None,
        "calibration": {"method": "none"}, "bands": [],
        "catalogue_version": features.catalogue_version(names), "train_as_of": as_of.isoformat(),
        "validation_end": end.isoformat(),
        "extract_date": dataset.extract_date.isoformat() if dataset.extract_date else None,
        "data_sha256": data_sha256, "code_version": code_version or __version__, "config": config.to_dict(),
        "training_data": training_data(dataset),
        "best_iteration": int(best), "pu": pu_info, "lightgbm_params": params, "score_meaning": (
            f"calibrated probability that a business unlabelled at the scoring date is confirmed (labelled "
            f"positive) within {config.data.horizon_months} months; log-odds and SHAP values are the model's "
            "raw scale"),
    }
    # Reference distributions for the reason texts ("N% of businesses had a lower value"), from training rows.
    metadata["reference"] = {
        "group": "businesses at the training date",
        "grids": {name: [part.tolist() for part in fit_grid(reference[name].to_numpy(dtype="float64",
                                                                                   na_value=np.nan), 50)]
                  for name in names},
    }
    return metadata


def finish_model(bundle: ModelBundle, config: ExperimentConfig, dataset: Dataset, labels: TrainingLabels,
                 log_odds: np.ndarray, sectors: pd.Series, explained: pd.DataFrame, audit: Dataset,
                 pu_info: dict[str, Any], timings: dict[str, float], *, X: pd.DataFrame | None) -> FittedModel:
    """Calibrate ``bundle`` and fix its bands on the tuning set, then measure it on the evaluation set.

    Parameters
    ----------
    log_odds : ndarray
        The model's log-odds of every business at the training date.
    sectors : Series
        Each business's sector (reporting slices).
    explained : DataFrame
        Features of the evaluation businesses whose explanations are timed.
    audit : Dataset
        Holds the officers' protected characteristics of the evaluation businesses (fairness audit only).
    """
    split, y_future, index = labels.split, labels.y_future, labels.status.index
    as_of = dt.date.fromisoformat(bundle.metadata["train_as_of"])
    y_tune = y_future.to_numpy()[split.tuning]
    # Calibration and bands are fixed from the model's log-odds, then written into the bundle's own metadata.
    if config.calibration.method == "isotonic":
        x_cal, y_cal = fit_isotonic(log_odds[split.tuning], y_tune)
        bundle.metadata["calibration"] = {"method": "isotonic", "x": x_cal.tolist(), "y": y_cal.tolist(),
                                          "fitted_on": "tuning set: businesses unlabelled at the training date, "
                                                       "positives labelled in the validation window"}
    else:
        # The model's own probability: a dense grid of the logistic map, so min_score bands are exact enough.
        x_cal = np.linspace(-20.0, 20.0, 4001)
        y_cal = 1.0 / (1.0 + np.exp(-x_cal))
    probability = bundle.calibrate(log_odds)
    bands = bands_from_config(config.bands, log_odds[split.tuning], x_cal, y_cal)
    bundle.metadata["bands"] = [{"name": b.name, "min_log_odds": b.min_log_odds, "min_score": b.min_score}
                                for b in bands]
    ev_mask, y_all = split.evaluation, y_future.to_numpy()
    measures = ev.metrics(y_all[ev_mask], log_odds[ev_mask], probability[ev_mask])
    band_of = bundle.band(log_odds)
    for b in bands:
        in_band = band_of[ev_mask] == b.name
        measures[f"band_{b.name}_share"] = float(in_band.mean())
        measures[f"band_{b.name}_precision"] = float(y_all[ev_mask][in_band].mean()) if in_band.any() else np.nan
    tuning = ev.metrics(y_tune, log_odds[split.tuning], probability[split.tuning])
    regions = ev.region_of(dataset, index)
    slices = ev.slice_table(y_all[ev_mask], log_odds[ev_mask], {"sector": sectors[ev_mask], "region": regions[ev_mask]})
    # Protected characteristics (audit only), then the sector and region each business is in: a review list
    # should not fall on a group, a trade or a place out of proportion to its detected cases.
    groups = {k: v[ev_mask] for k, v in ev.fairness_groups(audit, index, as_of).items()}
    groups |= {"sector": sectors[ev_mask], "region": regions[ev_mask]}
    fairness = ev.fairness_table(log_odds[ev_mask], probability[ev_mask], y_all[ev_mask], groups)
    # Explanation cost is part of a model's cost: exact SHAP values for every evaluation business.
    start = time.perf_counter()
    bundle.contributions(explained)
    elapsed = time.perf_counter() - start
    measures["explanations_per_second"] = len(explained) / elapsed if elapsed > 0 else float("nan")
    booster = bundle.booster
    measures["trees"] = float(booster.num_trees())
    importance = pd.Series(booster.feature_importance("gain"), index=booster.feature_name(), name="gain")
    return FittedModel(bundle, config, as_of, dt.date.fromisoformat(bundle.metadata["validation_end"]), X,
                       labels.status, labels.components, split, y_future, log_odds, probability, measures, tuning,
                       slices, fairness, pu_info, importance.sort_values(ascending=False), explained, timings)


def _require_tuning_and_evaluation(split: Split, components: pd.Series, status: pd.Series) -> None:
    """Raise :class:`TrainingError` when the split left no business to calibrate on or to evaluate on.

    Only label-free network components are drawn for tuning and evaluation, whole and within their shares: a small
    data set whose businesses are mostly labelled, or linked to labelled ones, can leave a side empty, and
    calibration cannot be fitted on no business.
    """
    if split.tuning.any() and split.evaluation.any():
        return
    free = ~components.isin(components[status != UNLABELLED]).to_numpy()
    groups = int(components[free].nunique())
    raise TrainingError(
        f"no business left to {'calibrate the scores on' if not split.tuning.any() else 'evaluate the model on'}: "
        f"{int(free.sum())} business(es) in {groups} network component(s) are unlabelled at the training date and "
        "unlinked to labelled ones, and the split draws whole components for tuning and evaluation within "
        "split.tuning_share and split.evaluation_share; add businesses or raise the shares",
        free_businesses=int(free.sum()), free_components=groups, tuning=int(split.tuning.sum()),
        evaluation=int(split.evaluation.sum()))


def _group_sample(groups: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Rows of a random ``share`` of the groups (whole groups only)."""
    ids = np.unique(groups)
    chosen = np.random.default_rng(seed + 1).permutation(ids)[: max(1, round(share * len(ids)))]
    return np.isin(groups, chosen)


def _training_rows(dataset: Dataset, config: ExperimentConfig, X: pd.DataFrame, status: pd.Series,
                   components: pd.Series, split: Split, as_of: dt.date) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Training rows: the training date's, plus earlier snapshots labelled by what was detected after each.

    Snapshot rows keep only training-side businesses that were unlabelled at the snapshot; their status is
    positive when a first positive label arrived within the horizon after it. All dates are on or before the
    training date, so nothing after it is read.
    """
    frames, statuses, groups = [X[split.train]], [status[split.train]], [components[split.train]]
    train_ids = X.index[split.train]
    for t_k, end in snapshot_dates(config, as_of):
        X_k = features.build(dataset, t_k, list(X.columns))
        X_k = X_k[X_k.index.isin(train_ids)]
        if X_k.empty:
            break
        keep, s_k, g_k = snapshot_rows(dataset, X_k.index, components, t_k, end)
        frames.append(X_k[keep])
        statuses.append(s_k)
        groups.append(g_k)
    return pd.concat(frames), pd.concat(statuses), pd.concat(groups)


def snapshot_dates(config: ExperimentConfig, as_of: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Each history snapshot's date and the end of its horizon, newest first (all on or before ``as_of``)."""
    h = config.data.horizon_months
    return [((pd.Timestamp(as_of) - pd.DateOffset(months=k * h)).date(),
             (pd.Timestamp(as_of) - pd.DateOffset(months=(k - 1) * h)).date())
            for k in range(1, config.data.history_snapshots + 1)]


def snapshot_rows(dataset: Dataset, index: pd.Index, components: pd.Series, t_k: dt.date,
                  end: dt.date) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Which training-side businesses ``index`` of a snapshot at ``t_k`` train, with their status and group.

    Returns
    -------
    (ndarray of bool, Series, Series)
        The businesses kept (unlabelled or clean at ``t_k``), their status (positive when first labelled positive
        in ``(t_k, end]``) and their network component at the training date (a group of their own when new).
    """
    s_k = label_status(dataset, index, t_k)
    keep = (s_k != POSITIVE).to_numpy()
    fresh = new_positives(dataset, index, t_k, end).to_numpy() == 1
    s_k = s_k.where(~fresh, np.int8(POSITIVE))
    other = components.max() + 1 if len(components) else 0
    g_k = components.reindex(index[keep]).fillna(other).astype("int64")
    log.info("snapshot %s: %d businesses, %d new positives", t_k, int(keep.sum()), int(fresh[keep].sum()))
    return keep, s_k[keep], g_k


class _Stage:
    """A first-stage classifier for the PU strategies: the pipeline, fitted without early stopping."""

    def __init__(self, pipeline: Any, categorical: list[str]) -> None:
        self.pipeline = pipeline
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _Stage:
        fit_pipeline(self.pipeline, X, y, categorical=self.categorical)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(X))
