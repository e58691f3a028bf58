"""The fast path for a supplier's few rows: sound against the full validator and complete on ordinary data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from riskmodel.contract import TABLES, DType, TableSpec, read_table_file, validate_rows, validate_table, write_table
from riskmodel.contract.io import RawTable
from riskmodel.contract.spec import MAX_DATE, MIN_DATE, ColumnSpec
from riskmodel.scoring.scorer import RECORD_TABLES, RecordError, _record_tables

Rows = list[dict[str, str | None]]

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(
    lambda s: s.strip() != "")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Soundness matters most: 60 examples per way of breaking the rows (18 ways) rather than the usual 25.
SOUND = settings(SETTINGS, max_examples=60)

_BOOL_WORDS = ["true", "false", "True", "False", "TRUE", "t", "f", "yes", "no", "Y", "n", "1", "0"]
_EVENTS_FROM, _EVENTS_TO = dt.date(1990, 1, 1), dt.date(2024, 12, 31)


def _clean_text(col: ColumnSpec) -> st.SearchStrategy[str | None]:
    """Ordinary text for a column: what a supplier's system or a CSV writer sends."""
    base: st.SearchStrategy[str]
    if col.allowed is not None:
        base = st.sampled_from(col.allowed)
    elif col.dtype is DType.STR:
        base = TEXT
    elif col.dtype is DType.INT:
        base = st.integers(0 if col.non_negative else -(10**12), 10**12).map(str)
    elif col.dtype is DType.FLOAT:
        pence = st.integers(0 if col.non_negative else -(10**14), 10**14)
        base = st.one_of(pence.map(lambda p: repr(p / 100)), pence.map(lambda p: str(p // 100)))
    elif col.dtype is DType.BOOL:
        base = st.sampled_from(_BOOL_WORDS)
    elif col.dtype is DType.DATE:
        base = st.dates(_EVENTS_FROM, _EVENTS_TO).map(dt.date.isoformat)
    else:
        base = st.builds(lambda t, sep: t.isoformat(sep=sep), st.datetimes(dt.datetime(1990, 1, 1),
                                                                          dt.datetime(2024, 12, 31)),
                         st.sampled_from(["T", " "]))
    return st.one_of(st.none(), base) if col.nullable else base


#: Text forms that pandas reads differently, or not at all, or that break the contract, by column type.
_ODD: dict[DType, list[str]] = {
    DType.INT: ["1.0", "1.5", " 5", "5 ", "1e3", "+5", "\uff10", "\u0663", "5\n", "-0", "007", "1_000", "0x10", "nan",
                "1234567890123456", "9" * 20, "12.000", "-1", "00000000000000001"],
    DType.FLOAT: ["nan", "NaN", "inf", "-inf", "1e3", "1E3", "1e400", ".5", "5.", "1,000.5", " 2.5", "+2.5", "-0",
                  "-0.0", "-000.00", "0.30000000000000004", "0.1234567890123456789", "123456789012345678",
                  "\u0661\u066b\u0665", "1_0.5", "0.00707532966209899", "-5.25", "12345678901234567"],
    DType.BOOL: ["maybe", "2", " yes ", "tRuE", "True\n", "oui", "\uff34\uff32\uff35\uff25", "\uff59"],
    DType.DATE: ["2022-5-7", "2022-02-30", "2022-01-01T00:00:00", "2022-01-01 ", "\uff12\uff10\uff12\uff12-01-01",
                 "20220101", "2022-W01-1", "0000-01-01", "2022-01-01\n", "31/12/2020", "2022-13-01"],
    DType.DATETIME: ["2022-01-01", "2022-01-01T24:00:00", "2022-01-01T10:00:00Z", "2022-01-01T10:00:00+01:00",
                     "2022-01-01T10:00", "2022-02-30T00:00:00", "2022-01-01T10:00:00.1234567",
                     "2022-01-01T10:00:00.5", "2022-01-01t10:00:00", "2022-01-01T10:00:60"],
}
#: Dates at and beyond the contract's range (both ends).
_EDGES = ["1677-09-21", "1799-12-31", "1800-01-01", "2261-12-31", "2262-01-01", "2262-04-12", "9999-12-31"]
Probe = tuple[str, st.SearchStrategy[str | None]]


def _probes(spec: TableSpec, extract_date: dt.date | None) -> dict[str, list[Probe]]:
    """Cells to corrupt, by the rule they test: values the fast path must refuse or type as the full path does."""
    probes: dict[str, list[Probe]] = {}

    def add(kind: str, col: ColumnSpec, values: st.SearchStrategy[str | None]) -> None:
        probes.setdefault(kind, []).append((col.name, values))

    for col in spec.columns:
        if not col.nullable:
            add("required", col, st.none())
        if col.allowed is not None and col.dtype is DType.INT:
            add("allowed", col, st.integers(-3, 5).map(str))
        elif col.allowed is not None:
            add("allowed", col, st.one_of(TEXT, st.sampled_from(col.allowed).map(str.upper),
                                          st.sampled_from(col.allowed).map(lambda v: f" {v}")))
        if col.non_negative and col.dtype is DType.INT:
            add("non-negative", col, st.integers(-(10**6), 0).map(str))
        elif col.non_negative:
            add("non-negative", col, st.integers(-(10**8), 0).map(lambda p: repr(p / 100) if p else "-0.0"))
        if col.dtype is not DType.STR:
            add(f"form-{col.dtype.value}", col, st.sampled_from(_ODD[col.dtype]))
        if col.dtype in (DType.INT, DType.FLOAT):  # most random doubles print with 16 or 17 digits
            add("long-number", col, st.one_of(st.floats(-1e15, 1e15).map(repr), st.floats().map(repr)))
        if col.dtype is DType.DATE:
            add("range", col, st.sampled_from(_EDGES))
        elif col.dtype is DType.DATETIME:
            add("range", col, st.sampled_from(_EDGES).map(lambda d: f"{d}T00:00:00"))
        if col.event and extract_date is not None and extract_date < MAX_DATE:
            after = st.dates(extract_date + dt.timedelta(days=1), min(MAX_DATE, extract_date + dt.timedelta(days=400)))
            if col.dtype is DType.DATE:
                add("after-extract", col, st.one_of(st.just(extract_date.isoformat()), after.map(dt.date.isoformat)))
            else:
                add("after-extract", col, st.one_of(st.just(f"{extract_date}T23:59:59.999999"),
                                                    after.map(lambda d: f"{d}T00:00:00")))
        if col.dtype is DType.STR and col.allowed is None:
            add("text", col, TEXT)
    return probes


def _when(spec: TableSpec, column: str, text: str) -> dt.datetime:
    if spec.column(column).dtype is DType.DATE:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    return dt.datetime.fromisoformat(text)


def _keep_date_orders(spec: TableSpec, rows: Rows) -> None:
    """Fix clean rows to respect the date orders (in rule order, as the contract lists them)."""
    for row in rows:
        for rule in spec.date_orders:
            earlier, later = row[rule.earlier], row[rule.later]
            if earlier is not None and later is not None and _when(spec, rule.later, later) < _when(
                    spec, rule.earlier, earlier):
                row[rule.later] = earlier


def _key(spec: TableSpec, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in spec.key)


@st.composite
def _extract_dates(draw: st.DrawFn) -> dt.date | None:
    return draw(st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))))


