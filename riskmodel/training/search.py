"""Optional hyper-parameter search with optuna, each trial reported to a callback (MLflow nested runs).

Trials are scored on the early-stopping hold-out (whole training components, their own labels): average precision,
weighted like the training rows. The tuning and evaluation sets are never seen, so the reported measures stay
honest. The space keeps trees small, because explanation cost grows with trees x leaves x depth squared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from riskmodel.errors import RiskmodelError
from riskmodel.training.model import fit_pipeline, make_pipeline

__all__ = ["SearchError", "search"]

log = logging.getLogger(__name__)

TrialCallback = Callable[[int, dict[str, Any], dict[str, float]], None]


class SearchError(RiskmodelError):
    """The hyper-parameter search cannot run (optuna missing, or no positive in the hold-out)."""


def _space(trial: Any) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 3, 31),
        "max_depth": trial.suggest_int("max_depth", 2, 6),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 400, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 50.0, log=True),
    }


def search(params: Mapping[str, Any], trials: int, *, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray,
           holdout: np.ndarray, sector: Sequence[str], categorical: Sequence[str], patience: int | None,
           seed: int, on_trial: TrialCallback | None = None) -> tuple[dict[str, Any], float]:
    """Search LightGBM parameters; return the best parameters (merged into ``params``) and their hold-out score.

    Raises
    ------
    SearchError
        If optuna is not installed or the hold-out has no positive.
    """
    try:
        import optuna
    except ModuleNotFoundError:
        raise SearchError("hyper-parameter search needs optuna: pip install 'riskmodel[search]'") from None
    if not 0 < int(y[holdout].sum()) < int(holdout.sum()):
        raise SearchError("the early-stopping hold-out has no positive to score trials on")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        trial_params = {**params, **_space(trial)}
        pipeline = make_pipeline(trial_params, sector)
        fit_pipeline(pipeline, X[~holdout], y[~holdout], weight[~holdout], categorical=categorical,
                     X_valid=X[holdout], y_valid=y[holdout], w_valid=weight[holdout], patience=patience)
        score = float(average_precision_score(y[holdout], pipeline.predict_proba(X[holdout])[:, 1],
                                              sample_weight=weight[holdout]))
        trees = int(pipeline[-1].best_iteration_ or pipeline[-1].booster_.current_iteration())
        trial.set_user_attr("trees", trees)
        if on_trial is not None:
            on_trial(trial.number, _space_values(trial.params), {"holdout_average_precision": score,
                                                                 "trees": float(trees)})
        return score

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    log.info("search: best hold-out average precision %.4f with %s", study.best_value, study.best_params)
    return {**params, **study.best_params}, float(study.best_value)


def _space_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, float) else v) for k, v in values.items()}
