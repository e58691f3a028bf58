"""The import pipeline every format shares: map records, stage them, validate through the contract, account for all.

An importer (one module per format) turns source files into :class:`Record` items: one per source record (a CSV
row, a JSON line, an OCDS release), each holding the contract rows it maps to or the reason it maps to none. It never
invents a value: a field the source does not give is left empty, and a record missing a value the contract requires
is quarantined with the reason. :func:`run_import` then:

1. writes the rows, as contract text, to a staging CSV per table, record by record (memory holds one record);
2. validates each staged table with the loader's own streamed validation
   (:class:`~riskmodel.contract.stream.StreamedTable`), so an imported table passes exactly the checks a data set
   written by anyone else passes, and writes the valid rows to ``OUT/TABLE.parquet`` batch by batch;
3. writes ``OUT/imports/FORMAT/quarantine.csv`` (every record or row set aside, with its source, its place in the
   source and the reasons) and ``OUT/imports/FORMAT/manifest.json`` (counts per source file and per table, the top
   reasons). Nothing is lost silently: records in = records mapped + records quarantined, and rows mapped = rows
   written + rows quarantined by the contract, both checked before the manifest is written.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow.parquet as pq

from riskmodel.contract.io import to_arrow_table
from riskmodel.contract.spec import table_spec
from riskmodel.contract.stream import StreamedTable
from riskmodel.errors import RiskmodelError

__all__ = ["ImportResult", "Record", "csv_header", "csv_rows", "json_records", "open_text", "parse_date",
           "parse_number", "run_import", "text_encoding"]

#: Encodings tried in turn for text sources (registers published from spreadsheets are often Windows-1252).
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
#: The columns added to each staged row to trace it back to its source.
_TRACE = ("import_source", "import_record")
#: Reasons listed in the manifest.
_TOP_REASONS = 10


@dataclass(frozen=True)
class Record:
    """One source record and the contract rows it maps to.

    Attributes
    ----------
    source : str
        The source file's name.
    locator : str
        Where the record is in the source (``line 12``, ``row 7``, ``release ocds-...``).
    rows : tuple of (table, values)
        Contract rows; values are ``str``, ``int``, ``float``, ``bool``, ``datetime.date`` or None (missing).
    reason : str or None
        Why the record maps to no row (required when ``rows`` is empty).
    """

    source: str
    locator: str
    rows: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    reason: str | None = None

    def __post_init__(self) -> None:
        if not self.rows and not self.reason:
            raise ValueError("a record that maps to no row needs a reason")


#: An importer: source files and options in, records out.
Reader = Callable[[list[Path], Mapping[str, Any]], Iterator[Record]]


@dataclass
class ImportResult:
    """What :func:`run_import` wrote and counted.

    Attributes
    ----------
    out : Path
        The data set folder.
    tables : dict of str to Path
        The contract tables written.
    manifest : dict
        The contents of ``manifest.json``.
    """

    out: Path
    tables: dict[str, Path]
    manifest: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- source helpers


def text_encoding(path: Path) -> str:
    """Return the first of :data:`ENCODINGS` that decodes the whole file (read in blocks; latin-1 always does)."""
    stat = path.stat()
    return _encoding(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _encoding(path: str, size: int, mtime_ns: int) -> str:
    # Cached by size and time: a reader looks at a file's header and then its rows, and each pass would decode the
    # whole file again to choose the encoding.
    for encoding in ENCODINGS[:-1]:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return ENCODINGS[-1]


def open_text(path: Path) -> tuple[IO[str], str]:
    """Open a text source in the encoding that decodes it (see :func:`text_encoding`)."""
    encoding = text_encoding(path)
    return path.open(encoding=encoding, newline=""), encoding


def _open_noted(path: Path, warnings: list[str] | None) -> IO[str]:
    """Open a text source (:func:`open_text`), noting in ``warnings`` an encoding other than UTF-8."""
    handle, encoding = open_text(path)
    if encoding != "utf-8-sig" and warnings is not None:
        warnings.append(f"{path.name} is not UTF-8; it was read as {encoding}")
    return handle


def csv_header(path: Path) -> list[str]:
    """Return the header row of a CSV source, names stripped (empty for an empty file)."""
    handle, _ = open_text(path)
    with handle:
        return [h.strip() for h in next(csv.reader(handle), [])]


def csv_rows(path: Path, warnings: list[str] | None = None) -> Iterator[tuple[str, dict[str, str] | None, str | None]]:
    """Yield ``(locator, row, problem)`` for each data row of a CSV source (header row first in the file).

    ``row`` maps header names (stripped) to stripped text, blank cells left out; a row with more or fewer fields
    than the header gives ``row=None`` and the problem. Encodings other than UTF-8 are noted in ``warnings``.
    """
    handle = _open_noted(path, warnings)
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        names = [h.strip() for h in header]
        for values in reader:
            locator = f"line {reader.line_num}"
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) != len(names):
                yield locator, None, f"has {len(values)} fields where the header has {len(names)}"
                continue
            yield locator, {n: v.strip() for n, v in zip(names, values, strict=True) if v.strip()}, None


def json_records(path: Path, warnings: list[str] | None = None) -> Iterator[tuple[str, Any, str | None]]:
    """Yield ``(locator, value, problem)`` for each JSON document of a source.

    A ``.jsonl``/``.ndjson`` file is read as JSON lines, one document per line (streamed). Any other file is read
    as one document (a list yields its items, anything else itself), or as JSON lines when it is not one document
    but its lines are. A line or file that is not valid JSON gives ``value=None`` and the parser's message.
    Encodings other than UTF-8 are noted in ``warnings``.
    """
    handle = _open_noted(path, warnings)
    with handle:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _json_lines(handle)
            return
        text = handle.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if "\n" in text.strip():
            lines = list(_json_lines(text.splitlines(keepends=True)))
            if any(problem is None for _, _, problem in lines):
                yield from lines  # JSON lines in a .json file
                return
        yield "file", None, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        return
    if isinstance(document, list):
        for i, item in enumerate(document, 1):
            yield f"item {i}", item, None
    else:
        yield "document", document, None


def _json_lines(lines: Iterable[str]) -> Iterator[tuple[str, Any, str | None]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line), None
        except json.JSONDecodeError as exc:
            yield f"line {number}", None, f"is not valid JSON ({exc.msg} at column {exc.colno})"


_MONTHS = {m.lower(): i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[T ].*)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_WORDED = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})\.?[ ,-]*(\d{4})")
_MONTH_FIRST = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})")


def parse_date(text: object, *, day_first: bool = True) -> dt.date | None:
    """Parse a date as sources write them; None for a blank.

    Accepted: ISO 8601 (``2021-03-04``, with any time and zone after it, which is dropped), ``04/03/2021`` and
    ``04-03-21`` (day first unless ``day_first`` is False; two-digit years are 19xx above the current year's last
    two digits, else 20xx), ``20210304``, ``4 March 2021`` / ``4-Mar-2021`` / ``Mar 4, 2021``, and Excel serial day
    numbers written as a plain number of 5 digits. Anything else raises ``ValueError`` naming the value: a date is
    never guessed.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    value = str(text).strip()
    if not value:
        return None
    try:
        if m := _ISO.fullmatch(value):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _SLASHED.fullmatch(value):
            a, b, year = int(m[1]), int(m[2]), int(m[3])
            if len(m[3]) == 2:
                year += 1900 if year > dt.date.today().year % 100 else 2000
            day, month = (a, b) if day_first else (b, a)
            return dt.date(year, month, day)
        if m := _COMPACT.fullmatch(value):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if (m := _WORDED.fullmatch(value)) and m[2][:3].lower() in _MONTHS:
            return dt.date(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
        if (m := _MONTH_FIRST.fullmatch(value)) and m[1][:3].lower() in _MONTHS:
            return dt.date(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
        if re.fullmatch(r"\d{5}(?:\.0+)?", value):
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(value)))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date ({exc})") from None
    raise ValueError(f"{value!r} is not a date in a known form (YYYY-MM-DD, DD/MM/YYYY, YYYYMMDD, 4 March 2021)")


