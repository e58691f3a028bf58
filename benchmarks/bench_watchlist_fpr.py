"""False-positive rate of the watchlist matcher: real UK companies screened against real debarment lists.

Run on demand; this is not a test::

    python benchmarks/bench_watchlist_fpr.py                      # default ../shared/realdata
    python benchmarks/bench_watchlist_fpr.py --real-dir DIR --show 40 --json fpr.json
    python benchmarks/bench_watchlist_fpr.py --threshold 85      # sensitivity to the threshold

The real lists (World Bank, IDB, EBRD and AfDB debarments, OpenSanctions exclusion exports; see
``debarment_sanctions_labels/SOURCE.txt``) name almost no British companies, while
``ch_accounts_financials/company_metadata.csv`` holds ordinary UK companies from Companies House. Every UK company the
matcher of :mod:`features.watchlist` flags is therefore almost surely a false positive. The script screens the
company names with the same :func:`features.watchlist.screen` the features use (threshold 92, company entries only)
and reports the share of companies hit: by any entry of the same kind (no country check), by an entry whose country
does not contradict GB (the corroboration the features require), and by an exact normalised-name match. Entries are
the list names plus their aliases; the figures without aliases are shown too.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from features.watchlist import THRESHOLD, screen

LISTS = "debarment_sanctions_labels"
COMPANIES = "ch_accounts_financials/company_metadata.csv"
_OPENSANCTIONS = ("afdb_debarred_entities.csv", "opensanctions_malaysia_financial_consumer_alert_list.csv",
                  "opensanctions_targets_subset_A.csv", "opensanctions_targets_subset_B.csv")
_OS_KIND = {"Person": "person", "Company": "company", "LegalEntity": "company", "Organization": "company"}


def _entries(name: pd.Series, kind: pd.Series | str, country: pd.Series | str | None, source: str,
             aliases: pd.Series | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"name": name, "entity_kind": kind, "country": country, "list_name": source,
                          "alias": False})
    if aliases is not None:
        extra = frame.assign(name=aliases.fillna("").astype(str).str.split(";"), alias=True).explode("name")
        extra = extra[extra["name"].str.strip().str.len() > 0]
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def load_real_lists(real_dir: Path) -> pd.DataFrame:
    """Read the real debarment and sanctions lists into watchlist-shaped rows (name, entity_kind, country)."""
    folder = real_dir / LISTS
    parts: list[pd.DataFrame] = []
    wb = pd.read_csv(folder / "world_bank_debarred_firms_2025-01-07.csv", dtype=str)
    person = wb["firm_name"].str.match(r"^\s*(?:MR|MRS|MS|MISS|DR)\.?\s", case=False, na=False)
    parts.append(_entries(wb["firm_name"], person.map({True: "person", False: "company"}), wb["country"],
                          "world-bank"))
    idb = pd.read_csv(folder / "idb_sanctioned_firms_individuals.csv", dtype=str)
    kind = idb["Entity"].str.strip().str.lower().map({"firm": "company", "individual": "person"}).fillna("company")
    parts.append(_entries(idb["Title"], kind, idb["Country"], "idb", idb["Other Name"]))
    ebrd = pd.read_csv(folder / "ebrd_ineligible_entities.csv", dtype=str)
    parts.append(_entries(ebrd["Firm Name"], "company", ebrd["Nationality"], "ebrd"))
    for file in _OPENSANCTIONS:
        os_rows = pd.read_csv(folder / file, dtype=str)
        os_rows = os_rows[os_rows["schema"].isin(list(_OS_KIND))]
        parts.append(_entries(os_rows["name"], os_rows["schema"].map(_OS_KIND), os_rows["countries"],
                              file.removesuffix(".csv"), os_rows["aliases"]))
    entries = pd.concat(parts, ignore_index=True)
    entries["name"] = entries["name"].astype(str).str.strip()
    entries = entries[entries["name"].str.len() > 0].drop_duplicates(["name", "entity_kind", "country"])
    return entries.assign(entry_id=[f"R{i}" for i in range(len(entries))]).reset_index(drop=True)


def measure_false_positive_rate(real_dir: Path | str, show: int = 20, threshold: float = THRESHOLD) -> dict[str, Any]:
    """Screen real UK company names against the real lists; return the hit rates with and without corroboration.

    Parameters
    ----------
    real_dir : path
        The ``realdata`` folder (with ``debarment_sanctions_labels/`` and ``ch_accounts_financials/``).
    show : int
        Number of matched pairs printed for inspection.
    threshold : float
        Minimum ``token_sort_ratio`` of a hit (the features use :data:`features.watchlist.THRESHOLD`).

    Returns
    -------
    dict
        Counts and rates (share of UK companies hit) by rule, with and without aliases.
    """
    real_dir = Path(real_dir)
    entries = load_real_lists(real_dir)
    meta = pd.read_csv(real_dir / COMPANIES, dtype=str)
    companies = meta.drop_duplicates("companies_house_registered_number")
    subjects = pd.DataFrame({"subject": companies["companies_house_registered_number"].to_numpy(),
                             "name": companies["company_name"].to_numpy(), "kind": "company", "country": "GB"})
    n = len(subjects)
    started = time.perf_counter()
    hits = screen(subjects, entries, threshold=threshold)
    seconds = time.perf_counter() - started
    hits = hits.merge(entries[["entry_id", "name", "country", "list_name", "alias"]], on="entry_id")
    hits = hits.merge(subjects[["subject", "name"]].rename(columns={"name": "company_name"}), on="subject")

    def rates(frame: pd.DataFrame) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rule, sel in (("any_same_kind_hit", frame),
                          ("country_corroborated", frame[frame["country_ok"]]),
                          ("exact_name", frame[frame["exact"]]),
                          ("exact_name_country_corroborated", frame[frame["exact"] & frame["country_ok"]])):
            k = sel["subject"].nunique()
            out[rule] = {"companies": int(k), "rate": k / n}
        return out

    report: dict[str, Any] = {
        "uk_companies": n,
        "entries": len(entries),
        "company_entries": int((entries["entity_kind"] == "company").sum()),
        "company_entries_without_aliases": int(((entries["entity_kind"] == "company") & ~entries["alias"]).sum()),
        "threshold": threshold,
        "screen_seconds": round(seconds, 2),
        "with_aliases": rates(hits),
        "without_aliases": rates(hits[~hits["alias"]]),
    }
    shown = hits.sort_values(["country_ok", "score"], ascending=False).head(show)
    with pd.option_context("display.width", 200, "display.max_colwidth", 50):
        print(shown[["company_name", "name", "score", "exact", "country", "country_ok", "list_name"]].to_string())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    parser.add_argument("--real-dir", type=Path, default=default)
    parser.add_argument("--show", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = measure_false_positive_rate(args.real_dir, args.show, args.threshold)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
