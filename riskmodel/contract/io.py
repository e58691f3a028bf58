"""Reading and writing contract table files (CSV and parquet).

Readers return the values as they stand in the file (text for CSV, native arrow types for parquet) indexed by
the 1-based data row number, plus the problems found on the way; typing and checking happen in
:mod:`riskmodel.contract.validate`. Nothing here raises for bad input: a file that cannot be read is reported as a
table-level problem.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskmodel.contract.spec import DType, TableSpec

__all__ = ["RawTable", "read_dataset_json", "read_table_file", "table_files", "to_arrow_table", "to_csv_frame",
           "write_table"]

_SNIFF_BYTES = 64 * 1024
#: Fallback encodings for files that are not UTF-8, most specific first (Windows-1252 is what UK registers use).
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")


@dataclass
class RawTable:
    """A table file as read, before typing.

    Attributes
    ----------
    frame : DataFrame or None
        Values as read, index = 1-based data row number; None when the file could not be read at all.
    problems : list of dict
        Problems found while reading (level ``table``, ``row`` or ``warning``).
    ragged : DataFrame
        CSV records with the wrong number of fields: ``source_row`` and the record's ``text``.
    encoding : str
        Encoding the file was decoded with.
    text : bool
        Every present value is a ``str`` with content (CSV): typing can skip per-value checks.
    """

    frame: pd.DataFrame | None
    problems: list[dict[str, Any]] = field(default_factory=list)
    ragged: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"source_row": [], "text": []}))
    encoding: str = "utf-8"
    text: bool = False


def _problem(level: str, table: str, rule: str, message: str, **kw: Any) -> dict[str, Any]:
    return {"level": level, "table": table, "row": kw.get("row"), "column": kw.get("column"),
            "value": kw.get("value"), "rule": rule, "message": message}


def table_files(root: Path) -> dict[str, list[Path]]:
    """Map each table name found in ``root`` to its files (``NAME.csv`` / ``NAME.parquet``).

    Parameters
    ----------
    root : Path
        Data set folder.

    Returns
    -------
    dict of str to list of Path
        More than one path for a name means the table is ambiguous.
    """
    found: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix.lower() in (".csv", ".parquet"):
            found.setdefault(path.stem, []).append(path)
    return found


def read_table_file(path: Path, table: str) -> RawTable:
    """Read one table file; never raises for bad content.

    Parameters
    ----------
    path : Path
        A ``.csv`` or ``.parquet`` file.
    table : str
        Table name, for problem reports.

    Returns
    -------
    RawTable
    """
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path, table)
    return _read_csv(path, table)


def _read_parquet(path: Path, table: str) -> RawTable:
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        msg = f"{path.name} is not a readable parquet file (truncated or corrupt?): {exc}"
        return RawTable(None, [_problem("table", table, "unreadable-file", msg)])
    # Each column's Arrow memory is let go as soon as it is converted: a table is not held twice at once.
    frame = arrow.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del arrow
    pa.default_memory_pool().release_unused()
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
    return RawTable(frame)


def _looks_binary(head: bytes) -> bool:
    # NUL never occurs in text; a high share of other control bytes means a binary format renamed to .csv.
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return len(head) > 0 and controls / len(head) > 0.05


def _read_csv(path: Path, table: str) -> RawTable:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        return RawTable(None, [_problem("table", table, "unreadable-file", f"{path.name} cannot be read: {exc}")])
    if not head.strip():
        msg = f"{path.name} is empty: a table file needs at least a header row"
        return RawTable(None, [_problem("table", table, "empty-file", msg)])
    if _looks_binary(head):
        msg = f"{path.name} holds binary data, not CSV text (a renamed spreadsheet or archive?)"
        return RawTable(None, [_problem("table", table, "not-text", msg)])

    problems: list[dict[str, Any]] = []
    for encoding in ("utf-8", *_FALLBACK_ENCODINGS):
        try:
            frame, ragged = _parse_csv(path, encoding)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            text = str(exc)
            if encoding == "utf-8" and ("UTF8" in text or "utf-8" in text or isinstance(exc, UnicodeDecodeError)):
                continue
            if encoding != "utf-8" and isinstance(exc, UnicodeDecodeError):
                continue
            msg = f"{path.name} cannot be parsed as CSV: {text.splitlines()[0] if text else type(exc).__name__}"
            return RawTable(None, [_problem("table", table, "unparseable-csv", msg)])
        break
    else:  # pragma: no cover - latin-1 decodes every byte, so the loop always breaks
        return RawTable(None, [_problem("table", table, "unknown-encoding", f"{path.name}: unknown text encoding")])

    if encoding != "utf-8":
        problems.append(_problem("warning", table, "encoding",
                                 f"{path.name} is not UTF-8; it was read as {encoding} (save it as UTF-8 to be sure)"))
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        msg = f"{path.name} has duplicate column names in its header: {', '.join(duplicated)}"
        return RawTable(None, [*problems, _problem("table", table, "duplicate-columns", msg)])
    for row, text in zip(ragged["source_row"], ragged["text"], strict=True):
        msg = f"record has the wrong number of fields for the {len(frame.columns)}-column header"
        problems.append(_problem("row", table, "field-count", msg, row=int(row), value=text[:200]))
    return RawTable(frame, problems, ragged, encoding, text=True)


def _parse_csv(path: Path, encoding: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse every column as text; ragged records are set aside with their data row numbers."""
    header = _header(path, encoding)
    bad: list[tuple[int | None, str]] = []

    def _skip(row: Any) -> str:
        bad.append((row.number, row.text))
        return "skip"

    def _read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, use_threads=threads),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skip),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    arrow = _read(threads=True)
    if any(number is None for number, _ in bad):
        # Record numbers are only known to the single-threaded reader; pay for it only when a record is ragged.
        bad.clear()
        arrow = _read(threads=False)
    # White-space-only cells are missing values; nulling them in arrow is far cheaper than in pandas.
    for i, name in enumerate(arrow.column_names):
        column = arrow.column(i)
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)
        if pc.any(blank).as_py():
            arrow = arrow.set_column(i, name, pc.if_else(blank, pa.scalar(None, pa.string()), column))
    frame = arrow.to_pandas()
    # pyarrow numbers records from 1 with the header as record 1, so data row = record - 1.
    ragged = pd.DataFrame(
        {"source_row": [int(n) - 1 for n, _ in bad if n is not None], "text": [t for n, t in bad if n is not None]}
    ).sort_values("source_row", ignore_index=True)
    if len(ragged):
        keep = np.ones(len(frame) + len(ragged), dtype=bool)
        keep[ragged["source_row"].to_numpy(dtype=np.int64) - 1] = False
        frame.index = pd.Index(np.flatnonzero(keep) + 1, name="source_row")
    else:
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
    return frame, ragged


