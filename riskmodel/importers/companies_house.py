"""Companies House sources -> the ``companies`` and ``accounts`` tables.

Two readers, each yielding one :class:`~riskmodel.importers.base.Record` per CSV data row (one contract row, or the
reason there is none). The layout of each file is told by its header.

``read_companies`` (format ``ch-companies``) reads

* the **BasicCompanyData** bulk CSV (``CompanyName``, ``CompanyNumber``, ``RegAddress.*``, ``CompanyCategory``,
  ``CompanyStatus``, ``DissolutionDate``, ``IncorporationDate`` as ``dd/mm/yyyy``, ``SICCode.SicText_1..4`` as
  ``56302 - Public houses and bars``); the real header's stray spaces are stripped by ``csv_rows``;
* a **company-profile** CSV with the API's field names flattened (``companies_house_registered_number`` or
  ``company_number``, ``company_name``, ``company_status``, ``company_type``, ``date_of_creation``, ``sic_codes``,
  ``registered_office_address_postcode``, ...), such as the project's ``company_metadata.csv``.

Decisions, all of them refusals to guess:

* Company numbers that lost their leading zeros in a spreadsheet (``1234567``) are zero-padded to 8 digits; that
  restores the number exactly, since every all-digit Companies House number has 8 digits.
* ``company_type``: private limited company -> ``ltd``, public limited company -> ``plc``, and the LLP, limited and
  Scottish partnership categories to their own values; every other category (limited by guarantee, unlimited,
  CIC, charitable incorporated organisation, ...) is ``other``, which is what the contract's ``other`` means. The
  source values typed ``other`` are counted in a warning, so an unexpected spelling shows rather than hides.
* ``company_status``: active (also *Active - Proposal to Strike off*, which the API reports as status ``active``
  with that detail), liquidation, administration (*In Administration*, *Administration Order*), dissolved; the
  rest (receivership, voluntary arrangement, insolvency proceedings, converted/closed, ...) is ``other``, counted
  in a warning the same way. Companies House has no *dormant* status (dormancy is a kind of accounts), so no source
  status is read as ``dormant``.
* ``sic_codes``: the SIC 2007 five-digit codes in the cell, in order, joined with ``;`` (``56302,56101`` and
  ``['56302', '56101']`` both read). ``None Supplied`` means none. Anything else (four-digit SIC 2003 codes such as
  ``7499 - Non-trading company``, which a zero would not turn into the SIC 2007 code) is left out and counted in a
  warning: the row keeps its other codes, since the column is optional.
* ``registered_office_address``: the first two address lines when the source has them; the profile CSV's
  locality is a town, not an address line, so a source with only locality and postcode leaves the address empty.
* A row with no ``date_of_creation`` (or any other required value) is quarantined with the reason: it is never
  guessed. ``date_of_cessation`` is read only from a dissolution/cessation date column; a dissolved company without
  one keeps it empty.

``read_accounts`` (format ``ch-accounts``) reads the iXBRL accounts data as ``stream-read-xbrl`` extracts it from
the Companies House bulk accounts files (one row per company, filing and reporting period), e.g. the project's
``accounts_YYYY.csv``. Column mapping (the contract's table): ``average_number_employees_during_period`` ->
``employees``, ``turnover_gross_operating_revenue`` -> ``turnover``, ``cost_sales`` -> ``cost_of_sales``,
``gross_profit_loss`` -> ``gross_profit``, ``operating_profit_loss`` -> ``operating_profit``, ``cash_bank_in_hand``
-> ``cash``, ``debtors``, ``current_assets``, ``tangible_fixed_assets``, ``creditors_due_within_one_year`` /
``..._after_one_year`` -> ``creditors_within_one_year`` / ``..._after_one_year``,
``net_assets_liabilities_including_pension_asset_liability`` -> ``net_assets``. Decisions:

* ``filed_on`` (required: the date the registrar received the accounts) comes from a ``filed_on`` column when the
  source has one, else from ``zip_url`` when it names a *daily* bulk file (``Accounts_Bulk_Data-YYYY-MM-DD.zip``:
  Companies House publishes one a day, holding the accounts filed that day). The extract's ``date`` column is
  **not** a filing date: ``stream-read-xbrl`` takes it from the member file name
  (``Prod900_0001_12000001_20240131.html``), whose date is the accounts' made-up (balance sheet) date; in the
  project's files it equals ``balance_sheet_date`` on every row. A monthly file gives only the month. Without a
  filing date the row is quarantined, and a warning per file says why.
* ``period_end`` is the row's ``period_end``, or ``balance_sheet_date`` when the row has no period. A row whose
  period ends before the balance sheet date holds the filing's comparative (previous-year) figures: it is not a
  filing of its own (read as one, it would look like accounts filed a year late), so it is quarantined.
* ``period_start`` is the row's ``period_start`` when it is before ``period_end``. A row whose start equals its
  end is a balance-sheet instant, not an accounting period, so the period's start is not given: quarantined.
* ``accounts_type``: ``company_dormant`` true -> ``dormant``. The extract says nothing else about the kind of
  accounts (micro-entity, small, full ...), so every other filing is typed ``other``, and a warning per file says
  so: ``other`` here means *not known to be dormant*, not a kind of accounts.
* Numbers are read with :func:`~riskmodel.importers.base.parse_number`; one that does not parse quarantines the
  row with the value. Note that ``stream-read-xbrl`` fills ``tangible_fixed_assets`` from ``FixedAssets`` first.
* The company number is ``companies_house_registered_number`` (from the accounts), else ``company_id`` (from the
  file name), zero-padded as above.

A row can have several reasons; they are joined with `` | `` as the contract's quarantine joins them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmodel.errors import RiskmodelError
from riskmodel.importers.base import Record, csv_header, csv_rows, parse_date, parse_number

__all__ = ["read_accounts", "read_companies"]

#: Source values (lower case, single spaces) and the contract's company_type; anything else is "other".
_COMPANY_TYPES = {
    "private limited company": "ltd",
    "ltd": "ltd",
    "public limited company": "plc",
    "plc": "plc",
    "limited liability partnership": "llp",
    "llp": "llp",
    "limited partnership": "limited-partnership",
    "limited-partnership": "limited-partnership",
    "scottish partnership": "scottish-partnership",
    "scottish-partnership": "scottish-partnership",
}
#: Source values (lower case, single spaces) and the contract's company_status; anything else is "other".
_COMPANY_STATUSES = {
    "active": "active",
    # Still registered and trading as far as the register knows; the API gives status "active" with this detail.
    "active - proposal to strike off": "active",
    "active-proposal-to-strike-off": "active",
    "liquidation": "liquidation",
    "administration": "administration",
    "in administration": "administration",
    "administration order": "administration",
    "in administration/administrative receiver": "administration",
    "in administration/receiver manager": "administration",
    "dissolved": "dissolved",
}

@dataclass(frozen=True)
class _Layout:
    """The source columns of a company layout, by the contract column they fill."""

    number: tuple[str, ...]
    name: str
    type: str
    status: str
    created: str
    ceased: str
    postcode: str
    address: tuple[str, ...]
    sic: tuple[str, ...]


_BULK = _Layout(
    number=("CompanyNumber",), name="CompanyName", type="CompanyCategory", status="CompanyStatus",
    created="IncorporationDate", ceased="DissolutionDate", postcode="RegAddress.PostCode",
    address=("RegAddress.AddressLine1", "RegAddress.AddressLine2"),
    sic=tuple(f"SICCode.SicText_{i}" for i in range(1, 5)))
_PROFILE = _Layout(
    number=("companies_house_registered_number", "company_number"), name="company_name", type="company_type",
    status="company_status", created="date_of_creation", ceased="date_of_cessation",
    postcode="registered_office_address_postcode",
    address=("registered_office_address_address_line_1", "registered_office_address_address_line_2"),
    sic=("sic_codes",))

#: Accounts columns: contract column <- source column (stream-read-xbrl names).
_AMOUNTS = {
    "employees": "average_number_employees_during_period",
    "turnover": "turnover_gross_operating_revenue",
    "cost_of_sales": "cost_sales",
    "gross_profit": "gross_profit_loss",
    "operating_profit": "operating_profit_loss",
    "cash": "cash_bank_in_hand",
    "debtors": "debtors",
    "current_assets": "current_assets",
    "tangible_fixed_assets": "tangible_fixed_assets",
    "creditors_within_one_year": "creditors_due_within_one_year",
    "creditors_after_one_year": "creditors_due_after_one_year",
    "net_assets": "net_assets_liabilities_including_pension_asset_liability",
}
_DAILY_ZIP = re.compile(r"Accounts_Bulk_Data-(\d{4}-\d{2}-\d{2})\.zip", re.IGNORECASE)
_MONTHLY_ZIP = re.compile(r"Accounts_Monthly_Data-\w+\.zip", re.IGNORECASE)
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
#: Examples listed in a warning that counts source values.
_EXAMPLES = 6


# ---------------------------------------------------------------------------------------------------- helpers


def _company_number(text: str | None) -> str | None:
    """Return a Companies House number as registered: no spaces, upper case, all-digit numbers padded to 8."""
    if not text:
        return None
    number = re.sub(r"\s+", "", text).upper()
    if number.isdigit() and len(number) < 8:
        number = number.zfill(8)  # lost its leading zeros in a spreadsheet
    return number


def _key(text: str) -> str:
    """Return a source value as the vocabularies spell it: lower case, single spaces."""
    return " ".join(text.lower().split())


def _tally(counts: Counter[str]) -> str:
    """List the most common values of a counter as ``'a' (3), 'b' (1)``."""
    shown = ", ".join(f"{value!r} ({n})" for value, n in counts.most_common(_EXAMPLES))
    return shown + (", ..." if len(counts) > _EXAMPLES else "")


class _Row:
    """One source row being mapped: typed reads of its cells, and the problems found on the way."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []

    def text(self, *columns: str) -> str | None:
        """Return the first non-blank cell of ``columns``."""
        return next((self.values[c] for c in columns if self.values.get(c)), None)

    def date(self, column: str) -> dt.date | None:
        """Read a date cell (None when blank; a problem when it does not parse)."""
        try:
            return parse_date(self.values.get(column))
        except ValueError as exc:
            self.problems.append(f"{column}: {exc}")
            return None

    def number(self, column: str) -> float | None:
        """Read a number cell (None when blank; a problem when it does not parse)."""
        try:
            return parse_number(self.values.get(column))
        except ValueError as exc:
            self.problems.append(f"{column}: {exc}")
            return None

    def flag(self, column: str) -> bool | None:
        """Read a true/false cell (None when blank; a problem when it is neither)."""
        value = self.values.get(column)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problems.append(f"{column}: {value!r} is not true or false")
        return None

    def required(self, value: Any, what: str, columns: str | tuple[str, ...]) -> Any:
        """Return ``value``, noting a problem when it is missing (a required contract value is never guessed)."""
        if value is None:
            names = columns if isinstance(columns, str) else " / ".join(columns)
            self.problems.append(f"no {what} ({names} is empty): the contract requires it")
        return value


