"""Watchlist screening quality: real UK company names screened against real debarment lists, through the importers.

Run on demand; this is not a test::

    python benchmarks/bench_watchlist_fpr.py                      # default ../shared/realdata
    python benchmarks/bench_watchlist_fpr.py --real-dir DIR --json fpr.json --as-of 2025-01-07

The real lists (World Bank, IDB, EBRD and AfDB debarments, OpenSanctions exclusion exports; see
``debarment_sanctions_labels/SOURCE.txt``) name almost no British companies, while
``ch_accounts_financials/company_metadata.csv`` holds ordinary UK companies from Companies House. Every UK company the
screening flags is therefore very probably a false positive.

The data go through the product path: the lists are imported with the ``watchlist`` importer and the companies with
the ``ch-companies`` importer into a temporary data set, which is loaded with :func:`riskmodel.contract.load_dataset`
and viewed as of ``--as-of`` (default: the data set's extract date) with :class:`features.pit.AsOf`, so that lifted
debarments are left out as the features leave them out. The businesses are screened as
:func:`features.watchlist.watchlist_match_business_name` screens them: name ``company_name``, kind ``company``,
country GB, with :func:`features.watchlist.screen` against the view's ``watchlist``.

The funnel, at each of ``--thresholds`` (the features use :data:`features.watchlist.THRESHOLD`):

* name hits of any kind: the screen run once more with every entry taken as a company entry (person entries then go
  through the company normalisation), so that hits the entity kind removes show;
* kind agrees: company entries only (the screen as the features run it; checked to equal the kind-agreeing part of
  the line above);
* counted: the country does not contradict GB (the hits the feature counts);
* exact: counted hits whose normalised names are equal.

Each stage gives hits (company-entry pairs), distinct companies and distinct entries (an alias counts as its entry).
``screen`` does not expose the candidate pairs left by blocking, so they are not reported. Then: examples of hits
removed by corroboration (entity kind or country), every counted hit, the screen's time, and a sanity check of recall:
``--sanity`` company entries with country GB screened as if they were UK companies, in each of :data:`VARIANTS` (as
listed; "Ltd" or "Limited" added; a trailing "Ltd" or "Limited" replaced with "(UK) Limited" or "UK Limited"; lower
or title case; punctuation but parentheses removed; one letter dropped), each found when the screen counts a hit on
its own entry (or one of its aliases).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from features.jurisdictions import to_iso2
from features.pit import AsOf
from features.watchlist import BUSINESS_COUNTRY, THRESHOLD, normalise_company_names, screen
from riskmodel.contract import load_dataset
from riskmodel.importers import import_sources

LISTS = "debarment_sanctions_labels"
COMPANIES = "ch_accounts_financials/company_metadata.csv"
STAGES = ("name_any_kind", "kind_agrees", "counted", "exact")


def _drop_letter(name: str) -> str:
    """The name with the middle letter of its longest word dropped (a typo)."""
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    words[i] = words[i][: len(words[i]) // 2] + words[i][len(words[i]) // 2 + 1 :]
    return " ".join(words)


def _british(name: str) -> str:
    """The name without a trailing "Ltd" or "Limited" (to add a UK subsidiary's suffix instead)."""
    return re.sub(r"[\s,]+(?:ltd\.?|limited)$", "", name.strip(), flags=re.IGNORECASE)


#: Variants of a listed company's name screened in the recall check.
VARIANTS: dict[str, Callable[[str], str]] = {
    "as listed": lambda name: name,
    "+ Ltd": lambda name: f"{name} Ltd",
    "+ Limited": lambda name: f"{name} Limited",
    "lower case": str.lower,
    "title case": str.title,
    "(UK) Limited": lambda name: f"{_british(name)} (UK) Limited",
    "UK Limited": lambda name: f"{_british(name)} UK Limited",
    "no punctuation but ()": lambda name: re.sub(r"[^\w\s()]", "", name),
    "one letter dropped": _drop_letter,
}
_ALIAS = r"#alias-\d+$"
_MIN_CHARS = 4  # features.watchlist screens no company whose normalised name is shorter


def _md(frame: pd.DataFrame) -> str:
    """A markdown table (pipes in cells escaped)."""
    cells = frame.astype(object).where(frame.notna(), "").astype(str)
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in row) + " |"
              for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", force_ascii=False))
    return records


