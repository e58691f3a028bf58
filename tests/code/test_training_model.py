"""LightGBM parameters, the pipeline, isotonic calibration as numpy.interp, and band thresholds."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from features.peers import SectorRelative
from riskmodel.config import Band
from riskmodel.training.model import (
    DEFAULT_LGBM,
    FittedBand,
    bands_from_config,
    fit_isotonic,
    fit_pipeline,
    lgbm_params,
    make_pipeline,
)

FIXED = {"deterministic": True, "force_row_wise": True, "verbose": -1, "n_jobs": 2}

# --- lgbm_params ----------------------------------------------------------------------------------------------------


def test_lgbm_params_defaults() -> None:
    params, patience = lgbm_params({}, seed=7)
    expected = {k: v for k, v in DEFAULT_LGBM.items() if k != "early_stopping_rounds"}
    assert params == {**expected, **FIXED, "random_state": 7}
    assert patience == 50
    assert "early_stopping_rounds" in DEFAULT_LGBM  # popped from a copy, not from the defaults


def test_lgbm_params_overrides_and_pops_patience() -> None:
    params, patience = lgbm_params({"num_leaves": 15, "min_split_gain": 0.1, "early_stopping_rounds": 20}, seed=1)
    assert params["num_leaves"] == 15
    assert params["min_split_gain"] == 0.1
    assert params["learning_rate"] == DEFAULT_LGBM["learning_rate"]
    assert "early_stopping_rounds" not in params
    assert patience == 20 and type(patience) is int
    # Reproducibility settings and the seed always win.
    params, _ = lgbm_params({"deterministic": False, "n_jobs": 8, "random_state": 99}, seed=3)
    assert (params["deterministic"], params["n_jobs"], params["random_state"]) == (True, 2, 3)


@pytest.mark.parametrize("value", [0, None])
def test_lgbm_params_no_early_stopping(value: int | None) -> None:
    params, patience = lgbm_params({"early_stopping_rounds": value}, seed=0)
    assert patience is None
    assert "early_stopping_rounds" not in params


# --- fit_isotonic ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_isotonic_replays_exactly_with_interp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    log_odds = np.round(rng.normal(size=n), 1 + seed % 3)  # with ties
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * log_odds))).astype(float)
    x, p = fit_isotonic(log_odds, y)
    assert x.dtype == np.float64 and p.dtype == np.float64
    assert (np.diff(x) > 0).all()
    assert (np.diff(p) >= 0).all()
    assert p.min() >= 0 and p.max() <= 1
    query = np.concatenate([log_odds, rng.normal(scale=3, size=300), [x[0] - 10, x[-1] + 10]])
    expected = IsotonicRegression(out_of_bounds="clip").fit(log_odds, y).predict(query)
    np.testing.assert_array_equal(np.interp(query, x, p), expected)


def test_isotonic_hand_example() -> None:
    # Pool adjacent violators: (0.0, 1) and (1.0, 0) pool to 0.5.
    x, p = fit_isotonic(np.array([-1.0, 0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(x, [-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(p, [0.0, 0.5, 0.5, 1.0])
    assert np.interp(-5.0, x, p) == 0.0 and np.interp(1.5, x, p) == 0.75


# --- bands_from_config ----------------------------------------------------------------------------------------------


def test_top_share_bands_are_quantiles() -> None:
    log_odds = np.arange(100, dtype="float64")  # 0..99
    x, p = np.array([0.0, 99.0]), np.array([0.0, 0.99])
    bands = bands_from_config((Band("high", top_share=0.01), Band("medium", top_share=0.1), Band("low")),
                              log_odds, x, p)
    assert [b.name for b in bands] == ["high", "medium", "low"]
    assert bands[0].min_log_odds == pytest.approx(np.quantile(log_odds, 0.99)) == pytest.approx(98.01)
    assert bands[1].min_log_odds == pytest.approx(89.1)
    assert bands[0].min_score == pytest.approx(0.9801)
    assert bands[1].min_score == pytest.approx(0.891)
    assert bands[2] == FittedBand("low", float("-inf"), 0.0)
    # Shares of the tuning set at or above each threshold.
    assert (log_odds >= bands[0].min_log_odds).sum() == 1
    assert (log_odds >= bands[1].min_log_odds).sum() == 10


def test_min_score_band_takes_the_first_log_odds_reaching_it() -> None:
    x = np.array([-3.0, -1.0, 0.5, 2.0])
    p = np.array([0.01, 0.1, 0.3, 0.6])
    bands = bands_from_config((Band("high", min_score=0.3), Band("medium", min_score=0.1), Band("low")),
                              np.array([0.0]), x, p)
    assert bands[0] == FittedBand("high", 0.5, 0.3)
    assert bands[1] == FittedBand("medium", -1.0, 0.1)
    assert bands[2].min_log_odds == float("-inf")


def test_min_score_band_holds_every_score_reaching_it() -> None:
    x = np.array([-3.0, -1.0, 0.5, 2.0])
    p = np.array([0.01, 0.1, 0.3, 0.6])
    bands = bands_from_config((Band("medium", min_score=0.05), Band("low")), np.array([0.0]), x, p)
    grid = np.linspace(-4.0, 3.0, 701)
    score = np.interp(grid, x, p)  # what ModelBundle.calibrate reports
    # e.g. log-odds -2.0 has calibrated score 0.055 >= 0.05 and must be in the band.
    np.testing.assert_array_equal(grid >= bands[0].min_log_odds, score >= 0.05)


def test_min_score_never_reached_gives_an_empty_band() -> None:
    x, p = np.array([0.0, 1.0]), np.array([0.1, 0.2])
    bands = bands_from_config((Band("high", min_score=0.5), Band("low")), np.array([0.0, 1.0]), x, p)
    assert bands[0].min_log_odds == float("inf")
    assert bands[0].min_score == 0.2


def test_thresholds_never_increase_down_the_bands() -> None:
    # medium by probability would sit above high by share: it is capped at high's threshold.
    log_odds = np.linspace(-5, 5, 101)
    x, p = np.array([-5.0, 0.0, 5.0]), np.array([0.0, 0.9, 1.0])
    bands = bands_from_config((Band("high", top_share=0.5), Band("medium", min_score=0.95), Band("low")),
                              log_odds, x, p)
    assert bands[0].min_log_odds == pytest.approx(0.0)
    assert bands[1].min_log_odds == bands[0].min_log_odds
    thresholds = [b.min_log_odds for b in bands]
    assert thresholds == sorted(thresholds, reverse=True)


def test_single_band_takes_everything() -> None:
    assert bands_from_config((Band("all"),), np.array([1.0]), np.array([0.0]), np.array([0.5])) == [
        FittedBand("all", float("-inf"), 0.0)]


# --- pipeline -------------------------------------------------------------------------------------------------------


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    X = pd.DataFrame({"signal": signal, "noise": rng.normal(size=n),
                      "sic_division": rng.choice([10, 47, 56], size=n).astype("float64")},
                     index=pd.Index([f"B{i}" for i in range(n)], name="company_number"))
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * signal))).astype(int)
    return X, y


SMALL = {"n_estimators": 30, "min_child_samples": 10, "learning_rate": 0.1, "colsample_bytree": 1.0}


def _params(model: dict[str, object], seed: int) -> tuple[dict[str, object], int | None]:
    """lgbm_params on one thread: OpenMP start-up on a busy machine costs seconds, the tiny fits milliseconds."""
    params, patience = lgbm_params(model, seed)
    return {**params, "n_jobs": 1}, patience


def test_make_pipeline_steps() -> None:
    params, _ = _params(SMALL, seed=0)
    plain = make_pipeline(params)
    assert [name for name, _ in plain.steps] == ["model"]
    assert isinstance(plain[-1], lgb.LGBMClassifier)
    assert plain[-1].get_params()["num_leaves"] == 7
    peers = make_pipeline(params, sector_relative=["signal"], group_column="sic_division")
    assert [name for name, _ in peers.steps] == ["peers", "model"]
    assert isinstance(peers[0], SectorRelative)
    assert peers[0].columns == ["signal"] and peers[0].group_column == "sic_division"


def test_fit_pipeline_learns_the_informative_column() -> None:
    X, y = _frame()
    params, _ = _params(SMALL, seed=0)
    pipe = fit_pipeline(make_pipeline(params), X, y, np.ones(len(y)), categorical=["sic_division", "absent"])
    proba = pipe.predict_proba(X)[:, 1]
    assert proba.shape == (len(X),)
    assert np.corrcoef(proba, X["signal"])[0, 1] > 0.8
    booster = pipe[-1].booster_
    assert booster.feature_name() == ["signal", "noise", "sic_division"]
    importance = dict(zip(booster.feature_name(), booster.feature_importance("gain"), strict=True))
    assert importance["signal"] > importance["noise"]
    # sic_division was declared categorical to LightGBM.
    assert booster.dump_model()["feature_infos"]["sic_division"]["values"] is not None


def test_fit_pipeline_with_sector_relative_and_early_stopping() -> None:
    X, y = _frame(500, seed=1)
    Xv, yv = _frame(200, seed=2)
    params, patience = _params({**SMALL, "n_estimators": 200, "early_stopping_rounds": 5}, seed=0)
    pipe = make_pipeline(params, sector_relative=["signal"])
    fit_pipeline(pipe, X, y, categorical=["sic_division"], X_valid=Xv, y_valid=yv, patience=patience)
    assert pipe[-1].booster_.feature_name() == ["signal", "noise", "sic_division", "signal_to_sector_median",
                                                "signal_sector_percentile"]
    assert 1 <= pipe[-1].best_iteration_ < 200
    # The sector statistics are those of the training rows only.
    assert pipe[0].global_medians_["signal"] == pytest.approx(X["signal"].median())
    assert pipe.predict_proba(Xv).shape == (200, 2)


def test_fit_pipeline_skips_early_stopping_without_both_classes() -> None:
    X, y = _frame(300, seed=3)
    Xv, _ = _frame(50, seed=4)
    params, _ = _params({**SMALL, "n_estimators": 12}, seed=0)
    pipe = fit_pipeline(make_pipeline(params), X, y, X_valid=Xv, y_valid=np.zeros(50, dtype=int), patience=2)
    assert pipe[-1].booster_.num_trees() == 12


def test_fit_pipeline_same_seed_same_model() -> None:
    X, y = _frame(300, seed=5)
    params, _ = _params({**SMALL, "colsample_bytree": 0.5}, seed=4)
    a = fit_pipeline(make_pipeline(params), X, y, categorical=["sic_division"])
    b = fit_pipeline(make_pipeline(params), X, y, categorical=["sic_division"])
    assert a[-1].booster_.model_to_string() == b[-1].booster_.model_to_string()
