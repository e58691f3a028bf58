"""Drift between a synthetic world and real data: the population stability index of every shared feature.

The same features (:func:`features.build`) are computed on both data sets, each as of its own extract date, and each
feature's real distribution is compared with its synthetic one by the population stability index (PSI, Siddiqi
2006, *Credit Risk Scorecards*, ch. 8; Yurdakul 2018, *Statistical properties of population stability index*):

    PSI = sum over bins of (real share - synthetic share) * ln(real share / synthetic share)

Bins are the synthetic distribution's deciles (fewer where values repeat, as counts do); a feature with at most
:data:`MAX_CATEGORIES` distinct synthetic values (a flag, a small count, a SIC division) gets one bin per value and
one for everything else. Missing values are a bin of their own, because the model sees missingness. Empty bins
count as :data:`EPSILON` so that the logarithm is finite. The usual reading: under 0.1 the populations are alike,
0.1 to 0.25 they differ moderately, over 0.25 they differ a lot.

A feature is *shared* when the real data hold evidence for it: each of its source tables is the register, the
watchlist, or a table with rows about at least one real business. Features whose sources hold nothing about the real
businesses (no officers, no accounts) are listed as ``no real evidence`` rather than compared: their real values
say what the data set lacks, not how real businesses behave. So are features missing for every real business
(a register without office addresses gives no address features).

Source columns (:func:`column_drift`) are compared as well, table by table, whether or not their rows join the
real businesses scored: real contracts and ownership statements often concern other companies than the register
extract, and they still show how real procurement and ownership look.

The worst gaps point at the synthetic generator's calibration (:mod:`riskmodel.synth`): they are fed back there, and
:func:`riskmodel.synth.compare.compare_real` checks the raw distributions behind them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import features
from features.catalogue import CATALOGUE
from riskmodel.contract import load_dataset
from riskmodel.contract.validate import Dataset
from riskmodel.errors import RiskmodelError
from riskmodel.scoring.neighbourhood import BUSINESS_KEYS
from riskmodel.synth.compare import _first_division, sic_section

__all__ = ["EPSILON", "LEVELS", "MAX_CATEGORIES", "DriftReport", "column_drift", "drift_report",
           "population_stability"]

#: Share that stands in for an empty bin.
EPSILON = 1e-4
#: Features with at most this many distinct synthetic values are binned by value.
MAX_CATEGORIES = 12
#: PSI levels: under the first, alike; under the second, moderate; otherwise a major shift.
LEVELS = (0.1, 0.25)


def _bins(expected: np.ndarray, bins: int) -> tuple[str, np.ndarray]:
    values = np.unique(expected)
    if len(values) <= MAX_CATEGORIES:
        return "values", values
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    return "quantiles", edges


def population_stability(expected: np.ndarray, actual: np.ndarray, bins: int = 10, *,
                         categorical: bool = False) -> tuple[float, pd.DataFrame]:
    """PSI of ``actual`` against ``expected`` (see the module note), with the shares per bin.

    Parameters
    ----------
    expected : ndarray
        The reference sample (here, synthetic), NaN for missing.
    actual : ndarray
        The sample compared with it (here, real), NaN for missing.
    bins : int
        Quantile bins of the non-missing expected values.
    categorical : bool
        One bin per expected value however many there are (codes of a category).

    Returns
    -------
    tuple of (float, DataFrame)
        The PSI and a frame with ``bin``, ``expected_share``, ``actual_share`` and ``contribution``.
    """
    expected = np.asarray(expected, dtype="float64")
    actual = np.asarray(actual, dtype="float64")
    if not len(expected) or not len(actual):
        raise ValueError("both samples need at least one value")
    e_miss, a_miss = np.isnan(expected), np.isnan(actual)
    e_vals, a_vals = expected[~e_miss], actual[~a_miss]
    labels: list[str] = []
    e_counts: list[int] = []
    a_counts: list[int] = []
    if len(e_vals):
        kind, cuts = ("values", np.unique(e_vals)) if categorical else _bins(e_vals, bins)
        if kind == "values":
            for v in cuts:
                labels.append(f"= {v:g}")
                e_counts.append(int((e_vals == v).sum()))
                a_counts.append(int((a_vals == v).sum()))
            labels.append("other values")
            e_counts.append(0)
            a_counts.append(int((~np.isin(a_vals, cuts)).sum()))
        else:
            e_idx, a_idx = np.searchsorted(cuts, e_vals, side="right"), np.searchsorted(cuts, a_vals, side="right")
            bounds = [-np.inf, *cuts, np.inf]
            for i in range(len(cuts) + 1):
                labels.append(f"({bounds[i]:.4g}, {bounds[i + 1]:.4g}]")
                e_counts.append(int((e_idx == i).sum()))
                a_counts.append(int((a_idx == i).sum()))
    elif len(a_vals):
        labels.append("any value")
        e_counts.append(0)
        a_counts.append(len(a_vals))
    labels.append("missing")
    e_counts.append(int(e_miss.sum()))
    a_counts.append(int(a_miss.sum()))
    e_share = np.maximum(np.asarray(e_counts, dtype="float64") / len(expected), EPSILON)
    a_share = np.maximum(np.asarray(a_counts, dtype="float64") / len(actual), EPSILON)
    contribution = (a_share - e_share) * np.log(a_share / e_share)
    table = pd.DataFrame({"bin": labels, "expected_share": np.asarray(e_counts) / len(expected),
                          "actual_share": np.asarray(a_counts) / len(actual), "contribution": contribution})
    # Bins both samples leave empty add nothing (both stand at EPSILON).
    table = table[(table["expected_share"] > 0) | (table["actual_share"] > 0)].reset_index(drop=True)
    return float(table["contribution"].sum()), table


@dataclass
class DriftReport:
    """PSI per feature (``features``) and the bins behind each (``bins``), worst first.

    ``columns`` and ``column_bins`` are the same for source columns (:func:`column_drift`). ``features`` has
    ``feature``, ``family``, ``status`` (``compared`` or ``no real evidence``), ``psi``, ``level``
    (``alike``, ``moderate``, ``major``), the share of non-missing values in each data set, each data set's median
    and the bin contributing most to the PSI.
    """

    features: pd.DataFrame
    bins: dict[str, pd.DataFrame]
    columns: pd.DataFrame
    column_bins: dict[str, pd.DataFrame]
    synthetic_as_of: dt.date
    real_as_of: dt.date
    real_businesses: int
    synthetic_businesses: int

    def worst(self, n: int = 10) -> pd.DataFrame:
        """Return the ``n`` compared features with the largest PSI."""
        compared = self.features[self.features["status"] == "compared"]
        return compared.head(n)


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days.astype("float64")


def _log10(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.Series(np.log10(v.where(v > 0)), index=values.index)


def _first_section(codes: pd.Series) -> pd.Series:
    return _first_division(codes).map(lambda d: None if pd.isna(d) else sic_section(int(d)))


def _awards(contracts: pd.DataFrame) -> pd.DataFrame:
    return contracts.drop_duplicates(["ocid", "award_id"])


#: Source columns compared between the data sets, whatever the businesses they are about: (table, name,
#: derivation, categorical). They cover the tables that real sources fill even where they join no scored business.
_COLUMNS: list[tuple[str, str, Callable[[pd.DataFrame, pd.Timestamp], pd.Series], bool]] = [
    ("companies", "company_type", lambda f, _: f["company_type"], True),
    ("companies", "sic_section (first code)", lambda f, _: _first_section(f["sic_codes"]), True),
    ("companies", "age_years (live companies)",
     lambda f, t: _days(pd.Series(t, index=f.index), f["date_of_creation"]).where(f["date_of_cessation"].isna())
     / 365.25, False),
    ("companies", "sic_codes_count", lambda f, _: f["sic_codes"].fillna("").astype(str).str.count(r"\d{5}")
     .astype("float64"), False),
    ("contracts", "procurement_method (awards)", lambda f, _: _awards(f)["procurement_method"], True),
    ("contracts", "main_category (awards)", lambda f, _: _awards(f)["main_category"], True),
    ("contracts", "log10_award_value (awards)", lambda f, _: _log10(_awards(f)["award_value"]), False),
    ("contracts", "number_of_tenderers (awards)",
     lambda f, _: pd.to_numeric(_awards(f)["number_of_tenderers"], errors="coerce").astype("float64"), False),
    ("contracts", "submission_days (awards)",
     lambda f, _: _days(_awards(f)["tender_deadline"], _awards(f)["tender_published_on"]), False),
    ("contracts", "contract_days (awards)",
     lambda f, _: _days(_awards(f)["contract_end"], _awards(f)["contract_start"]), False),
    ("contracts", "suppliers_per_award", lambda f, _: f.groupby(["ocid", "award_id"]).size().astype("float64"),
     False),
    ("contracts", "supplier_identified", lambda f, _: f["supplier_company_number"].notna().astype("float64"), True),
    ("ownership", "owner_kind", lambda f, _: f["owner_kind"], True),
    ("ownership", "ownership_band", lambda f, _: f["ownership_band"], True),
    ("ownership", "owner_jurisdiction (GB, other)",
     lambda f, _: f["owner_jurisdiction"].map(lambda c: None if pd.isna(c) else "GB" if c == "GB" else "other"),
     True),
    ("ownership", "owners_per_company", lambda f, _: f.groupby("company_number").size().astype("float64"), False),
    ("watchlist", "entity_kind", lambda f, _: f["entity_kind"], True),
]


def _codes(synthetic: pd.Series, real: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category codes over both samples (NaN for missing)."""
    both = pd.concat([synthetic.astype("string"), real.astype("string")], ignore_index=True)
    codes, _ = pd.factorize(both)
    out = np.where(codes < 0, np.nan, codes).astype("float64")
    return out[:len(synthetic)], out[len(synthetic):]


