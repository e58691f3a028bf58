"""Read Beneficial Ownership Data Standard (BODS 0.2) statements into ``ownership`` rows (``riskmodel import bods``).

Input
-----
Source files hold BODS 0.2 statements as JSON lines (one statement a line) or as one JSON array (a single statement
as a document works too). See the BODS 0.2 schema reference,
https://standard.openownership.org/en/0.2.0/schema/reference.html (``entityStatement``, ``personStatement``,
``ownershipOrControlStatement``, ``Share``, ``Interest``). Each statement is one
:class:`~riskmodel.importers.base.Record`, located as ``<statementType> <statementID> (line N)``.

Statements refer to each other by ``statementID``, so the reader makes two passes over the sources: the first indexes
the entity and person statements of *all* sources (keeping only the few fields used below), the second yields one
record per statement. An ownership statement may therefore refer to an entity or person in another file.

Mapping (one ``ownership`` row per ``ownershipOrControlStatement``)
-------------------------------------------------------------------
================== ==============================================================================================
column             BODS 0.2 source
================== ==============================================================================================
company_number     the ``GB-COH`` identifier (``identifiers[].scheme``; or ``schemeName`` "Companies House" when
                   there is no ``scheme``) of the entity in ``subject.describedByEntityStatement``; numeric numbers
                   zero-padded to 8 characters, uppercased. A subject without one is set aside.
owner_id           the ``interestedParty``: a person's OpenOwnership Register id (``oo-register:<id>``, the
                   register's own id, which stays the same across the companies the person controls), else
                   ``bods-person:<statementID>``; an entity's ``GB-COH`` number (so it equals a ``company_number``),
                   else its OpenOwnership Register id, else ``bods-entity:<statementID>``; an ``unspecified``
                   interested party ``bods-unspecified:<statementID>``
owner_name         the person's first ``names[].fullName`` (else given and family names), the entity's ``name``,
                   or the ``unspecified`` party's ``description`` (else its ``reason``)
owner_kind         person: ``individual``; entity: ``corporate`` for ``registeredEntity`` (or no type),
                   ``legal-person`` for ``legalEntity``, ``state`` and ``stateBody``, ``unknown`` for
                   ``anonymousEntity`` and ``unknownEntity``; ``unspecified``: ``unknown``
ownership_band     the ``share`` of the ``shareholding`` interests, when the range lies inside one of the contract's
                   bands (25-50, 50-75, 75-100; an exact 50 is 25-50 and an exact 75 is 75-100, as in the PSC
                   register's bands); empty when there is no share, it spans bands, or interests disagree
owner_jurisdiction an entity's ``incorporatedInJurisdiction.code``; a person's address ``country`` (a residence
                   address first). Alpha-2 codes only, uppercased.
notified_on        the earliest ``interests[].startDate``, else ``statementDate``
ceased_on          the latest ``interests[].endDate`` when every interest has ended, else empty
================== ==============================================================================================

Limits and choices
------------------
* Nationality is a protected characteristic: ``nationalities`` is never read. ``owner_jurisdiction`` of a person is
  only the country of an address the statement gives.
* Person ids: BODS 0.2 has no person id across statements. A publisher that states the same person controlling two
  companies in two person statements gives two ``statementID``; only when it carries an OpenOwnership Register
  identifier are the two joined. Without one, links through that person are lost.
* ``statementDate`` (when the statement was made) is used for ``notified_on`` only when no interest gives a start
  date; a statement is made on or after the control it states was notified, so the fallback is late, never early,
  and is safe for point-in-time features.
* Entity statements give no company type or status (both required by ``companies``), so they map to no
  ``companies`` row: they are indexed for the ownership rows and accounted for with that reason. Person statements
  likewise are accounted for as the owners of ownership rows. Neither is an error.
* An ``arrangement`` entity (a trust or similar) has no owner kind in the contract and is set aside, as is an
  interested party or subject whose statement is in none of the sources.
* BODS 0.3 statements (``recordId``/``recordDetails``) are set aside: "BODS 0.3 not supported yet".
* Repeated statements (the same ``statementID`` in two files) map twice and are left to the contract's key check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmodel.importers.base import Record, json_records, parse_date

__all__ = ["read"]

_TABLE = "ownership"
#: Companies House numbers are 8 characters: digits, or a 2-letter prefix (SC, NI, OC, ...) and digits.
_COMPANY_NUMBER = re.compile(r"[A-Z0-9]{8}")
_ALPHA2 = re.compile(r"([A-Z]{2})(?:-.*)?")
_OO_REGISTER = "OpenOwnership Register"
#: BODS 0.2 entityType -> the contract's owner_kind (arrangement has none; set aside).
_ENTITY_KINDS = {"registeredEntity": "corporate", "legalEntity": "legal-person", "state": "legal-person",
                 "stateBody": "legal-person", "anonymousEntity": "unknown", "unknownEntity": "unknown"}
#: The contract's bands as closed percent ranges, in the order they are tried: boundary values go to the band the
#: PSC register puts them in (exactly 75 is "75% or more"; exactly 50 is "more than 25% but not more than 50%").
_BANDS = (("75-100", 75.0, 100.0), ("25-50", 25.0, 50.0), ("50-75", 50.0, 75.0))


@dataclass(frozen=True)
class _Entity:
    name: str
    company_number: str | None
    jurisdiction: str | None
    entity_type: str | None
    register_id: str | None


@dataclass(frozen=True)
class _Person:
    name: str
    country: str | None
    register_id: str | None


def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Read BODS 0.2 statements from ``sources`` (see the module note for the mapping).

    Parameters
    ----------
    sources : list of Path
        JSON or JSON lines files of BODS statements; statements may refer to statements in any of them.
    options : mapping
        ``warnings`` (list): notes about the sources are appended to it.

    Yields
    ------
    Record
        One per statement (and one per line or file that is not JSON): an ``ownership`` row for each ownership or
        control statement that maps, else the reason.
    """
    warnings: list[str] = options.get("warnings", [])
    entities: dict[str, _Entity] = {}
    persons: dict[str, _Person] = {}
    for path in sources:  # first pass: the index (a few fields per entity and person)
        for _, value, problem in json_records(path):
            if problem is None and isinstance(value, dict) and not _is_v03(value):
                _index(value, entities, persons)
    ambiguous = sum(1 for e in entities.values() if e.company_number == "")
    if ambiguous:
        warnings.append(f"{ambiguous} entity statements give more than one GB-COH number; they have none here")
    for path in sources:
        for locator, value, problem in json_records(path):
            if problem is not None:
                yield Record(path.name, locator, reason=problem)
            else:
                yield _record(path.name, locator, value, entities, persons)


