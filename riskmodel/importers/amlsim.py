"""IBM AMLSim outputs -> the ``companies``, ``transactions`` and ``labels`` tables.

`AMLSim <https://github.com/IBM/AMLSim>`_ simulates bank accounts that pay each other, some of them in injected
money-laundering patterns, and writes which accounts took part. It makes no businesses: an AMLSim *account* becomes
one ``companies`` row, its transfers ``transactions`` rows and the simulator's truth ``labels`` rows, under the
documented rules below. Every value the source does not give is set by one of these rules, and each rule is also
written to the import warnings (so the manifest), marked ``[assumed]``.

Files are recognised by their header row (any column order; more columns are ignored):

1. **The old sample layout** (``sample/*.tgz`` of the AMLSim repository): ``nodes.csv`` (``nodeid, isFraud,
   init_balance, fraudStep``) and ``transactions.csv`` (``sourceNodeId, targetNodeId, value, time``); ``time`` is
   the simulation step.
2. **The newer converted output** (``outputs/``): ``accounts.csv`` (``ACCOUNT_ID, PRIMARY_CUSTOMER_ID, init_balance,
   start, end, country, business, suspicious, isFraud, modelID``), ``tx.csv`` (``TXN_ID, ACCOUNT_ID,
   COUNTER_PARTY_ACCOUNT_NUM, TXN_SOURCE_TYPE_CODE, tx_count, TXN_AMOUNT_ORIG, start, end``), ``cash_tx.csv``
   (``TXN_ID, ACCOUNT_ID, BRANCH_ID, TXN_SOURCE_TYPE_CODE, tx_count, TXN_AMOUNT_ORIG, RUN_DATE, end``) and
   ``alerts.csv`` (``ALERT_KEY, ALERT_TEXT, ACCOUNT_ID, CUSTOMER_ID, EVENT_DATE, CHECK_NAME, Organization_Type,
   Escalated_To_Case_Investigation``). ``start``/``RUN_DATE`` are steps.
3. **The transaction log** (``tran_id, orig_acct, bene_acct, tx_type, base_amt, tran_timestamp, is_sar,
   alert_id``): one file, no account table; ``tran_timestamp`` is an ISO 8601 time.

Runs
----
The files of one simulation run are read together: for layouts 1 and 2, the files in one directory (at most one
account table, any number of transaction files, alerts); a transaction log (layout 3) is a run of its own, since it
is a whole run's output and two logs in one directory (as in the published samples) are different runs. One import
reads **one run**: account ids are the simulator's row numbers, so two runs share them, and their companies would
merge. Sources that hold more than one run are refused (import each into its own data set; ``prefix`` keeps the
company numbers of runs apart when data sets are combined).

A first, cheap pass over a run's transaction files finds the run's last step (last timestamp for a log), which dates
the labels, and, for a run without an account table, the accounts it names.

Companies (one per account)
---------------------------
* ``company_number`` is ``prefix`` + the account id (option ``prefix``, default ``AMLSIM-``).
* ``company_name`` is ``AMLSim account <id>``: a label for reading, not a name.
* ``company_type`` is ``other``: an AMLSim account has no legal form. The newer layout's ``business`` flag (``B``
  business / ``I`` individual) does not change that: it is not a legal form, and a "business" account is no ltd,
  plc or partnership.
* ``company_status`` is ``active``: the simulator closes no accounts (its ``end`` step is the end of the account's
  activity window, not a closure, so ``date_of_cessation`` stays empty).
* ``date_of_creation`` is the start date (option ``start_date``), or the date of the account's ``start`` step when
  the account table gives one. For a transaction log, it is ``start_date`` when the option is given, else the date
  of the log's first transaction (AMLSim writes step 0 at its base date).
* The other columns (SIC codes, office address) are empty. ``init_balance``, ``country``, ``PRIMARY_CUSTOMER_ID``,
  ``suspicious`` and ``modelID`` have no contract column and are not read.

For a run with an account table, a transfer naming an account that is not in it is set aside (``account 7 is not in
nodes.csv``). A run without one (a transaction log, or transaction files alone) has the accounts its transactions
name: they are written as companies under the source ``<run>#accounts``.

Transactions (two rows per transfer)
------------------------------------
Each transfer gives one row per holder: the payer's row with the amount negative and ``counterparty_id`` the
payee's company number, and the payee's row with the amount positive and ``counterparty_id`` the payer's.

* ``booked_at``: **steps are days**: step N is booked at midnight of ``start_date`` + N days. ``start_date`` is an
  option (a date or ISO text); the default, 2017-01-01, is AMLSim's default base date (its converter dates step N
  as 2017-01-01 + N days). A log's ``tran_timestamp`` is used as given (converted to UTC when it has a zone).
* ``transaction_id`` is ``prefix`` + the file's stem + the record's number (its CSV line number) or, when the layout
  has one, its id (``TXN_ID``, ``tran_id``), + ``-out`` (payer's row) or ``-in`` (payee's row): unique in a run and
  the same on every import.
* ``channel``: the old layout has no type: ``transfer``. Otherwise from ``TXN_SOURCE_TYPE_CODE`` / ``tx_type``:
  TRANSFER, WIRE, CREDIT -> ``transfer``; CASH_IN, CASH_OUT, CASH-IN, CASH-OUT, DEPOSIT -> ``cash``; CHECK ->
  ``cheque``; PAYMENT, DEBIT -> ``other``. Any other type is set aside with the value.
* ``amount``: the simulator's units, taken as given; they are not GBP.
* ``counterparty_country`` is empty: no layout states the counterparty's country.
* A transfer with a missing account id, a missing or unreadable step (a whole number from 0) or timestamp, or an
  amount that is missing, unreadable or not positive is set aside with the reasons. A ``tx.csv`` / ``cash_tx.csv``
  row with ``tx_count`` other than 1, or whose ``end`` step differs from its start, aggregates several transactions
  and cannot be booked as one: set aside.
* ``cash_tx.csv`` rows are cash paid in or drawn out at a branch: one row each, for the account, with
  ``counterparty_id`` empty (a branch is no account). AMLSim writes a cash transaction's *origin* under
  ``ACCOUNT_ID`` and its *destination* under ``BRANCH_ID`` (``CashOutModel`` logs branch -> account, ``CashInModel``
  account -> branch; the published sample shows it: every CASH-OUT row has ``ACCOUNT_ID`` 0 and a varying
  ``BRANCH_ID``, and an account has one branch). So a CASH-IN (deposit, amount positive) is the account in
  ``ACCOUNT_ID`` and a CASH-OUT (withdrawal, amount negative) the account in ``BRANCH_ID``.

Labels (the simulator's truth)
------------------------------
* Layouts 1 and 2: ``isFraud`` true (``1``, ``true``, any case) -> label 1; false (``0``, ``false``) -> label 0.
  The simulator's truth is complete: every account's outcome is known, so every account gets a label. A 0 means
  the simulator put the account in no laundering pattern (not that an investigation cleared it).
* Layout 3: an account's label is 1 when any transaction naming it (as payer or payee) has ``is_sar`` true, else 0.
* ``labelled_on`` is the date of the **last step seen in the run's transactions** (the last timestamp's date for a
  log): the truth is known when the run ends. ``source`` is ``simulation``.
* ``fraudStep`` is not read: in the published samples more than half of the ``isFraud`` accounts have
  ``fraudStep`` -1, so it is no detection date.
* A label that cannot be made while its company can (``isFraud`` blank or not a truth value, ``is_sar`` unreadable
  on a transaction of the account, or a run with no transactions, so no date) is set aside with the reason under
  the source ``<file>#labels``; the company row is still written.
* ``alerts.csv`` says which accounts an alert named: a row ``Escalated_To_Case_Investigation`` YES gives label 1 for
  its ``ACCOUNT_ID``, dated ``EVENT_DATE`` (the alert's date, as the converter wrote it from the 2017-01-01 base
  date), source ``simulation-alert``. A row not escalated is set aside (an alert is not an outcome), as is one whose
  account is not in the run's account table or is ``isFraud`` false there (the two would contradict).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmodel.errors import RiskmodelError
from riskmodel.importers.base import Record, csv_header, csv_rows, parse_date, parse_number

__all__ = ["BASE_DATE", "CHANNELS", "DEFAULT_PREFIX", "LAYOUTS", "read"]

#: AMLSim's default base date: its converter dates step N as this date + N days.
BASE_DATE = dt.date(2017, 1, 1)
#: Company numbers are this + the account id unless the ``prefix`` option says otherwise.
DEFAULT_PREFIX = "AMLSIM-"
#: The file kinds, the header columns that identify each (all must be present), in the order they are tried.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "log": ("tran_id", "orig_acct", "bene_acct", "tx_type", "base_amt", "tran_timestamp", "is_sar"),
    "transactions": ("sourceNodeId", "targetNodeId", "value", "time"),
    "tx": ("TXN_ID", "ACCOUNT_ID", "COUNTER_PARTY_ACCOUNT_NUM", "TXN_SOURCE_TYPE_CODE", "TXN_AMOUNT_ORIG", "start"),
    "cash_tx": ("TXN_ID", "ACCOUNT_ID", "BRANCH_ID", "TXN_SOURCE_TYPE_CODE", "TXN_AMOUNT_ORIG", "RUN_DATE"),
    "alerts": ("ALERT_KEY", "ACCOUNT_ID", "EVENT_DATE", "Escalated_To_Case_Investigation"),
    "nodes": ("nodeid", "isFraud"),
    "accounts": ("ACCOUNT_ID", "isFraud"),
}
_DESCRIBED = {
    "log": "transaction log", "transactions": "old-sample transactions.csv", "tx": "tx.csv", "cash_tx": "cash_tx.csv",
    "alerts": "alerts.csv", "nodes": "old-sample nodes.csv", "accounts": "accounts.csv",
}
_ACCOUNT_TABLES = ("nodes", "accounts")
_STEP_TRANSFERS = ("transactions", "tx", "cash_tx")
#: Transaction types -> contract channel.
CHANNELS: dict[str, str] = {
    "TRANSFER": "transfer", "WIRE": "transfer", "CREDIT": "transfer",
    "CASH_IN": "cash", "CASH_OUT": "cash", "CASH-IN": "cash", "CASH-OUT": "cash", "DEPOSIT": "cash",
    "CHECK": "cheque",
    "PAYMENT": "other", "DEBIT": "other",
}
_CASH_IN = frozenset({"CASH-IN", "CASH_IN"})
_CASH_OUT = frozenset({"CASH-OUT", "CASH_OUT"})
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})
_STEP = re.compile(r"\d+(?:\.0*)?")
_SIMULATION = "simulation"
_ALERT = "simulation-alert"


# ------------------------------------------------------------------------------------------------------ options


def _start_date(value: object) -> tuple[dt.date, bool]:
    """Return the start date and whether the option gave it (a date, a datetime or ISO text; default BASE_DATE)."""
    if value is None or value == "":
        return BASE_DATE, False
    if isinstance(value, dt.datetime):
        return value.date(), True
    if isinstance(value, dt.date):
        return value, True
    try:
        return dt.date.fromisoformat(str(value).strip()), True
    except ValueError:
        raise RiskmodelError(f"start_date {value!r} is not a date (YYYY-MM-DD)", field="start_date",
                             value=str(value)) from None


def _prefix(value: object) -> str:
    if value is None:
        return DEFAULT_PREFIX
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise RiskmodelError(f"prefix {value!r} must be text without spaces", field="prefix", value=str(value))
    return value


# -------------------------------------------------------------------------------------------------------- files


@dataclass
class _Run:
    """The files of one simulation run."""

    name: str
    accounts: tuple[str, Path] | None = None  # (kind, path)
    transfers: list[tuple[str, Path]] = field(default_factory=list)
    alerts: list[Path] = field(default_factory=list)

    @property
    def is_log(self) -> bool:
        return any(kind == "log" for kind, _ in self.transfers)


def _kind(header: list[str]) -> str | None:
    names = set(header)
    return next((kind for kind, needed in LAYOUTS.items() if set(needed) <= names), None)


def _unrecognised(header: list[str]) -> str:
    """Why a header is none of the layouts: the missing columns of the nearest one, or the layouts."""
    if not header:
        return "the file is empty (no header row)"
    names = set(header)
    overlap, kind = max((len(names & set(needed)), kind) for kind, needed in LAYOUTS.items())
    if overlap >= 2:
        missing = [c for c in LAYOUTS[kind] if c not in names]
        return (f"header lacks {', '.join(missing)} (an AMLSim {_DESCRIBED[kind]} has "
                f"{', '.join(LAYOUTS[kind])})")
    return ("header matches no AMLSim layout (expected the columns of "
            + "; ".join(f"{_DESCRIBED[k]}: {', '.join(v)}" for k, v in LAYOUTS.items()) + ")")


def _runs(sources: list[Path]) -> tuple[list[_Run], list[tuple[Path, str]]]:
    """Group the sources into runs (see the module note); also return the files no layout matches."""
    by_dir: dict[Path, _Run] = {}
    logs: list[_Run] = []
    unknown: list[tuple[Path, str]] = []
    for path in sources:
        header = csv_header(path)
        kind = _kind(header)
        if kind is None:
            unknown.append((path, _unrecognised(header)))
            continue
        if kind == "log":
            logs.append(_Run(path.name, transfers=[(kind, path)]))
            continue
        folder = path.resolve().parent
        run = by_dir.setdefault(folder, _Run(folder.name or str(folder)))
        if kind in _ACCOUNT_TABLES:
            if run.accounts is not None:
                raise RiskmodelError(f"run {run.name} has two account tables ({run.accounts[1].name} and "
                                     f"{path.name}); a run has one nodes.csv or accounts.csv", field="source",
                                     paths=[str(run.accounts[1]), str(path)])
            run.accounts = (kind, path)
        elif kind == "alerts":
            run.alerts.append(path)
        else:
            run.transfers.append((kind, path))
    return [*by_dir.values(), *logs], unknown


# ------------------------------------------------------------------------------------------------- first pass


@dataclass
class _Scan:
    """What the first pass over a run's transaction files found."""

    last: dt.date | None = None  # date of the run's last step (or timestamp)
    first: dt.date | None = None  # date of a log's first timestamp
    seen: set[str] = field(default_factory=set)  # account ids named by transfers
    sar: set[str] = field(default_factory=set)  # accounts on an is_sar transaction (logs)
    unsure: set[str] = field(default_factory=set)  # accounts on a transaction whose is_sar is unreadable (logs)


