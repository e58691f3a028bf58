"""Evaluation figures: each writes a PNG and returns its path; degenerate inputs give a note, not an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.training import plots
from riskmodel.training.plots import (
    calibration_plot,
    calibration_table,
    feature_importance,
    pr_curve,
    shap_beeswarm,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Degenerate inputs must be caught before they reach scikit-learn or matplotlib, which only warn.
pytestmark = pytest.mark.filterwarnings("error")


def _assert_png(result: Path, expected: Path) -> None:
    assert result == expected
    data = expected.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1000


def _frame() -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 60
    X = pd.DataFrame({
        "turnover": rng.normal(size=n),
        "constant": np.ones(n),
        "with_gaps": np.where(np.arange(n) % 4 == 0, np.nan, rng.exponential(size=n)),
        "sector": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        "flag": rng.random(n) < 0.3,
    })
    contrib = np.column_stack([0.5 * X["turnover"].to_numpy(), np.zeros(n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.1, n), X["flag"].to_numpy(dtype=float) - 0.3])
    return contrib, X


# ------------------------------------------------------------------------------------------------ calibration table


def test_calibration_table_exact_on_distinct_probabilities() -> None:
    prob = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    table = calibration_table(y, prob, n_bins=4)
    assert list(table.columns) == ["bin", "count", "mean_predicted", "observed_rate"]
    assert table["bin"].tolist() == [1, 2, 3, 4]
    assert table["count"].tolist() == [2, 2, 2, 2]
    assert table["mean_predicted"].to_numpy() == pytest.approx([0.15, 0.35, 0.55, 0.75])
    assert table["observed_rate"].to_numpy() == pytest.approx([0.0, 0.5, 0.5, 1.0])


def test_calibration_table_ties_collapse_bins() -> None:
    # Quantile edges 0.1, 0.1, 0.1, 0.3, 0.9: duplicates collapse to two bins, the ties stay together.
    prob = np.array([0.1] * 6 + [0.9] * 2)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 0])
    table = calibration_table(y, prob, n_bins=4)
    assert table["bin"].tolist() == [1, 2]
    assert table["count"].tolist() == [6, 2]
    assert table["mean_predicted"].to_numpy() == pytest.approx([0.1, 0.9])
    assert table["observed_rate"].to_numpy() == pytest.approx([1 / 6, 0.5])


def test_calibration_table_bins_are_right_closed() -> None:
    # The median 0.2 is an edge: values equal to it fall in the lower bin.
    table = calibration_table(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.2, 0.3]), n_bins=2)
    assert table["count"].tolist() == [3, 1]
    assert table["mean_predicted"].to_numpy() == pytest.approx([0.5 / 3, 0.3])
    assert table["observed_rate"].to_numpy() == pytest.approx([1 / 3, 1.0])


def test_calibration_table_drops_empty_bins_and_missing_rows() -> None:
    # Edges 0, 0.25, 0.5, 0.75, 1: the two middle bins hold nothing and are dropped; the NaN row is left out.
    prob = np.array([0.0, 1.0, np.nan])
    y = np.array([0, 1, 1])
    table = calibration_table(y, prob, n_bins=4)
    assert table["bin"].tolist() == [1, 2]
    assert table["count"].tolist() == [1, 1]
    assert table["mean_predicted"].tolist() == [0.0, 1.0]
    assert table["observed_rate"].tolist() == [0.0, 1.0]


def test_calibration_table_constant_probability_is_one_bin() -> None:
    table = calibration_table(np.array([1, 0, 0, 0]), np.full(4, 0.2), n_bins=10)
    assert table["count"].tolist() == [4]
    assert table["observed_rate"].tolist() == [0.25]


def test_calibration_table_empty_and_bad_bins() -> None:
    table = calibration_table(np.array([]), np.array([]))
    assert table.empty
    assert list(table.columns) == ["bin", "count", "mean_predicted", "observed_rate"]
    with pytest.raises(ValueError, match="n_bins"):
        calibration_table(np.array([0, 1]), np.array([0.1, 0.2]), n_bins=0)
    with pytest.raises(ValueError, match="rows"):
        calibration_table(np.array([0, 1]), np.array([0.1]))


# ------------------------------------------------------------------------------------------------ figures


def test_pr_curve_writes_png(tmp_path: Path) -> None:
    y = np.array([0, 0, 1, 0, 1, 1, 0, 0, 0, 1])
    score = np.linspace(-2, 2, 10)
    target = tmp_path / "sub" / "pr.png"
    _assert_png(pr_curve(y, score, target, title="Validation", baseline=0.1), target)


@pytest.mark.parametrize(("y", "score"), [
    (np.array([]), np.array([])),
    (np.zeros(5), np.arange(5.0)),
    (np.ones(5), np.arange(5.0)),
    (np.array([0, 1]), np.array([np.nan, np.nan])),
])
def test_pr_curve_degenerate_inputs_write_a_note(tmp_path: Path, y: np.ndarray, score: np.ndarray) -> None:
    target = tmp_path / "pr.png"
    _assert_png(pr_curve(y, score, target), target)


def test_pr_curve_rejects_misaligned_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows"):
        pr_curve(np.array([0, 1]), np.array([0.5]), tmp_path / "pr.png")


def test_calibration_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    prob = rng.uniform(0, 0.2, 200)
    y = (rng.random(200) < prob).astype(int)
    target = tmp_path / "calibration.png"
    _assert_png(calibration_plot(y, prob, target, n_bins=5), target)


@pytest.mark.parametrize(("y", "prob"), [
    (np.array([]), np.array([])),
    (np.zeros(4), np.array([0.1, 0.1, 0.2, 0.3])),
    (np.array([0, 0]), np.array([0.0, 0.0])),
])
def test_calibration_plot_degenerate_inputs(tmp_path: Path, y: np.ndarray, prob: np.ndarray) -> None:
    target = tmp_path / "calibration.png"
    _assert_png(calibration_plot(y, prob, target), target)


def test_shap_beeswarm_writes_png_with_nan_constant_and_categorical_columns(tmp_path: Path) -> None:
    contrib, X = _frame()
    target = tmp_path / "shap.png"
    _assert_png(shap_beeswarm(contrib, X, target, max_display=3), target)


def test_shap_beeswarm_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    contrib, X = _frame()
    first = shap_beeswarm(contrib, X, tmp_path / "a.png", seed=7).read_bytes()
    second = shap_beeswarm(contrib, X, tmp_path / "b.png", seed=7).read_bytes()
    assert first == second


def test_shap_beeswarm_subsamples_large_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=12_000), "z": rng.normal(size=12_000)})
    contrib = np.column_stack([X["x"].to_numpy(), np.full(12_000, np.nan)])  # a feature without any SHAP value
    target = tmp_path / "shap.png"
    _assert_png(shap_beeswarm(contrib, X, target), target)


def test_shap_beeswarm_degenerate_inputs(tmp_path: Path) -> None:
    empty_rows = pd.DataFrame({"a": pd.Series(dtype=float), "b": pd.Series(dtype=float)})
    _assert_png(shap_beeswarm(np.zeros((0, 2)), empty_rows, tmp_path / "rows.png"), tmp_path / "rows.png")
    no_columns = pd.DataFrame(index=range(3))
    _assert_png(shap_beeswarm(np.zeros((3, 0)), no_columns, tmp_path / "cols.png"), tmp_path / "cols.png")
    all_nan = pd.DataFrame({"a": [1.0, 2.0]})
    _assert_png(shap_beeswarm(np.full((2, 1), np.nan), all_nan, tmp_path / "nan.png"), tmp_path / "nan.png")


def test_shap_beeswarm_rejects_a_bias_column(tmp_path: Path) -> None:
    contrib, X = _frame()
    with_bias = np.column_stack([contrib, np.full(len(X), -3.0)])
    with pytest.raises(ValueError, match="bias"):
        shap_beeswarm(with_bias, X, tmp_path / "shap.png")


def test_percentile_colour_ranks_within_the_column() -> None:
    colour = plots._percentile_colour(pd.Series([10.0, np.nan, 30.0, 20.0]))
    assert colour[[0, 2, 3]].tolist() == [0.0, 1.0, 0.5]
    assert np.isnan(colour[1])
    assert plots._percentile_colour(pd.Series([4.0, 4.0, 4.0])).tolist() == [0.5, 0.5, 0.5]
    assert plots._percentile_colour(pd.Series([True, False])).tolist() == [1.0, 0.0]


def test_feature_importance_writes_png(tmp_path: Path) -> None:
    target = tmp_path / "importance.png"
    names = [f"f{i}" for i in range(40)]
    _assert_png(feature_importance(names, np.arange(40.0), target, top=10, xlabel="gain"), target)


def test_feature_importance_degenerate_inputs(tmp_path: Path) -> None:
    _assert_png(feature_importance([], np.array([]), tmp_path / "a.png"), tmp_path / "a.png")
    _assert_png(feature_importance(["a", "b"], np.array([np.nan, np.nan]), tmp_path / "b.png"), tmp_path / "b.png")
    _assert_png(feature_importance(["a", "b"], np.zeros(2), tmp_path / "c.png"), tmp_path / "c.png")
    with pytest.raises(ValueError, match="names"):
        feature_importance(["a"], np.zeros(2), tmp_path / "d.png")


def test_module_does_not_load_pyplot() -> None:
    code = "import sys, riskmodel.training.plots; sys.exit('matplotlib.pyplot' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