_NUMBER = re.compile(r"\(?-?\d+(?:\.\d+)?\)?(?:e[+-]?\d+)?", re.IGNORECASE)


def parse_number(text: object) -> float | None:
    """Parse an amount as sources write it (``£1,234.50``, ``1 234``, ``(120)`` for -120); None for a blank.

    Anything else raises ``ValueError`` naming the value.
    """
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a number")
    if isinstance(text, int | float):
        if isinstance(text, float) and math.isnan(text):
            return None
        return float(text)
    value = str(text).strip()
    if not value:
        return None
    cleaned = re.sub(r"[£$€,\s]|GBP|EUR|USD", "", value, flags=re.IGNORECASE)
    if not _NUMBER.fullmatch(cleaned):
        raise ValueError(f"{value!r} is not a number")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    number = float(cleaned.strip("()"))
    return -number if negative else number


# ------------------------------------------------------------------------------------------------- pipeline


def _text(value: Any) -> str:
    """Write a contract value as staged CSV text (empty for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


class _Staging:
    """One staged CSV per table, written row by row with the contract's columns and the trace columns."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, tuple[IO[str], Any, tuple[str, ...]]] = {}
        self.rows: Counter[str] = Counter()

    def write(self, table: str, values: Mapping[str, Any], source: str, locator: str) -> None:
        if table not in self._files:
            columns = table_spec(table).column_names
            unknown = set(values) - set(columns)
            if unknown:
                raise ValueError(f"importer wrote columns the {table} table does not have: {sorted(unknown)}")
            handle = (self.folder / f"{table}.csv").open("w", encoding="utf-8", newline="")
            writer = csv.writer(handle)
            writer.writerow([*columns, *_TRACE])
            self._files[table] = (handle, writer, columns)
        _, writer, columns = self._files[table]
        writer.writerow([*(_text(values.get(c)) for c in columns), source, locator])
        self.rows[table] += 1

    def close(self) -> list[str]:
        for handle, _, _ in self._files.values():
            handle.close()
        return list(self._files)