def _step_value(text: str | None) -> int | None:
    """Read a step as written (``12``, ``12.0``); None when blank or not a whole number from 0."""
    if text is None or not _STEP.fullmatch(text):
        return None
    return int(float(text))


def _timestamp(text: str | None) -> dt.datetime | None:
    """Read an ISO 8601 time as given (a zone is converted to UTC and dropped); None when blank or unreadable."""
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp


def _scan(run: _Run, start: dt.date) -> _Scan:
    """Make the first pass: the run's last step (or time), a log's first time and labels, the accounts named."""
    scan = _Scan()
    last_step: int | None = None
    for kind, path in run.transfers:
        columns = _columns(kind)
        for _, row, _ in csv_rows(path):
            if row is None:
                continue
            if kind == "log":
                stamp = _timestamp(row.get("tran_timestamp"))
                if stamp is not None:
                    day = stamp.date()
                    scan.last = day if scan.last is None or day > scan.last else scan.last
                    scan.first = day if scan.first is None or day < scan.first else scan.first
                sar = (row.get("is_sar") or "").lower()
                named = [a for a in (row.get("orig_acct"), row.get("bene_acct")) if a]
                if sar in _TRUE:
                    scan.sar.update(named)
                elif sar not in _FALSE:
                    scan.unsure.update(named)
            else:
                step = _step_value(row.get(columns.step))
                if step is not None and (last_step is None or step > last_step):
                    last_step = step
                if kind == "cash_tx":
                    named = [a for a in (_cash_account(row)[0],) if a]
                else:
                    named = [a for c in (columns.payer, columns.payee) if c and (a := row.get(c))]
            scan.seen.update(named)
    if last_step is not None:
        scan.last = start + dt.timedelta(days=last_step)
    return scan


