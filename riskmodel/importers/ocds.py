"""Read Open Contracting Data Standard (OCDS 1.1) releases into the ``contracts`` table (``riskmodel import ocds``).

Input
-----
A source file holds, as one JSON document or as JSON lines (one document a line), any of: a release package
(``{"releases": [...]}``), a record package (``{"records": [...]}``), a bare release, a bare record, or a list of
these. Each release is one :class:`~riskmodel.importers.base.Record`, located as ``release <id> (line N)``. A record
is read through its ``compiledRelease`` (the current state of the contracting process); a record without one is set
aside, because merging its releases is not done here. See the OCDS 1.1 schema reference,
https://standard.open-contracting.org/1.1/en/schema/reference/ (release, ``Award``, ``Contract``, ``Organization``)
and https://standard.open-contracting.org/1.1/en/schema/records_reference/ (records and compiled releases).

Streaming. A ``.jsonl``/``.ndjson`` file is read a line at a time (:func:`~riskmodel.importers.base.json_records`).
Any other file is parsed incrementally with ijson (its C backend ``yajl2_c`` when it is installed, else the fastest
one ijson has; its pure-Python one also buffers strings that cross its read blocks): the releases of a release
package (``releases.item``), the records of a record package (``records.item``) and the items of a top-level list
(``item``) are built one at a time, so memory holds one release, not the file. Package metadata (``uri``,
``publisher``, ``publishedDate``...) is not used by the mapping and is skipped. A package is recognised from its
top-level keys up to its ``releases`` or ``records``: an object with an ``ocid`` before its ``releases`` is a bare
record (or release) and is read whole, as is any object without either key. A ``.json`` file whose first line is a
whole JSON document and that has more lines is read as JSON lines, as is one that is not one JSON document at all
but has a line that is.

Files that are not UTF-8 (Windows-1252, latin-1: :func:`~riskmodel.importers.base.text_encoding`) are decoded and
handed to ijson re-encoded as UTF-8, with the usual warning.

A package that breaks off (truncated, or malformed part-way): the releases parsed whole before the break are
imported; the break is one quarantined record, ``file``, whose reason gives the parser's message, the byte offset
in the file at which the parser stopped (counted from 0: with ``yajl2_c`` the offending byte; for a truncated file,
its size) and how many releases were read before it. Nothing after the break is read or guessed.

Mapping (one ``contracts`` row per award x supplier)
----------------------------------------------------
=========================== =================================================================================
column                      OCDS 1.1 source
=========================== =================================================================================
ocid                        ``ocid``
award_id                    ``awards[].id``
buyer_id, buyer_name        ``buyer.id``/``buyer.name``; else the party with role ``buyer`` (its
                            ``identifier.scheme``-``identifier.id``, else its ``id``; its ``name``)
supplier_name               ``awards[].suppliers[].name``, else the name of the party it refers to
supplier_company_number     only a ``GB-COH`` identifier of the supplier (``parties[].identifier`` or
                            ``additionalIdentifiers``); numeric numbers zero-padded to 8 characters, uppercased
procurement_method          ``tender.procurementMethod`` (codelist: open, selective, limited, direct)
main_category               ``tender.mainProcurementCategory`` when goods, works or services
cpv                         ``tender.classification.id`` (scheme CPV), else the first CPV item classification
tender_published_on         ``tender.tenderPeriod.startDate``
tender_deadline             ``tender.tenderPeriod.endDate``
number_of_tenderers         ``tender.numberOfTenderers``
estimated_value             ``tender.value.amount`` (GBP only)
award_date                  ``awards[].date``
award_value                 ``awards[].value.amount`` (GBP only)
contract_start, _end        ``contracts[].period`` of the contracts whose ``awardID`` is the award, else the
                            award's own ``contractPeriod``
modifications               the number of ``contracts[].amendments`` (or a legacy ``amendment``); empty when
                            no contract of the award states its amendments
final_value                 ``contracts[].value.amount`` when the contract was amended (OCDS gives the current
                            value); implementation transactions are never summed
=========================== =================================================================================

Nothing is guessed: a field the release does not give stays empty, a procurement method is never read from the free
text of ``procurementMethodDetails``, a supplier without a ``GB-COH`` identifier has no company number, and amounts
in another currency than GBP are not converted. What maps to nothing is set aside with the reason:

* a release with no awards (a planning or tender notice), or whose awards are all cancelled, unsuccessful or without
  suppliers;
* a release without a valid ``tender.procurementMethod`` (the contract requires one);
* a release whose awards are all valued in another currency than GBP (other awards of a release that has GBP ones
  are skipped and counted in the warnings);
* a release with a date, amount or count that cannot be read;
* a line or file that is not JSON, or JSON that is not OCDS.

An award without a ``date`` or ``value.amount`` still maps, with the value empty: the contract's validation then
quarantines the row with its own message (both are required).

Releases and their updates
--------------------------
OCDS publishes a contracting process as a series of releases; its compiled release is the latest release winning
field by field. Here the latest release wins row by row: within one import (all its source files), rows with the
same ``contracts`` key (``ocid``, ``award_id``, ``supplier_company_number``, ``supplier_name``) from different
releases are resolved to the row of the release with the latest ``date`` (compared as instants; a release without a
readable ``date`` ranks before every dated one); on a tie, the release later in the input (later file, then later in
the file) wins. Each superseded row is set aside at mapping with the reason ``superseded by release '<id>' of
<date> in <file>``, even when its values equal the kept row's. A release all of whose rows are superseded is that one
quarantined record; a release with only some superseded keeps its other rows, and its superseded rows become one
more quarantined record, ``<locator>, N of its M rows``, so that records in = records mapped + records quarantined
still holds. Rows without an ``ocid``, ``award_id`` or ``supplier_name`` are not compared (the contract sets them
aside), nor are two rows of the same release (a framework listing a supplier twice): the contract's key check
judges those as copies or conflicts, as before.

The kept row is the later release's whole row: a field the later release leaves out is not filled from the earlier
one. A changed award value between releases is not counted as a modification (the contract's ``modifications``
is the number of contract amendments, which only ``contracts[].amendments`` states); the warnings count the
superseded rows and how many had another ``award_value``. An award that a later release cancels gives no row, so it
does not supersede the earlier row. To compare releases the reader holds a 16-byte digest and the latest release's
rank per key, and spills the mapped records to a temporary file until the input ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import ijson  # type: ignore[import-untyped, unused-ignore]  # ijson ships no type hints (yet)

from riskmodel.contract.spec import table_spec
from riskmodel.importers.base import (
    Record,
    _json_lines,
    json_records,
    open_text,
    parse_date,
    parse_number,
    text_encoding,
)

__all__ = ["read"]

_TABLE = "contracts"
_SPEC = table_spec(_TABLE)
_ALLOWED: dict[str, tuple[str, ...]] = {c.name: c.allowed for c in _SPEC.columns if c.allowed}
_COLUMNS = _SPEC.column_names
#: The contract's key; rows sharing it across releases are resolved to the latest release (see the module note).
_KEY = _SPEC.key
#: Key columns a row must have to be compared with others (the others are optional in the contract).
_KEY_REQUIRED = tuple(c for c in _KEY if not _SPEC.column(c).nullable)
#: Award statuses (OCDS awardStatus codelist) that never led to a contract.
_DEAD_AWARDS = ("cancelled", "unsuccessful")
#: Companies House numbers are 8 characters: digits, or a 2-letter prefix (SC, NI, OC, ...) and digits.
_COMPANY_NUMBER = re.compile(r"[A-Z0-9]{8}")
#: Examples of a kind of warning listed with its count.
_EXAMPLES = 3
#: Longest line looked at when telling whether a ``.json`` file is JSON lines (characters).
_LINE_LIMIT = 1 << 24
#: A prefix no JSON value has: the parser checks the whole file and builds nothing.
_NOWHERE = "\x00"
#: A release found in a source: ``(locator, release, reason)``; with a reason, a record set aside.
_Found = tuple[str, Mapping[str, Any], str | None]

try:  # ijson's C backend; without it, the fastest backend ijson found (pure Python at worst)
    _IJSON: Any = ijson.get_backend("yajl2_c")
except ImportError:
    _IJSON = ijson


class _BadValue(ValueError):
    """A value of a release that cannot be read (a date, amount or count); the release is set aside."""


@dataclass
class _Notes:
    """Warnings of one source file, counted by kind so that a large file gives a few lines, not thousands."""

    source: str
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str = "") -> None:
        self.counts[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if example and len(shown) < _EXAMPLES and example not in shown:
            shown.append(example)

    def flush(self, warnings: list[str]) -> None:
        for kind, n in self.counts.items():
            shown = self.examples.get(kind)
            warnings.append(f"{self.source}: {n} {kind}" + (f" (e.g. {'; '.join(shown)})" if shown else ""))


def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Yield one record per OCDS release (or compiled release) of the sources, with its ``contracts`` rows.

    Rows superseded by a later release of the same award and supplier are set aside (see the module note), so the
    records come out once every source has been read.

    Parameters
    ----------
    sources : list of Path
        JSON or JSON lines files of OCDS releases, records or packages (see the module note).
    options : mapping
        ``warnings``: a list the reader appends human-readable warnings to (counted per source file and kind).
        No other option is read.

    Yields
    ------
    Record
        A release with its rows (``("contracts", values)``, one per award x supplier), or with the reason it maps to
        none; and, for a release only some of whose rows are superseded, one more record with those rows' reasons.
    """
    warnings: list[str] = options.get("warnings", [])
    latest: dict[bytes, _Latest] = {}
    with _Spill() as spill:
        position = 0
        for path in sources:
            notes = _Notes(path.name)
            for locator, release, reason in _source_releases(path, warnings):
                position += 1
                record = _record(path.name, locator, release, reason, notes)
                keys = [_row_key(row) for _, row in record.rows]
                if record.rows:
                    _rank_rows(latest, record, keys, release, position, notes)
                spill.add(position, record, keys)
            notes.flush(warnings)
        yield from _resolve(spill.records(), latest, warnings)