def run_import(format_name: str, reader: Reader, sources: list[Path], out: Path,
               options: Mapping[str, Any] | None = None, *, overwrite: bool = False,
               extract_date: dt.date | None = None) -> ImportResult:
    """Import source files into contract tables in ``out`` (see the module note).

    Parameters
    ----------
    format_name : str
        The format's name (names the ``imports`` subfolder).
    reader : callable
        The format's reader.
    sources : list of Path
        Source files, read in order.
    out : Path
        Data set folder (created). Tables are written as ``TABLE.parquet``.
    options : mapping, optional
        Format options, passed to the reader.
    overwrite : bool
        Replace tables already in ``out`` (otherwise finding one is an error).
    extract_date : date, optional
        Written to ``dataset.json`` (an existing one keeps its other fields); never guessed.

    Returns
    -------
    ImportResult

    Raises
    ------
    RiskmodelError
        A source is missing, or a table to be written exists and ``overwrite`` is False.
    """
    options = dict(options or {})
    missing = [str(p) for p in sources if not Path(p).is_file()]
    if missing:
        raise RiskmodelError(f"no such source file: {', '.join(missing)}", field="source", missing=missing)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "imports" / format_name
    staging = report / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    stage = _Staging(staging)
    warnings: list[str] = []
    options.setdefault("warnings", warnings)
    per_source: dict[str, Counter[str]] = {Path(p).name: Counter() for p in sources}
    reasons: Counter[str] = Counter()
    unmapped: list[dict[str, str]] = []
    try:
        for record in reader([Path(p) for p in sources], options):
            counts = per_source.setdefault(record.source, Counter())
            counts["records_in"] += 1
            if not record.rows:
                counts["records_quarantined"] += 1
                for part in (record.reason or "").split(" | "):
                    reasons[_reason_kind(part)] += 1
                unmapped.append({"source": record.source, "record": record.locator, "table": "", "stage": "map",
                                 "reasons": record.reason or ""})
                continue
            counts["records_mapped"] += 1
            for table, values in record.rows:
                stage.write(table, values, record.source, record.locator)
                counts[f"rows_mapped:{table}"] += 1
    finally:
        staged = stage.close()
    written = [t for t in staged if (out / f"{t}.parquet").exists() or (out / f"{t}.csv").exists()]
    if written and not overwrite:
        shutil.rmtree(staging)
        raise RiskmodelError(f"{out} already holds {', '.join(written)}: import into another folder, or pass "
                             "--overwrite to replace them", field="out", tables=written)

    tables: dict[str, Path] = {}
    table_counts: dict[str, dict[str, int]] = {}
    quarantine = [pd.DataFrame(unmapped, columns=["source", "record", "table", "stage", "reasons"])]
    for table in staged:
        spec = table_spec(table)
        streamed = StreamedTable(spec, staging / f"{table}.csv", extract_date)
        path = out / f"{table}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        writer = None
        for frame in streamed.batches():
            arrow = to_arrow_table(frame[list(spec.column_names)], spec)
            if writer is None:
                writer = pq.ParquetWriter(tmp, arrow.schema)
            writer.write_table(arrow)
        result = streamed.result
        assert result is not None  # noqa: S101 -- narrows the type for mypy: set once every batch was read
        if writer is not None:
            writer.close()
        (out / f"{table}.csv").unlink(missing_ok=True)  # one file per table
        if result.rejected or writer is None:
            tmp.unlink(missing_ok=True)
            problems = "; ".join(result.problems["message"].astype(str).tolist()[:3]) if len(result.problems) else ""
            warnings.append(f"{table}: no table written ({problems})")
        else:
            tmp.replace(path)
            tables[table] = path
        bad = result.quarantine
        if len(bad):
            for reason in bad["quarantine_reasons"].astype(str):
                for part in reason.split(" | "):
                    reasons[_reason_kind(part)] += 1
            quarantine.append(pd.DataFrame({
                "source": bad.get("import_source", pd.Series("", index=bad.index)).fillna("").astype(str),
                "record": bad.get("import_record", pd.Series("", index=bad.index)).fillna("").astype(str),
                "table": table, "stage": "contract", "reasons": bad["quarantine_reasons"].astype(str)}))
            for source, n in bad.get("import_source", pd.Series(dtype=object)).value_counts().items():
                per_source.setdefault(str(source), Counter())[f"rows_quarantined:{table}"] += int(n)
        table_counts[table] = {"rows_mapped": stage.rows[table], "rows_written": result.rows_kept,
                               "rows_quarantined": result.rows_quarantined, "rows_rejected": result.rows_rejected}
        # The promise: every mapped row is written or quarantined (or its whole table was unusable). Raised, not
        # asserted, here and below: it must hold under -O.
        if stage.rows[table] != result.rows_read:
            raise RuntimeError(f"{table}: {stage.rows[table]} rows mapped but {result.rows_read} read back")
    shutil.rmtree(staging)
    for source_name, counts in per_source.items():
        if counts["records_in"] != counts["records_mapped"] + counts["records_quarantined"]:
            raise RuntimeError(f"{source_name}: {counts['records_in']} records in != {counts['records_mapped']} "
                               f"mapped + {counts['records_quarantined']} quarantined")

    if extract_date is not None:
        meta_path = out / "dataset.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        meta["extract_date"] = extract_date.isoformat()
        meta.setdefault("source", f"riskmodel import {format_name}")
        meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    frame = pd.concat([q for q in quarantine if len(q)], ignore_index=True) if any(len(q) for q in quarantine) else (
        quarantine[0])
    frame.to_csv(report / "quarantine.csv", index=False, encoding="utf-8")
    manifest = {
        "format": format_name,
        "sources": {name: {k: int(v) for k, v in sorted(c.items())} for name, c in per_source.items()},
        "tables": table_counts,
        "records_in": sum(c["records_in"] for c in per_source.values()),
        "records_mapped": sum(c["records_mapped"] for c in per_source.values()),
        "records_quarantined": sum(c["records_quarantined"] for c in per_source.values()),
        "top_reasons": [{"reason": r, "count": n} for r, n in reasons.most_common(_TOP_REASONS)],
        "warnings": warnings,
        "options": {k: str(v) for k, v in options.items() if k != "warnings"},
    }
    (report / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return ImportResult(out, tables, manifest)


def _reason_kind(reason: str) -> str:
    """Drop a reason's particular values, so that the manifest counts reasons of one kind together."""
    kind = re.sub(r"'[^']*'|\"[^\"]*\"", "…", reason)
    return re.sub(r"\d+", "N", kind)[:160]