# --------------------------------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class _Columns:
    """Where a transfer file keeps each value."""

    payer: str | None
    payee: str | None
    amount: str
    step: str
    kind_column: str | None = None
    record_id: str | None = None


def _columns(kind: str) -> _Columns:
    if kind == "transactions":
        return _Columns("sourceNodeId", "targetNodeId", "value", "time")
    if kind == "tx":
        return _Columns("ACCOUNT_ID", "COUNTER_PARTY_ACCOUNT_NUM", "TXN_AMOUNT_ORIG", "start",
                        "TXN_SOURCE_TYPE_CODE", "TXN_ID")
    if kind == "cash_tx":
        return _Columns(None, None, "TXN_AMOUNT_ORIG", "RUN_DATE", "TXN_SOURCE_TYPE_CODE", "TXN_ID")
    return _Columns("orig_acct", "bene_acct", "base_amt", "tran_timestamp", "tx_type", "tran_id")


def _cash_account(row: Mapping[str, str]) -> tuple[str | None, str, int]:
    """Return the account of a cash row, the column it is in and the amount's sign (see the module note)."""
    kind = (row.get("TXN_SOURCE_TYPE_CODE") or "").upper()
    if kind in _CASH_OUT:
        return row.get("BRANCH_ID"), "BRANCH_ID", -1
    return row.get("ACCOUNT_ID"), "ACCOUNT_ID", 1