def _header(path: Path, encoding: str) -> list[str]:
    """Column names from the first record (needed to read every column as text)."""
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        return next(csv.reader(fh), [])


def write_table(frame: pd.DataFrame, path: Path, spec: TableSpec) -> Path:
    """Write a typed contract table as CSV or parquet (by ``path``'s suffix), in the contract's formats.

    Dates are written as ``YYYY-MM-DD``, datetimes as ISO 8601, booleans as ``true``/``false``.

    Parameters
    ----------
    frame : DataFrame
        Typed table (as returned by the loader).
    path : Path
        Destination ending in ``.csv`` or ``.parquet``.
    spec : TableSpec
        The table's contract.

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        pq.write_table(to_arrow_table(frame, spec), path)
    else:
        to_csv_frame(frame, spec).to_csv(path, index=False, encoding="utf-8")
    return path


def _dtype_of(spec: TableSpec, column: str) -> DType:
    return spec.column(column).dtype if column in spec.column_names else DType.STR


def to_arrow_table(frame: pd.DataFrame, spec: TableSpec) -> pa.Table:
    """Typed frame to an arrow table with the contract's arrow types (the same schema for every chunk)."""
    out = frame.reset_index(drop=True)
    return pa.table({col: _to_arrow(out[col], _dtype_of(spec, col)) for col in out.columns})


def to_csv_frame(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Typed frame to text in the contract's CSV formats."""
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        dtype, series = _dtype_of(spec, col), out[col]
        if dtype is DType.DATE:
            out[col] = pd.to_datetime(series).dt.strftime("%Y-%m-%d")
        elif dtype is DType.DATETIME:
            out[col] = pd.to_datetime(series).map(lambda t: t.isoformat() if not pd.isna(t) else None)
        elif dtype is DType.BOOL:
            out[col] = series.map(lambda v: None if pd.isna(v) else ("true" if v else "false"))
    return out


def _to_arrow(series: pd.Series, dtype: DType) -> pa.Array:
    if dtype in (DType.DATE, DType.DATETIME):
        # from_pandas=True turns NaT into null (without it NaT becomes a sentinel date).
        stamps = pa.array(pd.to_datetime(series).astype("datetime64[ns]"), type=pa.timestamp("ns"), from_pandas=True)
        return stamps.cast(pa.date32()) if dtype is DType.DATE else stamps.cast(pa.timestamp("us"))
    if dtype is DType.INT:
        return pa.array(series.astype("Int64"), type=pa.int64(), from_pandas=True)
    if dtype is DType.FLOAT:
        return pa.array(series.astype("float64"), type=pa.float64(), from_pandas=True)
    if dtype is DType.BOOL:
        return pa.array(series.astype("boolean"), type=pa.bool_(), from_pandas=True)
    return pa.array(series.astype(object), type=pa.string(), from_pandas=True)


def read_dataset_json(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read the optional ``dataset.json`` (extract date and source).

    Returns
    -------
    tuple
        The parsed mapping (empty when absent) and any problems with it.
    """
    path = root / "dataset.json"
    if not path.exists():
        return {}, []
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("expected a JSON object")
    except (OSError, ValueError) as exc:
        return {}, [_problem("table", "dataset.json", "unreadable-file", f"dataset.json is not valid JSON: {exc}")]
    return meta, []
