"""Reading and writing contract table files (CSV and parquet).

Readers return the values as they stand in the file (text for CSV, native arrow types for parquet) indexed by
the 1-based data row number, plus the problems found on the way; typing and checking happen in
:mod:`riskmodel.contract.validate`. Nothing here raises for bad input: a file that cannot be read is reported as a
table-level problem.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskmodel.contract.spec import TABLES, DType, TableSpec

__all__ = ["BATCH_ROWS", "BatchReadError", "RawTable", "read_dataset_json", "read_table_batches", "read_table_file",
           "table_files", "table_header", "to_arrow_table", "to_csv_frame", "write_table"]

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
        return RawTable(None, [_unreadable_parquet(path, table, exc)])
    nan = _nan_cells(arrow, table)
    # Each column's Arrow memory is let go as soon as it is converted: a table is not held twice at once.
    frame = arrow.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del arrow
    pa.default_memory_pool().release_unused()
    _mark_nan(frame, nan)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
    return RawTable(frame)


def _nan_cells(arrow: pa.Table | pa.RecordBatch, table: str) -> dict[str, np.ndarray]:
    """Rows holding NaN (not null) in each number column of the contract that has any.

    pandas reads a parquet null and a NaN alike as NaN, so the difference must be taken from the file: a null is a
    missing value, a NaN is a value that is not a number (an error, as the text "NaN" is in a CSV file).
    """
    spec = TABLES.get(table)
    out: dict[str, np.ndarray] = {}
    if spec is None:
        return out
    for col in spec.columns:
        if col.dtype not in (DType.INT, DType.FLOAT) or col.name not in arrow.schema.names:
            continue
        values = arrow.column(col.name)
        if pa.types.is_floating(values.type):
            nan = pc.fill_null(pc.is_nan(values), False)
            if pc.any(nan).as_py():
                out[col.name] = np.asarray(nan, dtype=bool)
    return out


def _mark_nan(frame: pd.DataFrame, nan: dict[str, np.ndarray]) -> None:
    """Put the text "NaN" in the cells :func:`_nan_cells` found: typing then reports them as not a number."""
    for name, mask in nan.items():
        frame[name] = frame[name].astype(object).where(~mask, "NaN")


def _looks_binary(head: bytes) -> bool:
    # NUL never occurs in text; a high share of other control bytes means a binary format renamed to .csv.
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return len(head) > 0 and controls / len(head) > 0.05


def _sniff_csv(path: Path, table: str) -> dict[str, Any] | None:
    """Return the table-level problem that stops a CSV file being read at all (unreadable, empty, binary), if any."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        return _problem("table", table, "unreadable-file", f"{path.name} cannot be read: {exc}")
    if not head.strip():
        return _problem("table", table, "empty-file", f"{path.name} is empty: a table file needs at least a header row")
    if _looks_binary(head):
        msg = f"{path.name} holds binary data, not CSV text (a renamed spreadsheet or archive?)"
        return _problem("table", table, "not-text", msg)
    return None


def _duplicate_columns(path: Path, table: str, names: list[str]) -> dict[str, Any] | None:
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if not duplicated:
        return None
    msg = f"{path.name} has duplicate column names in its header: {', '.join(duplicated)}"
    return _problem("table", table, "duplicate-columns", msg)


def _unreadable_parquet(path: Path, table: str, exc: Exception) -> dict[str, Any]:
    msg = f"{path.name} is not a readable parquet file (truncated or corrupt?): {exc}"
    return _problem("table", table, "unreadable-file", msg)


def _text_columns(header: list[str], columns: list[str] | None = None) -> pacsv.ConvertOptions:
    """Every column read as text, empty cells as missing (``columns``: only these)."""
    return pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, include_columns=columns or header,
                                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)


