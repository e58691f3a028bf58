"""Licence registers (CSV) -> the ``licences`` table, through a column mapping.

Registers differ in their columns but not in what they record, so one reader serves them all: a mapping file (TOML)
says which source column fills which contract column and how source values translate. ``options["mapping"]`` is a
path to such a file or the name of a built-in mapping (:func:`builtin_mappings`; ``gambling-commission`` for the
Gambling Commission's register of gambling premises licences). Every CSV data row gives one record: one
``licences`` row, or the reason it gives none.

The mapping file
----------------
::

    [mapping]
    name = "example-council"      # names the mapping in warnings (default: the file name)
    day_first = true              # how to read slashed dates: 04/03/21 is 4 March (false: 3 April)

    [columns]                     # contract column = source column (header name, exact)
    licence_id = "Ref"
    holder_name = "Licensee"
    premises_postcode = "Postcode"
    applied_on = "Received"
    decided_on = "Decision Date"
    status = "Status"
    police_objection = "Police"
    objections = "Objections"

    [constants]                   # contract column = the same value for every row (a fact about the register)
    authority = "Example Council"
    licence_type = "premises-alcohol"

    [values.status]               # source value (case-insensitive) = contract value; a closed list
    "Granted" = "granted"
    "Awaiting decision" = "pending"

    [values.police_objection]
    "Y" = true
    "N" = false

    [compose]                     # contract column = source columns joined with "-" (a register with no id)
    # licence_id = ["Premises No", "Licence Kind"]

    [unknown]                     # contract column = value, for a column the register does not record at all
    # objections = 0

    [assumed]                     # contract column = source column that does not record it exactly
    # applied_on = "Status Date"

    [notes]                       # why: one sentence for every [unknown] and [assumed] column (required)
    # objections = "the register publishes no objections; features that count objections read 0"

Tables:

``[columns]``
    Read from the row. A blank cell leaves an optional column empty and quarantines the row for a required one
    (the reason names the source column).
``[values.COLUMN]``
    For a column read from the row: the source values (matched without regard to case) and the contract values
    they mean. The list is closed: a value it does not name quarantines the row, with the value and what the
    mapping and the contract allow. Without a list, a value is taken as written and must be a valid contract
    value (``Granted`` is read as ``granted``; booleans accept true/false, yes/no, y/n, 1/0).
``[constants]``
    One value for every row, for what the register states by being what it is (every row of a gambling premises
    register is a gambling premises licence).
``[compose]``
    A text column built from several source columns joined with ``-``, for a register that publishes no id.
    A blank part is left empty in its place; a row whose parts are all blank is quarantined. Two rows that compose
    the same id are set aside by the contract's key check, so a poor choice of parts shows in the quarantine rather
    than merging licences.
``[unknown]``
    Like ``[constants]``, but for a column the contract requires and the register does not record (``police_objection``
    and ``objections`` in a register that publishes no objections). It is the mapping author's explicit statement,
    and it is reported: every such column, its value and its note go to the import warnings (and so the manifest).
``[assumed]``
    Like ``[columns]``, but the source column is a stand-in for the contract column rather than the thing itself
    (``applied_on`` from a register's status date). Reported in the warnings the same way.
``[notes]``
    The reason for each ``[unknown]`` and ``[assumed]`` column; a mapping without one is refused.

Dates are read with :func:`~riskmodel.importers.base.parse_date`; a date that does not parse quarantines the row
with the parser's message. A required contract column that no table fills, a contract column filled twice, a value
that is not valid for its column, or a source column missing from a file's header is an error before any row is
read. Nothing is guessed: a column the register does not give and the mapping does not declare stays empty.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from riskmodel.contract.spec import LICENCES, ColumnSpec, DType
from riskmodel.errors import RiskmodelError
from riskmodel.importers.base import Record, csv_header, csv_rows, parse_date, parse_number

__all__ = ["LicenceMapping", "builtin_mappings", "load_mapping", "read"]

_TABLE = "licences"
_MAPPINGS_PACKAGE = "riskmodel.importers.mappings"
_SECTIONS = ("mapping", "columns", "constants", "values", "compose", "unknown", "assumed", "notes")
_JOIN = "-"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class LicenceMapping:
    """A loaded, checked mapping from a register's columns to the ``licences`` table.

    Attributes
    ----------
    name : str
        The mapping's name.
    day_first : bool
        Read slashed dates day first.
    columns : dict of str to str
        Contract column -> source column (``[columns]`` and ``[assumed]``).
    fixed : dict of str to Any
        Contract column -> contract value for every row (``[constants]`` and ``[unknown]``).
    values : dict of str to dict
        Contract column -> {case-folded source value: contract value}.
    compose : dict of str to tuple of str
        Contract column -> source columns joined with ``-``.
    unknown : tuple of str
        The columns of ``fixed`` declared under ``[unknown]``.
    assumed : tuple of str
        The columns of ``columns`` declared under ``[assumed]``.
    notes : dict of str to str
        Contract column -> the mapping author's reason (every unknown and assumed column has one).
    """

    name: str
    day_first: bool
    columns: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    compose: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def source_columns(self) -> list[str]:
        """The source columns the mapping reads, in order of first mention."""
        named = [*self.columns.values(), *(c for parts in self.compose.values() for c in parts)]
        return list(dict.fromkeys(named))

    def declarations(self) -> list[str]:
        """One sentence per ``[unknown]`` and ``[assumed]`` column, for the import warnings."""
        said = [f"mapping {self.name!r} declares {c} = {_toml_text(self.fixed[c])} for every row ([unknown]: the "
                f"register does not record it): {self.notes[c]}" for c in self.unknown]
        said += [f"mapping {self.name!r} fills {c} from {self.columns[c]} ([assumed]: a stand-in, not the value "
                 f"itself): {self.notes[c]}" for c in self.assumed]
        return said


def builtin_mappings() -> list[str]:
    """Return the names of the mappings that ship with riskmodel."""
    return sorted(p.name.removesuffix(".toml") for p in files(_MAPPINGS_PACKAGE).iterdir()
                  if p.name.endswith(".toml"))


def load_mapping(mapping: str | Path) -> LicenceMapping:
    """Load and check a mapping: a TOML file or the name of a built-in mapping.

    Parameters
    ----------
    mapping : str or Path
        Path to a ``.toml`` file, or a name from :func:`builtin_mappings`.

    Returns
    -------
    LicenceMapping

    Raises
    ------
    RiskmodelError
        No such file or built-in, invalid TOML, or a mapping that breaks the rules in the module note.
    """
    builtins = builtin_mappings()
    path = Path(mapping)
    if path.is_file():
        text, default_name = path.read_text(encoding="utf-8"), path.stem
    elif str(mapping) in builtins:
        text = (files(_MAPPINGS_PACKAGE) / f"{mapping}.toml").read_text(encoding="utf-8")
        default_name = str(mapping)
    else:
        raise RiskmodelError(f"mapping {str(mapping)!r} is neither a mapping file nor a built-in mapping "
                             f"(built-in: {', '.join(builtins)})", field="mapping", value=str(mapping),
                             allowed=builtins)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RiskmodelError(f"mapping {str(mapping)!r} is not valid TOML: {exc}", field="mapping",
                             value=str(mapping)) from None
    return _check(document, default_name)


def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Yield one record per CSV data row of each licence register source.

    Parameters
    ----------
    sources : list of Path
        Register CSV files (header row first).
    options : mapping
        ``mapping`` (required): a mapping file or built-in name (see the module note); ``warnings``: a list that
        receives the encoding notes and the mapping's ``[unknown]`` and ``[assumed]`` declarations.

    Yields
    ------
    Record
        One ``licences`` row, or the reasons the row maps to none.

    Raises
    ------
    RiskmodelError
        No ``mapping`` option, a bad mapping, or a source whose header lacks a column the mapping reads (raised
        before any record is yielded).
    """
    if options.get("mapping") in (None, ""):
        raise RiskmodelError("the licence-register format needs the mapping option: a mapping file (.toml) or a "
                             f"built-in mapping ({', '.join(builtin_mappings())})", field="mapping",
                             allowed=builtin_mappings())
    mapping = load_mapping(options["mapping"])
    warnings: list[str] = options.get("warnings", [])
    # Check every header first, so a wrong mapping stops the import before anything is staged.
    for path in sources:
        header = csv_header(path)
        missing = [c for c in mapping.source_columns if c not in header]
        if missing:
            raise RiskmodelError(
                f"{path.name} lacks the columns mapping {mapping.name!r} reads: {', '.join(missing)} (its header: "
                f"{', '.join(header) or 'none'})", field="mapping", source=str(path), missing=missing, header=header)
    warnings.extend(mapping.declarations())
    for path in sources:
        for locator, row, problem in csv_rows(path, warnings):
            if row is None:
                yield Record(path.name, locator, reason=f"the row {problem}")
                continue
            values, problems = _map_row(mapping, row)
            if problems:
                yield Record(path.name, locator, reason=" | ".join(problems))
            else:
                yield Record(path.name, locator, rows=((_TABLE, values),))