def _natural(account: str) -> tuple[int, int, str]:
    return (0, int(account), "") if account.isascii() and account.isdigit() else (1, 0, account)


@dataclass
class _Context:
    """One run being read: options, the account table's ids, counts for the warnings."""

    prefix: str
    start: dt.date
    start_given: bool
    warnings: list[str]
    scan: _Scan
    run: _Run
    known: dict[str, bool | None] | None = None  # account table: id -> isFraud (None: no readable truth)
    dropped: set[str] = field(default_factory=set)  # account table ids whose row was set aside
    table_name: str = ""
    booked: dict[int, dt.datetime] = field(default_factory=dict)
    self_transfers: int = 0
    cash_rows: Counter[str] = field(default_factory=Counter)
    labels: Counter[int] = field(default_factory=Counter)
    labels_set_aside: int = 0
    alert_labels: int = 0
    companies: int = 0

    def number(self, account: str) -> str:
        return f"{self.prefix}{account}"

    def company(self, account: str, created: dt.date) -> tuple[str, dict[str, Any]]:
        self.companies += 1
        return "companies", {"company_number": self.number(account), "company_name": f"AMLSim account {account}",
                             "company_type": "other", "company_status": "active", "date_of_creation": created}

    def label(self, account: str, label: int) -> tuple[str, dict[str, Any]]:
        self.labels[label] += 1
        return "labels", {"company_number": self.number(account), "label": label, "labelled_on": self.scan.last,
                          "source": _SIMULATION}

    def step_time(self, step: int) -> dt.datetime:
        if step not in self.booked:
            self.booked[step] = dt.datetime.combine(self.start + dt.timedelta(days=step), dt.time())
        return self.booked[step]

    def check_account(self, account: str | None, role: str, column: str, problems: list[str]) -> None:
        if account is None:
            problems.append(f"no {role} account ({column} is empty)")
        elif self.known is not None and account not in self.known:
            if account in self.dropped:
                problems.append(f"account {account}'s row in {self.table_name} was set aside")
            else:
                problems.append(f"account {account} is not in {self.table_name}")


