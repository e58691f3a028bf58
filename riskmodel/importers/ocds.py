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
quarantines the row with its own message (both are required). Releases repeating an award (an award notice and its
update, or the same release in two files) are left to the contract's key check too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmodel.contract.spec import table_spec
from riskmodel.importers.base import Record, json_records, parse_date, parse_number

__all__ = ["read"]

_TABLE = "contracts"
_ALLOWED: dict[str, tuple[str, ...]] = {c.name: c.allowed for c in table_spec(_TABLE).columns if c.allowed}
#: Award statuses (OCDS awardStatus codelist) that never led to a contract.
_DEAD_AWARDS = ("cancelled", "unsuccessful")
#: Companies House numbers are 8 characters: digits, or a 2-letter prefix (SC, NI, OC, ...) and digits.
_COMPANY_NUMBER = re.compile(r"[A-Z0-9]{8}")
#: Examples of a kind of warning listed with its count.
_EXAMPLES = 3


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
        none.
    """
    warnings: list[str] = options.get("warnings", [])
    for path in sources:
        notes = _Notes(path.name)
        # OCDS is UTF-8 by definition; a file that is not was re-encoded somewhere on the way (noted as a warning).
        for where, document, problem in json_records(path, warnings):
            if problem is not None:
                yield Record(path.name, where, reason=f"{where} {problem}")
                continue
            for locator, release, reason in _releases(document, where):
                if reason is not None:
                    yield Record(path.name, locator, reason=reason)
                    continue
                try:
                    rows, reason = _map_release(release, notes)
                except _BadValue as exc:
                    rows, reason = [], str(exc)
                if rows:
                    yield Record(path.name, locator, tuple((_TABLE, row) for row in rows))
                else:
                    yield Record(path.name, locator, reason=reason or "release maps to no row")
        notes.flush(warnings)


# ------------------------------------------------------------------------------------------------ documents


def _releases(document: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any], str | None]]:
    """Yield ``(locator, release, reason)`` for each release a JSON document holds (reason set: none usable)."""
    if isinstance(document, list):  # a JSON line holding a list
        for i, item in enumerate(document, 1):
            yield from _releases(item, f"{where}, item {i}")
        return
    if not isinstance(document, dict):
        yield where, {}, f"{where} is a JSON {type(document).__name__}, not an OCDS release, record or package"
        return
    if "records" in document:  # record package
        records = document["records"]
        if not isinstance(records, list):
            yield where, {}, f"{where}: the record package's records is not a list"
            return
        for i, record in enumerate(records, 1):
            yield _compiled(record, f"{where}, record {i}")
        return
    if "ocid" in document and ("compiledRelease" in document or "releases" in document) and "tag" not in document:
        yield _compiled(document, where)  # a bare record
        return
    if "releases" in document:  # release package
        releases = document["releases"]
        if not isinstance(releases, list):
            yield where, {}, f"{where}: the release package's releases is not a list"
            return
        for i, release in enumerate(releases, 1):
            yield _release(release, f"{where}, release {i}")
        return
    if "ocid" in document:
        yield _release(document, where)
        return
    yield where, {}, f"{where} is not an OCDS release, record or package (it has no ocid, releases or records)"


def _release(release: Any, where: str) -> tuple[str, Mapping[str, Any], str | None]:
    if not isinstance(release, dict):
        return where, {}, f"{where}: a release is a JSON {type(release).__name__}, not an object"
    locator = f"release {_text(release.get('id')) or _text(release.get('ocid')) or 'without id'} ({where})"
    return locator, release, None


def _compiled(record: Any, where: str) -> tuple[str, Mapping[str, Any], str | None]:
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
