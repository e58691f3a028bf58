"""Positive-unlabelled learning: three ways to turn known positives and unknowns into a training set.

Only detected cases are labelled, so an unlabelled business is unknown, not clean (Bekker & Davis, "Learning from
positive and unlabeled data: a survey", Machine Learning 109, 2020). Each strategy returns the rows, targets and
weights the final classifier is fitted on:

``weighted-negative``
    Unlabelled businesses are negatives with a small weight; investigated-and-clean businesses (label 0) are
    reliable negatives with a larger one. The usual baseline ("biased learning" in Bekker & Davis).
``elkan-noto``
    Elkan & Noto, "Learning classifiers from only positive and unlabeled data", KDD 2008: a first-stage classifier
    g(x) = P(labelled | x), fitted out of fold, estimates the labelling frequency c = E[g(x) | labelled]; each
    unlabelled business then enters twice, as a positive with weight w = (1-c)/c * g/(1-g) and as a negative with
    weight 1-w.
``spy``
    Liu et al., "Partially supervised classification of text documents", ICML 2002: a share of the positives is
    hidden among the unlabelled as spies; unlabelled businesses that score below nearly all spies are reliable
    negatives, and the final classifier learns positives against those only.

First stages are fitted out of fold over network components, so no business is scored by a model that saw it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import GroupKFold

from riskmodel.config import PUConfig
from riskmodel.training.split import NEGATIVE, POSITIVE, UNLABELLED

__all__ = ["TrainingSet", "pu_training_set"]


@dataclass(frozen=True)
class TrainingSet:
    """Rows, targets and weights for the final classifier, with what the strategy estimated."""

    X: pd.DataFrame
    y: npt.NDArray[np.int8]
    weight: npt.NDArray[np.float64]
    groups: npt.NDArray[np.int64]
    info: dict[str, Any] = field(default_factory=dict)


def _out_of_fold(make_model: Callable[[], Any], X: pd.DataFrame, target: np.ndarray, groups: np.ndarray,
                 folds: int) -> np.ndarray:
    """Out-of-fold P(target=1) for every row, folds drawn over whole groups."""
    score = np.zeros(len(X))
    n_groups = len(np.unique(groups))
    for fit_rows, score_rows in GroupKFold(n_splits=min(folds, n_groups)).split(X, target, groups):
        if target[fit_rows].min() == target[fit_rows].max():  # a fold without positives learns nothing
            score[score_rows] = float(target[fit_rows].mean())
            continue
        model = make_model().fit(X.iloc[fit_rows], target[fit_rows])
        score[score_rows] = model.predict_proba(X.iloc[score_rows])[:, 1]
    return score


def pu_training_set(X: pd.DataFrame, status: pd.Series, groups: pd.Series, config: PUConfig,
                    make_model: Callable[[], Any], seed: int) -> TrainingSet:
    """Build the final classifier's training set with the configured strategy.

    Parameters
    ----------
    X : DataFrame
        Features of the training businesses.
    status : Series
        Label status per row (``POSITIVE``, ``NEGATIVE``, ``UNLABELLED``), aligned with ``X``.
    groups : Series
        Network component per row; first-stage folds never split one.
    config : PUConfig
        Strategy and weights.
    make_model : callable
        Returns a fresh unfitted classifier with ``fit`` and ``predict_proba`` (for first stages).
    seed : int
        Seed of the spy draw.

    Returns
    -------
    TrainingSet
    """
    s = status.to_numpy()
    pos, neg, unl = s == POSITIVE, s == NEGATIVE, s == UNLABELLED
    base_weight = np.where(pos, config.positive_weight,
                           np.where(neg, config.known_negative_weight, config.unlabelled_weight)).astype("float64")
    y = pos.astype(np.int8)
    g = groups.to_numpy(dtype="int64")
    info: dict[str, Any] = {"positives": int(pos.sum()), "known_negatives": int(neg.sum()),
                            "unlabelled": int(unl.sum())}
    if config.strategy == "weighted-negative":
        return TrainingSet(X, y, base_weight, g, info)
    if config.strategy == "elkan-noto":
        score = np.clip(_out_of_fold(make_model, X, y, g, config.folds), 1e-6, 1 - 1e-6)
        c = float(np.clip(score[pos].mean(), 1e-6, 1.0)) if pos.any() else 1.0
        w = np.clip((1 - c) / c * score / (1 - score), 0.0, 1.0)
        info.update(labelling_frequency_c=c, mean_unlabelled_positive_weight=float(w[unl].mean()) if unl.any() else 0.0)
        rows = np.flatnonzero(unl)
        X_out = pd.concat([X, X.iloc[rows]])
        y_out = np.concatenate([y, np.ones(len(rows), dtype=np.int8)])
        weight = base_weight.copy()
        weight[unl] = config.unlabelled_weight * (1 - w[unl])
        w_out = np.concatenate([weight, config.unlabelled_weight * w[unl]])
        keep = w_out > 0
        return TrainingSet(X_out[keep], y_out[keep], w_out[keep], np.concatenate([g, g[rows]])[keep], info)
    # spy
    rng = np.random.default_rng(seed)
    spies = pos & (rng.random(len(s)) < config.spy_share)
    hidden = np.where(spies, 0, y).astype(np.int8)
    score = _out_of_fold(make_model, X, hidden, g, config.folds)
    threshold = float(np.quantile(score[spies], config.spy_quantile)) if spies.any() else float(np.median(score))
    reliable = unl & (score < threshold)
    keep = pos | neg | reliable
    info.update(spies=int(spies.sum()), spy_threshold=threshold, reliable_negatives=int(reliable.sum()))
    return TrainingSet(X[keep], y[keep], base_weight[keep], g[keep], info)
