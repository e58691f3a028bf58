"""The model: one scikit-learn ``Pipeline`` of fitted feature transformers and LightGBM, then calibration and bands.

LightGBM runs through its scikit-learn API. Trees are kept small on purpose: exact SHAP values from
``pred_contrib`` cost time proportional to trees x leaves x depth squared (Lundberg et al., "From local explanations
to global understanding with explainable AI for trees", Nature Machine Intelligence 2020), and every score is
explained; with a few hundred positives, shallow regularised trees also generalise better.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline

from features.peers import SectorRelative
from riskmodel.config import Band

__all__ = ["DEFAULT_LGBM", "FittedBand", "bands_from_config", "fit_isotonic", "fit_pipeline", "make_pipeline"]

#: LightGBM parameters every model starts from; an experiment's ``[model]`` table overrides them.
DEFAULT_LGBM: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "max_depth": 3,
    "min_child_samples": 100,
    "colsample_bytree": 0.5,
    "reg_lambda": 10.0,
    "early_stopping_rounds": 50,
}
_NEW_EVAL_API = "eval_X" in inspect.signature(lgb.LGBMClassifier.fit).parameters
# Fixed for reproducibility: identical data, config and seed give an identical model file.
_FIXED = {"deterministic": True, "force_row_wise": True, "verbose": -1, "n_jobs": 2}


def lgbm_params(model: Mapping[str, Any], seed: int) -> tuple[dict[str, Any], int | None]:
    """LightGBM keyword arguments and the early-stopping patience from an experiment's ``[model]`` table."""
    params = {**DEFAULT_LGBM, **dict(model)}
    patience = params.pop("early_stopping_rounds", None)
    return {**params, **_FIXED, "random_state": seed}, (int(patience) if patience else None)


def make_pipeline(params: Mapping[str, Any], sector_relative: Sequence[str] = (),
                  group_column: str = "sic_division") -> Pipeline:
    """Return an unfitted pipeline: sector comparison (when asked for) followed by LightGBM.

    Parameters
    ----------
    params : mapping
        LightGBM keyword arguments (:func:`lgbm_params`).
    sector_relative : sequence of str
        Features compared with their sector by :class:`features.peers.SectorRelative`; empty for none.
    group_column : str
        Sector column.
    """
    steps: list[tuple[str, Any]] = []
    if sector_relative:
        steps.append(("peers", SectorRelative(columns=list(sector_relative), group_column=group_column)))
    steps.append(("model", lgb.LGBMClassifier(**params)))
    return Pipeline(steps)


def fit_pipeline(pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None = None, *,
                 categorical: Sequence[str] = (), X_valid: pd.DataFrame | None = None,
                 y_valid: np.ndarray | None = None, w_valid: np.ndarray | None = None,
                 patience: int | None = None) -> Pipeline:
    """Fit the transformers on the training rows only, then LightGBM with early stopping on the validation rows.

    Returns
    -------
    Pipeline
        ``pipeline``, fitted.
    """
    pre = pipeline[:-1]
    Xt = pre.fit_transform(X) if len(pre.steps) else X
    kwargs: dict[str, Any] = {"sample_weight": weight,
                              "categorical_feature": [c for c in categorical if c in Xt.columns] or "auto"}
    if X_valid is not None and y_valid is not None and patience and 0 < int(np.sum(y_valid)) < len(y_valid):
        Xv = pre.transform(X_valid) if len(pre.steps) else X_valid
        if _NEW_EVAL_API:
            kwargs.update(eval_X=(Xv,), eval_y=(y_valid,))
        else:  # LightGBM < 4.7
            kwargs.update(eval_set=[(Xv, y_valid)])
        kwargs.update(eval_metric="binary_logloss", eval_sample_weight=None if w_valid is None else [w_valid],
                      callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)])
    pipeline[-1].fit(Xt, y, **kwargs)
    return pipeline


def fit_isotonic(log_odds: np.ndarray, y: np.ndarray) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Isotonic map from log-odds to probability, as the thresholds that ``numpy.interp`` replays exactly.

    Returns
    -------
    (x, y) : ndarrays
        Increasing log-odds and the calibrated probability at each; between them the map is linear, outside it is
        clipped (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``).
    """
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(log_odds, y)
    return np.asarray(iso.X_thresholds_, dtype="float64"), np.asarray(iso.y_thresholds_, dtype="float64")


@dataclass(frozen=True)
class FittedBand:
    """A band with its threshold fixed at training time.

    Attributes
    ----------
    name : str
    min_log_odds : float
        Businesses whose log-odds reach it (and miss every higher band) fall in the band; ``-inf`` for the last.
    min_score : float
        Calibrated probability at the threshold.
    """

    name: str
    min_log_odds: float
    min_score: float


def bands_from_config(bands: Sequence[Band], log_odds: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[FittedBand]:
    """Fix band thresholds on the tuning set's log-odds (``top_share``) or on the calibration map (``min_score``)."""
    out: list[FittedBand] = []
    for band in bands[:-1]:
        if band.top_share is not None:
            threshold = float(np.quantile(log_odds, 1 - band.top_share)) if len(log_odds) else float("inf")
        else:
            # The lowest log-odds whose calibrated probability reaches min_score; the map is linear between knots.
            m = float(band.min_score or 0.0)
            reach = np.flatnonzero(y >= m)
            if not len(reach):
                threshold = float("inf")
            elif reach[0] == 0:
                threshold = float("-inf")
            else:
                i = int(reach[0])
                threshold = float(x[i - 1] + (m - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))
        if out:
            threshold = min(threshold, out[-1].min_log_odds)
        score = float(np.interp(threshold, x, y)) if len(x) and np.isfinite(threshold) else float(
            y[0] if threshold < 0 and len(y) else (y[-1] if len(y) else np.nan))
        out.append(FittedBand(band.name, threshold, score))
    out.append(FittedBand(bands[-1].name, float("-inf"), 0.0))
    return out
