"""Debarment and sanctions lists -> the ``watchlist`` table.

Four layouts are recognised by their header row (CSV, any of the encodings :func:`~riskmodel.importers.base.open_text`
reads):

``opensanctions``
    OpenSanctions ``targets.simple`` exports (``id, schema, name, aliases, countries, sanctions, dataset,
    first_seen, ...``), the form in which OpenSanctions republishes the UK, EU, UN and US lists and many debarment
    lists. ``entry_id`` is the OpenSanctions id; ``entity_kind`` comes from the FollowTheMoney ``schema`` (``Person``
    is a person; ``Company``, ``LegalEntity`` and ``Organization`` are companies; a vessel, aircraft or anything
    else is neither and is quarantined); ``list_name`` is the ``dataset`` title as a slug; ``country`` is the first
    of ``countries``. ``listed_on`` is ``first_seen``: the export gives no listing date in a column, and the day
    OpenSanctions first saw an entry is never before its listing, so features as of an earlier date cannot see it
    (point-in-time safe, if late). ``reason`` is the ``sanctions`` text.
``world-bank``
    The World Bank listing of ineligible firms and individuals (``firm_name, address, country, ineligible_from,
    ineligible_to, grounds``).
``idb``
    The Inter-American Development Bank's sanctioned firms and individuals (``Title, Entity, Country, From, To,
    Grounds, ...``; ``Entity`` is ``Firm`` or ``Individual``).
``ebrd``
    The EBRD's ineligible entities (``Firm Name, Address, Nationality, Ineligible From, Ineligible Until, ...``).

For the three bank lists, the ineligibility start is ``listed_on`` and its end ``delisted_on`` (a debarment that
ends is lifted then; an end after the contract's last date, such as the World Bank's 2999-12-31 for a permanent
debarment, is no end); ``reason`` is the grounds. They publish no entry id, so ``entry_id`` is a stable digest of
the list, name, country and start date: the same entry imported twice gets the same id, and the contract's key check
sets copies aside. Whether a World Bank entry is a person is not a column: an entry is a person only when its name
starts with an honorific (``Mr``, ``Mrs``, ``Ms``, ``Dr``...), which is how that list writes individuals; every
other entry is a firm. The IDB list says it in a column; the EBRD list is of firms, but writes the few individuals
on it with an honorific as well ("Mr. Firstname Surname"), so the same rule applies to it.

Aliases (OpenSanctions ``aliases``, IDB ``Other Name``) become entries of their own, with ``#alias-N`` after the
entry id, so that screening sees every published name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from riskmodel.contract.spec import MAX_DATE
from riskmodel.importers.base import Record, csv_header, csv_rows, parse_date

__all__ = ["LAYOUTS", "read"]

#: The layouts and the header columns that identify each (all must be present).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "opensanctions": ("id", "schema", "name", "countries", "dataset"),
    "world-bank": ("firm_name", "country", "ineligible_from", "grounds"),
    "idb": ("Title", "Entity", "Country", "From", "Grounds"),
    "ebrd": ("Firm Name", "Nationality", "Ineligible From"),
}
#: List names of the bank lists.
_LIST_NAMES = {"world-bank": "world-bank-debarment", "idb": "idb-sanctions", "ebrd": "ebrd-ineligible"}
#: FollowTheMoney schemata of people and of companies (anything else is neither).
_PERSON_SCHEMATA = frozenset({"Person"})
_COMPANY_SCHEMATA = frozenset({"Company", "LegalEntity", "Organization", "PublicBody"})
_HONORIFIC = re.compile(r"^(?:mr|mrs|ms|miss|dr|prof|sir|dame|mx)\.?\s", re.IGNORECASE)
#: Words bank lists write for a debarment with no end date.
_OPEN_ENDED = frozenset({"ongoing", "permanent", "indefinite", "indefinitely", "n/a", "-"})


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _layout(path: Path) -> str | None:
    header = csv_header(path)
    for name, needed in LAYOUTS.items():
        if all(column in header for column in needed):
            return name
    return None


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:16]


def _end_date(value: str | None) -> Any:
    if value is None or value.strip().lower() in _OPEN_ENDED:
        return None
    end = parse_date(value)
    # Lists write a permanent debarment as a far-future end (the World Bank: 2999-12-31); it is no end date.
    return None if end is not None and end > MAX_DATE else end


def _entries(base: dict[str, Any], aliases: list[str]) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    rows: list[tuple[str, Mapping[str, Any]]] = [("watchlist", base)]
    seen = {base["name"].casefold()}
    for n, alias in enumerate(aliases, 1):
        if alias.casefold() in seen:
            continue
        seen.add(alias.casefold())
        rows.append(("watchlist", {**base, "entry_id": f"{base['entry_id']}#alias-{n}", "name": alias}))
    return tuple(rows)


def _opensanctions(row: dict[str, str]) -> tuple[dict[str, Any], list[str]] | str:
    schema = row.get("schema", "")
    if schema in _PERSON_SCHEMATA:
        kind = "person"
    elif schema in _COMPANY_SCHEMATA:
        kind = "company"
    else:
        return f"schema {schema!r} is neither a person nor a company (the watchlist screens those only)"
    if not row.get("id") or not row.get("name"):
        return "no id or no name"
    countries = [c for c in row.get("countries", "").split(";") if c.strip()]
    entry = {"entry_id": row["id"], "name": row["name"], "entity_kind": kind,
             "country": countries[0].strip().upper() if countries else None,
             "list_name": _slug(row.get("dataset", "")) or "opensanctions",
             "listed_on": parse_date(row.get("first_seen")), "delisted_on": None, "reason": row.get("sanctions")}
    aliases = [a.strip() for a in row.get("aliases", "").split(";") if a.strip()]
    return entry, aliases


def _bank(layout: str, row: dict[str, str]) -> tuple[dict[str, Any], list[str]] | str:
    if layout == "world-bank":
        name, country, start, end, reason = (row.get("firm_name"), row.get("country"), row.get("ineligible_from"),
                                             row.get("ineligible_to"), row.get("grounds"))
        kind = "person" if name and _HONORIFIC.match(name) else "company"
        aliases: list[str] = []
    elif layout == "idb":
        name, country, start, end, reason = (row.get("Title"), row.get("Country"), row.get("From"), row.get("To"),
                                             row.get("Grounds"))
        entity = (row.get("Entity") or "").lower()
        if entity not in ("firm", "individual"):
            return (f"Entity {row['Entity']!r} is neither Firm nor Individual" if row.get("Entity") else
                    "Entity is blank (Firm or Individual expected)")
        kind = "person" if entity == "individual" else "company"
        aliases = [row["Other Name"]] if row.get("Other Name") else []
    else:
        name, country, start, end, reason = (row.get("Firm Name"), row.get("Nationality"), row.get("Ineligible From"),
                                             row.get("Ineligible Until"), row.get("Prohibited Practice"))
        kind = "person" if name and _HONORIFIC.match(name) else "company"
        aliases = []
    if not name:
        return "no name"
    listed = parse_date(start)
    list_name = _LIST_NAMES[layout]
    entry = {"entry_id": f"{list_name}:{_digest(list_name, name.casefold(), country, listed)}", "name": name,
             "entity_kind": kind, "country": country, "list_name": list_name, "listed_on": listed,
             "delisted_on": _end_date(end), "reason": reason}
    return entry, aliases


def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Read debarment and sanctions lists (see the module note) into ``watchlist`` rows.

    Parameters
    ----------
    sources : list of Path
        CSV files, each in one of :data:`LAYOUTS`.
    options : mapping
        ``warnings``: a list the reader appends warnings to.

    Yields
    ------
    Record
        One per list entry (with its aliases), or the reason it was set aside.
    """
    warnings: list[str] = options.get("warnings", [])
    for path in sources:
        layout = _layout(path)
        if layout is None:
            yield Record(path.name, "file", reason="header matches no known list layout (expected the columns of "
                         + "; ".join(f"{k}: {', '.join(v)}" for k, v in LAYOUTS.items()) + ")")
            continue
        for locator, row, problem in csv_rows(path, warnings):
            if row is None:
                yield Record(path.name, locator, reason=problem or "unreadable row")
                continue
            try:
                mapped = _opensanctions(row) if layout == "opensanctions" else _bank(layout, row)
            except ValueError as exc:
                yield Record(path.name, locator, reason=str(exc))
                continue
            if isinstance(mapped, str):
                yield Record(path.name, locator, reason=mapped)
                continue
            entry, aliases = mapped
            yield Record(path.name, locator, rows=_entries(entry, aliases))