def _record(source: str, locator: str, release: Mapping[str, Any], reason: str | None, notes: _Notes) -> Record:
    """Map one release to its record: its rows, or the reason it has none."""
    if reason is not None:
        return Record(source, locator, reason=reason)
    try:
        rows, reason = _map_release(release, notes)
    except _BadValue as exc:
        rows, reason = [], str(exc)
    if rows:
        return Record(source, locator, tuple((_TABLE, row) for row in rows))
    return Record(source, locator, reason=reason or "release maps to no row")


def _encode(value: object) -> object:
    # JSON has no dates: tag them, so that a spilled row reads back with the same Python types.
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot spill {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> object:
    if "$datetime" in obj:
        return dt.datetime.fromisoformat(obj["$datetime"])
    if "$date" in obj:
        return dt.date.fromisoformat(obj["$date"])
    return obj


class _Spill:
    """Records waiting for the end of the input, in a temporary file rather than in memory.

    Written and read back by this reader only, one JSON line per record (never a pickle); a row is kept as its values
    in the contract's column order (the mapping gives every column), row keys as hex.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="riskmodel-ocds-")  # noqa: SIM115

    def add(self, position: int, record: Record, keys: list[bytes | None]) -> None:
        rows = [[row.get(c) for c in _COLUMNS] for _, row in record.rows]
        line = [position, record.source, record.locator, record.reason, rows,
                [None if k is None else k.hex() for k in keys]]
        self._file.write(json.dumps(line, default=_encode) + "\n")

    def records(self) -> Iterator[tuple[int, Record, list[bytes | None]]]:
        """Yield ``(position, record, row keys)`` for each record added, in order."""
        self._file.seek(0)
        for line in self._file:
            position, source, locator, reason, rows, keys = json.loads(line, object_hook=_decode)
            yield position, Record(source, locator, tuple((_TABLE, dict(zip(_COLUMNS, values, strict=True)))
                                                          for values in rows), reason), [
                None if k is None else bytes.fromhex(k) for k in keys]

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


# ------------------------------------------------------------------------------------------ releases and updates


class _Latest(NamedTuple):
    """The release that holds a key's row so far."""

    rank: tuple[bool, dt.datetime, int]  # (has a date, the date, position in the input)
    position: int
    release: str  # "'<id>' of <date> in <file>", shared by the keys of one release
    award_value: Any


_NO_DATE = dt.datetime.min.replace(tzinfo=dt.UTC)


def _release_time(value: Any) -> dt.datetime | None:
    """Return a release ``date`` as an instant (UTC when no offset is given); None when missing or unreadable."""
    text = _text(value)
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
        return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        return None


def _row_key(row: Mapping[str, Any]) -> bytes | None:
    """Return a digest of the row's contract key; None when a required part is missing (the row is not compared)."""
    if any(row.get(c) is None for c in _KEY_REQUIRED):
        return None
    return hashlib.blake2b(repr(tuple(row.get(c) for c in _KEY)).encode("utf-8"), digest_size=16).digest()


def _rank_rows(latest: dict[bytes, _Latest], record: Record, keys: list[bytes | None], release: Mapping[str, Any],
               position: int, notes: _Notes) -> None:
    """Note the release as the holder of each key of its rows that it is the latest release for so far."""
    moment = _release_time(release.get("date"))
    rank = (moment is not None, moment or _NO_DATE, position)
    release_id, date = _text(release.get("id")), _text(release.get("date"))
    if moment is None:
        notes.add("releases without a readable date (a dated release of the same award and supplier supersedes "
                  "them)", release_id or record.locator)
    label = (f"{release_id!r}" if release_id else "without id") + (f" of {date}" if date else " (no date)") + (
        f" in {record.source}")
    for (_, row), key in zip(record.rows, keys, strict=True):
        if key is None:
            continue
        held = latest.get(key)
        if held is None or rank > held.rank:
            latest[key] = _Latest(rank, position, label, row.get("award_value"))


def _resolve(records: Iterable[tuple[int, Record, list[bytes | None]]], latest: Mapping[bytes, _Latest],
             warnings: list[str]) -> Iterator[Record]:
    """Yield the records with their superseded rows set aside (one more record when only some rows are)."""
    superseded = changed = 0
    for position, record, keys in records:
        if not record.rows:
            yield record
            continue
        kept: list[tuple[str, Mapping[str, Any]]] = []
        gone: list[tuple[Mapping[str, Any], _Latest]] = []
        for (table, row), key in zip(record.rows, keys, strict=True):
            holder = latest.get(key) if key is not None else None
            if holder is None or holder.position == position:
                kept.append((table, row))
            else:
                gone.append((row, holder))
                changed += row.get("award_value") != holder.award_value
        if not gone:
            yield record
            continue
        superseded += len(gone)
        if not kept:
            reasons = dict.fromkeys(f"superseded by release {holder.release}" for _, holder in gone)
            yield Record(record.source, record.locator, reason=" | ".join(reasons))
            continue
        yield Record(record.source, record.locator, tuple(kept))
        reasons = dict.fromkeys(f"award {_text(row.get('award_id'))!r}, supplier {_text(row.get('supplier_name'))!r} "
                                f"superseded by release {holder.release}" for row, holder in gone)
        yield Record(record.source, f"{record.locator}, {len(gone)} of its {len(record.rows)} rows",
                     reason=" | ".join(reasons))
    if superseded:
        warnings.append(f"{superseded} contracts rows superseded by a later release of the same award and supplier "
                        f"were set aside ({changed} of them with another award_value than the row kept; a changed "
                        "value is not counted as a modification)")


# ------------------------------------------------------------------------------------------------ sources


def _source_releases(path: Path, warnings: list[str]) -> Iterator[_Found]:
    """Yield ``(locator, release, reason)`` for each release of a source file (reason set: a record set aside)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        # OCDS is UTF-8 by definition; a file that is not was re-encoded somewhere on the way (noted as a warning).
        yield from _documents(json_records(path, warnings))
        return
    encoding = text_encoding(path)
    if encoding != "utf-8-sig":
        warnings.append(f"{path.name} is not UTF-8; it was read as {encoding}")
    if _is_json_lines(path, any_line=False):
        yield from _documents(_lines(path))
        return
    yield from _streamed(path, encoding)


def _documents(documents: Iterable[tuple[str, Any, str | None]]) -> Iterator[_Found]:
    """Yield the releases of JSON documents given as ``(where, document, problem)`` (a problem: a record set aside)."""
    for where, document, problem in documents:
        if problem is not None:
            yield where, {}, f"{where} {problem}"
        else:
            yield from _releases(document, where)


def _lines(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    """Yield the documents of a JSON lines file, a line at a time (as for ``.jsonl`` files)."""
    handle, _ = open_text(path)
    with handle:
        yield from _json_lines(handle)


def _is_json_lines(path: Path, *, any_line: bool) -> bool:
    """Whether a ``.json`` source holds JSON lines.

    It does when its first non-blank line is a whole JSON document and more lines follow; or, with ``any_line``
    (asked when the file did not parse as one document), when any of its lines is one and it has more than one.
    Lines longer than :data:`_LINE_LIMIT` are not looked at (a package written on one line is one).
    """
    handle, _ = open_text(path)
    with handle:
        parsed = lines = 0
        for line in _bounded_lines(handle):
            if line is not None and not line.strip():
                continue
            lines += 1
            if line is not None and (any_line or lines == 1):
                try:
                    json.loads(line)
                    parsed += 1
                except ValueError:
                    pass  # sniffing only: a line that is not JSON is simply not counted as parsed
            if lines >= 2 and parsed:
                return True
            if not any_line and not parsed:
                return False
    return False


def _bounded_lines(handle: IO[str]) -> Iterator[str | None]:
    """Yield the lines of a text file; None for a line longer than :data:`_LINE_LIMIT` (never held whole)."""
    while line := handle.readline(_LINE_LIMIT):
        if len(line) == _LINE_LIMIT and not line.endswith(("\n", "\r")):
            while (rest := handle.readline(_LINE_LIMIT)) and not rest.endswith(("\n", "\r")):
                pass
            yield None
        else:
            yield line


class _Utf8Source:
    """A source file as UTF-8 bytes for ijson, whatever its encoding, counting the file's bytes handed over.

    A UTF-8 file is passed as it is (without a byte order mark). A Windows-1252 or latin-1 file is decoded and
    re-encoded; both encodings are one byte a character, so :attr:`consumed` counts the file's own bytes either way.
    From ``fine_from`` on, one byte (character) is handed over a call, so that a parse error is raised at the byte
    that causes it: :attr:`offset` is then that byte's offset in the file.
    """

    def __init__(self, path: Path, encoding: str, fine_from: int | None = None) -> None:
        self.consumed = 0  # the file's bytes handed to the parser
        self.start = 0  # where the last block handed over starts
        self._last = 0  # the last block's size (0: the end of the file)
        self._fine_from = fine_from
        self._decode = encoding != "utf-8-sig"
        self._handle: IO[Any]
        if self._decode:
            self._handle = path.open(encoding=encoding, newline="")
        else:
            self._handle = path.open("rb")
            if self._handle.read(3) == b"\xef\xbb\xbf":
                self.consumed = 3
            else:
                self._handle.seek(0)

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson asks for nothing first, to learn whether the stream gives bytes or text
        if size < 0:
            size = 1 << 16
        if self._fine_from is not None:
            size = 1 if self.consumed >= self._fine_from else min(size, self._fine_from - self.consumed)
        block = self._handle.read(size)
        self.start, self._last = self.consumed, len(block)
        self.consumed += len(block)
        return block.encode("utf-8") if self._decode else block

    @property
    def offset(self) -> int:
        """The offset of the last byte handed over (the file's size once its end was reached)."""
        return self.consumed - 1 if self._last else self.consumed

    def __enter__(self) -> _Utf8Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


#: What is streamed from each shape of document: the items' prefix, what one is called, how it gives releases.
_Items = Callable[[Any, int], Iterator[_Found]]
_SHAPES: dict[str, tuple[str, _Items]] = {
    "item": ("item", lambda item, i: _releases(item, f"item {i}")),
    "releases.item": ("release", lambda item, i: iter([_release(item, f"document, release {i}")])),
    "records.item": ("record", lambda item, i: iter([_compiled(item, f"document, record {i}")])),
    "": ("document", lambda item, _: _releases(item, "document")),
}


def _shape(path: Path, encoding: str) -> str:
    """Return the prefix of the items to stream: ``item``, ``releases.item``, ``records.item`` or ``""`` (whole).

    Only the start of the file is parsed: the top-level keys up to ``releases`` or ``records``.
    """
    with _Utf8Source(path, encoding) as source:
        events = _IJSON.parse(source, use_float=True)
        try:
            _, event, _ = next(events, ("", "", None))
            if event == "start_array":
                return "item"
            if event != "start_map":
                return ""
            seen: set[str] = set()
            for prefix, event, value in events:
                if prefix or event != "map_key":
                    continue
                if value == "records" or (value == "releases" and "ocid" not in seen):
                    _, following, _ = next(events, ("", "", None))
                    return f"{value}.item" if following == "start_array" else ""
                if value == "releases":
                    return ""  # a bare record (its ocid came first): read whole, as one contracting process
                seen.add(value)
        except ijson.JSONError:
            pass  # reported by the parse proper
    return ""


def _streamed(path: Path, encoding: str) -> Iterator[_Found]:
    """Yield the releases of a JSON document, parsed one at a time; a break is one more record, set aside."""
    prefix = _shape(path, encoding)
    unit, releases = _SHAPES[prefix]
    done = 0
    source = _Utf8Source(path, encoding)
    try:
        with source:
            for item in _IJSON.items(source, prefix, use_float=True):
                done += 1
                yield from releases(item, done)
    except ijson.JSONError as exc:
        if not done and _is_json_lines(path, any_line=True):
            yield from _documents(_lines(path))  # JSON lines whose first line is not JSON
            return
        yield "file", {}, _break_reason(path, encoding, source.start, exc, done, unit if prefix else "")


def _break_reason(path: Path, encoding: str, start: int, exc: Exception, done: int, unit: str) -> str:
    """Return the reason for a document that breaks off: the parser's message, its byte offset, what was read."""
    message = str(exc).strip().splitlines()
    what = message[0].strip().rstrip(".") if message else type(exc).__name__
    offset = start
    # The parser names no offset (yajl shows the text around the break): parse again, a byte at a time from the
    # block where it broke, to find it.
    with _Utf8Source(path, encoding, fine_from=start) as source:
        try:
            for _ in _IJSON.items(source, _NOWHERE, use_float=True):
                pass
        except ijson.JSONError:
            offset = source.offset
    size = path.stat().st_size
    where = f"at byte offset {offset} of {path.name}" + (" (its end: the file is cut short)" if offset >= size else "")
    read_before = f"; {done} {unit}{'s' if done != 1 else ''} read before it, none after it" if unit else ""
    return f"file is not valid JSON ({what} {where}){read_before}"


# ------------------------------------------------------------------------------------------------ documents


def _releases(document: Any, where: str) -> Iterator[_Found]:
    """Yield ``(locator, release, reason)`` for each release a JSON document holds (reason set: none usable)."""
    if isinstance(document, list):  # a JSON line holding a list
        for i, item in enumerate(document, 1):
            yield from _releases(item, f"{where}, item {i}")
        return
    if not isinstance(document, dict):
        yield where, {}, f"{where} is a JSON {type(document).__name__}, not an OCDS release, record or package"
        return
    if "records" in document:  # record package
        yield from _package(document["records"], where, "record", _compiled)
        return
    if "ocid" in document and ("compiledRelease" in document or "releases" in document) and "tag" not in document:
        yield _compiled(document, where)  # a bare record
        return
    if "releases" in document:  # release package
        yield from _package(document["releases"], where, "release", _release)
        return
    if "ocid" in document:
        yield _release(document, where)
        return
    yield where, {}, f"{where} is not an OCDS release, record or package (it has no ocid, releases or records)"


def _package(items: Any, where: str, kind: str, read: Callable[[Any, str], _Found]) -> Iterator[_Found]:
    """Yield what each item of a record or release package (``kind``) holds."""
    if not isinstance(items, list):
        yield where, {}, f"{where}: the {kind} package's {kind}s is not a list"
        return
    for i, item in enumerate(items, 1):
        yield read(item, f"{where}, {kind} {i}")


def _release(release: Any, where: str) -> _Found:
    if not isinstance(release, dict):
        return where, {}, f"{where}: a release is a JSON {type(release).__name__}, not an object"
    locator = f"release {_text(release.get('id')) or _text(release.get('ocid')) or 'without id'} ({where})"
    return locator, release, None


def _compiled(record: Any, where: str) -> _Found:
    if not isinstance(record, dict):
        return where, {}, f"{where}: a record is a JSON {type(record).__name__}, not an object"
    locator = f"record {_text(record.get('ocid')) or 'without ocid'} ({where})"
    compiled = record.get("compiledRelease")
    if not isinstance(compiled, dict):
        n = len(record["releases"]) if isinstance(record.get("releases"), list) else 0
        return locator, {}, (f"record has no compiledRelease (it lists {n} releases; merging them into one is not "
                             "done by this importer)")
    return locator, compiled, None


# ------------------------------------------------------------------------------------------------- mapping


def _map_release(release: Mapping[str, Any], notes: _Notes) -> tuple[list[dict[str, Any]], str | None]:
    """Return the rows of one release, or no rows and the reason."""
    ocid = _text(release.get("ocid"))
    if not ocid:
        return [], "release has no ocid"
    tags = ", ".join(_text(t) for t in _list(release.get("tag"))) or "none"
    awards = [a for a in _list(release.get("awards")) if isinstance(a, dict)]
    if not awards:
        return [], f"release has no awards (tag: {tags})"
    live = [a for a in awards if _text(a.get("status")).lower() not in _DEAD_AWARDS and _list(a.get("suppliers"))]
    if not live:
        statuses = ", ".join(sorted({_text(a.get("status")) or "no status" for a in awards}))
        return [], f"release has no award with a supplier that is not cancelled or unsuccessful (status: {statuses})"

    tender = _dict(release.get("tender"))
    method = _text(tender.get("procurementMethod"))
    if method not in _ALLOWED["procurement_method"]:
        details = _text(tender.get("procurementMethodDetails"))
        said = f"is {method!r}" if method else "is missing"
        return [], (f"tender.procurementMethod {said}; the contract requires open, selective, limited or direct"
                    + (f" (procurementMethodDetails: {details!r})" if details else ""))

    gbp = [a for a in live if _currency(a.get("value")) in ("", "GBP")]
    foreign = sorted({_currency(a.get("value")) for a in live} - {"", "GBP"})
    if not gbp:
        return [], f"award value in {', '.join(foreign)}, not GBP (amounts are not converted)"
    for award in live:
        currency = _currency(award.get("value"))
        if currency not in ("", "GBP"):
            notes.add("awards skipped: value not in GBP", f"{currency} in {ocid}")
        elif not currency and _dict(award.get("value")).get("amount") is not None:
            # OCDS allows a Value without currency; the publishers read here are British, so it is taken as GBP.
            notes.add("award values without a currency, read as GBP", ocid)

    parties = {_text(p.get("id")): p for p in _list(release.get("parties")) if isinstance(p, dict) and p.get("id")}
    buyer_id, buyer_name = _buyer(release, parties)
    category = _text(tender.get("mainProcurementCategory"))
    if category and category not in _ALLOWED["main_category"]:
        notes.add("tender.mainProcurementCategory values outside goods, works, services left empty", repr(category))
        category = ""
    tender_period = _dict(tender.get("tenderPeriod"))
    common = {
        "ocid": ocid,
        "buyer_id": buyer_id or None,
        "buyer_name": buyer_name or None,
        "procurement_method": method,
        "main_category": category or None,
        "cpv": _cpv(tender) or None,
        "tender_published_on": _date(tender_period.get("startDate"), "tender.tenderPeriod.startDate"),
        "tender_deadline": _date(tender_period.get("endDate"), "tender.tenderPeriod.endDate"),
        "number_of_tenderers": _count(tender.get("numberOfTenderers"), "tender.numberOfTenderers"),
        "estimated_value": _gbp(tender.get("value"), "tender.value", notes, ocid),
    }
    contracts = [c for c in _list(release.get("contracts")) if isinstance(c, dict)]
    rows: list[dict[str, Any]] = []
    for award in gbp:
        award_id = _text(award.get("id"))
        value = _dict(award.get("value"))
        per_award = {
            **common,
            "award_id": award_id or None,
            "award_date": _date(award.get("date"), f"awards[{award_id}].date"),
            "award_value": _amount(value.get("amount"), f"awards[{award_id}].value.amount"),
            **_contract_fields(award, [c for c in contracts if _text(c.get("awardID")) == award_id], notes, ocid),
        }
        for supplier in _list(award.get("suppliers")):
            if not isinstance(supplier, dict):
                notes.add("award suppliers that are not objects skipped", ocid)
                continue
            party = parties.get(_text(supplier.get("id")), {})
            if supplier.get("id") and not party:
                notes.add("suppliers not found in parties (name and identifier read from the award)", ocid)
            rows.append({
                **per_award,
                "supplier_name": _text(supplier.get("name")) or _text(party.get("name")) or None,
                "supplier_company_number": _company_number((party, supplier), notes) or None,
            })
    return rows, None


def _buyer(release: Mapping[str, Any], parties: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """Return the buyer's id and name: ``buyer`` (OCDS 1.1), else the one party with role ``buyer``."""
    buyer = _dict(release.get("buyer"))
    buyer_id, name = _text(buyer.get("id")), _text(buyer.get("name"))
    if buyer_id:
        party = parties.get(buyer_id)
    else:
        with_role = [p for p in parties.values() if "buyer" in _list(p.get("roles"))]
        party = with_role[0] if len(with_role) == 1 else None  # several buyers: do not pick one
    if party is not None:
        if not buyer_id:
            identifier = _dict(party.get("identifier"))
            scheme, number = _text(identifier.get("scheme")), _text(identifier.get("id"))
            buyer_id = f"{scheme}-{number}" if scheme and number else _text(party.get("id"))
        name = name or _text(party.get("name"))
    return buyer_id, name


def _cpv(tender: Mapping[str, Any]) -> str:
    """Return the tender's CPV code: its classification, else the first item classified in CPV."""
    for classification in (tender.get("classification"),
                           *(_dict(i).get("classification") for i in _list(tender.get("items")))):
        classification = _dict(classification)
        if _text(classification.get("scheme")).upper() == "CPV" and _text(classification.get("id")):
            return _text(classification.get("id"))
    return ""


def _contract_fields(award: Mapping[str, Any], contracts: list[dict[str, Any]], notes: _Notes,
                     ocid: str) -> dict[str, Any]:
    """Contract period, amendments and final value of an award, from the contracts that implement it."""
    award_id = _text(award.get("id"))
    starts = [_date(_dict(c.get("period")).get("startDate"), f"contracts[{award_id}].period.startDate")
              for c in contracts]
    ends = [_date(_dict(c.get("period")).get("endDate"), f"contracts[{award_id}].period.endDate") for c in contracts]
    known_starts = [d for d in starts if d is not None]
    known_ends = [d for d in ends if d is not None]
    # Awards carry the period they were awarded for (Award.contractPeriod); Contracts Finder gives only that one.
    period = _dict(award.get("contractPeriod"))
    start = min(known_starts) if known_starts else _date(period.get("startDate"), f"awards[{award_id}].contractPeriod")
    end = max(known_ends) if known_ends else _date(period.get("endDate"), f"awards[{award_id}].contractPeriod")

    # A contract that does not list amendments says nothing about them: the count stays unknown, not 0.
    stated = [c for c in contracts if "amendments" in c or "amendment" in c]
    modifications = sum(_amendments(c) for c in stated) if stated else None
    final_value = None
    if modifications:
        # The value of an amended contract is its current value; summing transactions would double count.
        values = [_gbp(c.get("value"), f"contracts[{award_id}].value", notes, ocid) for c in contracts]
        if all(v is not None for v in values):
            final_value = sum(v for v in values if v is not None)
        else:
            notes.add("amended contracts without a GBP value: final_value left empty", ocid)
    if len(contracts) > 1:
        notes.add("awards with several contracts (periods spanned, amendments and values added)", ocid)
    return {"contract_start": start, "contract_end": end, "modifications": modifications, "final_value": final_value}


def _amendments(contract: Mapping[str, Any]) -> int:
    amendments = contract.get("amendments")
    if isinstance(amendments, list):
        return len(amendments)
    return 1 if contract.get("amendment") else 0  # OCDS 1.0's single amendment object


def _company_number(organisations: tuple[Mapping[str, Any], ...], notes: _Notes) -> str:
    """Return the supplier's Companies House number (GB-COH identifiers); empty if none or they differ."""
    found: set[str] = set()
    for organisation in organisations:
        for identifier in (organisation.get("identifier"), *_list(organisation.get("additionalIdentifiers"))):
            identifier = _dict(identifier)
            if _text(identifier.get("scheme")).upper() != "GB-COH":
                continue
            raw = _text(identifier.get("id"))
            number = re.sub(r"\s+", "", raw).upper().removeprefix("GB-COH-")
            if number.isdigit() and len(number) < 8:
                number = number.zfill(8)  # Companies House numbers lose their leading zeros in spreadsheets
            if _COMPANY_NUMBER.fullmatch(number):
                found.add(number)
            elif raw:
                notes.add("GB-COH identifiers that are not Companies House numbers left empty", repr(raw))
    if len(found) > 1:
        notes.add("suppliers with conflicting GB-COH identifiers left without a company number",
                  ", ".join(sorted(found)))
        return ""
    return found.pop() if found else ""


# -------------------------------------------------------------------------------------------------- values


def _text(value: Any) -> str:
    """Return a JSON scalar as stripped text (ids may be numbers); empty for null and for objects."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _currency(value: Any) -> str:
    return _text(_dict(value).get("currency")).upper()


def _date(value: Any, where: str) -> dt.date | None:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise _BadValue(f"{where}: {exc}") from None


def _amount(value: Any, where: str) -> float | None:
    try:
        return parse_number(value)
    except ValueError as exc:
        raise _BadValue(f"{where}: {exc}") from None


def _count(value: Any, where: str) -> int | None:
    number = _amount(value, where)
    if number is None:
        return None
    if not number.is_integer():
        raise _BadValue(f"{where}: {value!r} is not a whole number")
    return int(number)


def _gbp(value: Any, where: str, notes: _Notes, ocid: str) -> float | None:
    """Return an optional OCDS Value's amount in GBP; empty (warned) in another currency, never converted."""
    currency = _currency(value)
    if currency and currency != "GBP":
        notes.add(f"{where} amounts not in GBP left empty", f"{currency} in {ocid}")
        return None
    return _amount(_dict(value).get("amount"), f"{where}.amount")
