"""Evaluation measures a reviewer can act on: ranking quality at review capacity, calibration, slices, fairness.

Ranking measures use the log-odds (strict order); the Brier score uses the calibrated probability. Positives are
the businesses labelled in the validation window, so every figure is measured against *detected* cases: an
unlabelled business among the top ranks may be an undetected case, and precision here is a lower bound of the
share of true cases in a review list (Bekker & Davis 2020 on evaluating positive-unlabelled classifiers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskmodel.contract import Dataset

__all__ = ["REVIEW_CAPACITIES", "fairness_groups", "fairness_table", "metrics", "region_of", "sector_of",
           "slice_table"]

#: Review-list lengths at which precision is reported.
REVIEW_CAPACITIES = (50, 100, 500)

# SIC 2007 sections by their first division.
_SECTIONS = [(1, "A agriculture"), (5, "B mining"), (10, "C manufacturing"), (35, "D energy"),
             (36, "E water and waste"), (41, "F construction"),
             (45, "G wholesale and retail"), (49, "H transport"),
             (55, "I accommodation and food"), (58, "J information"), (64, "K finance"), (68, "L property"),
             (69, "M professional services"), (77, "N administrative and support"), (84, "O public administration"),
             (85, "P education"), (86, "Q health and social work"), (90, "R arts and recreation"),
             (94, "S other services"), (97, "T households"), (99, "U extraterritorial")]


def _top_1pct(n: int) -> int:
    """Length of the top-1% review list of ``n`` businesses (at least one business when there are any)."""
    return max(1, int(np.ceil(0.01 * n))) if n else 0


def metrics(y: np.ndarray, log_odds: np.ndarray, probability: np.ndarray,
            capacities: Sequence[int] = REVIEW_CAPACITIES) -> dict[str, float]:
    """Ranking and calibration measures of one set of businesses.

    Returns
    -------
    dict
        ``pr_auc``, ``roc_auc``, ``precision_at_<k>``, ``recall_at_top_1pct``, ``brier``, ``prevalence``,
        ``businesses``, ``positives`` (NaN where a measure is undefined, e.g. no positives).
    """
    y = np.asarray(y, dtype=int)
    n, positives = len(y), int(y.sum())
    out: dict[str, float] = {"businesses": float(n), "positives": float(positives),
                             "prevalence": positives / n if n else float("nan")}
    both = 0 < positives < n
    out["pr_auc"] = float(average_precision_score(y, log_odds)) if both else float("nan")
    out["roc_auc"] = float(roc_auc_score(y, log_odds)) if both else float("nan")
    # Ties broken by position, stably, so that the figure does not depend on sort internals.
    order = np.argsort(-log_odds, kind="stable")
    for k in capacities:
        out[f"precision_at_{k}"] = float(y[order[:k]].mean()) if n >= k else float("nan")
    top = _top_1pct(n)
    out["recall_at_top_1pct"] = float(y[order[:top]].sum() / positives) if positives else float("nan")
    out["brier"] = float(brier_score_loss(y, probability)) if n else float("nan")
    return out


def sector_of(sic_division: pd.Series) -> pd.Series:
    """SIC 2007 section of each business from its division code (``unknown`` when missing)."""
    starts = np.array([s for s, _ in _SECTIONS])
    names = np.array([name for _, name in _SECTIONS] + ["unknown"], dtype=object)
    values = sic_division.to_numpy(dtype="float64", na_value=np.nan)
    pos = np.searchsorted(starts, np.nan_to_num(values, nan=-1), side="right") - 1
    pos = np.where(np.isnan(values) | (pos < 0), len(starts), pos)
    return pd.Series(names[pos], index=sic_division.index, name="sector")


def region_of(dataset: Dataset, index: pd.Index) -> pd.Series:
    """Postcode area of each business's registered office (``unknown`` when missing).

    For reporting slices only: the registered office is a snapshot of the extract date, never a feature input
    before it.
    """
    comp = dataset["companies"].drop_duplicates("company_number").set_index("company_number")
    postcode = comp["registered_office_postcode"].reindex(index)
    area = postcode.str.upper().str.extract(r"^\s*([A-Z]{1,2})\d", expand=False)
    return area.fillna("unknown").rename("region")


def slice_table(y: np.ndarray, log_odds: np.ndarray, slices: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Measures per slice value: businesses, positives, PR-AUC and precision in the slice's top 1%."""
    rows = []
    for kind, labels in slices.items():
        values = labels.to_numpy()
        for value in pd.unique(values):
            mask = values == value
            yy, ss = y[mask], log_odds[mask]
            positives = int(yy.sum())
            top = _top_1pct(int(mask.sum()))
            order = np.argsort(-ss, kind="stable")
            rows.append({"kind": kind, "slice": str(value), "businesses": int(mask.sum()), "positives": positives,
                         "pr_auc": float(average_precision_score(yy, ss)) if 0 < positives < len(yy) else np.nan,
                         "precision_at_top_1pct": float(yy[order[:top]].mean())})
    return pd.DataFrame(rows, columns=["kind", "slice", "businesses", "positives", "pr_auc", "precision_at_top_1pct"])