_ROW_RULES = ("duplicate-key", "duplicate-row", "date-order", "signed-zero")
_ANY_DATE = dt.date(2025, 1, 1)


def _applies(spec: TableSpec, kind: str) -> bool:
    """Whether rows of ``spec`` can be corrupted in this way."""
    if kind == "date-order":
        return bool(spec.date_orders)
    if kind == "signed-zero":
        return any(c.dtype is DType.FLOAT for c in spec.columns)
    return kind in ("duplicate-key", "duplicate-row", "mixed", "clean") or kind in _probes(spec, _ANY_DATE)


#: Ways of corrupting rows, each a rule of the contract or a family of text forms; "mixed" draws several.
KINDS = [*sorted({k for spec in TABLES.values() for k in _probes(spec, _ANY_DATE)}), *_ROW_RULES, "mixed", "clean"]


def _corrupt(draw: st.DrawFn, spec: TableSpec, rows: Rows, extract_date: dt.date | None, kind: str) -> None:
    """Break one rule in one row (in place); a no-op when ``kind`` does not apply to ``spec`` at this date."""
    probes = _probes(spec, extract_date)
    target = draw(st.integers(0, len(rows) - 1))
    if kind in probes:
        column, values = draw(st.sampled_from(probes[kind]))
        rows[target][column] = draw(values)
    elif kind in ("duplicate-key", "duplicate-row"):
        source = dict(rows[draw(st.integers(0, len(rows) - 1))])
        if kind == "duplicate-row":
            rows.insert(target, source)
        else:
            rows[target] = {**rows[target], **{k: source[k] for k in spec.key}}
    elif kind == "date-order" and spec.date_orders:
        rule = draw(st.sampled_from(spec.date_orders))
        first, second = sorted(draw(st.lists(st.dates(_EVENTS_FROM, _EVENTS_TO), min_size=2, max_size=2,
                                             unique=True)))
        rows[target][rule.earlier], rows[target][rule.later] = second.isoformat(), first.isoformat()
    elif kind == "signed-zero" and _applies(spec, kind):
        # pandas reads a column of whole numbers as integers, so "-0" becomes 0, not -0.0.
        column = draw(st.sampled_from([c.name for c in spec.columns if c.dtype is DType.FLOAT]))
        for row in rows:
            row[column] = str(draw(st.integers(-(10**6), 10**6)))
        rows[target][column] = draw(st.sampled_from(["-0", "-00", "-0.0", "-0.000"]))