def _records(sources: list[Path], options: Mapping[str, Any],
             mapper: Callable[[Path, list[str]], Callable[[_Row], tuple[str, dict[str, Any]] | None]],
             finish: Callable[[Path], None]) -> Iterator[Record]:
    """Yield the records of every source: ``mapper(path, header)`` maps a file's rows, ``finish`` warns."""
    warnings: list[str] = options.get("warnings", [])
    for path in sources:
        map_row = mapper(path, csv_header(path))
        for locator, values, problem in csv_rows(path, warnings):
            if values is None:
                yield Record(path.name, locator, reason=problem or "unreadable row")
                continue
            row = _Row(values)
            mapped = map_row(row)
            if row.problems or mapped is None:
                yield Record(path.name, locator, reason=" | ".join(row.problems) or "no row")
            else:
                yield Record(path.name, locator, rows=(mapped,))
        finish(path)


# -------------------------------------------------------------------------------------------------- companies


def _sic_codes(cells: list[str], dropped: Counter[str]) -> str | None:
    """SIC 2007 codes of the cells, in order and once each, joined with ``;`` (None when there are none)."""
    codes: list[str] = []
    for cell in cells:
        if cell.strip().lower() in ("none supplied", "none", "[]"):
            continue
        # A bulk cell is one "CODE - description"; a profile cell a list of codes in any punctuation.
        parts = [cell.split(" - ", 1)[0]] if " - " in cell else re.findall(r"[^\s,;'\"\[\]]+", cell)
        for part in parts:
            part = part.strip()
            if re.fullmatch(r"\d{5}", part):
                if part not in codes:
                    codes.append(part)
            else:
                dropped[cell.strip()] += 1
    return ";".join(codes) or None