# ------------------------------------------------------------------------------------------------- index


def _index(statement: dict[str, Any], entities: dict[str, _Entity], persons: dict[str, _Person]) -> None:
    sid = statement.get("statementID")
    if not isinstance(sid, str) or sid in entities or sid in persons:
        return  # the first statement of an id wins (repeats are the same statement published twice)
    kind = statement.get("statementType")
    if kind == "entityStatement":
        jurisdiction = statement.get("incorporatedInJurisdiction")
        entities[sid] = _Entity(
            name=_str(statement.get("name")),
            company_number=_gb_coh(statement.get("identifiers")),
            jurisdiction=_alpha2(jurisdiction.get("code") if isinstance(jurisdiction, dict) else None),
            entity_type=statement.get("entityType") if isinstance(statement.get("entityType"), str) else None,
            register_id=_register_id(statement.get("identifiers")),
        )
    elif kind == "personStatement":
        persons[sid] = _Person(name=_person_name(statement.get("names")),
                               country=_address_country(statement.get("addresses")),
                               register_id=_register_id(statement.get("identifiers")))


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _gb_coh(identifiers: Any) -> str | None:
    """Return the entity's Companies House number; None when it has none, "" when it has several different ones."""
    numbers: list[str] = []
    for ident in _dicts(identifiers):
        scheme = ident.get("scheme")
        # schemeName alone names the register only when no scheme is given; "GB Persons Of Significant Control
        # Register" ids name the company controlled, not this entity, and are never read as its number.
        if scheme == "GB-COH" or (scheme is None and ident.get("schemeName") in ("Companies House", "GB-COH")):
            number = re.sub(r"\s+", "", str(ident.get("id") or "")).upper()
            if number.isdigit():
                number = number.zfill(8)
            if _COMPANY_NUMBER.fullmatch(number) and number not in numbers:
                numbers.append(number)
    if not numbers:
        return None
    return numbers[0] if len(numbers) == 1 else ""


def _register_id(identifiers: Any) -> str | None:
    for ident in _dicts(identifiers):
        if ident.get("schemeName") == _OO_REGISTER and isinstance(ident.get("id"), str) and ident["id"].strip():
            return "oo-register:" + ident["id"].strip().rstrip("/").rsplit("/", 1)[-1]
    return None


def _alpha2(code: Any) -> str | None:
    match = _ALPHA2.fullmatch(code.strip().upper()) if isinstance(code, str) else None
    return match[1] if match else None


def _person_name(names: Any) -> str:
    for name in _dicts(names):
        if full := _str(name.get("fullName")):
            return full
        parts = [_str(name.get(k)) for k in ("givenName", "familyName")]
        if any(parts):
            return " ".join(p for p in parts if p)
    return ""


def _address_country(addresses: Any) -> str | None:
    # Residence is what the contract asks for; nationality is protected and never read.
    found = [a for a in _dicts(addresses) if _alpha2(a.get("country"))]
    found.sort(key=lambda a: a.get("type") != "residence")
    return _alpha2(found[0].get("country")) if found else None


def _is_v03(statement: dict[str, Any]) -> bool:
    return "recordDetails" in statement or "recordId" in statement


# ------------------------------------------------------------------------------------------------- records


