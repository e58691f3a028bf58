"""Hypothesis strategies derived from the contract specs: valid tables, coherent data sets and mutations of them.

Importable from any test module (pytest puts ``tests/`` on the path)::

    from strategies import column_values, datasets, mutated_datasets, tables, write_dataset

* :func:`tables` builds one valid typed table of a :class:`~riskmodel.contract.TableSpec`.
* :func:`datasets` builds a small *coherent* data set: every contract table, rows referring to the same businesses
  (officers and owners shared between businesses, licences, contracts, accounts, labels, transactions, watchlist
  entries naming them), all valid against the contract, as cells of Python values.
* :func:`mutations` breaks such a data set in the ways real files break (:data:`KINDS`) and records every
  :class:`Mutation` applied, with the outcome the loader owes it (row quarantined, row kept, table rejected), so a
  failing example explains itself.
* :func:`write_dataset` writes a data set as ``TABLE.csv`` or ``TABLE.parquet`` files plus ``dataset.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from riskmodel.contract import TABLES, ColumnSpec, DType, TableSpec
from riskmodel.contract.schemas import PANDAS_DTYPES
from riskmodel.contract.spec import MAX_DATE, MIN_DATE

__all__ = [
    "KINDS",
    "MONEY",
    "TEXT",
    "GeneratedDataset",
    "Mutation",
    "column_values",
    "datasets",
    "mutated_datasets",
    "mutations",
    "tables",
    "text_of",
    "write_dataset",
]

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda s: s.strip() != "")

#: Every kind of damage :func:`mutations` can do (each one reachable on every data set :func:`datasets` builds).
KINDS = ("wrong-type", "out-of-range-date", "unknown-enum", "duplicate-key", "nan-inf-money", "empty-string",
         "long-string", "unicode-name", "missing-column")

#: Money columns of each table (float columns in GBP, by the contract's own descriptions).
MONEY: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in spec.columns if c.dtype is DType.FLOAT and "GBP" in c.description)
    for name, spec in TABLES.items()
    if any(c.dtype is DType.FLOAT and "GBP" in c.description for c in spec.columns)
}


def column_values(col: ColumnSpec, dates: tuple[dt.date, dt.date] = (MIN_DATE, MAX_DATE)) -> st.SearchStrategy[Any]:
    """Valid values of one contract column (None included when the column may be empty).

    Dates and date-times are ``pandas.Timestamp`` between ``dates`` (default: the contract's whole range).
    """
    if col.allowed is not None:
        base: st.SearchStrategy[Any] = st.sampled_from(
            [int(v) for v in col.allowed] if col.dtype is DType.INT else list(col.allowed))
    elif col.dtype is DType.STR:
        base = TEXT
    elif col.dtype is DType.INT:
        base = st.integers(0 if col.non_negative else -(10**12), 10**12)
    elif col.dtype is DType.FLOAT:
        base = st.floats(0 if col.non_negative else -1e12, 1e12, allow_nan=False, allow_infinity=False)
    elif col.dtype is DType.BOOL:
        base = st.booleans()
    elif col.dtype is DType.DATE:
        base = st.dates(*dates).map(pd.Timestamp)
    else:
        base = st.datetimes(dt.datetime.combine(dates[0], dt.time()),
                            dt.datetime.combine(dates[1], dt.time())).map(pd.Timestamp)
    return st.one_of(st.none(), base) if col.nullable else base


def _key(spec: TableSpec) -> Any:
    return lambda row: tuple(row[k] for k in spec.key)


def tables(spec: TableSpec, max_rows: int = 12) -> st.SearchStrategy[pd.DataFrame]:
    """Valid typed tables of ``spec``: keys unique, date orders respected by construction."""
    row = st.fixed_dictionaries({c.name: column_values(c) for c in spec.columns})

    def build(rows: list[dict[str, Any]]) -> pd.DataFrame:
        for r in rows:
            _fix_date_orders(spec, r)
        frame = pd.DataFrame(rows, columns=list(spec.column_names))
        for c in spec.columns:
            frame[c.name] = frame[c.name].astype(PANDAS_DTYPES[c.dtype]) if len(frame) else pd.Series(
                [], dtype=PANDAS_DTYPES[c.dtype])
            if c.dtype is DType.STR:
                frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), None)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
        return frame

    return st.lists(row, min_size=spec.min_rows, max_size=max_rows, unique_by=_key(spec)).map(build)


def _fix_date_orders(spec: TableSpec, row: dict[str, Any]) -> None:
    # The rules are listed so that fixing them in order never breaks an earlier one.
    for rule in spec.date_orders:
        if row[rule.earlier] is not None and row[rule.later] is not None and row[rule.later] < row[rule.earlier]:
            row[rule.later] = row[rule.earlier]


# ---------------------------------------------------------------------------------------------------------------
# Coherent data sets


@dataclass(frozen=True)
class Mutation:
    """One change :func:`mutations` made to a data set, and what the loader owes it.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    table : str
        Table changed.
    column : str or None
        Column changed (None for a whole-row change: a duplicate).
    rows : tuple of int
        1-based source rows the expectation is about (for a duplicate: the new row, and the original when the
        two now disagree).
    value : str
        What was written (abbreviated).
    expect : str
        ``quarantine`` (each of ``rows`` is quarantined), ``keep`` (the value is valid: the rows stay unless
        something else breaks them), ``either`` (depends on other rows) or ``reject`` (the whole table is
        rejected with a message naming it and the column).
    """

    kind: str
    table: str
    column: str | None
    rows: tuple[int, ...]
    value: str
    expect: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.kind} at {where} rows {list(self.rows)}: {self.value} (expect {self.expect})"


@dataclass
class GeneratedDataset:
    """A data set as cells of Python values, ready to be broken and written.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Object frames indexed by 1-based source row; cells are ``str``, ``int``, ``float``, ``bool``,
        ``datetime.date``, ``datetime.datetime`` or None (missing).
    formats : dict of str to str
        ``csv`` or ``parquet`` per table.
    extract_date : date
        The extract date; every event date of the valid data lies on or before it.
    dataset_json : bool
        Whether ``dataset.json`` (with ``extract_date``) is written.
    mutations : tuple of Mutation
        Changes made since generation, in order.
    """

    tables: dict[str, pd.DataFrame]
    formats: dict[str, str]
    extract_date: dt.date
    dataset_json: bool = True
    mutations: tuple[Mutation, ...] = field(default=())

    def describe(self) -> str:
        """One line per table and mutation, for failure messages."""
        lines = [f"extract {self.extract_date} (dataset.json: {self.dataset_json})"]
        lines += [f"  {name}.{self.formats[name]}: {len(frame)} rows, {frame.shape[1]} columns"
                  for name, frame in self.tables.items()]
        lines += [f"  mutation: {m}" for m in self.mutations]
        return "\n".join(lines)

    def expected_rows(self) -> dict[str, dict[int, str]]:
        """Per table, the outcome owed to each mutated source row: ``quarantine`` beats ``either`` beats ``keep``.

        A later mutation of the same cell replaces the earlier one's value, and so its expectation.
        """
        rank = {"keep": 0, "either": 1, "quarantine": 2}
        cells: dict[str, dict[int, dict[str | None, str]]] = {}
        for m in self.mutations:
            if m.expect != "reject":
                for r in m.rows:
                    cells.setdefault(m.table, {}).setdefault(r, {})[m.column] = m.expect
        return {table: {r: max(owed.values(), key=rank.__getitem__) for r, owed in rows.items()}
                for table, rows in cells.items()}

    def rejected_tables(self) -> dict[str, list[str]]:
        """Tables a mutation makes unusable, with the columns it removed."""
        out: dict[str, list[str]] = {}
        for m in self.mutations:
            if m.expect == "reject":
                out.setdefault(m.table, []).append(str(m.column))
        return out


_FIRST = ["Clyde", "Forth", "Tay", "Dee", "Spey", "Nevis", "Arran", "Lomond", "Morven", "Skye", "Tweed", "Esk"]
_TRADE = ["Bar", "Takeaway", "Motors", "Builders", "Security", "Hand Car Wash", "Nails", "Scrap Metals",
          "Logistics", "Cleaning", "Taxis", "Barbers"]
_PEOPLE = ["Ailsa Brodie", "Ruaridh Mowat", "Mhairi Lennox", "Priya Sandhu", "Wei Lin Chong", "Seán Ó Briain",
           "Ola Nowakowska", "Tomasz Bell", "Zara Qureshi", "Ewan Carmichael"]  # invented
_POSTCODES = ["G51 3JH", "AB25 1XL", "EH1 1YZ", "KA1 1HU", "DD1 4QB", "PA1 1JS"]
_SIC = ["56302", "56101;56302", "49320", "96020", "41201", "47240", "45200", "38320", "80100", "81210"]
_BUYERS = [("GB-B1", "Glasgow City Council"), ("GB-B2", "Fife Council"), ("GB-B3", "NHS Lothian")]


def _pydate(value: Any) -> Any:
    """Timestamps as Python dates (the cells hold plain Python values)."""
    return value.date() if isinstance(value, pd.Timestamp) else value


def _days(draw: st.DrawFn, lo: dt.date, hi: dt.date) -> dt.date:
    return draw(st.dates(lo, max(lo, hi)))


@st.composite
def datasets(draw: st.DrawFn, min_businesses: int = 1, max_businesses: int = 6, *, training: bool = False,
             formats: tuple[str, ...] = ("csv", "parquet")) -> GeneratedDataset:
    """Small coherent data sets that meet the contract (see the module note).

    Parameters
    ----------
    min_businesses, max_businesses : int
        Rows of ``companies``.
    training : bool
        Enough labels to train on: three businesses in ten labelled positive a year or more before the extract
        date (the default training date), two in ten in the year after it, half unlabelled then.
    formats : tuple of str
        File formats: with one, every table is written in it; with both, a data set is all CSV, all parquet or
        mixed (each table's format drawn).

    Every data set has at least one row in ``accounts`` and ``contracts``, so that every mutation kind has a target.
    """
    extract = _days(draw, dt.date(2012, 1, 1), dt.date(2025, 12, 31))
    start = dt.date(extract.year - 30, 1, 1)
    n = draw(st.integers(min_businesses, max_businesses))
    numbers = draw(st.lists(st.one_of(st.integers(0, 999_999).map(lambda i: f"SC{i:06d}"),
                                      st.integers(0, 9_999_999).map(lambda i: f"{i:08d}")),
                            min_size=n, max_size=n, unique=True))
    specs = TABLES
    cols = {name: {c.name: c for c in spec.columns} for name, spec in specs.items()}

    def value(table: str, column: str) -> Any:
        return _pydate(draw(column_values(cols[table][column], (start, extract))))

    # A pool of people shared between businesses: the network family needs links.
    # Training needs label-free network components to calibrate and evaluate on: a wider pool, fewer links.
    # Names follow from ids (common names recur, as in registers): fewer draws keep big data sets within
    # hypothesis' budget of choices per example.
    people = [(f"P{i:04d}", _PEOPLE[i % len(_PEOPLE)]) for i in range(max(2, 3 * n if training else n // 2 + 1))]
    names = {num: f"{_FIRST[k % len(_FIRST)]} {_TRADE[(k * 5 + k // len(_FIRST)) % len(_TRADE)]} Ltd"
             for k, num in enumerate(numbers)}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
    created: dict[str, dt.date] = {}
    for num in numbers:
        born = _days(draw, start, extract - dt.timedelta(days=400 if training else 1))
        created[num] = born
        ceased = draw(st.one_of(st.none(), st.none(), st.none(), st.just(0))) if not training else None
        rows["companies"].append({
            "company_number": num, "company_name": names[num], "company_type": value("companies", "company_type"),
            "company_status": "dissolved" if ceased is not None else draw(st.sampled_from(["active", "active",
                                                                                           "dormant", "other"])),
            "date_of_creation": born,
            "date_of_cessation": None if ceased is None else _days(draw, born, extract),
            "sic_codes": draw(st.one_of(st.none(), st.sampled_from(_SIC))),
            "registered_office_postcode": draw(st.one_of(st.none(), st.sampled_from(_POSTCODES))),
            "registered_office_address": draw(st.one_of(st.none(), st.sampled_from(
                ["1 High Street", "Unit 4, Dock Road", "27 Rosemount Place"]))),
        })
        for _ in range(draw(st.integers(0, 3))):
            pid, pname = draw(st.sampled_from(people))
            appointed = _days(draw, born, extract)
            rows["officers"].append({
                "company_number": num, "officer_id": pid, "officer_name": pname,
                "officer_role": value("officers", "officer_role"), "appointed_on": appointed,
                "resigned_on": draw(st.one_of(st.none(), st.dates(appointed, extract))),
                "birth_year": draw(st.one_of(st.none(), st.integers(1940, 2000))),
                "service_address_postcode": draw(st.one_of(st.none(), st.sampled_from(_POSTCODES))),
                "country_of_residence": draw(st.sampled_from(["Scotland", "England", None])),
                "nationality": draw(st.sampled_from(["British", "Irish", None])),
            })
        for _ in range(draw(st.integers(0, 2))):
            corporate = draw(st.booleans()) and n > 1
            owner = draw(st.sampled_from([x for x in numbers if x != num])) if corporate else None
            pid, pname = draw(st.sampled_from(people))
            notified = _days(draw, born, extract)
            rows["ownership"].append({
                "company_number": num, "owner_id": owner or pid, "owner_name": names[owner] if owner else pname,
                "owner_kind": "corporate" if corporate else draw(st.sampled_from(["individual", "unknown"])),
                "ownership_band": value("ownership", "ownership_band"),
                "owner_jurisdiction": draw(st.sampled_from(["GB", "IE", "AE", "VG", None])),
                "notified_on": notified, "ceased_on": draw(st.one_of(st.none(), st.dates(notified, extract))),
            })
        for _ in range(draw(st.integers(0, 2))):
            end = _days(draw, born, extract)
            filed = _days(draw, end, extract)
            money = _accounts_money(draw(column_values(cols["accounts"]["turnover"])), draw(st.integers(0, 2)))
            rows["accounts"].append({
                "company_number": num, "period_start": max(born, end - dt.timedelta(days=364)), "period_end": end,
                "filed_on": filed, "accounts_type": value("accounts", "accounts_type"),
                "employees": draw(st.one_of(st.none(), st.integers(0, 200).map(float))), **money,
            })
        for _ in range(draw(st.integers(0, 2))):
            applied = _days(draw, born, extract)
            decided = draw(st.one_of(st.none(), st.dates(applied, extract)))
            status = "pending" if decided is None else draw(st.sampled_from(
                ["granted", "granted", "refused", "revoked", "surrendered", "expired"]))
            rows["licences"].append({
                "licence_id": f"LIC-{len(rows['licences']) + 1:04d}",
                "authority": draw(st.sampled_from(["Glasgow Licensing Board", "Fife Council"])),
                "licence_type": value("licences", "licence_type"), "holder_company_number": num,
                "holder_name": names[num], "premises_postcode": draw(st.one_of(st.none(), st.sampled_from(_POSTCODES))),
                "applied_on": applied, "decided_on": decided,
                "expires_on": draw(st.one_of(st.none(), st.dates(applied, applied + dt.timedelta(days=3650)))),
                "status": status,
                "status_date": decided if status in ("revoked", "surrendered", "expired") else None,
                "police_objection": draw(st.booleans()), "objections": draw(st.integers(0, 5)),
            })
        for _ in range(draw(st.integers(0, 2))):
            awarded = _days(draw, born, extract)
            published = draw(st.one_of(st.none(), st.dates(awarded - dt.timedelta(days=120), awarded)))
            buyer = draw(st.sampled_from(_BUYERS))
            i = len(rows["contracts"]) + 1
            estimated = draw(st.one_of(st.none(), st.integers(1_000, 2_000_000).map(float)))
            rows["contracts"].append({
                "ocid": f"ocds-fz-{i:05d}", "award_id": f"{i}-1", "buyer_id": buyer[0], "buyer_name": buyer[1],
                "supplier_company_number": num, "supplier_name": names[num],
                "procurement_method": value("contracts", "procurement_method"),
                "main_category": value("contracts", "main_category"),
                "cpv": draw(st.sampled_from(["79713000", "45112000", "90910000", None])),
                "tender_published_on": published,
                "tender_deadline": None if published is None else published + dt.timedelta(days=30),
                "award_date": awarded, "number_of_tenderers": draw(st.one_of(st.none(), st.integers(1, 9))),
                "estimated_value": estimated,
                "award_value": draw(st.integers(500, 2_000_000).map(float)),
                "final_value": draw(st.one_of(st.none(), st.integers(500, 3_000_000).map(float))),
                "modifications": draw(st.one_of(st.none(), st.integers(0, 4))),
                "contract_start": awarded, "contract_end": draw(st.one_of(
                    st.none(), st.dates(awarded, awarded + dt.timedelta(days=1500)))),
            })
        for _ in range(draw(st.integers(0, 3))):
            day = _days(draw, born, extract)
            rows["transactions"].append({
                "transaction_id": f"TX-{len(rows['transactions']) + 1:06d}", "company_number": num,
                "booked_at": dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))),
                "amount": draw(st.floats(-50_000, 50_000, allow_nan=False).map(lambda v: round(v, 2))),
                "channel": value("transactions", "channel"),
                "counterparty_id": draw(st.one_of(st.none(), st.sampled_from(numbers), st.just("ACQ-1"))),
                "counterparty_country": draw(st.sampled_from(["GB", "AE", None])),
            })
    _labels(draw, rows["labels"], numbers, created, extract, training)
    for i in range(draw(st.integers(0, 3))):
        named = draw(st.one_of(st.sampled_from(list(names.values())), st.sampled_from([p for _, p in people]),
                               TEXT))
        listed = draw(st.one_of(st.none(), st.dates(start, extract)))
        rows["watchlist"].append({
            "entry_id": f"WL-{i + 1:04d}", "name": named, "entity_kind": value("watchlist", "entity_kind"),
            "country": draw(st.sampled_from(["GB", "IE", "Iran", None])), "list_name": "uk-sanctions",
            "listed_on": listed, "delisted_on": None, "reason": draw(st.one_of(st.none(), TEXT)),
        })
    # The contract needs no row in these tables, but every mutation kind needs a target.
    for table, fill in (("accounts", _accounts_row), ("contracts", _contracts_row)):
        if not rows[table]:
            rows[table].append(fill(numbers[0], names[numbers[0]], created[numbers[0]], extract))

    frames: dict[str, pd.DataFrame] = {}
    for name, spec in specs.items():
        if name in ("transactions", "watchlist") and not draw(st.booleans()):
            continue  # optional tables are sometimes absent
        kept: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for r in rows[name]:
            _fix_date_orders(spec, r)
            key = tuple(r[k] for k in spec.key)
            if key not in seen:  # drawn rows may share a key (same person, role and day)
                seen.add(key)
                kept.append(r)
        frame = pd.DataFrame(kept, columns=list(spec.column_names), dtype=object)  # cells kept as given
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
        frames[name] = frame
    chosen = formats[0] if len(set(formats)) == 1 else draw(st.sampled_from([*sorted(set(formats)), "mixed"]))
    table_formats = {name: (draw(st.sampled_from(["csv", "parquet"])) if chosen == "mixed" else chosen)
                     for name in frames}
    return GeneratedDataset(frames, table_formats, extract, dataset_json=training or draw(st.booleans()))


def _labels(draw: st.DrawFn, out: list[dict[str, Any]], numbers: list[str], created: dict[str, dt.date],
            extract: dt.date, training: bool) -> None:
    """Labels: at random, or (``training``) enough positives before and after the default training date."""
    as_of = (pd.Timestamp(extract) - pd.DateOffset(months=12)).date()
    for i, num in enumerate(numbers):
        if training:
            # Half the businesses unlabelled at the training date; positives both before and after it.
            kind = ("early", "late", "none", "early", "negative", "none", "early", "late", "none", "none")[i % 10]
        else:
            kind = draw(st.sampled_from(["none", "none", "early", "late", "negative"]))
        if kind == "none":
            continue
        if kind == "late" and as_of >= extract:
            continue
        lo, hi = (as_of + dt.timedelta(days=1), extract) if kind == "late" else (created[num], as_of)
        if hi < max(lo, created[num]):
            continue
        out.append({"company_number": num, "label": 0 if kind == "negative" else 1,
                    "labelled_on": _days(draw, max(lo, created[num]), hi),
                    "source": draw(st.sampled_from(["investigation", "confiscation", "audit"]))})


def _accounts_money(turnover: float | None, layout: int) -> dict[str, float | None]:
    """Money columns of one set of accounts from its turnover: micro-entity (few fields), small or full."""
    scale = turnover if turnover is not None else 0.0
    full = {"turnover": turnover, "cost_of_sales": 0.6 * scale, "gross_profit": 0.4 * scale,
            "operating_profit": 0.05 * scale - 1_000.0, "cash": 0.08 * scale, "debtors": 0.1 * scale,
            "current_assets": 0.2 * scale, "tangible_fixed_assets": 0.15 * scale,
            "creditors_within_one_year": 0.12 * scale, "creditors_after_one_year": 0.05 * scale,
            "net_assets": 0.18 * scale - 500.0}
    shown = {0: ("cash", "current_assets", "net_assets"), 1: ("turnover", "cash", "debtors", "current_assets",
                                                                "creditors_within_one_year", "net_assets")}
    return {c: (v if layout == 2 or c in shown[layout] else None) for c, v in full.items()}


def _accounts_row(num: str, _name: str, born: dt.date, extract: dt.date) -> dict[str, Any]:
    end = max(born, extract - dt.timedelta(days=200))
    row: dict[str, Any] = {c: None for c in TABLES["accounts"].column_names}
    row.update({"company_number": num, "period_start": max(born, end - dt.timedelta(days=364)), "period_end": end,
                "filed_on": end, "accounts_type": "micro-entity", "turnover": 125_000.0, "cash": 3_400.0})
    return row


def _contracts_row(num: str, name: str, born: dt.date, extract: dt.date) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in TABLES["contracts"].column_names}
    row.update({"ocid": "ocds-fz-00000", "award_id": "0-1", "buyer_id": "GB-B1", "buyer_name": "Glasgow City Council",
                "supplier_company_number": num, "supplier_name": name, "procurement_method": "direct",
                "award_date": max(born, extract - dt.timedelta(days=90)), "award_value": 48_000.0})
    return row


# ---------------------------------------------------------------------------------------------------------------
# Writing


def text_of(value: Any) -> str | None:
    """A cell as CSV text in the contract's formats (None = empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf
                                                else repr(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()  # zero-padded four-digit years, also before 1000
    return str(value)


def _arrow_column(values: list[Any], dtype: DType) -> pa.Array:
    """A column in its native parquet type when every value fits it, else as text (a "wrong type" column)."""
    present = [v for v in values if v is not None]

    def every(kind: type | tuple[type, ...], but: type | None = None) -> bool:
        return all(isinstance(v, kind) and (but is None or not isinstance(v, but)) for v in present)

    if dtype is DType.DATE and every(dt.date, dt.datetime):
        return pa.array(values, pa.date32())
    if dtype is DType.DATETIME and every(dt.datetime):
        return pa.array(values, pa.timestamp("us"))
    if dtype is DType.INT and every(int, bool):
        return pa.array(values, pa.int64())
    if dtype in (DType.INT, DType.FLOAT) and every((int, float), bool):
        # Built from Python floats, not from pandas: NaN stays NaN (a value), None stays null (missing).
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if dtype is DType.BOOL and every(bool):
        return pa.array(values, pa.bool_())
    return pa.array([text_of(v) for v in values], pa.string())


def write_dataset(folder: Path, data: GeneratedDataset) -> Path:
    """Write ``data`` into ``folder`` (created): one file per table in its format, and ``dataset.json``.

    Returns
    -------
    Path
        ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in data.tables.items():
        spec = TABLES[name]
        if data.formats[name] == "parquet":
            arrays = {c: _arrow_column(frame[c].tolist(), spec.column(c).dtype if c in spec.column_names
                                       else DType.STR) for c in frame.columns}
            pq.write_table(pa.table(arrays), folder / f"{name}.parquet")
        else:
            text = frame.map(text_of) if len(frame) else frame
            text.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    if data.dataset_json:
        (folder / "dataset.json").write_text(json.dumps({"extract_date": data.extract_date.isoformat(),
                                                         "source": "hypothesis"}), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Mutations

_WRONG: dict[DType, list[Any]] = {
    DType.INT: ["abc", "1.5", 1.5, "12abc", "1,000", "0x1A", "99999999999999999999", "true", "½"],
    DType.FLOAT: ["12abc", "one", "1,000.50", "£100", "--5", "1.2.3", "٣"],
    DType.BOOL: ["perhaps", "2", "yes please", "TRUE!", "oui", "-1"],
    DType.DATE: ["31/12/2020", "2020-1-5", "2020-02-30", "yesterday", "20200101", "2020-01-01T10:00:00",
                 "2020-13-01", "\uff12\uff10\uff12\uff10-\uff10\uff11-\uff10\uff11"],
    DType.DATETIME: ["noon", "2020-13-01T00:00:00", "31/12/2020 10:00", "2020-01-01T25:00:00", "1e9"],
}
_FAR_DATES = [dt.date(1799, 12, 31), dt.date(1, 1, 1), dt.date(1000, 6, 15), dt.date(2262, 1, 1),
              dt.date(9999, 12, 31), dt.date(3000, 1, 1)]
_NOT_FINITE: list[Any] = [math.nan, math.inf, -math.inf, "NaN", "nan", "inf", "-Infinity", "Infinity", "1e999",
                          "-1e999"]
_BLANKS = ["", "   ", "\t", "\xa0", "\u3000 "]
_UNICODE = st.text(st.characters(whitelist_categories=("L", "M", "N", "P", "S", "Zs", "Cf", "Zl"),
                                 blacklist_characters="\x00"), min_size=0, max_size=25)
_TRICKY = ["Seán Ó Briain", "Łódź Trading Sp. z o.o.", "İstanbul Kebab", "Straße GmbH", "株式会社クライド",
           "مطعم الشام", "שלום בע\"מ", "👩‍👩‍👧 Family Café", "e\u0301 combining", "\u202eevil\u202c",
           "zero\u200bwidth", "bom\ufeffinside", "line\u2028sep", "two\nlines", "quote \"and\", comma",
           "=HYPERLINK(\"x\")", "\uff26\uff35\uff2c\uff2c\uff37\uff29\uff24\uff34\uff28", "ᚠᛇᚻ",
           "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522", "x" + "\u0301" * 40]


def _targets(data: GeneratedDataset, kind: str) -> list[tuple[str, str | None]]:
    """(table, column) pairs the mutation ``kind`` can act on in ``data``."""
    out: list[tuple[str, str | None]] = []
    for name, frame in data.tables.items():
        spec = TABLES[name]
        present = [c for c in spec.columns if c.name in frame.columns]
        if kind == "missing-column":
            out += [(name, c.name) for c in present]
            continue
        if not len(frame):
            continue
        if kind == "duplicate-key":
            if all(k in frame.columns for k in spec.key):
                out.append((name, None))
            continue
        for c in present:
            ok = {
                "wrong-type": c.dtype is not DType.STR,
                "out-of-range-date": c.dtype in (DType.DATE, DType.DATETIME),
                "unknown-enum": c.allowed is not None,
                "nan-inf-money": c.name in MONEY.get(name, ()),
                "empty-string": True,
                "long-string": True,
                "unicode-name": c.dtype is DType.STR and c.allowed is None,
            }[kind]
            if ok:
                out.append((name, c.name))
    return out


def _abbrev(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...{text[-10:]} ({len(str(value)):,} characters)"


def _different(col: ColumnSpec, value: Any) -> Any:
    """Another valid value of ``col`` (for a duplicate key that disagrees about the facts)."""
    if col.allowed is not None:
        options = [int(v) for v in col.allowed] if col.dtype is DType.INT else list(col.allowed)
        return next(v for v in options if v != value)
    if col.dtype is DType.STR:
        return (value if isinstance(value, str) else "x") + " bis"
    if col.dtype is DType.BOOL:
        return not value if isinstance(value, bool) else True
    if col.dtype is DType.INT:
        return (value if isinstance(value, int) else 0) + 1
    if col.dtype is DType.FLOAT:
        return (value if isinstance(value, float) and math.isfinite(value) else 0.0) + 1.0
    if col.nullable and value is not None:
        return None
    return value - dt.timedelta(days=1) if isinstance(value, dt.date) else value


@st.composite
def _one_mutation(draw: st.DrawFn, data: GeneratedDataset, kind: str) -> GeneratedDataset:
    targets = _targets(data, kind)
    if not targets:
        return data  # nothing left to break this way (e.g. every column of every table removed)
    table, column = draw(st.sampled_from(targets))
    spec = TABLES[table]
    tables = dict(data.tables)
    frame = tables[table].copy()
    if kind == "missing-column":
        assert column is not None
        tables[table] = frame.drop(columns=[column])
        mutation = Mutation(kind, table, column, (), "column removed", "reject")
        return replace(data, tables=tables, mutations=(*data.mutations, mutation))
    if kind == "duplicate-key":
        source = draw(st.sampled_from(list(frame.index)))
        copy = frame.loc[source].copy()
        others = [c for c in spec.columns if c.name not in spec.key and c.name in frame.columns]
        conflict = draw(st.booleans())
        if conflict:
            # Prefer text and numbers: a changed date may break a date order (also a quarantine, but muddier).
            plain = [c for c in others if c.dtype not in (DType.DATE, DType.DATETIME)] or others
            col = draw(st.sampled_from(plain))
            copy[col.name] = _different(col, copy[col.name])
            if _same(copy[col.name], frame.at[source, col.name]):
                conflict = False
        new = int(frame.index.max()) + 1
        # Column by column as Python objects: None stays None, 7 stays 7 (frame.loc[new] = ... would retype).
        index = pd.Index([*frame.index, new], name="source_row")
        tables[table] = pd.DataFrame({c: pd.Series([*frame[c].tolist(), copy[c]], index=index, dtype=object)
                                      for c in frame.columns}, index=index)
        rows = (source, new) if conflict else (new,)
        what = f"copy of row {source}" + (" with a different value" if conflict else "")
        mutation = Mutation(kind, table, None, rows, what, "quarantine")
        return replace(data, tables=tables, mutations=(*data.mutations, mutation))

    assert column is not None
    col = spec.column(column)
    chosen = draw(st.lists(st.sampled_from(list(frame.index)), min_size=1, max_size=min(2, len(frame)), unique=True))
    expect = "quarantine"
    in_key = column in spec.key
    values: list[Any] = []
    for row in chosen:
        if kind == "wrong-type":
            value: Any = draw(st.sampled_from(_WRONG[col.dtype]))
        elif kind == "out-of-range-date":
            far = list(_FAR_DATES)
            if col.event and data.dataset_json and data.extract_date < MAX_DATE:
                # Within pandas' range but after the extract date: an event that cannot have happened yet.
                far.append(data.extract_date + dt.timedelta(days=draw(st.integers(1, 3650))))
            day = draw(st.sampled_from(far))
            value = dt.datetime.combine(day, dt.time(12)) if col.dtype is DType.DATETIME else day
        elif kind == "unknown-enum":
            assert col.allowed is not None
            if col.dtype is DType.INT:
                value = draw(st.sampled_from([2, -1, 10, "yes"]))
            else:
                first = col.allowed[0]
                near = ["zz-unknown", first.upper(), first.title(), f" {first} ", f"{first}.",
                        first.replace("-", "_") + "_", f"{first}\u200b", "\uff4c\uff54\uff44"]
                # Upper case of "25-50" is "25-50": only values outside the enumeration.
                value = draw(st.sampled_from([v for v in near if v not in col.allowed]))
        elif kind == "nan-inf-money":
            value = draw(st.sampled_from(_NOT_FINITE))
        elif kind == "empty-string":
            value = draw(st.sampled_from(_BLANKS))
            expect = "either" if in_key and col.nullable else ("keep" if col.nullable else "quarantine")
        elif kind == "long-string":
            size = draw(st.sampled_from([300, 5_000, 70_000, 1_100_000]))
            word = draw(st.sampled_from(["A", "Ωmega ", "name-", "株"]))
            value = (word * (size // len(word) + 1))[:size]
            expect = "quarantine" if col.dtype is not DType.STR or col.allowed is not None else "keep"
            if in_key and expect == "keep":
                value = f"{value}#{row}"  # one row's key must stay its own
        else:  # unicode-name
            value = draw(st.one_of(st.sampled_from(_TRICKY), _UNICODE.filter(
                lambda s: any(ch.isalpha() for ch in s))))
            expect = "keep"
            if in_key:
                value = f"{value}#{row}"
        frame.at[row, column] = value
        values.append(value)
    tables[table] = frame
    shown = _abbrev(values[0]) if len(values) == 1 else ", ".join(_abbrev(v) for v in values)
    mutation = Mutation(kind, table, column, tuple(int(r) for r in chosen), shown, expect)
    return replace(data, tables=tables, mutations=(*data.mutations, mutation))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(type(a) is type(b) and a == b)


#: Order in which drawn kinds are applied: changes to values first, then duplicates (so a copy carries its
#: original's changes and the two still share their key), then removed columns.
_PHASE = {kind: (1 if kind == "duplicate-key" else 2 if kind == "missing-column" else 0) for kind in KINDS}


def mutations(data: GeneratedDataset, min_size: int = 1, max_size: int = 3, kinds: tuple[str, ...] = KINDS,
              include: str | None = None) -> st.SearchStrategy[GeneratedDataset]:
    """``data`` with ``min_size`` to ``max_size`` mutations of the given kinds applied and recorded.

    Each mutation picks a table, a column and one or two rows at random among those it can act on; the result's
    :attr:`GeneratedDataset.mutations` lists what was done and what the loader owes each changed row. With
    ``include``, one of the mutations is of that kind (a few examples per kind then cover every kind: hypothesis'
    draws favour some choices).
    """

    @st.composite
    def build(draw: st.DrawFn) -> GeneratedDataset:
        fixed = [include] if include is not None else []
        drawn = fixed + draw(st.lists(st.sampled_from(kinds), min_size=max(0, min_size - len(fixed)),
                                      max_size=max_size - len(fixed)))
        out = data
        for kind in sorted(drawn, key=lambda k: _PHASE[k]):
            out = draw(_one_mutation(out, kind))
        return out

    return build()


def mutated_datasets(base: st.SearchStrategy[GeneratedDataset] | None = None, min_size: int = 1, max_size: int = 3,
                     kinds: tuple[str, ...] = KINDS, include: str | None = None) -> st.SearchStrategy[GeneratedDataset]:
    """Coherent data sets (default :func:`datasets`) with mutations applied (see :func:`mutations`)."""
    source = base if base is not None else datasets()

    def mutate(d: GeneratedDataset) -> st.SearchStrategy[GeneratedDataset]:
        return mutations(d, min_size, max_size, kinds, include)

    return source.flatmap(mutate)