def column_drift(synthetic: Dataset, real: Dataset, bins: int = 10) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """PSI of the source columns in :data:`_COLUMNS` for the tables both data sets hold with rows, worst first.

    The PSI is over present values; ``synthetic_missing`` and ``real_missing`` give the shares left empty.
    """
    if synthetic.extract_date is None or real.extract_date is None:
        raise RiskmodelError("a data set has no extract date (ages are measured to it)", field="extract_date")
    s_when, r_when = pd.Timestamp(synthetic.extract_date), pd.Timestamp(real.extract_date)
    rows, tables = [], {}
    for table, name, derive, categorical in _COLUMNS:
        if not (table in synthetic and table in real and len(synthetic[table]) and len(real[table])):
            continue
        # Present values only: how often a source leaves a column empty is reported apart, since it says how
        # complete a publisher is rather than how the businesses behave.
        s_all, r_all = derive(synthetic[table], s_when), derive(real[table], r_when)
        s, r = s_all.dropna(), r_all.dropna()
        missing = {"synthetic_missing": float(s_all.isna().mean()), "real_missing": float(r_all.isna().mean())}
        if not len(s) or not len(r):
            rows.append({"column": f"{table}.{name}", "table": table, "psi": np.nan, "level": "not comparable",
                         "synthetic_rows": len(s), "real_rows": len(r), **missing,
                         "worst_bin": "no values in " + ("either" if not len(s) and not len(r) else
                                                          "the synthetic data" if not len(s) else "the real data")})
            continue
        if categorical:
            s_values, r_values = _codes(s, r)
            labels = dict(enumerate(pd.concat([s.astype("string"), r.astype("string")]).dropna().unique()))
        else:
            s_values, r_values = s.to_numpy(dtype="float64"), r.to_numpy(dtype="float64")
        psi, bins_frame = population_stability(s_values, r_values, bins, categorical=categorical)
        if categorical:  # the bins are codes; show the values
            bins_frame["bin"] = [b if not b.startswith("= ") else str(labels.get(int(float(b[2:])), b))
                                 for b in bins_frame["bin"]]
        key = f"{table}.{name}"
        tables[key] = bins_frame
        worst = bins_frame.loc[bins_frame["contribution"].idxmax()]
        rows.append({"column": key, "table": table, "psi": psi, "level": _level(psi),
                     "synthetic_rows": len(s), "real_rows": len(r), **missing,
                     "worst_bin": f"{worst['bin']}: synthetic {worst['expected_share']:.1%}, "
                                  f"real {worst['actual_share']:.1%}"})
    frame = pd.DataFrame(rows, columns=["column", "table", "psi", "level", "synthetic_rows", "real_rows",
                                        "synthetic_missing", "real_missing", "worst_bin"])
    return frame.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True), tables


