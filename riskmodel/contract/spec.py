"""The input data contract, as data.

This module is the single source of truth for the tables riskmodel reads (see ``docs/data-contract.md`` for the
same contract in prose). The pandera schemas, the loader, the documentation test and the hypothesis strategies are
all derived from :data:`TABLES`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MAX_DATE",
    "MIN_DATE",
    "TABLES",
    "ColumnSpec",
    "DType",
    "DateOrder",
    "TableSpec",
    "table_spec",
]

#: Earliest date accepted anywhere: older dates are typing errors, not history.
MIN_DATE = dt.date(1800, 1, 1)
#: Latest date pandas' nanosecond timestamps can hold; sentinels such as 9999-12-31 are rejected, not guessed at.
MAX_DATE = dt.date(2261, 12, 31)


class DType(StrEnum):
    """Logical column types of the contract."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Column name, exactly as in files.
    dtype : DType
        Logical type.
    nullable : bool
        Whether the column may be empty (``?`` in the contract).
    allowed : tuple of str, optional
        Allowed values of an enumerated column.
    non_negative : bool
        Negative values are impossible (counts, headcount, turnover, contract values).
    event : bool
        A date on which something happened; it cannot lie after the data set's extract date.
    snapshot : bool
        Holds the state at extraction, not at an event date; point-in-time features must not read it as history.
    protected : bool
        A protected characteristic (or direct proxy): carried for completeness, never a model feature.
    description : str
        What the column means.
    """

    name: str
    dtype: DType
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    non_negative: bool = False
    event: bool = False
    snapshot: bool = False
    protected: bool = False
    description: str = ""


@dataclass(frozen=True)
class DateOrder:
    """A row rule: ``later`` may not be before ``earlier`` when both are present.

    Parameters
    ----------
    earlier, later : str
        Column names.
    message : str
        What breaking the rule means, in a user's words.
    """

    earlier: str
    later: str
    message: str

    @property
    def name(self) -> str:
        """Rule identifier used in problem reports."""
        return f"{self.later}-not-before-{self.earlier}"


@dataclass(frozen=True)
class TableSpec:
    """One contract table.

    Parameters
    ----------
    name : str
        Table name; files are ``NAME.csv`` or ``NAME.parquet``.
    columns : tuple of ColumnSpec
        Contract columns in contract order.
    key : tuple of str
        Columns that identify a row; rows sharing a key with different content are all quarantined.
    required : bool
        The table must be present in every data set.
    required_for : tuple of str
        Jobs that need the table (``labels`` is needed to train, not to score).
    min_rows : int
        Fewer rows than this rejects the table (a register with no businesses cannot be scored).
    date_orders : tuple of DateOrder
        Row rules between date columns.
    description : str
        What one row is.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    required: bool = True
    required_for: tuple[str, ...] = ("score", "train")
    min_rows: int = 0
    date_orders: tuple[DateOrder, ...] = ()
    description: str = ""

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Contract column names in order."""
        return tuple(c.name for c in self.columns)

    @property
    def snapshot_columns(self) -> tuple[str, ...]:
        """Columns holding extract-time state, not history."""
        return tuple(c.name for c in self.columns if c.snapshot)

    @property
    def event_date_columns(self) -> tuple[str, ...]:
        """Date columns recording events (never after the extract date)."""
        return tuple(c.name for c in self.columns if c.event)


def _c(name: str, dtype: str, **kw: object) -> ColumnSpec:
    """Build a column spec; ``str?`` style types mark nullable columns (as in the contract's own notation)."""
    nullable = dtype.endswith("?")
    return ColumnSpec(name=name, dtype=DType(dtype.rstrip("?")), nullable=nullable, **kw)  # type: ignore[arg-type]


_COMPANY_TYPES = ("ltd", "plc", "llp", "limited-partnership", "scottish-partnership", "unincorporated", "other")
_COMPANY_STATUSES = ("active", "dormant", "liquidation", "administration", "dissolved", "other")
_OFFICER_ROLES = ("director", "secretary", "llp-member", "corporate-director", "other")
_OWNER_KINDS = ("individual", "corporate", "legal-person", "unknown")
_OWNERSHIP_BANDS = ("25-50", "50-75", "75-100")
_ACCOUNTS_TYPES = ("micro-entity", "small", "abridged", "full", "dormant", "group", "other")
_LICENCE_TYPES = (
    "premises-alcohol",
    "late-hours-catering",
    "taxi-operator",
    "private-hire-operator",
    "second-hand-dealer",
    "metal-dealer",
    "public-entertainment",
    "street-trader",
    "hmo",
    "gambling-premises",
    "waste-carrier",
    "security-contractor",
    "other",
)
_LICENCE_STATUSES = ("pending", "granted", "refused", "revoked", "suspended", "surrendered", "expired")
_PROCUREMENT_METHODS = ("open", "selective", "limited", "direct")
_MAIN_CATEGORIES = ("goods", "works", "services")
_CHANNELS = ("cash", "transfer", "card", "cheque", "other")
_ENTITY_KINDS = ("person", "company")

COMPANIES = TableSpec(
    name="companies",
    description="One row per business: the register, modelled on the Companies House company profile.",
    key=("company_number",),
    min_rows=1,
    columns=(
        _c("company_number", "str", description="Unique key of the business (Companies House or authority id)."),
        _c("company_name", "str", description="Registered or trading name."),
        _c("company_type", "str", allowed=_COMPANY_TYPES, description="Legal form."),
        _c("company_status", "str", allowed=_COMPANY_STATUSES, snapshot=True, description="Status at extraction."),
        _c("date_of_creation", "date", event=True, description="Incorporation or start of trading."),
        _c("date_of_cessation", "date?", event=True, description="Dissolution or end of trading."),
        _c("sic_codes", "str?", description="SIC 2007 five-digit codes separated by ';'."),
        _c("registered_office_postcode", "str?", snapshot=True, description="UK postcode at extraction."),
        _c("registered_office_address", "str?", snapshot=True, description="First address line(s) at extraction."),
    ),
    date_orders=(DateOrder("date_of_creation", "date_of_cessation", "the business ceased before it was created"),),
)

OFFICERS = TableSpec(
    name="officers",
    description="One row per appointment of an officer to a business.",
    key=("company_number", "officer_id", "officer_role", "appointed_on"),
    columns=(
        _c("company_number", "str", description="Business."),
        _c("officer_id", "str", description="Stable id of the person or corporate officer across businesses."),
        _c("officer_name", "str", description="Name of the officer."),
        _c("officer_role", "str", allowed=_OFFICER_ROLES, description="Role in the business."),
        _c("appointed_on", "date", event=True, description="Start of the appointment."),
        _c("resigned_on", "date?", event=True, description="End of the appointment."),
        _c("birth_year", "int?", protected=True, description="Year of birth (age is protected)."),
        _c("service_address_postcode", "str?", description="Postcode of the service address."),
        _c("country_of_residence", "str?", description="Country of residence."),
        _c("nationality", "str?", protected=True, description="Nationality (protected, never a feature)."),
    ),
    date_orders=(DateOrder("appointed_on", "resigned_on", "the officer resigned before being appointed"),),
)

OWNERSHIP = TableSpec(
    name="ownership",
    description="One row per person with significant control (PSC register, Open Ownership BODS).",
    key=("company_number", "owner_id", "notified_on"),
    columns=(
        _c("company_number", "str", description="Business controlled."),
        _c("owner_id", "str", description="Stable id of the owner; may equal an officer_id or a company_number."),
        _c("owner_name", "str", description="Name of the owner."),
        _c("owner_kind", "str", allowed=_OWNER_KINDS, description="Kind of owner; unknown = no PSC identified."),
        _c("ownership_band", "str?", allowed=_OWNERSHIP_BANDS, description="Share band in percent."),
        _c("owner_jurisdiction", "str?", description="ISO 3166 alpha-2 of registration or residence."),
        _c("notified_on", "date", event=True, description="When control was notified."),
        _c("ceased_on", "date?", event=True, description="When control ended."),
    ),
    date_orders=(DateOrder("notified_on", "ceased_on", "control ceased before it was notified"),),
)

ACCOUNTS = TableSpec(
    name="accounts",
    description="One row per filed set of annual accounts (Companies House iXBRL field names).",
    key=("company_number", "period_end", "filed_on"),
    columns=(
        _c("company_number", "str", description="Business."),
        _c("period_start", "date", event=True, description="First day of the accounting period."),
        _c("period_end", "date", event=True, description="Balance sheet date."),
        _c("filed_on", "date", event=True, description="Date received by the registrar."),
        _c("accounts_type", "str", allowed=_ACCOUNTS_TYPES, description="Kind of accounts filed."),
        _c("employees", "float?", non_negative=True, description="Average number of employees."),
        _c("turnover", "float?", non_negative=True, description="Turnover (GBP)."),
        _c("cost_of_sales", "float?", description="Cost of sales (GBP)."),
        _c("gross_profit", "float?", description="Gross profit (GBP)."),
        _c("operating_profit", "float?", description="Operating profit (GBP)."),
        _c("cash", "float?", description="Cash at bank and in hand (GBP)."),
        _c("debtors", "float?", description="Debtors (GBP)."),
        _c("current_assets", "float?", description="Current assets (GBP)."),
        _c("tangible_fixed_assets", "float?", description="Tangible fixed assets (GBP)."),
        _c("creditors_within_one_year", "float?", description="Creditors due within one year (GBP)."),
        _c("creditors_after_one_year", "float?", description="Creditors due after one year (GBP)."),
        _c("net_assets", "float?", description="Net assets (GBP)."),
    ),
    date_orders=(
        DateOrder("period_start", "period_end", "the accounting period ends before it starts"),
        DateOrder("period_end", "filed_on", "the accounts were filed before the period they cover ended"),
    ),
)

LICENCES = TableSpec(
    name="licences",
    description="One row per licence application (licensing board and local authority registers).",
    key=("licence_id",),
    columns=(
        _c("licence_id", "str", description="Unique id of the application."),
        _c("authority", "str", description="Licensing board, council or regulator."),
        _c("licence_type", "str", allowed=_LICENCE_TYPES, description="Kind of licence."),
        _c("holder_company_number", "str?", description="Business holding the licence, when known."),
        _c("holder_name", "str", description="Name of the holder."),
        _c("premises_postcode", "str?", description="Postcode of the premises."),
        _c("applied_on", "date", event=True, description="Date of application."),
        _c("decided_on", "date?", event=True, description="Date of decision."),
        _c("expires_on", "date?", description="Expiry date (may lie in the future)."),
        _c("status", "str", allowed=_LICENCE_STATUSES, snapshot=True, description="Status at extraction."),
        _c("status_date", "date?", event=True, description="When the current status took effect."),
        _c("police_objection", "bool", description="The chief constable objected or made an adverse representation."),
        _c("objections", "int", non_negative=True, description="Objections and representations received."),
    ),
    date_orders=(
        DateOrder("applied_on", "decided_on", "the application was decided before it was made"),
        DateOrder("applied_on", "status_date", "the status took effect before the application was made"),
        DateOrder("applied_on", "expires_on", "the licence expires before it was applied for"),
    ),
)

CONTRACTS = TableSpec(
    name="contracts",
    description="One row per award and supplier (a flattening of OCDS releases).",
    key=("ocid", "award_id", "supplier_company_number", "supplier_name"),
    columns=(
        _c("ocid", "str", description="OCDS contracting process id."),
        _c("award_id", "str", description="Award id within the process."),
        _c("buyer_id", "str", description="Buyer's id."),
        _c("buyer_name", "str", description="Buyer's name."),
        _c("supplier_company_number", "str?", description="Supplier's business, when identified."),
        _c("supplier_name", "str", description="Supplier's name."),
        _c("procurement_method", "str", allowed=_PROCUREMENT_METHODS, description="OCDS procurement method."),
        _c("main_category", "str?", allowed=_MAIN_CATEGORIES, description="OCDS main procurement category."),
        _c("cpv", "str?", description="CPV code."),
        _c("tender_published_on", "date?", event=True, description="Tender notice date."),
        _c("tender_deadline", "date?", description="Submission deadline."),
        _c("award_date", "date", event=True, description="Date of award."),
        _c("number_of_tenderers", "int?", non_negative=True, description="Bids received."),
        _c("estimated_value", "float?", non_negative=True, description="Tender value (GBP)."),
        _c("award_value", "float", non_negative=True, description="Award value (GBP)."),
        _c("final_value", "float?", non_negative=True, description="Value after modifications (GBP)."),
        _c("modifications", "int?", non_negative=True, description="Number of contract amendments."),
        _c("contract_start", "date?", description="Start of the contract period."),
        _c("contract_end", "date?", description="End of the contract period."),
    ),
    date_orders=(
        DateOrder("tender_published_on", "tender_deadline", "the tender deadline is before the tender was published"),
        DateOrder("tender_published_on", "award_date", "the contract was awarded before the tender was published"),
        DateOrder("contract_start", "contract_end", "the contract ends before it starts"),
    ),
)

LABELS = TableSpec(
    name="labels",
    description="Known outcomes; positive-unlabelled: a business with no row is unknown, not clean.",
    key=("company_number", "labelled_on", "source"),
    required_for=("train",),
    columns=(
        _c("company_number", "str", description="Business."),
        _c("label", "int", allowed=("0", "1"), description="1 = infiltrated or used by an OCG; 0 = found clean."),
        _c("labelled_on", "date", event=True, description="When the outcome became known."),
        _c("source", "str", description="Where the outcome came from (investigation, confiscation, ...)."),
    ),
)

TRANSACTIONS = TableSpec(
    name="transactions",
    description="Bank transactions of the business's accounts.",
    key=("transaction_id",),
    required=False,
    required_for=(),
    columns=(
        _c("transaction_id", "str", description="Unique id."),
        _c("company_number", "str", description="Account holder."),
        _c("booked_at", "datetime", event=True, description="Booking time."),
        _c("amount", "float", description="Signed amount in GBP: positive in, negative out."),
        _c("channel", "str", allowed=_CHANNELS, description="Payment channel."),
        _c("counterparty_id", "str?", description="Opaque account id, or a company_number."),
        _c("counterparty_country", "str?", description="ISO alpha-2 of the counterparty."),
    ),
)

WATCHLIST = TableSpec(
    name="watchlist",
    description="Sanctions, debarment and adverse lists to screen businesses, officers and owners against.",
    key=("entry_id",),
    required=False,
    required_for=(),
    columns=(
        _c("entry_id", "str", description="Unique id."),
        _c("name", "str", description="Listed name."),
        _c("entity_kind", "str", allowed=_ENTITY_KINDS, description="Person or company."),
        _c("country", "str?", description="ISO alpha-2 or country name."),
        _c("list_name", "str", description="Source list, e.g. world-bank-debarment."),
        _c("listed_on", "date?", event=True, description="Date listed."),
        # Not an event: debarments carry "ineligible until" dates in the future.
        _c("delisted_on", "date?", description="Date delisted, or the end of a fixed-term debarment."),
        _c("reason", "str?", description="Reason given by the list."),
    ),
    date_orders=(DateOrder("listed_on", "delisted_on", "the entry was delisted before it was listed"),),
)

#: Every contract table by name, required tables first, in contract order.
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (COMPANIES, OFFICERS, OWNERSHIP, ACCOUNTS, LICENCES, CONTRACTS, LABELS, TRANSACTIONS, WATCHLIST)
}


def table_spec(name: str) -> TableSpec:
    """Return the spec of table ``name``.

    Raises
    ------
    KeyError
        If ``name`` is not a contract table.
    """
    return TABLES[name]