def fairness_groups(dataset: Dataset, index: pd.Index, as_of: dt.date) -> dict[str, pd.Series]:
    """Return groups by protected characteristics of the officers in office at ``as_of``, for auditing only.

    These columns are never features; they are read here to check that scores do not fall unevenly on groups:
    ``director_nationality`` (all British, any non-British, unknown) and ``youngest_director_age`` (under 30,
    30-59, 60 and over, unknown).
    """
    t = pd.Timestamp(as_of)
    out: dict[str, pd.Series] = {}
    if "officers" not in dataset:
        return out
    off = dataset["officers"]
    off = off[(off["appointed_on"] <= t) & (off["resigned_on"].isna() | (off["resigned_on"] > t))]
    off = off[off["company_number"].isin(index)]
    nationality = off["nationality"].str.strip().str.lower()
    british = nationality.isin(["british", "united kingdom", "uk", "gb", "english", "scottish", "welsh",
                                "northern irish"])
    known = nationality.notna() & (nationality != "")
    any_foreign = (known & ~british).groupby(off["company_number"]).any()
    any_known = known.groupby(off["company_number"]).any()
    group = pd.Series("unknown", index=index)
    group.loc[any_known[any_known].index] = "all British"
    group.loc[any_foreign[any_foreign].index] = "any non-British"
    out["director_nationality"] = group
    age = t.year - off["birth_year"]
    youngest = age.groupby(off["company_number"]).min().reindex(index).to_numpy(dtype="float64", na_value=np.nan)
    out["youngest_director_age"] = pd.Series(
        np.select([youngest < 30, youngest < 60, youngest >= 60], ["under 30", "30-59", "60 and over"], "unknown"),
        index=index)
    return out


def fairness_table(log_odds: np.ndarray, probability: np.ndarray, y: np.ndarray,
                   groups: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Return the selection rate and precision of the top-1% review list per group, against the overall figures.

    The review list is the top 1% of all businesses by score (the same list for every group). Per group:
    ``selected`` (its businesses on the list), ``share_in_top_1pct`` (selection rate), ``ratio_to_overall``
    (selection rate over the overall selection rate: the four-fifths rule as a screen), ``precision_in_top_1pct``
    (the share of its selected businesses that are labelled positives: a lower bound of the true share, since
    labels are detected cases only; NaN when none is selected), ``mean_score`` and ``positives``. This is what
    fairlearn's ``MetricFrame`` gives for ``selection_rate`` and ``precision_score`` with the list as the
    prediction, computed without it.
    """
    n = len(log_odds)
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-log_odds, kind="stable")[:_top_1pct(n)]] = True
    overall = top.mean() if n else np.nan
    y = np.asarray(y, dtype=int)
    rows = []
    for attribute, labels in groups.items():
        values = labels.to_numpy()
        for value in sorted(pd.unique(values)):
            mask = values == value
            selected = int(top[mask].sum())
            share = float(top[mask].mean()) if mask.any() else np.nan
            rows.append({"attribute": attribute, "group": str(value), "businesses": int(mask.sum()),
                         "selected": selected, "share_in_top_1pct": share,
                         "precision_in_top_1pct": float(y[mask & top].sum() / selected) if selected else np.nan,
                         "mean_score": float(probability[mask].mean()),
                         "positives": int(y[mask].sum()), "ratio_to_overall": share / overall if overall else np.nan})
    return pd.DataFrame(rows, columns=["attribute", "group", "businesses", "selected", "share_in_top_1pct",
                                       "precision_in_top_1pct", "mean_score", "positives", "ratio_to_overall"])
