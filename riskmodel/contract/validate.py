"""Typing, checking and quarantining contract tables.

Row-level problems never stop a job: the row goes to quarantine with every reason found for it, and the counts
always balance (rows read = kept + quarantined + rejected). Table-level problems (missing table or column,
unreadable file) reject the table; :func:`load_dataset` then raises one :class:`DataContractError` naming all of
them, while :func:`validate_dataset` returns them for reporting.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel.contract.io import RawTable, read_dataset_json, read_table_file, table_files
from riskmodel.contract.schemas import (
    CHECK_ALLOWED,
    CHECK_DATE_RANGE,
    CHECK_FINITE,
    CHECK_NON_NEGATIVE,
    CHECK_NOT_AFTER_EXTRACT,
    table_schema,
)
from riskmodel.contract.spec import MAX_DATE, MIN_DATE, TABLES, ColumnSpec, DType, TableSpec
from riskmodel.errors import DataContractError

__all__ = [
    "PROBLEM_COLUMNS",
    "Dataset",
    "TableResult",
    "coerce_column",
    "load_dataset",
    "validate_dataset",
    "validate_rows",
    "validate_table",
]

log = logging.getLogger(__name__)

#: Columns of every problem report.
PROBLEM_COLUMNS = ["level", "table", "row", "column", "value", "rule", "message"]
#: Columns the loader adds to quarantined rows.
QUARANTINE_ROW = "source_row"
QUARANTINE_REASONS = "quarantine_reasons"

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_EXPECTED = {
    DType.INT: "a whole number",
    DType.FLOAT: "a number",
    DType.BOOL: "true or false",
    DType.DATE: f"a date as YYYY-MM-DD between {MIN_DATE} and {MAX_DATE}",
    DType.DATETIME: "an ISO 8601 date-time",
}
_MAX_EXACT_INT = 2**53


@dataclass
class TableResult:
    """Outcome of validating one table.

    Attributes
    ----------
    table : str
        Table name.
    valid : DataFrame
        Typed rows that passed, index = 1-based source row number (empty when rejected).
    quarantine : DataFrame
        Failed rows as read, with ``source_row`` and ``quarantine_reasons``.
    problems : DataFrame
        One row per problem (see :data:`PROBLEM_COLUMNS`).
    rows_read : int
        Data rows in the file (ragged CSV records included).
    rejected : bool
        The whole table is unusable.
    kept_rows : int, optional
        Rows that passed, when they were handed on batch by batch instead (``valid`` is then empty).
    """

    table: str
    valid: pd.DataFrame
    quarantine: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int
    rejected: bool = False
    kept_rows: int | None = None

    @property
    def rows_kept(self) -> int:
        """Rows that passed (``kept_rows`` when the rows were streamed out rather than held in ``valid``)."""
        return len(self.valid) if self.kept_rows is None else self.kept_rows

    @property
    def rows_quarantined(self) -> int:
        """Rows set aside with reasons."""
        return len(self.quarantine)

    @property
    def rows_rejected(self) -> int:
        """Rows of a rejected table (neither kept nor quarantined)."""
        return self.rows_read - self.rows_kept - self.rows_quarantined


def _problems(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return _NO_PROBLEMS.copy()  # the common case, and building a frame costs a millisecond
    frame = pd.DataFrame(records, columns=PROBLEM_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


_NO_PROBLEMS = pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else object) for c in PROBLEM_COLUMNS})


def _row_problems(table: str, column: str, rows: pd.Index, values: pd.Series | list[str], rule: str,
                  messages: pd.Series | str) -> pd.DataFrame:
    """Problem frame for many rows at once (vectorised: bad files can have millions of bad rows)."""
    n = len(rows)
    return pd.DataFrame({
        "level": ["row"] * n,
        "table": [table] * n,
        "row": pd.array(np.asarray(rows, dtype=np.int64), dtype="Int64"),
        "column": [column] * n,
        "value": list(values),
        "rule": [rule] * n,
        "message": list(messages) if not isinstance(messages, str) else [messages] * n,
    })


def _as_text(series: pd.Series) -> pd.Series:
    """Values as a user would have typed them (for reports)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.strftime("%Y-%m-%d")
        has_time = series.notna() & (series != series.dt.normalize())
        if has_time.any():
            out = out.where(~has_time, series.map(lambda t: t.isoformat() if not pd.isna(t) else ""))
        return out.fillna("")
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _blank(series: pd.Series) -> pd.Series:
    """Flag values that are missing or only white space."""
    missing = series.isna()
    if series.dtype != object or missing.all():
        return missing
    present = series[~missing]
    try:
        # pyarrow's kernels keep this fast on millions of text values.
        stripped = pc.utf8_trim_whitespace(pa.array(present, type=pa.string(), from_pandas=True))
        empty = np.asarray(pc.equal(pc.utf8_length(stripped), 0).to_numpy(zero_copy_only=False), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed Python objects (parquet written by others): only text can be blank.
        empty = present.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    missing = missing.copy()
    missing.loc[present.index[empty]] = True
    return missing


def coerce_column(raw: pd.Series, col: ColumnSpec, text: bool = False) -> tuple[pd.Series, pd.Series]:
    """Type one column.

    Parameters
    ----------
    raw : Series
        Values as read (text from CSV, native types from parquet).
    col : ColumnSpec
        The column's contract.
    text : bool
        Every present value is known to be a non-blank ``str`` (as the CSV reader guarantees): skips per-value
        checks that cost seconds on millions of rows.

    Returns
    -------
    typed : Series
        Values in the column's pandas dtype; missing and unparseable values are null.
    bad : Series of bool
        True where a present value could not be read as the column's type.
    """
    blank = raw.isna() if text else _blank(raw)
    present = raw.where(~blank)
    dtype = col.dtype
    if dtype is DType.STR:
        if pd.api.types.is_float_dtype(raw) or pd.api.types.is_integer_dtype(raw):
            # Identifiers stored as numbers in parquet: whole floats lose their spurious ".0".
            num = pd.to_numeric(present, errors="coerce")
            whole = num.notna() & (num == np.floor(num))
            as_text = present.astype(object).map(lambda v: None if pd.isna(v) else str(v))
            as_text = as_text.where(~whole, num.map(lambda v: None if pd.isna(v) else str(int(v))))
            return as_text.astype(object), pd.Series(False, index=raw.index)
        typed = present.astype(object)
        if not text and not _all_text(typed):
            typed = typed.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))
        return typed.where(~blank, cast(Any, None)), pd.Series(False, index=raw.index)
    if dtype in (DType.INT, DType.FLOAT):
        if pd.api.types.is_bool_dtype(present):
            present = present.astype("float64")
        num = pd.to_numeric(present, errors="coerce").astype("float64")
        bad = ~blank & num.isna()
        if dtype is DType.FLOAT:
            return num, bad
        whole = num.isna() | ((num == np.floor(num)) & (num.abs() <= _MAX_EXACT_INT))
        bad = bad | ~whole
        return num.where(whole).round().astype("Int64"), bad
    if dtype is DType.BOOL:
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean"), pd.Series(False, index=raw.index)
        words = present.map(lambda v: None if pd.isna(v) else str(v).strip().lower())
        mapped = words.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None))
        bad = ~blank & mapped.isna()
        return mapped.astype("boolean"), bad
    return _coerce_datetime(raw, present, blank, date_only=dtype is DType.DATE, text=text)


