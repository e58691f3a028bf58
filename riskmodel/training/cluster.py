"""Training on a Dask cluster with the feature rows kept on the workers (``riskmodel train --engine dask``).

:func:`riskmodel.training.fit.fit_model` hands over to :func:`fit_on_cluster` when it is given a cluster. The
steps are the local ones, but the feature frames (the training date's and each history snapshot's) are built on
the workers (:meth:`riskmodel.distributed.ClusterFeatures.frame`) and stay there. This process holds:

- per business: the label status, network component, side of the split, new positives, log-odds and sector (a few
  numbers each, from the staged data set's key columns);
- per training row: its place on the cluster, label, weight and group;
- a sample of at most :data:`~riskmodel.training.fit.PROBE_ROWS` training rows (whole network components): it
  fits the probe that chooses the number of trees by early stopping (``lightgbm.dask`` has none), the
  hyper-parameter search and each positive-unlabelled first stage;
- the compared features and the sector of every training row, on which the sector statistics
  (:class:`features.peers.SectorRelative`, fitted state) are fitted exactly as locally;
- the features of the first :data:`~riskmodel.training.fit.EXPLAINED_ROWS` evaluation businesses and, for the
  reason texts' reference grids, of a sample of training businesses.

Everything that touches every row runs on the workers, next to the rows: the first stages' out-of-fold scores,
the sector comparison of each training row, the final fit (``lightgbm.dask.DaskLGBMClassifier`` through
:func:`riskmodel.training.distributed.fit_rows_dask`) and the log-odds of every business. On a data set with no
more than ``PROBE_ROWS`` training rows the sample is every row, and every step but the final fit sees exactly the
rows the local engine gives it, in the same order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

import features
from riskmodel.artifact import ModelBundle
from riskmodel.config import ExperimentConfig
from riskmodel.contract import Dataset
from riskmodel.training import evaluate as ev
from riskmodel.training.distributed import RowPiece, fit_rows_dask
from riskmodel.training.fit import (
    EXPLAINED_ROWS,
    PROBE_ROWS,
    FittedModel,
    _group_sample,
    _Stage,
    best_iteration,
    check_features,
    finish_model,
    first_stage_params,
    model_metadata,
    snapshot_dates,
    snapshot_rows,
    training_labels,
)
from riskmodel.training.model import fit_pipeline, lgbm_params, make_pipeline
from riskmodel.training.pu import pu_plan
from riskmodel.training.search import TrialCallback, search

if TYPE_CHECKING:
    from riskmodel.distributed import ClusterFeatures, ClusterFrame

__all__ = ["ClusterRows", "fit_on_cluster"]

log = logging.getLogger(__name__)


def _take(part: pd.DataFrame, positions: np.ndarray, columns: list[str] | None) -> pd.DataFrame:
    rows = part if columns is None else part[columns]
    return rows.iloc[positions]


def _first_stage_scores(part: pd.DataFrame, positions: np.ndarray, folds: np.ndarray,
                        models: list[Any]) -> np.ndarray:
    """Score each row with the first stage of its fold (a constant where a fold had one class)."""
    out = np.empty(len(positions), dtype="float64")
    for k in np.unique(folds):
        rows = folds == k
        model = models[int(k)]
        out[rows] = model if isinstance(model, float) else model.predict_proba(part.iloc[positions[rows]])[:, 1]
    return out


def _log_odds_and_sector(part: pd.DataFrame, bundle: ModelBundle) -> tuple[np.ndarray, np.ndarray | None]:
    sector = part["sic_division"].to_numpy(dtype="float64", na_value=np.nan) if "sic_division" in part else None
    return bundle.log_odds(part), sector


class ClusterRows:
    """Rows of feature frames held on a cluster, numbered in the order they were added.

    Parameters
    ----------
    client : distributed.Client
        The cluster holding the frames.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.frames: list[ClusterFrame] = []
        #: Per row: which frame (in the order added) it comes from, its partition there and its position in it.
        self.source = np.zeros(0, dtype=np.int32)
        self.part = np.zeros(0, dtype=np.int64)
        self.position = np.zeros(0, dtype=np.int64)

    def add(self, frame: ClusterFrame, mask: np.ndarray) -> None:
        """Append the rows of ``frame`` where ``mask`` (one value per business of ``frame.index``), in order."""
        rows = np.flatnonzero(mask)
        self.source = np.concatenate([self.source, np.full(len(rows), len(self.frames), dtype=np.int32)])
        self.part = np.concatenate([self.part, rows // frame.chunk_size])
        self.position = np.concatenate([self.position, rows % frame.chunk_size])
        self.frames.append(frame)

    def __len__(self) -> int:
        return len(self.source)

    def runs(self, rows: np.ndarray) -> list[tuple[Any, np.ndarray, np.ndarray]]:
        """Cut ``rows`` (row numbers) into runs in one partition: ``(partition future, positions, slice of rows)``."""
        src, part, pos = self.source[rows], self.part[rows], self.position[rows]
        key = src.astype(np.int64) * (1 << 40) + part
        cuts = np.flatnonzero(np.diff(key)) + 1
        out = []
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
            if b > a:
                out.append((self.frames[int(src[a])].parts[int(part[a])], pos[a:b], np.arange(a, b)))
        return out

    def gather(self, rows: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
        """Bring the features of ``rows`` (row numbers, any order, repeats allowed) to this process, in that order.

        Parameters
        ----------
        rows : ndarray of int
            Row numbers.
        columns : list of str, optional
            Only these features (default: all).
        """
        unique, back = np.unique(rows, return_inverse=True)
        runs = self.runs(unique)
        if not runs:
            names = columns if columns is not None else (self.frames[0].columns if self.frames else [])
            return pd.DataFrame(columns=names, dtype="float64")
        futures = [self.client.submit(_take, part, positions, columns, pure=False) for part, positions, _ in runs]
        frame = pd.concat(self.client.gather(futures))
        return frame if np.array_equal(back, np.arange(len(unique))) else frame.iloc[back]

    def apply(self, rows: np.ndarray, func: Callable[..., np.ndarray], per_row: np.ndarray, *args: Any) -> np.ndarray:
        """Run ``func(partition, positions, per_row[run], *args)`` next to each run of ``rows``; concatenate."""
        runs = self.runs(rows)
        futures = [self.client.submit(func, part, positions, per_row[run], *args, pure=False)
                   for part, positions, run in runs]
        results = self.client.gather(futures)
        return np.concatenate(results) if results else np.zeros(0, dtype="float64")


def fit_on_cluster(dataset: Dataset, config: ExperimentConfig, cluster: ClusterFeatures, as_of: dt.date,
                   end: dt.date, *, data_sha256: str = "", code_version: str = "",
                   on_trial: TrialCallback | None = None) -> FittedModel:
    """Train, calibrate and evaluate a model on a cluster, the feature rows staying on the workers.

    Parameters
    ----------
    dataset : Dataset
        The staged data set's key columns (``cluster.staged.dataset``).
    config : ExperimentConfig
        The experiment.
    cluster : ClusterFeatures
        The cluster and the staged data set.
    as_of, end : date
        Training date and end of the validation window (:func:`~riskmodel.training.fit.training_dates`).
    data_sha256, code_version : str
        Recorded in the model metadata.
    on_trial : callable, optional
        Called with each hyper-parameter search trial.

    Returns
    -------
    FittedModel
        With ``X`` None (the rows stayed on the cluster) and ``evaluation_X`` gathered.
    """
    names = features.feature_set(config.features.set)
    check_features(names)
    try:
        return _fit(dataset, config, cluster, as_of, end, names, data_sha256=data_sha256,
                    code_version=code_version, on_trial=on_trial)
    finally:
        cluster.release()


def _fit(dataset: Dataset, config: ExperimentConfig, cluster: ClusterFeatures, as_of: dt.date, end: dt.date,
         names: list[str], *, data_sha256: str, code_version: str, on_trial: TrialCallback | None) -> FittedModel:
    client = cluster.client
    timings: dict[str, float] = {}
    start = time.perf_counter()
    frame = cluster.frame(as_of, names)
    timings["features_seconds"] = time.perf_counter() - start
    index = frame.index
    labels = training_labels(dataset, config, index, as_of, end)
    split, components = labels.split, labels.components
    params, patience = lgbm_params(config.model, config.seed)
    sector = [c for c in config.features.sector_relative if c in names]
    categorical = [c for c in config.features.categorical if c in names]

    # Training rows as local training takes them: the training date's training side, then each snapshot's.
    start = time.perf_counter()
    rows = ClusterRows(client)
    rows.add(frame, split.train)
    status, groups = [labels.status.to_numpy()[split.train]], [components.to_numpy()[split.train]]
    train_ids = index[split.train]
    for t_k, end_k in snapshot_dates(config, as_of):
        index_k = cluster.index(t_k)
        index_k = index_k[index_k.isin(train_ids)]
        if index_k.empty:
            break
        keep, s_k, g_k = snapshot_rows(dataset, index_k, components, t_k, end_k)
        if keep.any():
            frame_k = cluster.frame(t_k, names, index_k[keep])
            rows.add(frame_k, np.ones(len(frame_k.index), dtype=bool))
            status.append(s_k.to_numpy())
            groups.append(g_k.to_numpy())
    base_status, base_groups = np.concatenate(status), np.concatenate(groups).astype("int64")
    timings["history_features_seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    every_row = np.arange(len(rows))

    def out_of_fold(target: np.ndarray) -> np.ndarray:
        return _out_of_fold(rows, every_row, target, base_groups, config, sector, categorical, params)

    plan = pu_plan(base_status, config.pu, out_of_fold, config.seed)
    copies = plan.copies
    # The training set's rows (kept rows, then positive copies) as row numbers of ``rows``.
    out_rows = np.concatenate([np.flatnonzero(plan.keep), np.flatnonzero(copies)])
    y = np.concatenate([plan.y[plan.keep], np.ones(int(copies.sum()), dtype=np.int8)])
    weight = np.concatenate([plan.weight[plan.keep], plan.copy_weight[copies]])
    g = base_groups[out_rows]
    info = {**plan.info, "training_rows": len(out_rows)}

    stop = _group_sample(g, config.split.early_stopping_share, config.seed)
    stop_rows = round(PROBE_ROWS * config.split.early_stopping_share)
    learn = _capped(g, ~stop, PROBE_ROWS - stop_rows, config.seed + 1)
    stop = _capped(g, stop, stop_rows, config.seed + 2)
    sample = np.flatnonzero(learn | stop)
    X_s, y_s, w_s = rows.gather(out_rows[sample]), y[sample], weight[sample]
    stop_s = stop[sample]
    info["client_sample_rows"] = len(sample)
    log.info("training on the cluster: %d training rows in %d frames, %d of them sampled to this process",
             len(out_rows), len(rows.frames), len(sample))
    if config.search.trials > 0:
        params, best_score = search(params, config.search.trials, X=X_s, y=y_s, weight=w_s, holdout=stop_s,
                                    sector=sector, categorical=categorical, patience=patience, seed=config.seed,
                                    on_trial=on_trial)
        info["search_best_holdout_average_precision"] = best_score
    probe = make_pipeline(params, sector)
    fit_pipeline(probe, X_s[~stop_s], y_s[~stop_s], w_s[~stop_s], categorical=categorical, X_valid=X_s[stop_s],
                 y_valid=y_s[stop_s], w_valid=w_s[stop_s], patience=patience)
    best = best_iteration(probe)
    pipeline = make_pipeline({**params, "n_estimators": max(best, 1)}, sector)
    if len(pipeline.steps) > 1:
        pipeline[:-1].fit(_peer_frame(rows, out_rows, names, sector))
    pieces = [RowPiece(part, positions, y[run], weight[run]) for part, positions, run in rows.runs(out_rows)]
    fit_rows_dask(client, pipeline, pieces, categorical=categorical)
    timings["fit_seconds"] = time.perf_counter() - start

    train_rows = np.flatnonzero(rows.source == 0)
    train_rows = train_rows[_capped(base_groups[train_rows], np.ones(len(train_rows), dtype=bool), PROBE_ROWS,
                                    config.seed)]
    metadata = model_metadata(dataset, config, pipeline, names, categorical, params, best, info, as_of, end,
                              rows.gather(train_rows), data_sha256=data_sha256, code_version=code_version)
    bundle = ModelBundle(pipeline[-1].booster_, metadata)
    log_odds, sectors = _log_odds(client, frame, bundle)
    evaluation = split.evaluation & (np.cumsum(split.evaluation) <= EXPLAINED_ROWS)
    whole = ClusterRows(client)
    whole.add(frame, evaluation)
    explained = whole.gather(np.arange(len(whole)))
    return finish_model(bundle, config, dataset, labels, log_odds, sectors, explained,
                        _audit(dataset, cluster, index[split.evaluation]), info, timings, X=None)


def _peer_frame(rows: ClusterRows, out_rows: np.ndarray, names: list[str], compared: list[str],
                group: str = "sic_division") -> pd.DataFrame:
    """Every training row's compared features and sector, for fitting the sector statistics exactly.

    :class:`features.peers.SectorRelative` reads only those columns, but records the names of the whole frame it is
    fitted on (and checks them when it transforms); the other features are therefore present as empty sparse
    columns, which hold no values. So the statistics are the local engine's, fitted on every training row, for
    ``len(compared) + 1`` numbers per row on this process.
    """
    narrow = rows.gather(out_rows, [*compared, group])

    def column(name: str) -> pd.Series | pd.arrays.SparseArray:
        return narrow[name] if name in narrow.columns else pd.arrays.SparseArray(np.full(len(narrow), np.nan))

    return pd.DataFrame({name: column(name) for name in names}, index=narrow.index)


def _capped(groups: np.ndarray, mask: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Return ``mask`` cut to at most ``limit`` rows of whole groups drawn at random (all of it when it fits).

    A single group larger than ``limit`` is kept whole: a component is never split.
    """
    if int(mask.sum()) <= limit:
        return mask
    ids, sizes = np.unique(groups[mask], return_counts=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    fits = np.cumsum(sizes[order]) <= limit
    fits[0] = True
    return mask & np.isin(groups, ids[order][fits])


def _out_of_fold(rows: ClusterRows, every_row: np.ndarray, target: np.ndarray, groups: np.ndarray,
                 config: ExperimentConfig, sector: list[str], categorical: list[str],
                 params: dict[str, Any]) -> np.ndarray:
    """Out-of-fold first-stage scores of every row: folds over whole groups, as the local engine draws them.

    Each fold's first stage is fitted here on the other folds' rows (a sample of whole groups when there are more
    than ``PROBE_ROWS``) and scores its fold's rows on the workers.
    """
    n_folds = min(config.pu.folds, len(np.unique(groups)))
    fold_of = np.empty(len(target), dtype=np.int64)
    for k, (_, score_rows) in enumerate(GroupKFold(n_splits=n_folds).split(np.zeros((len(target), 1)), target,
                                                                            groups)):
        fold_of[score_rows] = k
    models: list[Any] = []
    for k in range(n_folds):
        fit_rows = np.flatnonzero(fold_of != k)
        if target[fit_rows].min() == target[fit_rows].max():  # a fold without positives learns nothing
            models.append(float(target[fit_rows].mean()))
            continue
        fit_rows = fit_rows[_capped(groups[fit_rows], np.ones(len(fit_rows), dtype=bool), PROBE_ROWS,
                                    config.seed + 3 + k)]
        stage = _Stage(make_pipeline(first_stage_params(params), sector), categorical)
        models.append(stage.fit(rows.gather(fit_rows), target[fit_rows]))
    [shared] = rows.client.scatter([models], broadcast=True, hash=False)  # one object: the list of stages
    return rows.apply(every_row, _first_stage_scores, fold_of, shared)


def _log_odds(client: Any, frame: ClusterFrame, bundle: ModelBundle) -> tuple[np.ndarray, pd.Series]:
    """Return the log-odds and sector of every business of ``frame``, computed next to its rows."""
    shared = client.scatter(bundle, broadcast=True, hash=False)
    results = client.gather([client.submit(_log_odds_and_sector, part, shared, pure=False) for part in frame.parts])
    log_odds = np.concatenate([r[0] for r in results]) if results else np.zeros(0)
    if results and results[0][1] is not None:
        sic = pd.Series(np.concatenate([r[1] for r in results]), index=frame.index, name="sic_division")
        return log_odds, ev.sector_of(sic)
    return log_odds, pd.Series("unknown", index=frame.index)


def _audit(dataset: Dataset, cluster: ClusterFeatures, businesses: pd.Index) -> Dataset:
    """Return the officers of ``businesses`` with every column (protected characteristics), for the fairness audit."""
    if "officers" not in dataset:
        return dataset
    rows = np.flatnonzero(dataset["officers"]["company_number"].isin(businesses).to_numpy())
    return dataclasses.replace(dataset, tables={"officers": cluster.staged.take("officers", rows)})
