"""Side-by-side distributions of a synthetic data set and the real public data in ``../shared/realdata``.

The real files are read directly here (a handful of columns each); the full importers for these formats are a
separate capability. Targets: quantiles q25-q90 within 30% of the real ones (or within a small absolute margin
where the real value is near zero), SIC division shares within 2 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.contract import load_dataset
from riskmodel.errors import RiskmodelError

__all__ = ["Comparison", "compare_real", "sic_section"]

QUANTILES = (0.25, 0.5, 0.75, 0.9)
_ACCOUNT_COLUMNS = {
    "employees": "average_number_employees_during_period",
    "cash": "cash_bank_in_hand",
    "net_assets": "net_assets_liabilities_including_pension_asset_liability",
    "current_assets": "current_assets",
}
#: Absolute margins under which a difference passes whatever the relative error (values near zero).
_ABS_MARGIN = {"employees": 1.0, "cash": 500.0, "net_assets": 500.0, "current_assets": 500.0, "age_years": 0.5}
_SECTIONS = [(1, 3, "A"), (5, 9, "B"), (10, 33, "C"), (35, 35, "D"), (36, 39, "E"), (41, 43, "F"), (45, 47, "G"),
             (49, 53, "H"), (55, 56, "I"), (58, 63, "J"), (64, 66, "K"), (68, 68, "L"), (69, 75, "M"), (77, 82, "N"),
             (84, 84, "O"), (85, 85, "P"), (86, 88, "Q"), (90, 93, "R"), (94, 96, "S"), (97, 98, "T"), (99, 99, "U")]
_GAMBLING_STATUS = {"Grant": "granted", "Variation": "granted", "Active": "granted", "Application": "pending"}


def sic_section(division: int) -> str:
    """SIC 2007 section letter of a two-digit division."""
    for lo, hi, letter in _SECTIONS:
        if lo <= division <= hi:
            return letter
    return "?"


@dataclass
class Comparison:
    """Tables of synthetic against real figures, each with a pass column where a target applies."""

    quantiles: pd.DataFrame
    divisions: pd.DataFrame
    procurement: pd.DataFrame
    licence_status: pd.DataFrame
    infiltrated_sections: pd.DataFrame

    @property
    def passed(self) -> bool:
        """All targeted figures within their tolerance."""
        return bool(self.quantiles["pass"].all() and self.divisions["pass"].all())


def _first_division(codes: pd.Series) -> pd.Series:
    first = codes.fillna("").astype(str).str.extract(r"(\d{4,5})")[0]
    return pd.to_numeric(first.str.zfill(5).str[:2], errors="coerce")


def _shares(values: pd.Series) -> pd.Series:
    return values.value_counts(normalize=True) * 100


def compare_real(synthetic: str | Path, real: str | Path) -> Comparison:
    """Compare a synthetic data set with the real data folder.

    Parameters
    ----------
    synthetic : str or Path
        A folder written by ``riskmodel synth`` (its ``_truth/`` is read for the infiltrated sectors).
    real : str or Path
        The ``realdata`` folder (``ch_accounts_financials/``, ``uk_contracts_finder_ocds/``,
        ``uk_gambling_premises_register/``, ``it_confiscated_companies_organised_crime/``).

    Returns
    -------
    Comparison
    """
    real = Path(real)
    needed = ["ch_accounts_financials", "uk_contracts_finder_ocds", "uk_gambling_premises_register",
              "it_confiscated_companies_organised_crime"]
    missing = [d for d in needed if not (real / d).is_dir()]
    if missing:
        raise RiskmodelError(f"{real} lacks the real data folders {', '.join(missing)}", missing=missing)
    ds = load_dataset(synthetic)
    if ds.extract_date is None:
        raise RiskmodelError(f"{synthetic} has no dated rows to compare", folder=str(synthetic))
    extract = pd.Timestamp(ds.extract_date)

    acc_real = pd.concat([pd.read_csv(p, usecols=list(_ACCOUNT_COLUMNS.values()), low_memory=False)
                          for p in sorted((real / "ch_accounts_financials").glob("accounts_*.csv"))])
    rows = []
    for ours, theirs in _ACCOUNT_COLUMNS.items():
        s = ds["accounts"][ours].dropna()
        r = pd.to_numeric(acc_real[theirs], errors="coerce").dropna()
        rows.extend(_quantile_rows(ours, s, r))
    profiles = pd.read_csv(real / "ch_accounts_financials" / "company_metadata.csv", dtype=str)
    real_age = (pd.Timestamp("2025-06-30") - pd.to_datetime(profiles["date_of_creation"], errors="coerce")).dt.days
    comp = ds["companies"]
    alive = comp[comp["date_of_cessation"].isna()]
    syn_age = (extract - alive["date_of_creation"]).dt.days
    rows.extend(_quantile_rows("age_years", syn_age.dropna() / 365.25, real_age.dropna() / 365.25))
    quantiles = pd.DataFrame(rows)

    div_real = _shares(_first_division(profiles["sic_codes"]).dropna().astype(int))
    incorporated = comp[comp["company_type"] != "unincorporated"]
    div_syn = _shares(_first_division(incorporated["sic_codes"]).dropna().astype(int))
    top = div_real.sort_values(ascending=False).index[:20]
    divisions = pd.DataFrame({"division": [f"{d:02d}" for d in top], "synthetic_pct": div_syn.reindex(top).fillna(0),
                              "real_pct": div_real.reindex(top)}).reset_index(drop=True)
    divisions["diff_points"] = divisions["synthetic_pct"] - divisions["real_pct"]
    divisions["pass"] = divisions["diff_points"].abs() <= 2.0

    flat = pd.read_csv(real / "uk_contracts_finder_ocds" / "awards_flat_derived.csv", dtype=str)
    flat = flat.drop_duplicates(["ocid", "award_id"])
    proc_real = _shares(flat["procurement_method"].dropna())
    proc_syn = _shares(ds["contracts"].drop_duplicates(["ocid", "award_id"])["procurement_method"])
    procurement = pd.DataFrame({"synthetic_pct": proc_syn, "real_pct": proc_real}).fillna(0).round(1)

    gamb = pd.read_csv(real / "uk_gambling_premises_register" / "premises_licence_database.csv", dtype=str,
                       encoding="latin-1")
    status_real = _shares(gamb["LicenceStatus"].map(_GAMBLING_STATUS).dropna())
    status_syn = _shares(ds["licences"]["status"])
    licence_status = pd.DataFrame({"synthetic_pct": status_syn, "real_pct": status_real}).fillna(0).round(1)
    licence_status.index.name = "status"

    truth = pd.read_parquet(Path(synthetic) / "_truth" / "businesses.parquet", columns=["company_number",
                                                                                          "infiltrated"])
    infiltrated = comp.merge(truth[truth["infiltrated"]], on="company_number")
    sec_syn = _shares(_first_division(infiltrated["sic_codes"]).dropna().astype(int).map(sic_section))
    italy = pd.read_csv(real / "it_confiscated_companies_organised_crime" / "confiscated_companies_clean.csv",
                        dtype=str)
    sec_real = _shares(italy["ateco_nace_code"].dropna().loc[lambda s: s.str.fullmatch(r"[A-U]")])
    infiltrated_sections = pd.DataFrame({"synthetic_infiltrated_pct": sec_syn, "italy_confiscated_pct": sec_real})
    infiltrated_sections = infiltrated_sections.fillna(0).round(1).sort_values("italy_confiscated_pct",
                                                                               ascending=False)
    return Comparison(quantiles, divisions.round(2), procurement, licence_status, infiltrated_sections)


def _quantile_rows(name: str, synthetic: pd.Series, real: pd.Series) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for q in QUANTILES:
        s, r = float(np.quantile(synthetic, q)), float(np.quantile(real, q))
        rel = abs(s - r) / abs(r) if r else float("inf") if s else 0.0
        rows.append({"variable": name, "quantile": f"q{round(q * 100)}", "synthetic": round(s, 2),
                     "real": round(r, 2), "rel_error": round(rel, 3),
                     "pass": rel <= 0.30 or abs(s - r) <= _ABS_MARGIN.get(name, 0.0)})
    return rows