@st.composite
def _text_rows(draw: st.DrawFn, spec: TableSpec, extract_date: dt.date | None, kind: str) -> Rows:
    """A few text rows of ``spec``: clean, or with one corruption of ``kind`` ("mixed": one to three of any)."""
    clean = st.fixed_dictionaries({c.name: _clean_text(c) for c in spec.columns})
    rows: Rows = draw(st.lists(clean, min_size=1, max_size=5))
    _keep_date_orders(spec, rows)
    if kind == "clean":
        return rows
    kinds = [kind] if kind != "mixed" else draw(st.lists(st.sampled_from(
        [k for k in KINDS if k not in ("mixed", "clean") and _applies(spec, k)]), min_size=1, max_size=3))
    for k in kinds:
        _corrupt(draw, spec, rows, extract_date, k)
    return rows


def _full(spec: TableSpec, rows: Rows, extract_date: dt.date | None) -> Any:
    """The full validator on the rows as ``_record_tables`` hands them over."""
    frame = pd.DataFrame(rows, dtype="object")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return validate_table(spec, RawTable(frame, text=True), extract_date)


def _assert_identical(fast: pd.DataFrame, full: pd.DataFrame) -> None:
    """Equal values, dtypes, index and columns; floats to the bit and missing text as the same object."""
    pd.testing.assert_frame_equal(fast, full, check_exact=True, check_index_type=True, check_column_type=True)
    assert type(fast.index) is type(full.index)
    for name in fast.columns:
        a, b = fast[name].to_numpy(), full[name].to_numpy()
        if a.dtype == np.float64:
            assert np.array_equal(np.isnan(a), np.isnan(b)), name
            assert np.array_equal(a[~np.isnan(a)].view(np.int64), b[~np.isnan(b)].view(np.int64)), name
        elif a.dtype == object:
            assert [type(v) for v in a] == [type(v) for v in b], name


@pytest.mark.parametrize("kind", KINDS)
def test_the_fast_path_never_accepts_what_the_full_validator_rejects(kind: str) -> None:
    names = [n for n, spec in TABLES.items() if _applies(spec, kind)]

    @SOUND
    @given(data=st.data(), extract_date=_extract_dates())
    def check(data: st.DataObject, extract_date: dt.date | None) -> None:
        spec = TABLES[data.draw(st.sampled_from(names))]
        if kind == "after-extract" and extract_date is None:
            extract_date = _ANY_DATE
        rows = data.draw(_text_rows(spec, extract_date, kind))
        fast = validate_rows(spec, rows, extract_date)
        event(f"{spec.name}: {'fallback' if fast is None else 'fast path'}")
        if fast is None:
            return
        full = _full(spec, rows, extract_date)
        assert full.problems.empty, full.problems.to_dict("records")
        _assert_identical(fast, full.valid)

    check()