def _read_csv(path: Path, table: str) -> RawTable:
    unreadable = _sniff_csv(path, table)
    if unreadable is not None:
        return RawTable(None, [unreadable])

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
    duplicated = _duplicate_columns(path, table, list(frame.columns))
    if duplicated is not None:
        return RawTable(None, [*problems, duplicated])
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

    def _read(threads: bool, block: int) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, use_threads=threads, block_size=block),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skip),
            convert_options=_text_columns(header),
        )

    block = pacsv.ReadOptions().block_size  # pyarrow's default, grown only for a record longer than a block
    while True:
        try:
            arrow = _read(threads=True, block=block)
        except pa.ArrowInvalid as exc:
            if not _block_too_small(exc) or block > path.stat().st_size:
                raise
            bad.clear()
            block *= 4
            continue
        break
    if any(number is None for number, _ in bad):
        # Record numbers are only known to the single-threaded reader; pay for it only when a record is ragged.
        bad.clear()
        arrow = _read(threads=False, block=block)
    frame = _blank_to_null(arrow).to_pandas()
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


def _block_too_small(exc: Exception) -> bool:
    """Whether pyarrow's CSV reader failed because a record is longer than its block of bytes.

    A record must fit in one block ("straddling object straddles two block boundaries"); a cell of a few megabytes
    is valid CSV, so the file is read again with larger blocks.
    """
    return "straddl" in str(exc)


def _blank_to_null(arrow: pa.Table) -> pa.Table:
    """White-space-only cells as missing values (nulling them in arrow is far cheaper than in pandas)."""
    for i, name in enumerate(arrow.column_names):
        column = arrow.column(i)
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)
        if pc.any(blank).as_py():
            arrow = arrow.set_column(i, name, pc.if_else(blank, pa.scalar(None, pa.string()), column))
    return arrow


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


#: Rows per batch when a table is read in batches (:func:`read_table_batches`).
BATCH_ROWS = 200_000
#: Bytes of CSV parsed at a time (the granularity of batches).
_BLOCK_BYTES = 1 << 20


class BatchReadError(Exception):
    """A table file stopped being readable part-way through (see :func:`read_table_batches`).

    ``encoding_failed``: the rows do not decode as the encoding asked for; ``block_too_small``: a record is longer
    than the ``block_bytes`` read at a time (read again with larger blocks).
    """

    def __init__(self, problem: dict[str, Any], encoding_failed: bool = False, block_too_small: bool = False,
                 block_bytes: int = 0) -> None:
        super().__init__(problem["message"])
        self.problem = problem
        self.encoding_failed = encoding_failed
        self.block_too_small = block_too_small
        self.block_bytes = block_bytes


def table_header(path: Path, table: str) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """Column names of a table file, or None with the table-level problem that makes it unreadable.

    The same checks as :func:`read_table_file` makes before reading rows (empty, binary, duplicate column names,
    unreadable parquet); problems found later, while the rows are read in batches, raise :class:`BatchReadError`.
    """
    if path.suffix.lower() == ".parquet":
        try:
            names = list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            return None, [_unreadable_parquet(path, table, exc)]
        return names, []
    unreadable = _sniff_csv(path, table)
    if unreadable is not None:
        return None, [unreadable]
    for encoding in ("utf-8", *_FALLBACK_ENCODINGS):
        try:
            names = _header(path, encoding)
        except UnicodeDecodeError:
            continue
        break
    duplicated = _duplicate_columns(path, table, names)
    return (None, [duplicated]) if duplicated is not None else (names, [])


def read_table_batches(path: Path, table: str, columns: list[str] | None = None, encoding: str = "utf-8",
                       batch_rows: int = BATCH_ROWS, block_bytes: int | None = None) -> Iterator[RawTable]:
    """Read a table file in batches of about ``batch_rows`` rows, as :func:`read_table_file` reads it whole.

    Each batch is indexed by the same 1-based data row numbers as the whole read. For CSV, a batch's ``ragged``
    holds the records with the wrong number of fields since the previous batch (with their ``field-count``
    problems); a last batch with no rows may carry the ragged records after the last good one.

    Parameters
    ----------
    path : Path
        A ``.csv`` or ``.parquet`` file whose header :func:`table_header` accepted.
    table : str
        Table name, for problem reports.
    columns : list of str, optional
        Read only these columns (row numbers and ragged records are found all the same).
    encoding : str
        CSV text encoding.
    batch_rows : int
        Rows per batch.
    block_bytes : int, optional
        CSV bytes parsed at a time (default :data:`_BLOCK_BYTES`); every record must fit in one block.

    Raises
    ------
    BatchReadError
        When the rows stop being readable (``encoding_failed`` when they do not decode as ``encoding``,
        ``block_too_small`` when a record is longer than ``block_bytes``).
    """
    if path.suffix.lower() == ".parquet":
        yield from _parquet_batches(path, table, columns, batch_rows)
    else:
        yield from _csv_batches(path, table, columns, encoding, batch_rows, block_bytes)