def _record(source: str, locator: str, statement: Any, entities: dict[str, _Entity],
            persons: dict[str, _Person]) -> Record:
    if not isinstance(statement, dict):
        return Record(source, locator, reason="is not a BODS statement (not a JSON object)")
    if _is_v03(statement):
        return Record(source, locator, reason="BODS 0.3 not supported yet")
    kind = statement.get("statementType")
    where = f"{kind} {statement.get('statementID')} ({locator})"
    if kind == "entityStatement":
        return Record(source, where, reason="entity statement (indexed for ownership; BODS gives no company type or "
                                            "status, so no companies row)")
    if kind == "personStatement":
        return Record(source, where, reason="person statement (used as the owner of ownership rows)")
    if kind != "ownershipOrControlStatement":
        return Record(source, locator, reason=f"is not a BODS 0.2 statement (statementType {kind!r})")
    try:
        row = _ownership(statement, entities, persons)
    except ValueError as exc:
        return Record(source, where, reason=str(exc))
    return Record(source, where, rows=((_TABLE, row),))


def _ownership(statement: dict[str, Any], entities: dict[str, _Entity],
               persons: dict[str, _Person]) -> dict[str, Any]:
    """Map an ownership or control statement to an ``ownership`` row; ValueError says why it cannot."""
    sid = str(statement.get("statementID") or "")
    subject_ref = statement.get("subject")
    subject_id = subject_ref.get("describedByEntityStatement") if isinstance(subject_ref, dict) else None
    if not subject_id:
        raise ValueError("the statement names no subject entity statement")
    subject = entities.get(subject_id)
    if subject is None:
        raise ValueError(f"subject entity statement '{subject_id}' is in none of the sources")
    if not subject.company_number:
        what = "more than one" if subject.company_number == "" else "no"
        raise ValueError(f"subject entity '{subject.name}' has {what} GB-COH identifier, so no company number")

    party = statement.get("interestedParty")
    party = party if isinstance(party, dict) else {}
    jurisdiction: str | None
    if person_id := party.get("describedByPersonStatement"):
        person = persons.get(person_id)
        if person is None:
            raise ValueError(f"interested person statement '{person_id}' is in none of the sources")
        owner_id = person.register_id or f"bods-person:{person_id}"
        owner_name, owner_kind, jurisdiction = person.name, "individual", person.country
    elif entity_id := party.get("describedByEntityStatement"):
        entity = entities.get(entity_id)
        if entity is None:
            raise ValueError(f"interested entity statement '{entity_id}' is in none of the sources")
        kind = _ENTITY_KINDS.get(entity.entity_type or "registeredEntity")
        if kind is None:
            raise ValueError(f"interested entity of type '{entity.entity_type}' has no owner kind in the contract")
        owner_id = entity.company_number or entity.register_id or f"bods-entity:{entity_id}"
        owner_name, owner_kind, jurisdiction = entity.name, kind, entity.jurisdiction
    elif isinstance(party.get("unspecified"), dict):
        unspecified = party["unspecified"]
        owner_id = f"bods-unspecified:{sid}"
        owner_name = _str(unspecified.get("description")) or _str(unspecified.get("reason"))
        owner_kind, jurisdiction = "unknown", None
    else:
        raise ValueError("the statement has no interested party")

    interests = _dicts(statement.get("interests"))
    starts = [d for d in (_date(i.get("startDate"), "startDate") for i in interests) if d]
    ends = [_date(i.get("endDate"), "endDate") for i in interests]
    notified = min(starts) if starts else _date(statement.get("statementDate"), "statementDate")
    if notified is None:
        raise ValueError("the statement gives neither an interest startDate nor a statementDate")
    ceased = max(d for d in ends if d) if ends and all(ends) else None
    return {
        "company_number": subject.company_number,
        "owner_id": owner_id,
        "owner_name": owner_name or None,  # an empty name is left to the contract (required), never invented
        "owner_kind": owner_kind,
        "ownership_band": _band(interests),
        "owner_jurisdiction": jurisdiction,
        "notified_on": notified,
        "ceased_on": ceased,
    }


def _date(value: Any, name: str) -> dt.date | None:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _number(value: Any) -> float | None:
    # In BODS 0.2 exclusiveMinimum/Maximum are booleans (whether the bound is exclusive), never bounds.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _band(interests: list[dict[str, Any]]) -> str | None:
    bands: set[str | None] = set()
    for interest in interests:
        share = interest.get("share")
        if interest.get("type") != "shareholding" or not isinstance(share, dict):
            continue
        exact = _number(share.get("exact"))
        low = exact if exact is not None else _number(share.get("minimum"))
        high = exact if exact is not None else _number(share.get("maximum"))
        if low is None and high is None:
            continue
        low, high = (0.0 if low is None else low), (100.0 if high is None else high)
        bands.add(next((band for band, lo, hi in _BANDS if lo <= low <= high <= hi), None))
    return bands.pop() if len(bands) == 1 else None