def read_companies(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Read Companies House company data (the bulk CSV or a company-profile CSV) into ``companies`` rows.

    Parameters
    ----------
    sources : list of Path
        CSV files; each file's layout is told by its header (see the module note).
    options : mapping
        ``warnings``: a list that receives the import's warnings (encodings, values typed ``other``, SIC entries
        left out).

    Yields
    ------
    Record
        One per CSV data row: a ``companies`` row, or the reason there is none.

    Raises
    ------
    RiskmodelError
        A file whose header is neither layout.
    """
    warnings: list[str] = options.get("warnings", [])
    other_types: Counter[str] = Counter()
    other_statuses: Counter[str] = Counter()
    dropped_sic: Counter[str] = Counter()

    def mapper(path: Path, header: list[str]) -> Callable[[_Row], tuple[str, dict[str, Any]] | None]:
        names = set(header)
        if {"CompanyNumber", "CompanyName"} <= names:
            cols = _BULK
        elif {"company_name", "date_of_creation"} <= names and names & set(_PROFILE.number):
            cols = _PROFILE
        else:
            raise RiskmodelError(
                f"{path.name} is neither a Companies House bulk company CSV (CompanyNumber, CompanyName, ...) nor a "
                "company-profile CSV (companies_house_registered_number or company_number, company_name, "
                f"date_of_creation, ...); its header is: {', '.join(header[:12])}", field="source", path=str(path))

        def map_row(row: _Row) -> tuple[str, dict[str, Any]] | None:
            number = row.required(_company_number(row.text(*cols.number)), "company number", cols.number)
            name = row.required(row.text(cols.name), "company name", cols.name)
            category = row.required(row.text(cols.type), "company type", cols.type)
            status = row.required(row.text(cols.status), "company status", cols.status)
            created = row.date(cols.created)
            if cols.created not in row.values:  # blank (a date that does not parse is a problem already)
                row.required(None, "date of creation", cols.created)
            ceased = row.date(cols.ceased)
            if row.problems:
                return None
            company_type = _COMPANY_TYPES.get(_key(category), "other")
            if company_type == "other" and _key(category) != "other":
                other_types[category] += 1
            company_status = _COMPANY_STATUSES.get(_key(status), "other")
            if company_status == "other" and _key(status) != "other":
                other_statuses[status] += 1
            postcode = row.text(cols.postcode)
            address = ", ".join(v for c in cols.address if (v := row.values.get(c)))
            return "companies", {
                "company_number": number,
                "company_name": name,
                "company_type": company_type,
                "company_status": company_status,
                "date_of_creation": created,
                "date_of_cessation": ceased,
                "sic_codes": _sic_codes([v for c in cols.sic if (v := row.values.get(c))], dropped_sic),
                "registered_office_postcode": " ".join(postcode.upper().split()) if postcode else None,
                "registered_office_address": address or None,
            }

        return map_row

    def finish(path: Path) -> None:
        if other_types:
            warnings.append(f"{path.name}: company_type 'other' for {sum(other_types.values())} rows whose "
                            f"category is none of ltd, plc, llp, limited or Scottish partnership: "
                            f"{_tally(other_types)}")
        if other_statuses:
            warnings.append(f"{path.name}: company_status 'other' for {sum(other_statuses.values())} rows whose "
                            f"status is none of active, liquidation, administration, dissolved: "
                            f"{_tally(other_statuses)}")
        if dropped_sic:
            warnings.append(f"{path.name}: {sum(dropped_sic.values())} SIC entries are not SIC 2007 five-digit "
                            f"codes and were left out of sic_codes: {_tally(dropped_sic)}")
        for counts in (other_types, other_statuses, dropped_sic):
            counts.clear()

    return _records(sources, options, mapper, finish)


# --------------------------------------------------------------------------------------------------- accounts


def _filed_on(row: _Row) -> dt.date | None:
    """Return the date the accounts were received: ``filed_on``, else a daily bulk file's date (module note)."""
    if row.values.get("filed_on"):
        return row.date("filed_on")
    url = row.values.get("zip_url")
    if url and (m := _DAILY_ZIP.search(url)):
        return dt.date.fromisoformat(m[1])
    if url and _MONTHLY_ZIP.search(url):
        row.problems.append("no filing date: zip_url names a monthly bulk file, which gives only the month the "
                            "accounts were filed")
    else:
        row.problems.append("no filing date: no filed_on and no daily bulk-file zip_url (`date` is the balance "
                            "sheet date from the Companies House file name, not the date received)")
    return None