def _no_label_date(ctx: _Context) -> str:
    return (f"no labelled_on: run {ctx.run.name} has no transaction with a readable step or timestamp, and a "
            "simulation label is dated by the run's last one")


def _truth(text: str | None) -> bool | None:
    word = (text or "").lower()
    return True if word in _TRUE else False if word in _FALSE else None


def _account_table(ctx: _Context, kind: str, path: Path) -> Iterator[Record]:
    """Companies and labels from ``nodes.csv`` / ``accounts.csv``; fills ``ctx.known``."""
    id_column = "nodeid" if kind == "nodes" else "ACCOUNT_ID"
    ctx.known = {}
    ctx.table_name = path.name
    for locator, row, problem in csv_rows(path, ctx.warnings):
        if row is None:
            yield Record(path.name, locator, reason=problem or "unreadable row")
            continue
        account = row.get(id_column)
        problems: list[str] = []
        if account is None:
            problems.append(f"no account id ({id_column} is empty)")
        created = ctx.start
        if kind == "accounts" and row.get("start") is not None:
            step = _step_value(row["start"])
            if step is None:
                problems.append(f"start {row['start']!r} is not a simulation step (a whole number from 0)")
            else:
                created = ctx.start + dt.timedelta(days=step)
        if problems:
            if account is not None:
                ctx.dropped.add(account)
            yield Record(path.name, locator, reason=" | ".join(problems))
            continue
        assert account is not None  # noqa: S101 -- for mypy: an empty id added a problem, skipped above
        truth = _truth(row.get("isFraud"))
        ctx.known[account] = truth
        rows = [ctx.company(account, created)]
        why_not = None
        if truth is None:
            why_not = (f"isFraud {row['isFraud']!r} is neither true (1, true) nor false (0, false)"
                       if row.get("isFraud") else "isFraud is empty")
        elif ctx.scan.last is None:
            why_not = _no_label_date(ctx)
        else:
            rows.append(ctx.label(account, int(truth)))
        yield Record(path.name, locator, rows=tuple(rows))
        if why_not is not None:
            ctx.labels_set_aside += 1
            yield Record(f"{path.name}#labels", locator, reason=why_not)


def _seen_accounts(ctx: _Context) -> Iterator[Record]:
    """Companies (and, for a log, labels) for the accounts a run without an account table names."""
    source = f"{ctx.run.name}#accounts"
    created = ctx.start if ctx.start_given or not ctx.run.is_log else ctx.scan.first
    for account in sorted(ctx.scan.seen, key=_natural):
        locator = f"account {account}"
        if created is None:
            yield Record(source, locator, reason=f"no date_of_creation: {ctx.run.name} has no readable "
                         "tran_timestamp to date the run's start, and no start_date was given")
            continue
        rows = [ctx.company(account, created)]
        why_not = None
        if ctx.run.is_log:
            if ctx.scan.last is None:
                why_not = _no_label_date(ctx)
            elif account in ctx.scan.sar:
                rows.append(ctx.label(account, 1))
            elif account in ctx.scan.unsure:
                why_not = "is_sar is neither true nor false on a transaction of this account, so its outcome is unknown"
            else:
                rows.append(ctx.label(account, 0))
        yield Record(source, locator, rows=tuple(rows))
        if why_not is not None:
            ctx.labels_set_aside += 1
            yield Record(f"{ctx.run.name}#labels", locator, reason=why_not)