def _all_text(series: pd.Series) -> bool:
    non_null = series.dropna()
    return len(non_null) == 0 or pd.api.types.infer_dtype(non_null, skipna=True) == "string"


def _coerce_datetime(raw: pd.Series, present: pd.Series, blank: pd.Series, *, date_only: bool,
                     text: bool = False) -> tuple[pd.Series, pd.Series]:
    lo, hi = pd.Timestamp(MIN_DATE), pd.Timestamp(MAX_DATE) + pd.Timedelta(days=1)
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        # Native values outside pandas' nanosecond range cannot be represented: report them, never wrap.
        in_range = values.isna() | ((values >= lo) & (values < hi))
        typed = values.where(in_range).astype("datetime64[ns]")
        bad = ~in_range
    else:
        strings = present if text else present.map(
            lambda v: None if pd.isna(v) else (v if isinstance(v, str) else str(v)))
        if date_only:
            typed = pd.to_datetime(strings, format="%Y-%m-%d", errors="coerce")
            # strptime accepts unpadded "2022-5-7"; the contract says YYYY-MM-DD, so hold files to it.
            present_text = strings.dropna()
            if len(present_text):
                iso = pc.match_substring_regex(pa.array(present_text, type=pa.string()), r"^\d{4}-\d{2}-\d{2}$")
                not_iso = present_text.index[~np.asarray(iso.to_numpy(zero_copy_only=False), dtype=bool)]
                typed = typed.mask(typed.index.isin(not_iso))
        else:
            typed = pd.to_datetime(strings, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
        typed = typed.astype("datetime64[ns]")
        bad = ~blank & typed.isna()
    if date_only:
        typed = typed.dt.normalize()
    return typed, bad


def _reject(table: str, rows: int, problems: list[dict[str, Any]], raw: RawTable | None = None) -> TableResult:
    frame = _problems(problems + (raw.problems if raw is not None else []))
    return TableResult(table, pd.DataFrame(), pd.DataFrame(), frame, rows, rejected=True)


def validate_table(spec: TableSpec, raw: RawTable, extract_date: dt.date | None = None) -> TableResult:
    """Type and check one table; quarantine every bad row with all its reasons.

    Parameters
    ----------
    spec : TableSpec
        The table's contract.
    raw : RawTable
        The file as read (see :func:`riskmodel.contract.io.read_table_file`).
    extract_date : date, optional
        The data set's extract date, when known; event dates after it are errors.

    Returns
    -------
    TableResult
    """
    name = spec.name
    if raw.frame is None:
        return _reject(name, 0, [], raw)
    frame = raw.frame
    rows_read = len(frame) + len(raw.ragged)
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        msg = "missing required column{} {} (the contract's columns are: {})".format(
            "s" if len(missing) > 1 else "", ", ".join(missing), ", ".join(spec.column_names))
        return _reject(name, rows_read, [{"level": "table", "table": name, "row": None, "column": ", ".join(missing),
                                          "value": None, "rule": "missing-column", "message": msg}], raw)
    if rows_read < spec.min_rows:
        msg = f"has no data rows; at least {spec.min_rows} is needed"
        return _reject(name, rows_read, [{"level": "table", "table": name, "row": None, "column": None,
                                          "value": None, "rule": "no-rows", "message": msg}], raw)

    parts: list[pd.DataFrame] = [_problems(raw.problems)]
    if rows_read == 0:
        parts.append(_problems([{"level": "warning", "table": name, "row": None, "column": None, "value": None,
                                 "rule": "no-rows", "message": "has a header but no data rows"}]))
    typed_cols: dict[str, pd.Series] = {}
    type_bad: dict[str, pd.Series] = {}
    for col in spec.columns:
        typed, bad = coerce_column(frame[col.name], col, text=raw.text)
        typed_cols[col.name] = typed
        if bad.any():
            type_bad[col.name] = bad
            rows = frame.index[bad.to_numpy()]
            values = _as_text(frame.loc[rows, col.name])
            if pd.api.types.is_datetime64_any_dtype(frame[col.name]):
                # Native timestamps that do not fit are range problems, not unreadable text.
                parts.append(_row_problems(name, col.name, rows, values, CHECK_DATE_RANGE, pd.Series(
                    [f"{v} is outside the accepted range {MIN_DATE} to {MAX_DATE}" for v in values])))
            else:
                parts.append(_row_problems(name, col.name, rows, values, f"type-{col.dtype.value}",
                                           pd.Series([f"{v!r} is not {_EXPECTED[col.dtype]}" for v in values])))
    typed_frame = pd.DataFrame(typed_cols, index=frame.index)
    for extra in frame.columns:
        if extra not in typed_frame.columns:
            typed_frame[extra] = frame[extra]

    parts.append(_pandera_problems(spec, typed_frame, frame, type_bad, extract_date))
    parts.extend(_date_order_problems(spec, typed_frame))
    parts.extend(_key_problems(spec, typed_frame))

    problems = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else (
        _problems([]))
    row_level = problems[problems["level"] == "row"]
    ragged_rows = set(raw.ragged["source_row"].astype(int))
    bad_rows = pd.Index(sorted(set(row_level["row"].dropna().astype(int)) - ragged_rows), dtype=np.int64)
    valid = typed_frame.drop(index=bad_rows) if len(bad_rows) else typed_frame
    quarantine = _quarantine_frame(frame.loc[bad_rows], raw.ragged, row_level)
    result = TableResult(name, valid, quarantine, problems, rows_read)
    # The central promise of the loader: nothing is lost silently. Raised, not asserted: it must hold under -O.
    if result.rows_kept + result.rows_quarantined != rows_read:
        raise RuntimeError(f"{name}: {result.rows_kept} rows kept + {result.rows_quarantined} quarantined != "
                           f"{rows_read} read")
    return result


# Fast path for a handful of text rows (a supplier's record). It accepts only text forms whose typing is certain to
# match coerce_column: ASCII digits (Python's \d also matches other scripts' digits), no sign but a leading minus, no
# exponent and at most 15 digits in all (pandas' text-to-number parser counts leading zeros towards its 17 digits and
# is exact only while the digits fit a double exactly).
_INT_TEXT = re.compile(r"-?[0-9]+(?:\.0+)?")
_FLOAT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?")
_FAST_DIGITS = 15
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_NS_PER_SECOND = 10**9
_NS_PER_DAY = 86_400 * _NS_PER_SECOND
_NAT = int(np.iinfo(np.int64).min)
T = TypeVar("T")


class _Unsure(Exception):
    """The fast path cannot vouch for a value or a row: the full validator must decide."""


def validate_rows(spec: TableSpec, rows: Sequence[Mapping[str, str | None]],
                  extract_date: dt.date | None = None) -> pd.DataFrame | None:
    """Type a handful of text rows without pandas' per-column overhead, when they certainly pass the contract.

    A pure-Python fast path for a supplier's few rows (the full validator costs milliseconds per table however
    small it is). It returns the frame :func:`validate_table` would keep, identical in values, dtypes, index and
    column order, but only when the full validator would report no problem at all: whenever a value has a form it
    does not accept or a row may break a rule, it returns None and the caller runs :func:`validate_table`, which
    stays the single source of rules and messages.

    Parameters
    ----------
    spec : TableSpec
        The table's contract.
    rows : sequence of mapping
        One mapping per row with exactly the contract's columns as keys; values are None (missing) or non-blank
        ``str``, as a CSV reader gives them.
    extract_date : date, optional
        The data set's extract date, when known; event dates after it are errors.

    Returns
    -------
    DataFrame or None
        ``validate_table(spec, RawTable(frame, text=True), extract_date).valid`` for ``frame`` the rows as an
        object-dtype frame indexed 1..n; None when the rows may hold a problem or a value in a form the fast path
        does not type (plain decimals of at most 15 digits, ``YYYY-MM-DD`` dates, ``YYYY-MM-DD[T ]HH:MM:SS[.ffffff]``
        date-times and the boolean words are typed; exponents, signs, padding and the like are not).
    """
    n = len(rows)
    names = _column_set(spec)
    if n < max(1, spec.min_rows) or not spec.key or not names.issuperset(spec.key):
        return None
    try:
        for row in rows:
            if row.keys() != names:
                raise _Unsure
        data: dict[str, Any] = {}
        plain: dict[str, list[Any]] = {}
        for col in spec.columns:
            data[col.name], plain[col.name] = _fast_column(col, [row[col.name] for row in rows], extract_date)
        for rule in spec.date_orders:
            if not (_is_date(spec, rule.earlier) and _is_date(spec, rule.later)):
                raise _Unsure
            for earlier, later in zip(plain[rule.earlier], plain[rule.later], strict=True):
                if earlier is not None and later is not None and later < earlier:
                    raise _Unsure
        if len(set(zip(*(plain[k] for k in spec.key), strict=True))) < n:
            raise _Unsure  # duplicate-row or duplicate-key
    except _Unsure:
        return None
    return pd.DataFrame(data, index=pd.RangeIndex(1, n + 1), copy=False)


@functools.lru_cache(maxsize=64)
def _column_set(spec: TableSpec) -> frozenset[str]:
    return frozenset(spec.column_names)


def _is_date(spec: TableSpec, column: str) -> bool:
    return column in spec.column_names and spec.column(column).dtype in (DType.DATE, DType.DATETIME)


@functools.lru_cache(maxsize=256)
def _allowed_ints(col: ColumnSpec) -> frozenset[int]:
    assert col.allowed is not None  # noqa: S101 -- narrows the type for mypy: called only when col.allowed is set
    try:
        return frozenset(int(v) for v in col.allowed)
    except ValueError:
        return frozenset()  # the schema itself cannot be built: let the full validator say so


def _digits(text: str) -> int:
    """Digits of a number already matched by ``_INT_TEXT`` or ``_FLOAT_TEXT``."""
    return len(text) - text.startswith("-") - ("." in text)


def _fast_column(col: ColumnSpec, values: list[str | None], extract_date: dt.date | None) -> tuple[Any, list[Any]]:
    """Type one column of text values; raise :class:`_Unsure` unless every value certainly passes.

    Returns the column's data in its pandas dtype and the typed values as Python objects (None when missing, dates
    as nanoseconds since the epoch) for the row rules.
    """
    dtype = col.dtype
    for v in values:
        if v is None:
            if not col.nullable:
                raise _Unsure  # required
        elif type(v) is not str or not v.strip():
            raise _Unsure
    if (col.allowed is not None and dtype not in (DType.STR, DType.INT)) or (
            col.non_negative and dtype not in (DType.INT, DType.FLOAT)):
        raise _Unsure  # a check the fast path does not model
    if dtype is DType.STR:
        if col.allowed is not None and any(v is not None and v not in col.allowed for v in values):
            raise _Unsure
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out, values
    if dtype is DType.INT:

        def integer(v: str) -> int:
            number = int(v.partition(".")[0])
            if (col.non_negative and number < 0) or (col.allowed is not None and number not in _allowed_ints(col)):
                raise _Unsure
            return number

        ints = _fast_numbers(values, _INT_TEXT, integer)
        mask = np.array([i is None for i in ints], dtype=bool)
        return pd.arrays.IntegerArray(np.array([0 if i is None else i for i in ints], dtype=np.int64), mask), ints
    if dtype is DType.FLOAT:

        def real(v: str) -> float:
            number = float(v)
            # pandas reads "-0" as the integer 0 or as -0.0 depending on the column's other values ("-0.0" is -0.0).
            if (number == 0.0 and v.startswith("-") and "." not in v) or (col.non_negative and number < 0):
                raise _Unsure
            return number

        floats = _fast_numbers(values, _FLOAT_TEXT, real)
        return np.array([np.nan if f is None else f for f in floats], dtype=np.float64), floats
    if dtype is DType.BOOL:
        flags: list[bool | None] = []
        for v in values:
            word = None if v is None else v.strip().lower()
            if word is not None and word not in _TRUE and word not in _FALSE:
                raise _Unsure
            flags.append(None if word is None else word in _TRUE)
        mask = np.array([f is None for f in flags], dtype=bool)
        return pd.arrays.BooleanArray(np.array([bool(f) for f in flags], dtype=bool), mask), flags
    stamps: list[int | None] = [None if v is None else _fast_stamp(v, col, extract_date) for v in values]
    ns = np.array([_NAT if s is None else s for s in stamps], dtype=np.int64).view("datetime64[ns]")
    return ns, stamps


def _fast_numbers(values: list[str | None], form: re.Pattern[str], parse: Callable[[str], T]) -> list[T | None]:
    """``parse`` of each present value in ``form`` with at most ``_FAST_DIGITS`` digits; else :class:`_Unsure`."""
    out: list[T | None] = []
    for v in values:
        if v is not None and (form.fullmatch(v) is None or _digits(v) > _FAST_DIGITS):
            raise _Unsure
        out.append(None if v is None else parse(v))
    return out


def _fast_stamp(text: str, col: ColumnSpec, extract_date: dt.date | None) -> int:
    """Nanoseconds since the epoch of a date (or date-time) in the contract's range; else :class:`_Unsure`."""
    stamp: dt.datetime | None = None
    try:
        if col.dtype is DType.DATE:
            if _DATE_TEXT.fullmatch(text) is None:
                raise _Unsure
            day = dt.date.fromisoformat(text)
        else:
            if _DATETIME_TEXT.fullmatch(text) is None:
                raise _Unsure
            stamp = dt.datetime.fromisoformat(text)
            day = stamp.date()
    except ValueError:
        raise _Unsure from None  # e.g. 2022-02-30
    if not MIN_DATE <= day <= MAX_DATE or (col.event and extract_date is not None and day > extract_date):
        raise _Unsure
    ns = (day.toordinal() - _EPOCH_ORDINAL) * _NS_PER_DAY
    if stamp is not None:
        ns += (stamp.hour * 3600 + stamp.minute * 60 + stamp.second) * _NS_PER_SECOND + stamp.microsecond * 1000
    return ns


def _message_for(check: str, column: str, value: str, col: ColumnSpec, extract_date: dt.date | None) -> tuple[
        str, str]:
    if check == "not_nullable":
        return "required", f"empty, but {column} is required"
    if check == CHECK_ALLOWED:
        allowed = ", ".join(col.allowed or ())
        return CHECK_ALLOWED, f"{value!r} is not an allowed {column} (allowed: {allowed})"
    if check == CHECK_NON_NEGATIVE:
        return CHECK_NON_NEGATIVE, f"{value} is negative; {column} cannot be negative"
    if check == CHECK_FINITE:
        return CHECK_FINITE, f"{value} is not a finite number"
    if check == CHECK_DATE_RANGE:
        return CHECK_DATE_RANGE, f"{value} is outside the accepted range {MIN_DATE} to {MAX_DATE}"
    if check == CHECK_NOT_AFTER_EXTRACT:
        return CHECK_NOT_AFTER_EXTRACT, f"{value} is after the data set's extract date {extract_date}"
    return check, f"{value!r} fails check {check}"


def _pandera_problems(spec: TableSpec, typed: pd.DataFrame, raw: pd.DataFrame, type_bad: dict[str, pd.Series],
                      extract_date: dt.date | None) -> pd.DataFrame:
    schema = table_schema(spec, extract_date)
    try:
        schema.validate(typed, lazy=True)
    except pa_errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return _problems([])
    cases = cases[cases["index"].notna()]
    out: list[pd.DataFrame] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        rows = pd.Index(group["index"].astype(np.int64).to_numpy())
        if column in type_bad:
            # A value that failed typing is null now; "is empty" would only repeat the type problem.
            rows = rows[~type_bad[column].reindex(rows).to_numpy()]
        if not len(rows):
            continue
        col = spec.column(str(column))
        values = _as_text(typed.loc[rows, column]) if check != "not_nullable" else _as_text(raw.loc[rows, column])
        rule = ""
        messages = []
        for value in values:
            rule, message = _message_for(str(check), str(column), value, col, extract_date)
            messages.append(message)
        out.append(_row_problems(spec.name, str(column), rows, values, rule, pd.Series(messages)))
    return pd.concat(out, ignore_index=True) if out else _problems([])


def _date_order_problems(spec: TableSpec, typed: pd.DataFrame) -> list[pd.DataFrame]:
    out = []
    for rule in spec.date_orders:
        earlier, later = typed[rule.earlier], typed[rule.later]
        broken = (later < earlier).fillna(False).to_numpy(dtype=bool)
        if not broken.any():
            continue
        rows = typed.index[broken]
        later_text = _as_text(later[broken])
        earlier_text = _as_text(earlier[broken])
        messages = [f"{rule.later} {lv} is before {rule.earlier} {ev}: {rule.message}"
                    for lv, ev in zip(later_text, earlier_text, strict=True)]
        out.append(_row_problems(spec.name, rule.later, rows, later_text, rule.name, pd.Series(messages)))
    return out


def _key_problems(spec: TableSpec, typed: pd.DataFrame) -> list[pd.DataFrame]:
    key = list(spec.key)
    shared = typed.duplicated(key, keep=False).to_numpy()
    if not shared.any():
        return []
    sub = typed.loc[shared, list(spec.column_names)]
    group = sub.groupby(key, dropna=False, sort=False).ngroup()
    repeat = sub.duplicated(keep="first")
    # Groups that still hold more than one row once exact copies are set aside disagree about the facts.
    distinct = (~repeat).groupby(group).transform("sum")
    conflicting = (distinct > 1).to_numpy()
    key_text = _as_text(sub[key[0]])
    for column in key[1:]:
        key_text = key_text + ", " + _as_text(sub[column])
    out = []
    first_row = pd.Series(sub.index, index=sub.index).groupby(
        sub.groupby(list(spec.column_names), dropna=False, sort=False).ngroup().to_numpy()).transform("first")
    copies = repeat.to_numpy() & ~conflicting
    if copies.any():
        rows = sub.index[copies]
        messages = [f"exact copy of row {int(r)}" for r in first_row[copies]]
        out.append(_row_problems(spec.name, ", ".join(key), rows, key_text[copies], "duplicate-row",
                                 pd.Series(messages)))
    if conflicting.any():
        rows = sub.index[conflicting]
        members = pd.Series(sub.index, index=sub.index)[conflicting].groupby(group[conflicting]).agg(
            lambda s: ", ".join(str(int(r)) for r in list(s)[:10]) + (", ..." if len(s) > 10 else ""))
        messages = [f"the key ({', '.join(key)}) is shared by rows {members[g]} with different values"
                    for g in group[conflicting]]
        out.append(_row_problems(spec.name, ", ".join(key), rows, key_text[conflicting], "duplicate-key",
                                 pd.Series(messages)))
    return out


def _quarantine_frame(bad: pd.DataFrame, ragged: pd.DataFrame, row_problems: pd.DataFrame) -> pd.DataFrame:
    if not len(bad) and not len(ragged):
        return pd.DataFrame(columns=[QUARANTINE_ROW, *map(str, bad.columns), QUARANTINE_REASONS])
    text = row_problems["column"].fillna("").astype(str) + ": " + row_problems["message"].astype(str)
    text = text.where(row_problems["column"].notna(), row_problems["message"].astype(str))
    reasons = text.groupby(row_problems["row"].astype(np.int64).to_numpy()).agg(" | ".join)
    out = bad.astype(object).copy()
    if len(ragged):
        extra = pd.DataFrame({"raw_record": ragged["text"].to_numpy()},
                             index=pd.Index(ragged["source_row"].astype(np.int64), name=bad.index.name))
        out = pd.concat([out, extra]).sort_index()
    out.insert(0, QUARANTINE_ROW, out.index.astype(np.int64))
    out[QUARANTINE_REASONS] = reasons.reindex(out.index).to_numpy()
    return out.reset_index(drop=True)


@dataclass
class Dataset:
    """A validated data set: typed tables, quarantined rows and every problem found.

    Attributes
    ----------
    root : Path
        The folder read.
    tables : dict of str to DataFrame
        Typed valid rows per table present and not rejected; index = 1-based source row.
    quarantine : dict of str to DataFrame
        Quarantined rows per table (as read, with ``source_row`` and ``quarantine_reasons``).
    problems : DataFrame
        Every problem, one per row (see :data:`PROBLEM_COLUMNS`).
    summary : DataFrame
        Per table: file, rows read, kept, quarantined, rejected, status.
    extract_date : date or None
        From ``dataset.json``, else the latest event date in the data.
    source : str or None
        From ``dataset.json``.
    """

    root: Path
    tables: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    problems: pd.DataFrame
    summary: pd.DataFrame
    extract_date: dt.date | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    @property
    def rejected_tables(self) -> list[str]:
        """Tables (or files) with a table-level problem."""
        return sorted(set(self.problems.loc[self.problems["level"] == "table", "table"]))

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined across all tables."""
        return int(self.summary["rows_quarantined"].sum()) if len(self.summary) else 0

    @property
    def is_clean(self) -> bool:
        """No rows quarantined and no table rejected (warnings allowed)."""
        return not self.rejected_tables and self.rows_quarantined == 0

    def raise_for_rejected(self) -> Dataset:
        """Raise :class:`DataContractError` if any table was rejected; return ``self`` otherwise."""
        table_level = self.problems[self.problems["level"] == "table"]
        if len(table_level):
            raise DataContractError(
                f"{self.root} cannot be used: {len(table_level)} table-level problem(s)",
                cast(list[dict[str, Any]], table_level.drop(columns=["level", "row", "value"]).to_dict("records")),
            )
        return self

    def write_quarantine(self, directory: Path) -> list[Path]:
        """Write ``<table>.csv`` of quarantined rows with reasons for every table that has any.

        Parameters
        ----------
        directory : Path
            Created if needed.

        Returns
        -------
        list of Path
            Files written.
        """
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for table, frame in self.quarantine.items():
            if len(frame):
                path = directory / f"{table}.csv"
                frame.to_csv(path, index=False, encoding="utf-8")
                written.append(path)
        return written


def _extract_date(meta: dict[str, Any]) -> tuple[dt.date | None, list[dict[str, Any]]]:
    value = meta.get("extract_date")
    if value is None:
        return None, []
    try:
        return dt.date.fromisoformat(str(value)), []
    except ValueError:
        return None, [{"level": "table", "table": "dataset.json", "row": None, "column": "extract_date",
                       "value": str(value), "rule": "type-date",
                       "message": f"extract_date {value!r} is not a date as YYYY-MM-DD"}]


#: Takes a table's name and its valid rows in batches (file order); returns what the data set holds of the table.
Sink = Callable[[str, Iterator[pd.DataFrame]], pd.DataFrame]


def validate_dataset(root: str | Path, tables: list[str] | None = None, *, sink: Sink | None = None) -> Dataset:
    """Read and validate every contract table in a folder; never raises for bad data.

    Parameters
    ----------
    root : str or Path
        Folder holding ``TABLE.csv`` or ``TABLE.parquet`` files and optionally ``dataset.json``.
    tables : list of str, optional
        Restrict to these tables (default: all contract tables).
    sink : callable, optional
        Validate each table in batches (:class:`~riskmodel.contract.stream.StreamedTable`: the same rows,
        quarantine and problems) and hand its valid rows to ``sink(name, batches)``; the data set holds what it
        returns (a staged data set writes the rows out and keeps a few columns, so no table is ever held whole).
        The extract date, when taken from the data, is still found on every row.

    Returns
    -------
    Dataset

    Raises
    ------
    DataContractError
        If ``root`` is not a readable folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataContractError(f"{root} is not a folder", [{"table": "-", "column": None, "rule": "no-folder",
                                                               "message": f"{root} does not exist or is not a folder"}])
    meta, meta_problems = read_dataset_json(root)
    extract_date, date_problems = _extract_date(meta)
    parts = [_problems(meta_problems + date_problems)]
    found = table_files(root)
    kept: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    summary: list[dict[str, Any]] = []
    wanted = tables if tables is not None else list(TABLES)
    latest: pd.Timestamp | None = None
    for name in wanted:
        spec = TABLES[name]
        paths = found.get(name, [])
        if not paths:
            if spec.required and "score" in spec.required_for:
                parts.append(_problems([{"level": "table", "table": name, "row": None, "column": None, "value": None,
                                         "rule": "missing-table",
                                         "message": f"required table missing: expected {name}.csv or {name}.parquet"}]))
                summary.append(_summary_row(name, None, None, "missing"))
            elif spec.required:
                parts.append(_problems([{"level": "warning", "table": name, "row": None, "column": None,
                                         "value": None, "rule": "missing-table",
                                         "message": f"no {name} table: the data set can be scored but not used "
                                                    f"to train"}]))
                summary.append(_summary_row(name, None, None, "absent"))
            continue
        if len(paths) > 1:
            parts.append(_problems([{"level": "table", "table": name, "row": None, "column": None, "value": None,
                                     "rule": "ambiguous-table",
                                     "message": "more than one file for the table: "
                                                + ", ".join(p.name for p in paths)}]))
            summary.append(_summary_row(name, paths[0], None, "rejected"))
            continue
        log.debug("validating %s", paths[0])
        if sink is None:
            result = validate_table(spec, read_table_file(paths[0], name), extract_date)
            if not result.rejected:
                latest = _latest_event_date({name: result.valid}, latest)
                kept[name] = result.valid
        else:
            result, held, latest = _stream(spec, paths[0], extract_date, sink, latest)
            if held is not None:
                kept[name] = held
        parts.append(result.problems)
        summary.append(_summary_row(name, paths[0], result, "rejected" if result.rejected else (
            "quarantined rows" if result.rows_quarantined else "ok")))
        if not result.rejected:
            quarantine[name] = result.quarantine
        del result
    for name, paths in found.items():
        if name not in TABLES:
            parts.append(_problems([{"level": "warning", "table": name, "row": None, "column": None, "value": None,
                                     "rule": "unknown-table",
                                     "message": f"{paths[0].name} is not a contract table and was not read"}]))
    problems = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else (
        _problems([]))
    if extract_date is None:
        extract_date = latest.date() if latest is not None else None
    return Dataset(root, kept, quarantine, problems, pd.DataFrame(summary), extract_date,
                   meta.get("source") if isinstance(meta.get("source"), str) else None, meta)


def _stream(spec: TableSpec, path: Path, extract_date: dt.date | None, sink: Sink,
            latest: pd.Timestamp | None) -> tuple[TableResult, pd.DataFrame | None, pd.Timestamp | None]:
    """Validate one table in batches into ``sink``: its result, what the sink kept, the latest event date."""
    from riskmodel.contract.stream import StreamedTable  # the streamed validator builds on this module

    streamed = StreamedTable(spec, path, extract_date)
    found = [latest]

    def batches() -> Iterator[pd.DataFrame]:
        for batch in streamed.batches():
            found[0] = _latest_event_date({spec.name: batch}, found[0])
            yield batch

    source = batches()
    first = next(source, None)
    result = streamed.result
    if result is not None and result.rejected:
        return result, None, latest
    held = sink(spec.name, itertools.chain([] if first is None else [first], source))
    result = streamed.result
    if result is None:  # a contract on the caller's sink, so checked under -O too
        raise RuntimeError(f"{spec.name}: the sink returned before reading every batch")
    return result, held, found[0]


def _summary_row(name: str, path: Path | None, result: TableResult | None, status: str) -> dict[str, Any]:
    return {
        "table": name,
        "file": path.name if path is not None else None,
        "rows_read": result.rows_read if result else 0,
        "rows_kept": result.rows_kept if result else 0,
        "rows_quarantined": result.rows_quarantined if result else 0,
        "rows_rejected": result.rows_rejected if result else 0,
        "status": status,
    }


def _latest_event_date(tables: dict[str, pd.DataFrame], latest: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """Return the latest event date in ``tables``, or ``latest`` when that is later."""
    for name, frame in tables.items():
        for col in TABLES[name].event_date_columns:
            value = frame[col].max() if len(frame) else pd.NaT
            if not pd.isna(value) and (latest is None or value > latest):
                latest = value
    return latest


def load_dataset(root: str | Path, tables: list[str] | None = None, *, sink: Sink | None = None) -> Dataset:
    """Read a data set for use: like :func:`validate_dataset`, but table-level problems raise.

    Parameters
    ----------
    root : str or Path
        Data set folder.
    tables : list of str, optional
        Restrict to these tables.
    sink : callable, optional
        Validate in batches and hold what ``sink`` keeps of each table (see :func:`validate_dataset`).

    Returns
    -------
    Dataset
        Valid rows typed; bad rows in ``quarantine`` with reasons.

    Raises
    ------
    DataContractError
        If any table is missing, unreadable or lacks a contract column (all such problems in one error).
    """
    return validate_dataset(root, tables, sink=sink).raise_for_rejected()