def _evidenced(dataset: Dataset, population: pd.Index) -> set[str]:
    """Tables holding rows about at least one business of ``population`` (the register and watchlist always)."""
    tables = {"companies", "watchlist"}
    for table, key in BUSINESS_KEYS.items():
        if table in dataset and len(dataset[table]) and dataset[table][key].isin(population).any():
            tables.add(table)
    return tables


def _level(psi: float) -> str:
    return "alike" if psi < LEVELS[0] else "moderate" if psi < LEVELS[1] else "major"


def drift_report(synthetic: str | Path | Dataset, real: str | Path | Dataset, *, names: list[str] | str = "all",
                 synthetic_as_of: dt.date | None = None, real_as_of: dt.date | None = None,
                 bins: int = 10) -> DriftReport:
    """Compare every shared feature of a synthetic data set with a real one (see the module note).

    Parameters
    ----------
    synthetic, real : str, Path or Dataset
        Data set folders (or loaded data sets) written to the contract.
    names : list of str or str
        Features or a feature set (default ``all``: every model feature).
    synthetic_as_of, real_as_of : date, optional
        Dates of the features; default each data set's extract date.
    bins : int
        Quantile bins per feature.

    Returns
    -------
    DriftReport

    Raises
    ------
    RiskmodelError
        A data set without an extract date and no date given.
    """
    syn = synthetic if isinstance(synthetic, Dataset) else load_dataset(synthetic)
    rea = real if isinstance(real, Dataset) else load_dataset(real)
    s_when, r_when = synthetic_as_of or syn.extract_date, real_as_of or rea.extract_date
    if s_when is None or r_when is None:
        raise RiskmodelError("a data set has no extract date: give the dates", field="as_of")
    X_syn = features.build(syn, s_when, names)
    X_real = features.build(rea, r_when, list(X_syn.columns))
    evidenced = _evidenced(rea, X_real.index)
    rows, tables = [], {}
    for name in X_syn.columns:
        spec = CATALOGUE[name]
        s, r = X_syn[name].to_numpy(dtype="float64"), X_real[name].to_numpy(dtype="float64")
        row = {"feature": name, "family": spec.family, "sources": ";".join(spec.sources),
               "synthetic_present": float(np.mean(~np.isnan(s))), "real_present": float(np.mean(~np.isnan(r))),
               "synthetic_median": float(np.nanmedian(s)) if (~np.isnan(s)).any() else np.nan,
               "real_median": float(np.nanmedian(r)) if (~np.isnan(r)).any() else np.nan}
        if not set(spec.sources) <= evidenced or np.isnan(r).all():
            rows.append({**row, "status": "no real evidence", "psi": np.nan, "level": "", "worst_bin": ""})
            continue
        psi, table = population_stability(s, r, bins)
        tables[name] = table
        worst = table.loc[table["contribution"].idxmax()]
        rows.append({**row, "status": "compared", "psi": psi, "level": _level(psi),
                     "worst_bin": f"{worst['bin']}: synthetic {worst['expected_share']:.1%}, "
                                  f"real {worst['actual_share']:.1%}"})
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["status", "psi"], ascending=[True, False], na_position="last").reset_index(drop=True)
    columns, column_bins = column_drift(syn, rea, bins)
    return DriftReport(frame, tables, columns, column_bins, s_when, r_when, len(X_real), len(X_syn))