def import_real(real_dir: Path, out: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Import the real lists and companies into ``out``; return entries per source file and the manifests."""
    lists: list[str | Path] = sorted((real_dir / LISTS).glob("*.csv"))
    watchlist = import_sources("watchlist", lists, out).manifest
    companies = import_sources("ch-companies", [real_dir / COMPANIES], out).manifest
    rows = []
    for source, counts in watchlist["sources"].items():
        mapped = counts.get("rows_mapped:watchlist", 0)
        contract = counts.get("rows_quarantined:watchlist", 0)
        rows.append({"source": source, "records": counts["records_in"],
                     "records set aside": counts.get("records_quarantined", 0),
                     "entries mapped": mapped, "entries set aside": contract, "entries imported": mapped - contract})
    per_source = pd.DataFrame(rows)
    total = per_source.drop(columns="source").sum()
    per_source = pd.concat([per_source, pd.DataFrame([{"source": "total", **total}])], ignore_index=True)
    return per_source, {"watchlist": watchlist, "ch-companies": companies}


def business_subjects(companies: pd.DataFrame) -> pd.DataFrame:
    """The businesses as the features screen them: their name, kind ``company``, country GB."""
    return pd.DataFrame({"subject": companies["company_number"].to_numpy(),
                         "name": companies["company_name"].to_numpy(), "kind": "company",
                         "country": BUSINESS_COUNTRY})


def screen_funnel(subjects: pd.DataFrame, entries: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, float]:
    """Every name hit of any kind, flagged by stage, and the seconds of the screen as the features run it."""
    fresh = entries.copy()  # a new frame: screen prepares its entries again, inside the timing, as on a new view
    started = time.perf_counter()
    same_kind = screen(subjects, fresh, threshold=threshold)
    seconds = time.perf_counter() - started
    any_kind = screen(subjects, entries.assign(entity_kind="company"), threshold=threshold)
    info = entries[["entry_id", "name", "entity_kind", "country", "list_name"]].rename(columns={"name": "entry_name"})
    hits = any_kind.merge(info, on="entry_id").merge(
        subjects[["subject", "name"]].rename(columns={"name": "company_name"}), on="subject")
    hits = hits.assign(kind_agrees=hits["entity_kind"] == "company",
                       entry=hits["entry_id"].str.replace(_ALIAS, "", regex=True),
                       alias=hits["entry_id"].str.contains(_ALIAS, regex=True))
    ours = hits.loc[hits["kind_agrees"], ["subject", "entry_id", "country_ok"]]
    check = same_kind[["subject", "entry_id", "country_ok"]].merge(ours, how="outer", indicator=True)
    if not check["_merge"].eq("both").all():
        raise AssertionError(f"the any-kind screen disagrees with the screen of company entries:\n{check}")
    return hits.assign(counted=hits["kind_agrees"] & hits["country_ok"]), seconds


def funnel_counts(hits: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Hits, distinct companies and distinct entries at each stage."""
    stages = {"name_any_kind": hits, "kind_agrees": hits[hits["kind_agrees"]], "counted": hits[hits["counted"]],
              "exact": hits[hits["counted"] & hits["exact"]]}
    return {stage: {"hits": len(sel), "companies": int(sel["subject"].nunique()),
                    "entries": int(sel["entry"].nunique())} for stage, sel in stages.items()}


def removed_examples(hits: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` hits removed by corroboration, one per company and entry, best first (kind: a third at most)."""
    removed = hits[~hits["counted"]].assign(why=lambda f: f["kind_agrees"].map({True: "country", False: "kind"}))
    removed = removed.sort_values(["score", "company_name"], ascending=[False, True])
    removed = removed.drop_duplicates(["subject", "entry"])
    kind = removed[removed["why"] == "kind"].head(n // 3)
    country = removed[removed["why"] == "country"].head(n - len(kind))
    return pd.concat([country, kind]).sort_values(["threshold", "score"], ascending=False)


def sanity_recall(entries: pd.DataFrame, n: int, threshold: float) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Screen up to ``n`` GB company entries as UK companies, in every variant; return recall, misses, pool size."""
    pool = entries[(entries["entity_kind"] == "company") & ~entries["entry_id"].str.contains(_ALIAS, regex=True)]
    pool = pool[(to_iso2(pool["country"]) == BUSINESS_COUNTRY).to_numpy()].drop_duplicates("name")
    # Round robin over the lists, so the sample is not all from the longest one.
    pool = pool.sort_values(["list_name", "name"]).assign(turn=lambda f: f.groupby("list_name").cumcount())
    sample = pool.sort_values(["turn", "list_name"]).head(n)
    rows = []
    for variant, change in VARIANTS.items():
        rows.append(pd.DataFrame({"subject": [f"{variant}|{e}" for e in sample["entry_id"]], "variant": variant,
                                  "name": [change(name) for name in sample["name"]], "kind": "company",
                                  "country": BUSINESS_COUNTRY, "own_entry": sample["entry_id"].to_numpy(),
                                  "list_name": sample["list_name"].to_numpy()}))
    subjects = pd.concat(rows, ignore_index=True)
    hits = screen(subjects[["subject", "name", "kind", "country"]], entries, threshold=threshold)
    hits = hits.assign(entry=hits["entry_id"].str.replace(_ALIAS, "", regex=True))
    own = hits[hits["country_ok"]].merge(subjects[["subject", "own_entry"]], on="subject")
    found = set(own.loc[own["entry"] == own["own_entry"], "subject"])
    subjects = subjects.assign(found=subjects["subject"].isin(found),
                               normalised=normalise_company_names(subjects["name"]))
    recall = subjects.groupby("variant", sort=False)["found"].agg(found="sum", screened="size").reset_index()
    recall = recall.assign(recall=(recall["found"] / recall["screened"]).round(3))
    misses = subjects.loc[~subjects["found"], ["variant", "name", "normalised", "list_name"]]
    return recall, misses, len(pool)


def measure(real_dir: Path, as_of: dt.date | None, thresholds: list[float], examples: int,
            sanity: int) -> dict[str, Any]:
    """Import, screen and print the report (markdown tables); return it as a dict."""
    with tempfile.TemporaryDirectory(prefix="watchlist-fpr-") as tmp:
        per_source, manifests = import_real(real_dir, Path(tmp))
        dataset = load_dataset(tmp, ["companies", "watchlist"])
    day = as_of or dataset.extract_date or dt.date.today()
    view = AsOf(dataset, day)
    entries, companies = view.watchlist, view.companies
    subjects = business_subjects(companies)
    usable = int((normalise_company_names(subjects["name"]).str.len() >= _MIN_CHARS).sum())
    report: dict[str, Any] = {
        "as_of": day.isoformat(),
        "import": _records(per_source),
        "import_top_reasons": manifests["watchlist"]["top_reasons"],
        "companies_imported": manifests["ch-companies"]["tables"]["companies"]["rows_written"],
        "entries_imported": len(dataset.tables["watchlist"]),
        "entries_in_force": len(entries),
        "company_entries_in_force": int((entries["entity_kind"] == "company").sum()),
        "companies_screened": len(subjects),
        "companies_too_short_to_screen": len(subjects) - usable,
    }
    print(f"## Import\n\n{_md(per_source)}\n")
    print(f"{report['companies_imported']} companies imported; as of {report['as_of']}: "
          f"{report['entries_in_force']} of {report['entries_imported']} entries in force "
          f"({report['company_entries_in_force']} company entries), {len(subjects)} companies screened "
          f"({report['companies_too_short_to_screen']} too short to screen).\n")

    funnel_rows, funnels, surviving, removed = [], {}, {}, {}
    for threshold in thresholds:
        hits, seconds = screen_funnel(subjects, entries, threshold)
        counts = funnel_counts(hits)
        funnels[threshold] = {"screen_seconds": round(seconds, 3), "stages": counts}
        funnel_rows += [{"threshold": threshold, "stage": stage, **counts[stage]} for stage in STAGES]
        surviving[threshold] = hits[hits["counted"]].sort_values("score", ascending=False)
        removed[threshold] = hits[~hits["counted"]]
    print(f"## Funnel\n\n{_md(pd.DataFrame(funnel_rows))}\n")
    print("Screen seconds (as the features run it, entries' preparation included): "
          + ", ".join(f"{t:g}: {f['screen_seconds']}" for t, f in funnels.items()) + "\n")
    report["funnel"] = {f"{t:g}": f for t, f in funnels.items()}

    # Examples from the features' threshold first, then from the lowest threshold (hits only there).
    base = THRESHOLD if THRESHOLD in thresholds else thresholds[0]
    pool = removed[base].assign(threshold=base)
    for threshold in sorted(t for t in thresholds if t < base):
        extra = removed[threshold].assign(threshold=threshold)
        pool = pd.concat([pool, extra[~extra.set_index(["subject", "entry_id"]).index.isin(
            pool.set_index(["subject", "entry_id"]).index)]], ignore_index=True)
    shown_cols = ["company_name", "entry_name", "country", "list_name", "score", "exact", "alias"]
    examples_frame = removed_examples(pool, examples)[["threshold", *shown_cols, "why"]].round({"score": 1})
    print(f"## Removed by corroboration (hits at threshold {base:g} first)\n\n{_md(examples_frame)}\n")
    report["removed_examples"] = _records(examples_frame)
    for threshold, frame in surviving.items():
        frame = frame[shown_cols].round({"score": 1})
        print(f"## Counted hits at threshold {threshold:g}: {len(frame)}\n\n{_md(frame) if len(frame) else ''}\n")
    report["counted_hits"] = {f"{t:g}": _records(f[shown_cols]) for t, f in surviving.items()}

    recall, misses, pool_size = sanity_recall(entries, sanity, base)
    print(f"## Recall on listed GB companies ({min(pool_size, sanity)} of {pool_size} GB company entries "
          f"in force, threshold {base:g})\n\n{_md(recall)}\n")
    if len(misses):
        print(f"Missed:\n\n{_md(misses)}\n")
    report["sanity"] = {"gb_company_entries": pool_size, "screened": min(pool_size, sanity),
                        "recall": _records(recall), "missed": _records(misses)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    parser.add_argument("--real-dir", type=Path, default=default)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                        help="view date (default: the imported data set's extract date)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[85.0, THRESHOLD, 97.0])
    parser.add_argument("--examples", type=int, default=15)
    parser.add_argument("--sanity", type=int, default=20, help="GB company entries screened in the recall check")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = measure(args.real_dir, args.as_of, sorted(args.thresholds), args.examples, args.sanity)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