def _amount(text: str | None, column: str, problems: list[str]) -> float | None:
    try:
        amount = parse_number(text)
    except ValueError as exc:
        problems.append(f"{column}: {exc}")
        return None
    if amount is None:
        problems.append(f"no amount ({column} is empty)")
    elif amount <= 0:
        problems.append(f"{column} {text!r} is not a positive amount")
        return None
    return amount


def _transfers(ctx: _Context, kind: str, path: Path) -> Iterator[Record]:
    """Two transactions rows per transfer (one per cash row) from a transaction file."""
    cols = _columns(kind)
    stem = path.stem
    for locator, row, problem in csv_rows(path, ctx.warnings):
        if row is None:
            yield Record(path.name, locator, reason=problem or "unreadable row")
            continue
        problems: list[str] = []
        # When
        booked: dt.datetime | None = None
        if kind == "log":
            booked = _timestamp(row.get(cols.step))
            if booked is None:
                problems.append(f"{cols.step} {row[cols.step]!r} is not an ISO 8601 time" if row.get(cols.step)
                                else f"no time ({cols.step} is empty)")
        else:
            step = _step_value(row.get(cols.step))
            if step is None:
                problems.append(f"{cols.step} {row[cols.step]!r} is not a simulation step (a whole number from 0)"
                                if row.get(cols.step) else f"no step ({cols.step} is empty)")
            else:
                booked = ctx.step_time(step)
                end = _step_value(row.get("end")) if row.get("end") is not None else step
                if kind != "transactions" and end != step:
                    problems.append(f"the row spans steps {row[cols.step]} to {row['end']}: an aggregate, not one "
                                    "transaction")
            if kind != "transactions" and row.get("tx_count") not in (None, "1"):
                problems.append(f"tx_count {row['tx_count']!r}: the row aggregates transactions, which cannot be "
                                "booked as one")
        # How
        channel = "transfer"
        kind_text = row.get(cols.kind_column) if cols.kind_column else None
        if cols.kind_column:
            code = (kind_text or "").upper()
            channel = CHANNELS.get(code, "")
            if not kind_text:
                problems.append(f"no transaction type ({cols.kind_column} is empty)")
            elif not channel:
                problems.append(f"{cols.kind_column} {kind_text!r} is not an AMLSim transaction type this importer "
                                f"knows ({', '.join(CHANNELS)})")
            elif kind == "cash_tx" and code not in _CASH_IN | _CASH_OUT:
                problems.append(f"{cols.kind_column} {kind_text!r} in a cash file (CASH-IN or CASH-OUT expected)")
        amount = _amount(row.get(cols.amount), cols.amount, problems)
        record_id = row.get(cols.record_id) if cols.record_id else None
        base = f"{ctx.prefix}{stem}-{record_id if record_id else locator.removeprefix('line ')}"
        # Who
        if kind == "cash_tx":
            account, column, sign = _cash_account(row)
            if (kind_text or "").upper() in _CASH_IN | _CASH_OUT:  # else which column holds the account is unknown
                ctx.check_account(account, "cash", column, problems)
            if problems:
                yield Record(path.name, locator, reason=" | ".join(problems))
                continue
            # For mypy: a missing account or amount added a problem and the row was skipped above.
            assert account is not None  # noqa: S101 -- narrows the type only
            assert amount is not None  # noqa: S101 -- narrows the type only
            ctx.cash_rows["in" if sign > 0 else "out"] += 1
            yield Record(path.name, locator, rows=(("transactions", {
                "transaction_id": f"{base}-{'in' if sign > 0 else 'out'}", "company_number": ctx.number(account),
                "booked_at": booked, "amount": sign * amount, "channel": channel, "counterparty_id": None,
                "counterparty_country": None}),))
            continue
        # For mypy: only cash files have no payer and payee columns, and their rows were handled above.
        assert cols.payer is not None  # noqa: S101 -- narrows the type only
        assert cols.payee is not None  # noqa: S101 -- narrows the type only
        payer, payee = row.get(cols.payer), row.get(cols.payee)
        ctx.check_account(payer, "payer", cols.payer, problems)
        ctx.check_account(payee, "payee", cols.payee, problems)
        if problems:
            yield Record(path.name, locator, reason=" | ".join(problems))
            continue
        # For mypy: a missing payer, payee or amount added a problem and the row was skipped above.
        assert payer is not None  # noqa: S101 -- narrows the type only
        assert payee is not None  # noqa: S101 -- narrows the type only
        assert amount is not None  # noqa: S101 -- narrows the type only
        if payer == payee:
            ctx.self_transfers += 1
        payer_no, payee_no = ctx.number(payer), ctx.number(payee)
        yield Record(path.name, locator, rows=(
            ("transactions", {"transaction_id": f"{base}-out", "company_number": payer_no, "booked_at": booked,
                              "amount": -amount, "channel": channel, "counterparty_id": payee_no,
                              "counterparty_country": None}),
            ("transactions", {"transaction_id": f"{base}-in", "company_number": payee_no, "booked_at": booked,
                              "amount": amount, "channel": channel, "counterparty_id": payer_no,
                              "counterparty_country": None}),
        ))


