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

__all__ = ["PUPlan", "TrainingSet", "pu_plan", "pu_training_set"]


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


@dataclass(frozen=True)
class PUPlan:
    """A strategy's training set as arrays over the input rows, without the features (so rows can stay anywhere).

    The training set is the input rows where ``keep``, with targets ``y`` and weights ``weight``, followed by a
    positive copy (target 1, weight ``copy_weight``) of each input row where ``copy_weight > 0`` (Elkan & Noto's
    unlabelled businesses entered twice).
    """

    y: npt.NDArray[np.int8]
    weight: npt.NDArray[np.float64]
    keep: npt.NDArray[np.bool_]
    copy_weight: npt.NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def copies(self) -> npt.NDArray[np.bool_]:
        """Input rows that also enter as a positive copy."""
        return self.copy_weight > 0


def pu_plan(status: np.ndarray, config: PUConfig, out_of_fold: Callable[[np.ndarray], np.ndarray], seed: int) -> PUPlan:
    """Return the configured strategy's training set over rows of ``status`` (see :class:`PUPlan`).

    Parameters
    ----------
    status : ndarray
        Label status per row (``POSITIVE``, ``NEGATIVE``, ``UNLABELLED``).
    config : PUConfig
        Strategy and weights.
    out_of_fold : callable
        Given a binary target per row, returns each row's P(target=1) from a first stage that never saw the row's
        group (``elkan-noto`` and ``spy`` only).
    seed : int
        Seed of the spy draw.
    """
    s = np.asarray(status)
    pos, neg, unl = s == POSITIVE, s == NEGATIVE, s == UNLABELLED
    base_weight = np.where(pos, config.positive_weight,
                           np.where(neg, config.known_negative_weight, config.unlabelled_weight)).astype("float64")
    y = pos.astype(np.int8)
    none = np.zeros(len(s), dtype="float64")
    info: dict[str, Any] = {"positives": int(pos.sum()), "known_negatives": int(neg.sum()),
                            "unlabelled": int(unl.sum())}
    if config.strategy == "weighted-negative":
        return PUPlan(y, base_weight, np.ones(len(s), dtype=bool), none, info)
    if config.strategy == "elkan-noto":
        score = np.clip(out_of_fold(y), 1e-6, 1 - 1e-6)
        c = float(np.clip(score[pos].mean(), 1e-6, 1.0)) if pos.any() else 1.0
        w = np.clip((1 - c) / c * score / (1 - score), 0.0, 1.0)
        info.update(labelling_frequency_c=c, mean_unlabelled_positive_weight=float(w[unl].mean()) if unl.any() else 0.0)
        weight = base_weight.copy()
        weight[unl] = config.unlabelled_weight * (1 - w[unl])
        copy_weight = np.where(unl, config.unlabelled_weight * w, 0.0)
        return PUPlan(y, weight, weight > 0, copy_weight, info)
    # spy
    rng = np.random.default_rng(seed)
    spies = pos & (rng.random(len(s)) < config.spy_share)
    hidden = np.where(spies, 0, y).astype(np.int8)
    score = out_of_fold(hidden)
    threshold = float(np.quantile(score[spies], config.spy_quantile)) if spies.any() else float(np.median(score))
    reliable = unl & (score < threshold)
    info.update(spies=int(spies.sum()), spy_threshold=threshold, reliable_negatives=int(reliable.sum()))
    return PUPlan(y, base_weight, pos | neg | reliable, none, info)


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
        The kept rows of ``X`` in order, then the positive copies in order (:class:`PUPlan`).
    """
    g = groups.to_numpy(dtype="int64")
    plan = pu_plan(status.to_numpy(), config,
                   lambda target: _out_of_fold(make_model, X, target, g, config.folds), seed)
    copies = plan.copies
    if not copies.any():
        keep = plan.keep
        return TrainingSet(X[keep] if not keep.all() else X, plan.y[keep], plan.weight[keep], g[keep], plan.info)
    return TrainingSet(pd.concat([X[plan.keep], X[copies]]),
                       np.concatenate([plan.y[plan.keep], np.ones(int(copies.sum()), dtype=np.int8)]),
                       np.concatenate([plan.weight[plan.keep], plan.copy_weight[copies]]),
                       np.concatenate([g[plan.keep], g[copies]]), plan.info)
