"""Helpers shared by test modules (importable because pytest puts ``tests/`` on the path)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from riskmodel.contract import Dataset

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def read_raw_csv(path: Path) -> pd.DataFrame:
    """A CSV as text exactly as written (no NA guessing), for tests that edit files."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def make_dataset(extract_date: str = "2025-06-30", **tables: list[dict[str, object]]) -> Dataset:
    """A typed Dataset from a few rows per table, typed by the real loader (columns not given are empty).

    Example: ``make_dataset(companies=[{"company_number": "SC1", "date_of_creation": "2020-01-01"}])``. Required
    columns that a test does not care about get plausible defaults so that the rows pass validation.
    """
    import datetime as dt

    from riskmodel.contract import TABLES, Dataset, validate_table
    from riskmodel.contract.io import RawTable

    defaults: dict[str, dict[str, object]] = {
        "companies": {"company_name": "A Ltd", "company_type": "ltd", "company_status": "active",
                      "date_of_creation": "2015-01-01"},
        "officers": {"officer_name": "A Person", "officer_role": "director", "appointed_on": "2015-01-01"},
        "ownership": {"owner_name": "A Person", "owner_kind": "individual", "notified_on": "2016-04-06"},
        "accounts": {"period_start": "2019-04-01", "period_end": "2020-03-31", "filed_on": "2020-12-01",
                     "accounts_type": "micro-entity"},
        "licences": {"authority": "Glasgow City Council", "licence_type": "other", "holder_name": "A Ltd",
                     "applied_on": "2020-01-01", "status": "pending", "police_objection": "false",
                     "objections": "0"},
        "contracts": {"buyer_id": "B1", "buyer_name": "A Council", "supplier_name": "A Ltd",
                      "procurement_method": "open", "award_date": "2020-01-01", "award_value": "1000"},
        "labels": {"label": "1", "labelled_on": "2020-01-01", "source": "investigation"},
        "transactions": {"booked_at": "2025-01-01T12:00:00", "amount": "100", "channel": "card"},
        "watchlist": {"name": "Someone", "entity_kind": "person", "list_name": "uk-sanctions"},
    }
    typed: dict[str, pd.DataFrame] = {}
    for name, rows in tables.items():
        spec = TABLES[name]
        filled = [{**defaults.get(name, {}), **row} for row in rows]
        raw = pd.DataFrame([{c: (None if r.get(c) is None else str(r[c])) for c in spec.column_names}
                            for r in filled], columns=list(spec.column_names))
        raw.index = pd.RangeIndex(1, len(raw) + 1, name="source_row")
        result = validate_table(spec, RawTable(raw, text=True))
        problems = result.problems[result.problems["level"] != "warning"]
        assert problems.empty, problems.to_dict("records")
        typed[name] = result.valid
    return Dataset(Path("."), typed, {}, pd.DataFrame(), pd.DataFrame(), dt.date.fromisoformat(extract_date))


def assert_import_balanced(manifest: dict[str, Any]) -> None:
    """Nothing lost: records in = mapped + quarantined (per source and overall); rows mapped = written + quarantined."""
    assert manifest["records_in"] == manifest["records_mapped"] + manifest["records_quarantined"]
    for counts in manifest["sources"].values():
        assert counts["records_in"] == counts.get("records_mapped", 0) + counts.get("records_quarantined", 0)
    for counts in manifest["tables"].values():
        assert counts["rows_mapped"] == counts["rows_written"] + counts["rows_quarantined"]
        assert counts["rows_rejected"] == 0