def _alerts(ctx: _Context, path: Path) -> Iterator[Record]:
    """Labels 1 from the escalated rows of ``alerts.csv``."""
    for locator, row, problem in csv_rows(path, ctx.warnings):
        if row is None:
            yield Record(path.name, locator, reason=problem or "unreadable row")
            continue
        problems: list[str] = []
        account = row.get("ACCOUNT_ID")
        escalated = (row.get("Escalated_To_Case_Investigation") or "").upper()
        if escalated == "NO":
            problems.append("not escalated to a case investigation: an alert is not an outcome")
        elif escalated != "YES":
            problems.append(f"Escalated_To_Case_Investigation {row.get('Escalated_To_Case_Investigation', '')!r} "
                            "is neither YES nor NO")
        try:
            day = parse_date(row.get("EVENT_DATE"))
            if day is None:
                problems.append("no labelled_on (EVENT_DATE is empty)")
        except ValueError as exc:
            day = None
            problems.append(f"EVENT_DATE: {exc}")
        if account is None:
            problems.append("no account id (ACCOUNT_ID is empty)")
        elif ctx.known is not None:
            if account not in ctx.known:
                problems.append(f"account {account} is not in {ctx.table_name}" if account not in ctx.dropped
                                else f"account {account}'s row in {ctx.table_name} was set aside")
            elif ctx.known[account] is False:
                problems.append(f"account {account} is isFraud false in {ctx.table_name}: the alert contradicts it")
        elif account not in ctx.scan.seen:
            problems.append(f"account {account} is in no transaction of run {ctx.run.name}")
        if problems:
            yield Record(path.name, locator, reason=" | ".join(problems))
            continue
        assert account is not None  # noqa: S101 -- for mypy: an empty id added a problem, skipped above
        ctx.alert_labels += 1
        yield Record(path.name, locator, rows=(("labels", {
            "company_number": ctx.number(account), "label": 1, "labelled_on": day, "source": _ALERT}),))


# -------------------------------------------------------------------------------------------------- warnings