@pytest.mark.parametrize("name", list(TABLES))
def test_the_fast_path_types_ordinary_rows_and_their_csv_rendering(name: str) -> None:
    spec = TABLES[name]

    @SETTINGS
    @given(rows=_text_rows(spec, None, "clean"))
    def check(rows: Rows) -> None:
        unique: dict[tuple[Any, ...], dict[str, str | None]] = {}
        for row in rows:
            unique.setdefault(_key(spec, row), row)
        rows = list(unique.values())
        full = _full(spec, rows, None)
        assert full.problems.empty, full.problems.to_dict("records")
        fast = validate_rows(spec, rows, None)
        assert fast is not None, rows
        _assert_identical(fast, full.valid)
        # The same rows as a CSV writer renders them (booleans as true/false, floats as repr, dates ISO).
        with TemporaryDirectory() as tmp:
            raw = read_table_file(write_table(full.valid, Path(tmp) / f"{name}.csv", spec), name)
        assert raw.frame is not None
        rendered: Rows = [{str(c): (None if pd.isna(v) else str(v)) for c, v in r.items()}
                          for r in raw.frame.to_dict("records")]
        again = validate_rows(spec, rendered, None)
        assert again is not None, rendered
        _assert_identical(again, full.valid)

    check()


def test_the_fast_path_reads_values_exactly_as_the_full_validator() -> None:
    spec = TableSpec("t", (ColumnSpec("k", DType.STR), ColumnSpec("i", DType.INT, nullable=True),
                           ColumnSpec("x", DType.FLOAT, nullable=True), ColumnSpec("b", DType.BOOL, nullable=True),
                           ColumnSpec("d", DType.DATE, nullable=True), ColumnSpec("t", DType.DATETIME, nullable=True)),
                     ("k",))
    rows: Rows = [
        {"k": "a", "i": "007", "x": "-0.0", "b": "Yes", "d": str(MIN_DATE), "t": "2024-07-01 11:08:32"},
        {"k": "b", "i": "-12.00", "x": "86567.74", "b": "0", "d": str(MAX_DATE), "t": "2024-07-01T11:08:32.5"},
        {"k": "c", "i": None, "x": "000.125", "b": None, "d": None, "t": None},
    ]
    fast = validate_rows(spec, rows, None)
    assert fast is not None
    _assert_identical(fast, _full(spec, rows, None).valid)
    assert fast["i"].tolist() == [7, -12, pd.NA] and np.signbit(fast["x"].iloc[0])
    assert fast["t"].iloc[1] == pd.Timestamp("2024-07-01 11:08:32.500")


@pytest.mark.parametrize(("column", "value"), [
    ("i", "12345678901234567"),    # more digits than a double holds: pandas' parser and Python's may differ
    ("x", "0.00707532966209899"),  # 15 significant digits, but pandas counts the leading zeros
    ("x", "-0"),                   # the integer 0 or -0.0, depending on the other values of the column
    ("x", "1e3"), ("i", "\u0663"), ("d", "2022-01-01\n"), ("t", "2022-01-01T10:00:00Z"),
])
def test_uncertain_forms_go_to_the_full_validator(column: str, value: str) -> None:
    spec = TableSpec("t", (ColumnSpec("k", DType.STR), ColumnSpec("i", DType.INT, nullable=True),
                           ColumnSpec("x", DType.FLOAT, nullable=True), ColumnSpec("d", DType.DATE, nullable=True),
                           ColumnSpec("t", DType.DATETIME, nullable=True)), ("k",))
    row: dict[str, str | None] = {"k": "a", "i": None, "x": None, "d": None, "t": None}
    assert validate_rows(spec, [row], None) is not None
    assert validate_rows(spec, [{**row, column: value}], None) is None


@st.composite
def _records(draw: st.DrawFn) -> tuple[dict[str, Any], dt.date | None]:
    extract_date = draw(_extract_dates())
    record: dict[str, Any] = {}
    for key, table in RECORD_TABLES.items():
        if key != "company" and draw(st.booleans()):
            continue
        rows = draw(_text_rows(TABLES[table], extract_date, draw(st.sampled_from(["clean", "mixed"]))))
        record[key] = rows[0] if key == "company" else rows
    return record, extract_date


@SETTINGS
@given(case=_records())
def test_record_tables_are_unchanged_by_the_fast_path(case: tuple[dict[str, Any], dt.date | None]) -> None:
    record, extract_date = case

    def run() -> dict[str, pd.DataFrame] | RecordError:
        try:
            return _record_tables(record, extract_date)
        except RecordError as err:
            return err

    fast = run()
    with mock.patch("riskmodel.scoring.scorer.validate_rows", return_value=None):
        full = run()
    if isinstance(full, RecordError):
        assert isinstance(fast, RecordError)
        assert (str(fast), fast.evidence) == (str(full), full.evidence)
    else:
        assert isinstance(fast, dict) and list(fast) == list(full)
        for table, frame in full.items():
            _assert_identical(fast[table], frame)