# ---------------------------------------------------------------------------------------------- rows


def _map_row(mapping: LicenceMapping, row: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Return the contract values of one source row and every problem that keeps it out (not just the first)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in LICENCES.columns:
        name = spec.name
        if name in mapping.fixed:
            values[name] = mapping.fixed[name]
        elif name in mapping.compose:
            parts = mapping.compose[name]
            if any(row.get(p) for p in parts):
                values[name] = _JOIN.join(row.get(p, "") for p in parts)
            else:
                problems.append(f"{', '.join(parts)} are all blank; {name} is composed from them")
        elif name in mapping.columns:
            source = mapping.columns[name]
            raw = row.get(source)
            if raw is None:
                if not spec.nullable:
                    problems.append(f"{source} is blank; {name} is required")
                values[name] = None
                continue
            try:
                values[name] = _translate(mapping, spec, source, raw)
            except ValueError as exc:
                problems.append(str(exc))
        else:
            values[name] = None  # not in the register (only optional columns get here: see _check)
    return values, problems


def _translate(mapping: LicenceMapping, spec: ColumnSpec, source: str, raw: str) -> Any:
    """Return a source value as its contract value; raise ``ValueError`` with a reason naming the source column."""
    table = mapping.values.get(spec.name)
    if table is not None:
        if raw.casefold() in table:
            return table[raw.casefold()]
        allowed = f"; {spec.name} allows {', '.join(spec.allowed)}" if spec.allowed else ""
        raise ValueError(f"{source} {raw!r} has no mapping to {spec.name} (the mapping maps "
                         f"{', '.join(sorted(table))}{allowed})")
    try:
        return _convert(spec, raw, day_first=mapping.day_first)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _convert(spec: ColumnSpec, value: Any, *, day_first: bool) -> Any:
    """Return a text or TOML value as a value of the contract column; raise ``ValueError`` naming the value."""
    if spec.dtype is DType.DATE:
        if isinstance(value, bool | int | float):
            raise ValueError(f"{value!r} is not a date")
        return parse_date(value, day_first=day_first)
    if spec.dtype is DType.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().casefold() in _TRUE | _FALSE:
            return value.strip().casefold() in _TRUE
        raise ValueError(f"{value!r} is not true or false ({spec.name})")
    if spec.dtype is DType.INT:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number ({spec.name})")
        if isinstance(value, int):
            return value
        number = parse_number(value) if isinstance(value, str) else None
        if number is None or not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number ({spec.name})")
        return int(number)
    if spec.dtype is DType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{value!r} is not a number ({spec.name})")
        return float(value) if not isinstance(value, str) else parse_number(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not text ({spec.name})")
    if spec.allowed:
        # A value already in the contract's words is accepted whatever its case ("Granted" is granted).
        for allowed in spec.allowed:
            if value.strip().casefold() == allowed.casefold():
                return allowed
        raise ValueError(f"{value!r} is not a {spec.name} ({', '.join(spec.allowed)}) and the mapping has no "
                         f"[values.{spec.name}] list")
    return value.strip()


# ---------------------------------------------------------------------------------------------- mapping checks


def _check(document: Mapping[str, Any], default_name: str) -> LicenceMapping:
    """Check a parsed mapping document against the rules in the module note and build the mapping."""
    meta = _section(document, "mapping", default_name)
    unknown_sections = sorted(set(document) - set(_SECTIONS))
    if unknown_sections:
        raise _bad(default_name, f"has unknown tables {', '.join(unknown_sections)} (the tables are "
                                 f"{', '.join(_SECTIONS)})")
    name = meta.get("name", default_name)
    day_first = meta.get("day_first", True)
    extra = sorted(set(meta) - {"name", "day_first"})
    if not isinstance(name, str) or not isinstance(day_first, bool) or extra:
        raise _bad(default_name, "[mapping] takes name (text) and day_first (true or false) only")

    columns = _section(document, "columns", name)
    assumed = _section(document, "assumed", name)
    constants = _section(document, "constants", name)
    unknown = _section(document, "unknown", name)
    compose = _section(document, "compose", name)
    values = _section(document, "values", name)
    notes = _section(document, "notes", name)

    contract = LICENCES.column_names
    filled: dict[str, str] = {}
    for section, table in (("columns", columns), ("assumed", assumed), ("constants", constants),
                           ("unknown", unknown), ("compose", compose)):
        for column in table:
            if column not in contract:
                raise _bad(name, f"[{section}] names {column!r}, which is not a licences column (the columns are "
                                 f"{', '.join(contract)})")
            if column in filled:
                raise _bad(name, f"fills {column} twice ([{filled[column]}] and [{section}])")
            filled[column] = section
    unfilled = [c.name for c in LICENCES.columns if not c.nullable and c.name not in filled]
    if unfilled:
        raise _bad(name, f"fills no value for the required columns {', '.join(unfilled)}: read them with "
                         "[columns] or [compose], or, for a column the register does not record, declare a value "
                         "under [unknown] with a [notes] entry saying why")

    sources: dict[str, str] = {}
    for section, table in (("columns", columns), ("assumed", assumed)):
        for column, source in table.items():
            if not isinstance(source, str) or not source.strip():
                raise _bad(name, f"[{section}] {column} must name a source column")
            sources[column] = source.strip()
    parts: dict[str, tuple[str, ...]] = {}
    for column, names in compose.items():
        if LICENCES.column(column).dtype is not DType.STR:
            raise _bad(name, f"[compose] {column}: only text columns can be composed")
        if (not isinstance(names, list) or len(names) < 2
                or not all(isinstance(n, str) and n.strip() for n in names)):
            raise _bad(name, f"[compose] {column} must be a list of two or more source column names")
        parts[column] = tuple(n.strip() for n in names)
    fixed: dict[str, Any] = {}
    for section, table in (("constants", constants), ("unknown", unknown)):
        for column, value in table.items():
            try:
                fixed[column] = _convert(LICENCES.column(column), value, day_first=day_first)
            except ValueError as exc:
                raise _bad(name, f"[{section}] {column}: {exc}") from None
    translations: dict[str, dict[str, Any]] = {}
    for column, table in values.items():
        if column not in sources:
            raise _bad(name, f"[values.{column}]: {column} is not read from a source column ([columns] or "
                             "[assumed])")
        if not isinstance(table, dict) or not table:
            raise _bad(name, f"[values.{column}] must list source values and their contract values")
        folded: dict[str, Any] = {}
        for source_value, value in table.items():
            try:
                converted = _convert(LICENCES.column(column), value, day_first=day_first)
            except ValueError as exc:
                raise _bad(name, f"[values.{column}] {source_value!r}: {exc}") from None
            key = source_value.strip().casefold()
            if key in folded and folded[key] != converted:
                raise _bad(name, f"[values.{column}] maps {source_value!r} twice (source values ignore case)")
            folded[key] = converted
        translations[column] = folded

    declared = [*unknown, *assumed]
    for column, note in notes.items():
        if column not in declared or not isinstance(note, str) or not note.strip():
            raise _bad(name, f"[notes] {column}: notes are sentences for [unknown] and [assumed] columns only")
    undocumented = [c for c in declared if c not in notes]
    if undocumented:
        raise _bad(name, f"declares {', '.join(undocumented)} under [unknown] or [assumed] without a [notes] entry "
                         "saying why")
    return LicenceMapping(name=name, day_first=day_first, columns=sources, fixed=fixed, values=translations,
                          compose=parts, unknown=tuple(unknown), assumed=tuple(assumed),
                          notes={c: str(n).strip() for c, n in notes.items()})


def _section(document: Mapping[str, Any], section: str, name: str) -> dict[str, Any]:
    table = document.get(section, {})
    if not isinstance(table, dict):
        raise _bad(name, f"[{section}] must be a table")
    return dict(table)


def _bad(name: str, problem: str) -> RiskmodelError:
    return RiskmodelError(f"mapping {name!r} {problem}", field="mapping", value=name)


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)