def read_accounts(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Read Companies House iXBRL accounts data (``stream-read-xbrl`` CSV) into ``accounts`` rows.

    Parameters
    ----------
    sources : list of Path
        CSV files with ``stream-read-xbrl``'s columns (see the module note).
    options : mapping
        ``warnings``: a list that receives the import's warnings (encodings, no filing date, no accounts type).

    Yields
    ------
    Record
        One per CSV data row: an ``accounts`` row, or the reasons there is none.

    Raises
    ------
    RiskmodelError
        A file without a company number column or any period column.
    """
    warnings: list[str] = options.get("warnings", [])
    typed_other = Counter[str]()
    no_filing_date = Counter[str]()

    def mapper(path: Path, header: list[str]) -> Callable[[_Row], tuple[str, dict[str, Any]] | None]:
        names = set(header)
        if not (names & {"companies_house_registered_number", "company_id"}
                and names & {"period_end", "balance_sheet_date"}):
            raise RiskmodelError(
                f"{path.name} is not iXBRL accounts data: it needs companies_house_registered_number (or "
                f"company_id) and period_end or balance_sheet_date; its header is: {', '.join(header[:12])}",
                field="source", path=str(path))

        def map_row(row: _Row) -> tuple[str, dict[str, Any]] | None:
            number = row.required(_company_number(row.text("companies_house_registered_number", "company_id")),
                                  "company number", ("companies_house_registered_number", "company_id"))
            balance_sheet = row.date("balance_sheet_date")
            end = row.date("period_end")
            start = row.date("period_start")
            if end is not None and balance_sheet is not None and end < balance_sheet:
                row.problems.append(f"the period ends {end}, before the balance sheet date {balance_sheet} of its "
                                    "accounts: comparative (previous-year) figures, not a filing of their own")
            end = end or balance_sheet
            row.required(end, "period end", ("period_end", "balance_sheet_date"))
            if start is not None and start == end:
                row.problems.append(f"period_start equals period_end ({end}): a balance-sheet instant, not an "
                                    "accounting period, so the period's start is not given")
            elif "period_start" not in row.values:  # blank (a date that does not parse is a problem already)
                row.required(None, "period start", "period_start")
            filed = _filed_on(row)
            if filed is None and any(p.startswith("no filing date") for p in row.problems):
                no_filing_date[path.name] += 1
            dormant = row.flag("company_dormant")
            amounts = {ours: row.number(theirs) for ours, theirs in _AMOUNTS.items()}
            if row.problems:
                return None
            if not dormant:
                typed_other[path.name] += 1
            return "accounts", {
                "company_number": number, "period_start": start, "period_end": end, "filed_on": filed,
                "accounts_type": "dormant" if dormant else "other", **amounts,
            }

        return map_row

    def finish(path: Path) -> None:
        if no_filing_date[path.name]:
            warnings.append(f"{path.name}: {no_filing_date[path.name]} rows have no filing date and were quarantined "
                            "(the `date` column of iXBRL extracts is the balance sheet date taken from the Companies "
                            "House file name; add a filed_on column or the daily bulk file's zip_url)")
        if typed_other[path.name]:
            warnings.append(f"{path.name}: the iXBRL extract gives no accounts type, so each of its "
                            f"{typed_other[path.name]} non-dormant filings is typed 'other' (not known to be dormant; "
                            "micro-entity, small, full ... unknown)")

    return _records(sources, options, mapper, finish)
