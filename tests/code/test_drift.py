"""Code layer: the population stability index and the synthetic-against-real drift report."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.contract import load_dataset
from riskmodel.synth.drift import EPSILON, column_drift, drift_report, population_stability


def test_identical_samples_have_no_drift() -> None:
    values = np.arange(100, dtype="float64")
    psi, bins = population_stability(values, values.copy())
    assert psi == 0.0
    assert len(bins) == 10  # ten deciles; no missing bin, since neither sample has a missing value
    assert "missing" not in set(bins["bin"])


def test_psi_of_a_two_value_feature_is_the_textbook_sum() -> None:
    expected = np.array([0.0] * 50 + [1.0] * 50)
    actual = np.array([0.0] * 80 + [1.0] * 20)
    psi, bins = population_stability(expected, actual)
    want = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi == pytest.approx(want, rel=1e-12)
    assert bins["bin"].tolist() == ["= 0", "= 1"]  # no missing values and no other values: no such bins


def test_missing_values_and_unseen_values_are_bins_of_their_own() -> None:
    expected = np.array([1.0, 2.0, 1.0, 2.0])
    actual = np.array([1.0, np.nan, 3.0, 2.0])
    psi, bins = population_stability(expected, actual)
    assert bins["bin"].tolist() == ["= 1", "= 2", "other values", "missing"]
    assert bins["actual_share"].tolist() == [0.25, 0.25, 0.25, 0.25]
    # The empty expected bins stand at EPSILON, so each contributes (0.25 - eps) * ln(0.25 / eps).
    lone = (0.25 - EPSILON) * math.log(0.25 / EPSILON)
    halves = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert psi == pytest.approx(2 * lone + halves, rel=1e-12)


def test_quantile_bins_come_from_the_expected_sample() -> None:
    rng = np.random.default_rng(0)
    expected = rng.normal(size=5_000)
    shifted = expected + 1.0
    psi_same, _ = population_stability(expected, rng.normal(size=5_000))
    psi_shift, bins = population_stability(expected, shifted)
    assert psi_same < 0.05 < 0.25 < psi_shift
    assert bins["expected_share"].round(2).eq(0.10).all()


def test_categorical_bins_each_value_however_many() -> None:
    codes = np.arange(30, dtype="float64")
    _, as_numbers = population_stability(codes, codes)
    _, as_categories = population_stability(codes, codes, categorical=True)
    assert len(as_numbers) == 10 and len(as_categories) == 30


@pytest.fixture
def example() -> Path:
    return Path(__file__).resolve().parents[2] / "riskmodel" / "data" / "example"


def test_a_data_set_against_itself_is_alike_everywhere(example: Path) -> None:
    report = drift_report(example, example)
    compared = report.features[report.features["status"] == "compared"]
    assert len(compared) > 20
    assert (compared["psi"] == 0).all()
    assert (report.columns["psi"].dropna() == 0).all()
    assert set(report.columns["table"]) >= {"companies", "contracts", "ownership", "watchlist"}


def test_features_without_real_evidence_are_listed_not_compared(example: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    shutil.copytree(example, real)
    officers = pd.read_csv(real / "officers.csv", dtype=str)
    officers.iloc[:0].to_csv(real / "officers.csv", index=False)
    report = drift_report(example, real)
    status = report.features.set_index("feature")["status"]
    assert status["current_directors"] == "no real evidence"
    assert status["director_appointments_last_12m"] == "no real evidence"
    assert status["company_age_years"] == "compared"
    assert report.features["status"].iloc[0] == "compared"  # compared features first, worst first
    compared = report.features[report.features["status"] == "compared"]["psi"].to_numpy()
    assert (np.diff(compared) <= 0).all()


def test_column_drift_compares_present_values_and_reports_emptiness_apart(example: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    shutil.copytree(example, real)
    contracts = pd.read_csv(real / "contracts.csv", dtype=str)
    contracts["number_of_tenderers"] = None
    contracts.to_csv(real / "contracts.csv", index=False)
    frame, bins = column_drift(load_dataset(example), load_dataset(real))
    row = frame.set_index("column").loc["contracts.number_of_tenderers (awards)"]
    assert row["level"] == "not comparable" and math.isnan(row["psi"])
    assert row["real_missing"] == 1.0
    assert "contracts.number_of_tenderers (awards)" not in bins
    kind = frame.set_index("column").loc["ownership.owner_kind"]
    assert kind["psi"] == 0 and kind["level"] == "alike"
    assert set(bins["ownership.owner_kind"]["bin"]) <= {"individual", "corporate", "legal-person", "unknown"}