def _parquet_batches(path: Path, table: str, columns: list[str] | None, batch_rows: int) -> Iterator[RawTable]:
    start = 1
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
            frame = batch.to_pandas(date_as_object=False)
            _mark_nan(frame, _nan_cells(batch, table))
            frame.index = pd.RangeIndex(start, start + len(frame), name="source_row")
            start += len(frame)
            yield RawTable(frame)
    except (pa.ArrowException, OSError) as exc:
        raise BatchReadError(_unreadable_parquet(path, table, exc)) from exc


def _csv_batches(path: Path, table: str, columns: list[str] | None, encoding: str,
                 batch_rows: int, block_bytes: int | None = None) -> Iterator[RawTable]:
    block = block_bytes or _BLOCK_BYTES
    bad: list[tuple[int, str]] = []

    def _skip(row: Any) -> str:
        bad.append((int(row.number) - 1, row.text))  # data row (the header is record 1); known single-threaded
        return "skip"

    try:
        header = _header(path, encoding)
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, use_threads=False, block_size=block),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skip),
            convert_options=_text_columns(header, columns))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _csv_error(path, table, encoding, exc, block) from exc
    good = 0  # good records read before the batch
    covered = 0  # data rows (good and ragged) up to the end of the previous batch
    pending: list[pa.RecordBatch] = []
    rows = 0
    while True:
        try:
            batch: pa.RecordBatch | None = reader.read_next_batch()
        except StopIteration:
            batch = None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _csv_error(path, table, encoding, exc, block) from exc
        if batch is not None:
            pending.append(batch)
            rows += batch.num_rows
            if rows < batch_rows:
                continue
        arrow = pa.Table.from_batches(pending, schema=reader.schema)
        pending, rows = [], 0
        # Each good record's data row skips the ragged ones before it: the i-th ragged record (in order) has
        # ragged[i] - 1 - i good records before it.
        ragged_rows = np.sort(np.array([r for r, _ in bad], dtype=np.int64))
        good_before = ragged_rows - 1 - np.arange(len(ragged_rows))
        g = np.arange(good + 1, good + arrow.num_rows + 1, dtype=np.int64)
        source = g + np.searchsorted(good_before, g - 1, side="right")
        good += arrow.num_rows
        # The last batch takes every ragged record left, including those after the last good one.
        last = int(source[-1]) if batch is not None else np.iinfo(np.int64).max
        mine = sorted((r, t) for r, t in bad if covered < r <= last)
        if batch is None and not len(source) and not mine:
            return
        covered = last
        ragged = pd.DataFrame({"source_row": [r for r, _ in mine], "text": [t for _, t in mine]})
        problems = [_problem("row", table, "field-count",
                             f"record has the wrong number of fields for the {len(header)}-column header",
                             row=r, value=t[:200]) for r, t in mine]
        frame = _blank_to_null(arrow).to_pandas()
        frame.index = pd.Index(source, name="source_row")
        yield RawTable(frame, problems, ragged, encoding, text=True)
        if batch is None:
            return


def _csv_error(path: Path, table: str, encoding: str, exc: Exception, block: int) -> BatchReadError:
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "utf-8" in text:
        return BatchReadError(_problem("table", table, "unknown-encoding", f"{path.name}: not {encoding} text"),
                              encoding_failed=True)
    msg = f"{path.name} cannot be parsed as CSV: {text.splitlines()[0] if text else type(exc).__name__}"
    return BatchReadError(_problem("table", table, "unparseable-csv", msg), block_too_small=_block_too_small(exc),
                          block_bytes=block)