def _declare(ctx: _Context) -> None:
    """Write the run's rules ([assumed] values) and notable counts to the warnings, once each."""
    say = ctx.warnings.append
    run = ctx.run
    has_table = run.accounts is not None
    if ctx.companies:
        say(f"amlsim [assumed] companies.company_number = '{ctx.prefix}<account id>' for the {ctx.companies} "
            f"AMLSim accounts of run {run.name}: a simulator account is no business; the prefix keeps runs apart")
        say("amlsim [assumed] companies.company_name = 'AMLSim account <id>': a label for reading, not a name")
        say("amlsim [assumed] companies.company_type = 'other': an AMLSim account has no legal form (accounts.csv's "
            "business flag B/I does not give one)")
        say("amlsim [assumed] companies.company_status = 'active': the simulator closes no accounts")
        if run.is_log and not ctx.start_given:
            created = f"{ctx.scan.first}, the date of the log's first transaction (the run's start)"
        else:
            given = "option start_date" if ctx.start_given else "default: AMLSim's base date"
            created = f"{ctx.start}, the run's start date ({given})"
            if has_table and run.accounts is not None and run.accounts[0] == "accounts":
                created += ", or the date of the account's start step"
        say(f"amlsim [assumed] companies.date_of_creation = {created}; the other company columns are empty")
    if any(kind in _STEP_TRANSFERS for kind, _ in run.transfers):
        given = "option start_date" if ctx.start_given else "default: 2017-01-01, AMLSim's base date"
        say(f"amlsim [assumed] transactions.booked_at: simulation steps are days: step N is booked at midnight of "
            f"{ctx.start} + N days ({given})")
    if run.is_log:
        say("amlsim: transactions.booked_at = tran_timestamp as given (a time with a zone is converted to UTC)")
    if run.transfers:
        say("amlsim [assumed] transactions.amount: the simulator's units, taken as given; they are not GBP")
    if ctx.self_transfers:
        say(f"amlsim: {ctx.self_transfers} transfers have the same account as payer and payee (the simulator writes "
            "them); both rows are kept and net to zero")
    if sum(ctx.cash_rows.values()):
        say(f"amlsim: cash_tx rows are one row each for the account, counterparty empty; the account of a CASH-OUT "
            f"({ctx.cash_rows['out']} rows, amount negative) is read from BRANCH_ID and of a CASH-IN "
            f"({ctx.cash_rows['in']} rows, amount positive) from ACCOUNT_ID, because AMLSim writes a cash "
            "transaction's origin under ACCOUNT_ID and its destination under BRANCH_ID")
    if sum(ctx.labels.values()):
        if run.is_log:
            truth, last, extra = ("is_sar: 1 when any transaction naming the account is a SAR transaction",
                                  "the date of the log's last transaction", "")
        else:
            truth, last = "isFraud", "the date of the run's last step"
            extra = ("; fraudStep is not read (-1 for about half of the isFraud accounts in the published samples, "
                     "so it is no detection date)")
        say(f"amlsim [assumed] labels from the simulator's truth ({truth}), complete for every account: "
            f"{ctx.labels[1]} label 1 and {ctx.labels[0]} label 0 (0: in no laundering pattern, not cleared by an "
            f"investigation); labelled_on = {ctx.scan.last}, {last} (the truth is known when the run ends); "
            f"source 'simulation'{extra}")
    if ctx.labels_set_aside:
        say(f"amlsim: {ctx.labels_set_aside} labels of run {run.name} were set aside (see the quarantine, sources "
            "ending #labels); their companies are written")
    if ctx.alert_labels:
        say(f"amlsim [assumed] labels from alerts.csv: {ctx.alert_labels} escalated alert rows give label 1, "
            "labelled_on = EVENT_DATE as written (the converter dates it from 2017-01-01 whatever start_date is), "
            f"source '{_ALERT}'")
    if not has_table and not run.is_log and run.transfers:
        say(f"amlsim: run {run.name} has no account table (nodes.csv or accounts.csv): its companies are the "
            f"{ctx.companies} accounts its transactions name, and it has no labels (the simulator's truth is in the "
            "account table)")


# ------------------------------------------------------------------------------------------------------- reader


def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
    """Read the files of one AMLSim run (see the module note) into companies, transactions and labels rows.

    Parameters
    ----------
    sources : list of Path
        CSV files of one run, each in one of :data:`LAYOUTS` (a file matching none is set aside whole).
    options : mapping
        ``start_date`` (a date or ISO text: the date of step 0; default 2017-01-01, AMLSim's base date),
        ``prefix`` (text before account ids in company numbers and transaction ids; default ``AMLSIM-``),
        ``warnings`` (a list that receives the rules applied and the encodings).

    Yields
    ------
    Record
        One per CSV data row (an account, a transfer, an alert), one per account a run without an account table
        names, and one per label set aside.

    Raises
    ------
    RiskmodelError
        The sources hold more than one run, a run has two account tables, or an option is not valid.
    """
    warnings: list[str] = options.get("warnings", [])
    start, start_given = _start_date(options.get("start_date"))
    prefix = _prefix(options.get("prefix"))
    runs, unknown = _runs(sources)
    if len(runs) > 1:
        raise RiskmodelError(
            f"the sources hold {len(runs)} AMLSim runs ({', '.join(r.name for r in runs)}); account ids are per run, "
            "so each run must be imported into a data set of its own", field="source", runs=[r.name for r in runs])
    for path, reason in unknown:
        yield Record(path.name, "file", reason=reason)
    for run in runs:
        ctx = _Context(prefix, start, start_given, warnings, _scan(run, start), run)
        if run.accounts is not None:
            yield from _account_table(ctx, *run.accounts)
        else:
            yield from _seen_accounts(ctx)
        for kind, path in run.transfers:
            yield from _transfers(ctx, kind, path)
        for path in run.alerts:
            yield from _alerts(ctx, path)
        _declare(ctx)
