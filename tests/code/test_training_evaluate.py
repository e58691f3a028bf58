"""Evaluation measures on hand-made examples: metrics, sectors, regions, slices and fairness groups."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from riskmodel.training.evaluate import fairness_groups, fairness_table, metrics, region_of, sector_of, slice_table

AS_OF = dt.date(2024, 6, 30)

# Ten businesses ranked by log-odds 9..0; positives at ranks 1, 3 and 6.
Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
LOG_ODDS = np.arange(9, -1, -1, dtype="float64")
PROBA = np.array([0.9, 0.2, 0.6, 0.1, 0.1, 0.5, 0.0, 0.0, 0.0, 0.2])


# --- metrics --------------------------------------------------------------------------------------------------------


def test_metrics_hand_example() -> None:
    out = metrics(Y, LOG_ODDS, PROBA, capacities=(2, 5, 50))
    # Average precision: mean precision at each positive's rank = (1/1 + 2/3 + 3/6) / 3.
    assert out["pr_auc"] == pytest.approx(13 / 18, abs=1e-12)
    # ROC AUC: negatives ranked below each positive (7 + 6 + 4) out of 3 x 7 pairs.
    assert out["roc_auc"] == pytest.approx(17 / 21, abs=1e-12)
    assert out["precision_at_2"] == 0.5
    assert out["precision_at_5"] == 0.4
    assert np.isnan(out["precision_at_50"])
    assert out["recall_at_top_1pct"] == pytest.approx(1 / 3)  # top 1% of 10 = 1 business, a positive
    assert out["brier"] == pytest.approx(0.052, abs=1e-12)
    assert out["prevalence"] == 0.3
    assert (out["businesses"], out["positives"]) == (10.0, 3.0)
    assert set(out) == {"businesses", "positives", "prevalence", "pr_auc", "roc_auc", "precision_at_2",
                        "precision_at_5", "precision_at_50", "recall_at_top_1pct", "brier"}


def test_metrics_default_capacities() -> None:
    out = metrics(Y, LOG_ODDS, PROBA)
    assert {k for k in out if k.startswith("precision_at_")} == {"precision_at_50", "precision_at_100",
                                                                 "precision_at_500"}
    assert all(np.isnan(out[k]) for k in ("precision_at_50", "precision_at_100", "precision_at_500"))


def test_metrics_precision_at_k_equal_to_n() -> None:
    assert metrics(Y, LOG_ODDS, PROBA, capacities=(10,))["precision_at_10"] == 0.3


def test_metrics_top_1pct_of_250_is_3_businesses() -> None:
    y = np.zeros(250, dtype=int)
    y[[0, 2, 3, 100]] = 1
    log_odds = -np.arange(250, dtype="float64")
    out = metrics(y, log_odds, np.full(250, 0.01), capacities=())
    assert out["recall_at_top_1pct"] == 0.5  # ranks 1..3 hold 2 of 4 positives


def test_metrics_ties_are_broken_by_position() -> None:
    out = metrics(np.array([0, 1, 1]), np.array([1.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.5]), capacities=(1,))
    assert out["precision_at_1"] == 0.0
    assert out["recall_at_top_1pct"] == 0.0


def test_metrics_without_positives() -> None:
    y = np.zeros(10, dtype=int)
    out = metrics(y, LOG_ODDS, PROBA, capacities=(5,))
    assert np.isnan(out["pr_auc"]) and np.isnan(out["roc_auc"]) and np.isnan(out["recall_at_top_1pct"])
    assert out["precision_at_5"] == 0.0
    assert out["brier"] == pytest.approx(np.mean(PROBA**2))
    assert out["prevalence"] == 0.0


def test_metrics_all_positive() -> None:
    out = metrics(np.ones(4, dtype=int), np.arange(4.0), np.ones(4), capacities=())
    assert np.isnan(out["pr_auc"]) and np.isnan(out["roc_auc"])
    assert out["recall_at_top_1pct"] == 0.25
    assert out["brier"] == 0.0


# --- sector_of and region_of ----------------------------------------------------------------------------------------


def test_sector_of_division_codes() -> None:
    codes = pd.Series([56, 1, 99, np.nan, 55, 54, 3, 5, 41, 0, 68, 69], index=list("abcdefghijkl"), dtype="float64")
    out = sector_of(codes)
    assert out.index.equals(codes.index)
    assert out.name == "sector"
    assert out.tolist() == ["I accommodation and food", "A agriculture", "U extraterritorial", "unknown",
                            "I accommodation and food", "H transport", "A agriculture", "B mining", "F construction",
                            "unknown", "L property", "M professional services"]


def test_sector_of_nullable_integers() -> None:
    out = sector_of(pd.Series([47, None, 86], dtype="Int64"))
    assert out.tolist() == ["G wholesale and retail", "unknown", "Q health and social work"]


def test_region_of_postcode_areas() -> None:
    dataset = make_dataset(companies=[
        {"company_number": "A", "registered_office_postcode": "EH1 1AA"},
        {"company_number": "B", "registered_office_postcode": "G2 3BB"},
        {"company_number": "C", "registered_office_postcode": "eh3 9zz"},
        {"company_number": "D"},
        {"company_number": "E", "registered_office_postcode": "garbage"},
        {"company_number": "F", "registered_office_postcode": "EC1A 1BB"},
        {"company_number": "G", "registered_office_postcode": "12345"},
    ])
    index = pd.Index(["F", "A", "B", "C", "D", "E", "G", "NOT-REGISTERED"])
    out = region_of(dataset, index)
    assert out.index.equals(index)
    assert out.name == "region"
    assert out.tolist() == ["EC", "EH", "G", "EH", "unknown", "unknown", "unknown", "unknown"]


# --- slice_table and fairness_table ---------------------------------------------------------------------------------


def test_slice_table_exact() -> None:
    sector = pd.Series(["x", "y", "x", "x", "y", "x", "y", "y", "x", "y"])
    region = pd.Series(["EH"] * 10)
    table = slice_table(Y, LOG_ODDS, {"sector": sector, "region": region})
    assert list(table.columns) == ["kind", "slice", "businesses", "positives", "pr_auc", "precision_at_top_1pct"]
    assert table[["kind", "slice", "businesses", "positives"]].values.tolist() == [
        ["sector", "x", 5, 3], ["sector", "y", 5, 0], ["region", "EH", 10, 3]]
    # Slice x: rows 0, 2, 3, 5, 8 ranked in that order with y 1, 1, 0, 1, 0 -> AP = (1 + 1 + 3/4) / 3.
    assert table.loc[0, "pr_auc"] == pytest.approx(11 / 12)
    assert np.isnan(table.loc[1, "pr_auc"])
    assert table.loc[2, "pr_auc"] == pytest.approx(13 / 18)
    assert table["precision_at_top_1pct"].tolist() == [1.0, 0.0, 1.0]


def test_fairness_table_exact() -> None:
    groups = {"nationality": pd.Series(["b", "a", "a", "b", "b", "b", "a", "a", "b", "b"]),
              "age": pd.Series(["old"] * 10)}
    table = fairness_table(LOG_ODDS, PROBA, Y, groups)
    assert list(table.columns) == ["attribute", "group", "businesses", "selected", "share_in_top_1pct",
                                   "precision_in_top_1pct", "mean_score", "positives", "ratio_to_overall"]
    assert table[["attribute", "group", "businesses", "positives"]].values.tolist() == [
        ["nationality", "a", 4, 1], ["nationality", "b", 6, 2], ["age", "old", 10, 3]]
    # The top 1% of 10 businesses is row 0 (group b): overall share 0.1, b's share 1/6, a's 0.
    assert table["share_in_top_1pct"].tolist() == pytest.approx([0.0, 1 / 6, 0.1])
    assert table["ratio_to_overall"].tolist() == pytest.approx([0.0, 10 / 6, 1.0])
    assert table["selected"].tolist() == [0, 1, 1]
    # Row 0 is a labelled positive: precision 1 where it is selected, undefined where nothing is.
    assert Y[0] == 1
    assert np.isnan(table.loc[0, "precision_in_top_1pct"])
    assert table["precision_in_top_1pct"].tolist()[1:] == [1.0, 1.0]
    assert table["mean_score"].tolist() == pytest.approx([(0.2 + 0.6 + 0.0 + 0.0) / 4,
                                                          (0.9 + 0.1 + 0.1 + 0.5 + 0.0 + 0.2) / 6, 0.26])


def test_fairness_table_top_1pct_of_300_is_3() -> None:
    log_odds = -np.arange(300, dtype="float64")
    group = pd.Series(["a"] * 3 + ["b"] * 297)
    table = fairness_table(log_odds, np.zeros(300), np.zeros(300, dtype=int), {"g": group})
    assert table["share_in_top_1pct"].tolist() == pytest.approx([1.0, 0.0])
    assert table["ratio_to_overall"].tolist() == pytest.approx([100.0, 0.0])
    assert table["selected"].tolist() == [3, 0]
    assert table.loc[0, "precision_in_top_1pct"] == 0.0  # selected, none labelled
    assert np.isnan(table.loc[1, "precision_in_top_1pct"])


# --- fairness_groups ------------------------------------------------------------------------------------------------


def test_fairness_groups_officers_in_office_at_as_of() -> None:
    dataset = make_dataset(officers=[
        {"company_number": "A", "officer_id": "1", "nationality": "British", "birth_year": "1990"},
        {"company_number": "A", "officer_id": "2", "birth_year": "1950"},  # nationality missing
        {"company_number": "B", "officer_id": "3", "nationality": "British", "birth_year": "1980"},
        {"company_number": "B", "officer_id": "4", "nationality": "French", "birth_year": "2000"},
        {"company_number": "C", "officer_id": "5"},  # nothing known
        {"company_number": "D", "officer_id": "6", "nationality": "French", "birth_year": "2001",
         "resigned_on": "2024-06-30"},  # left on as_of: not in office
        {"company_number": "D", "officer_id": "7", "nationality": " british ", "birth_year": "1964"},
        {"company_number": "E", "officer_id": "8", "nationality": "French", "birth_year": "2001",
         "appointed_on": "2024-07-01"},  # not yet appointed
        {"company_number": "G", "officer_id": "9", "nationality": "Scottish", "birth_year": "1994"},
        {"company_number": "H", "officer_id": "10", "nationality": "French", "birth_year": "1995",
         "resigned_on": "2025-01-01"},  # resigned after as_of: in office then
        {"company_number": "OUT", "officer_id": "11", "nationality": "French"},  # not in the index
    ])
    index = pd.Index(["A", "B", "C", "D", "E", "F", "G", "H"])
    groups = fairness_groups(dataset, index, AS_OF)
    assert set(groups) == {"director_nationality", "youngest_director_age"}
    nationality, age = groups["director_nationality"], groups["youngest_director_age"]
    assert nationality.index.equals(index) and age.index.equals(index)
    assert nationality.tolist() == ["all British", "any non-British", "unknown", "all British", "unknown", "unknown",
                                    "all British", "any non-British"]
    # Ages at 2024: A 34 (youngest of 34, 74); B 24; C unknown; D 60; E, F none; G 30; H 29.
    assert age.tolist() == ["30-59", "under 30", "unknown", "60 and over", "unknown", "unknown", "30-59", "under 30"]


def test_fairness_groups_without_officers_table() -> None:
    dataset = make_dataset(companies=[{"company_number": "A"}])
    assert fairness_groups(dataset, pd.Index(["A"]), AS_OF) == {}
