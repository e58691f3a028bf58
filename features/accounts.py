"""Features from filed annual accounts (and the sector context of the register).

Every value comes from accounts received by the registrar on or before ``as_of`` (``view.accounts``). A set of
accounts is one accounting period: when a period was filed more than once (amended accounts), the figures come from
the last filing and the lateness from the first (an amendment is not a late filing). The *latest* filing is the
period with the latest ``period_end``; the *previous* one is the period before it. Money is in raw GBP (LightGBM
does not need scaling); missing figures stay missing (micro-entity accounts leave the profit and loss account
empty, so turnover-based features are NaN for them, not zero).

The filing deadline is the statutory one (Companies Act 2006 s.442-443): 9 months after the period end for private
companies, 6 for plcs, a month end mapping to a month end, and for a first period longer than 12 months the later
of 21 (plc 18) months after incorporation and 3 months after the period end. The contract's "9 months after the
period end" is the common case of this rule.

Features
--------
employees_latest
    Average number of employees in the latest accounts (TI UK 2017, revenue against headcount).
turnover_per_employee_latest
    Turnover divided by ``max(employees, 1)`` (TI UK 2017; FATF 2018 front companies).
cash_share_of_current_assets_latest
    Cash at bank and in hand over current assets (FATF cash-intensive businesses; Transcrime MORE 2018 liquidity).
cash_to_turnover_latest
    Cash over turnover (Transcrime MORE 2018 liquidity; UK National Risk Assessment 2020 cash-intensive businesses).
net_assets_latest
    Net assets in GBP (Transcrime MORE 2018 capitalisation and leverage).
turnover_log_growth_since_previous_accounts
    ``log(1 + turnover) - log(1 + previous turnover)`` (FATF 2018, unexplained turnover surges).
current_assets_log_growth_since_previous_accounts
    The same for current assets (FATF 2018; Transcrime MORE 2018 liquidity).
net_assets_collapse_since_previous_accounts
    1 when net assets fell by more than half from a positive value (Insolvency Service, phoenix companies).
days_late_latest_accounts
    Days the latest accounts arrived after the statutory deadline (Companies Act 2006 s.442; TI UK 2017).
latest_accounts_dormant
    1 when the latest accounts are dormant-company accounts (TI UK 2017 dormant shells; Companies Act s.1169).
accounts_filed_count
    Number of accounting periods filed (Companies Act 2006 s.441).
sic_division
    SIC 2007 division (first two digits) of the first SIC code: sector context, a categorical value for peer
    comparison (Scottish Government SOC Strategy 2022 sectors at risk; Transcrime MORE 2018).

Notes
-----
The share of late filings, dormant/trading switches and the time since the last filing are register features
(:mod:`features.register`), not repeated here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features._filing import statutory_deadline
from features.catalogue import feature

if TYPE_CHECKING:
    from features.pit import AsOf

__all__ = [
    "accounts_filed_count",
    "cash_share_of_current_assets_latest",
    "cash_to_turnover_latest",
    "current_assets_log_growth_since_previous_accounts",
    "days_late_latest_accounts",
    "employees_latest",
    "latest_accounts_dormant",
    "net_assets_collapse_since_previous_accounts",
    "net_assets_latest",
    "sic_division",
    "turnover_log_growth_since_previous_accounts",
    "turnover_per_employee_latest",
]

#: A fall of net assets by more than this share between two periods counts as a collapse.
COLLAPSE_SHARE = 0.5
#: Figures carried from the latest period; those in _PREVIOUS also from the period before it.
_VALUES = ("employees", "turnover", "cash", "current_assets", "net_assets")
_PREVIOUS = ("turnover", "current_assets", "net_assets")

_TIMELINE = "Companies Act 2006 s.441-443 (accounts due 9 months after the period end, plc 6)"
_TI_UK = "Transparency International UK, Hiding in Plain Sight (2017), shell-company red flags"
_MORE = ("Transcrime, MORE project (Savona & Riccardi 2018), financial profile of infiltrated companies "
         "(liquidity, capitalisation, leverage)")

def _deadline(start: pd.Series, end: pd.Series, created: pd.Series, public: np.ndarray) -> pd.Series:
    """Statutory filing deadline of each period (see :func:`features._filing.statutory_deadline`)."""
    due = statutory_deadline(start.to_numpy("datetime64[ns]"), end.to_numpy("datetime64[ns]"),
                             created.to_numpy("datetime64[ns]"), np.asarray(public, dtype=bool))
    return pd.Series(due, index=end.index)


def _latest_table(view: AsOf) -> pd.DataFrame:
    """One row per business with filed accounts: its latest period, the period before it and the lateness.

    Columns: the figures of :data:`_VALUES` from the latest period, ``previous_<x>`` for :data:`_PREVIOUS`,
    ``accounts_type``, ``period_end``, ``days_late`` (latest period) and ``periods`` (number of periods filed).
    Computed once per view and shared by every feature of the family.
    """
    return view.memo("accounts.latest", lambda: _compute_latest_table(view))


def _compute_latest_table(view: AsOf) -> pd.DataFrame:
    """Compute :func:`_latest_table` (vectorised: one sort of the filings, then NumPy indexing)."""
    acc = view.accounts
    index = pd.Index([], name="company_number")
    if acc.empty:
        return pd.DataFrame({**{c: pd.Series(dtype="float64", index=index) for c in _VALUES},
                             **{f"previous_{c}": pd.Series(dtype="float64", index=index) for c in _PREVIOUS},
                             "accounts_type": pd.Series(dtype=object, index=index),
                             "period_end": pd.Series(dtype="datetime64[ns]", index=index),
                             "days_late": pd.Series(dtype="float64", index=index),
                             "periods": pd.Series(dtype="float64", index=index)})
    codes, uniques = pd.factorize(acc["company_number"])
    period_end = acc["period_end"].to_numpy()
    filed_on = acc["filed_on"].to_numpy()
    order = np.lexsort((filed_on, period_end, codes))
    codes, period_end, filed_on = codes[order], period_end[order], filed_on[order]
    # A period is one (business, period_end); figures from its last filing, lateness from its first.
    first_of_period = np.r_[True, (codes[1:] != codes[:-1]) | (period_end[1:] != period_end[:-1])]
    last_of_period = np.r_[first_of_period[1:], True]
    rows = order[last_of_period]
    p_codes = codes[last_of_period]
    first_filed = pd.Series(filed_on[first_of_period])
    # Periods are sorted by business then date: the latest is the last of each business's block.
    latest = np.r_[p_codes[1:] != p_codes[:-1], True]
    has_previous = np.r_[False, p_codes[1:] == p_codes[:-1]]
    previous_of_latest = np.flatnonzero(latest) - 1
    previous_ok = has_previous[latest]
    block_start = np.searchsorted(p_codes, p_codes[latest], "left")

    latest_rows = rows[latest]
    l_codes = p_codes[latest]
    comp = view.companies
    created = pd.Series(comp["date_of_creation"].reindex(uniques).to_numpy()[l_codes])
    public = comp["company_type"].reindex(uniques).eq("plc").to_numpy()[l_codes]
    start = pd.Series(acc["period_start"].to_numpy()[latest_rows])
    end = pd.Series(acc["period_end"].to_numpy()[latest_rows])
    deadline = _deadline(start, end, created, public)
    days_late = (first_filed[np.flatnonzero(latest)].reset_index(drop=True) - deadline).dt.days.clip(lower=0)

    columns: dict[str, np.ndarray] = {}
    for c in _VALUES:
        values = acc[c].to_numpy(dtype="float64", na_value=np.nan)
        columns[c] = values[latest_rows]
        if c in _PREVIOUS:
            prev = values[rows[np.maximum(previous_of_latest, 0)]]
            columns[f"previous_{c}"] = np.where(previous_ok, prev, np.nan)
    out = pd.DataFrame(columns, index=pd.Index(uniques[l_codes], name="company_number"))
    out["accounts_type"] = acc["accounts_type"].to_numpy()[latest_rows]
    out["period_end"] = end.to_numpy()
    out["days_late"] = days_late.to_numpy(dtype="float64")
    out["periods"] = (np.flatnonzero(latest) - block_start + 1).astype("float64")
    return out


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` where the denominator is positive, NaN elsewhere."""
    return (num / den.where(den > 0)).astype("float64")


def _log_growth(view: AsOf, column: str) -> pd.Series:
    table = _latest_table(view)
    latest, previous = table[column], table[f"previous_{column}"]
    valid = (latest >= 0) & (previous >= 0)
    return (np.log1p(latest.where(valid)) - np.log1p(previous.where(valid))).astype("float64")


@feature(
    sources=("accounts",),
    rationale="Front and shell companies report few or no staff for the activity they claim; headcount is the "
              "scale against which turnover and cash are judged.",
    reference=f"{_TI_UK} (revenue against headcount); Companies House iXBRL average_number_employees_during_period",
    direction="either",
    reason="The latest accounts filed by {as_of} report {value} employees; {peer_share} of {peer_group} reported "
           "fewer",
)
def employees_latest(view: AsOf) -> pd.Series:
    """Average number of employees in the latest accounts."""
    return _latest_table(view)["employees"]


@feature(
    sources=("accounts",),
    rationale="Turnover far above what the staff could generate suggests income mixed with criminal proceeds or "
              "invoices without real activity.",
    reference=f"{_TI_UK} (revenue against headcount); FATF, Professional Money Laundering (2018), front companies",
    direction="higher-is-riskier",
    reason="The latest accounts filed by {as_of} show £{value} of turnover per employee; {peer_share} of "
           "{peer_group} showed less",
)
def turnover_per_employee_latest(view: AsOf) -> pd.Series:
    """Latest turnover divided by max(employees, 1); NaN when either is missing."""
    latest = _latest_table(view)
    return (latest["turnover"] / latest["employees"].clip(lower=1)).astype("float64")


@feature(
    sources=("accounts",),
    rationale="Laundering through a cash-intensive business leaves unusually high cash balances among its assets.",
    reference=f"FATF and UK National Risk Assessment of Money Laundering (2020), cash-intensive businesses; {_MORE}",
    direction="higher-is-riskier",
    reason="Cash was {value} of current assets in the latest accounts filed by {as_of}; {peer_share} of "
           "{peer_group} held a lower share",
)
def cash_share_of_current_assets_latest(view: AsOf) -> pd.Series:
    """Cash at bank and in hand over current assets in the latest accounts (NaN unless current assets > 0)."""
    latest = _latest_table(view)
    return _ratio(latest["cash"], latest["current_assets"])


@feature(
    sources=("accounts",),
    rationale="Cash piling up out of proportion to sales points to money that did not come from trading.",
    reference=f"{_MORE}; UK National Risk Assessment of Money Laundering (2020), cash-intensive businesses",
    direction="higher-is-riskier",
    reason="Cash was {value} times turnover in the latest accounts filed by {as_of}; {peer_share} of "
           "{peer_group} had a lower ratio",
)
def cash_to_turnover_latest(view: AsOf) -> pd.Series:
    """Cash over turnover in the latest accounts (NaN unless turnover > 0)."""
    latest = _latest_table(view)
    return _ratio(latest["cash"], latest["turnover"])


@feature(
    sources=("accounts",),
    rationale="Infiltrated companies tend to be thinly capitalised and highly leveraged, but large unexplained "
              "equity can also hold proceeds; the model learns the side.",
    reference=_MORE,
    direction="either",
    reason="Net assets were £{value} in the latest accounts filed by {as_of}; {peer_share} of {peer_group} had "
           "less",
)
def net_assets_latest(view: AsOf) -> pd.Series:
    """Net assets (GBP) in the latest accounts."""
    return _latest_table(view)["net_assets"]


@feature(
    sources=("accounts",),
    rationale="A sudden surge in turnover without a matching change in the business is a classic sign of "
              "proceeds being passed off as sales.",
    reference="FATF, Professional Money Laundering (2018), commingling through front companies; UK Financial "
              "Intelligence Unit SAR guidance (turnover inconsistent with the business)",
    direction="higher-is-riskier",
    reason="Turnover changed by a log ratio of {value} between the last two accounts filed by {as_of}; "
           "{peer_share} of {peer_group} grew less",
)
def turnover_log_growth_since_previous_accounts(view: AsOf) -> pd.Series:
    """log(1 + latest turnover) minus log(1 + previous period's turnover); NaN when either is missing."""
    return _log_growth(view, "turnover")


@feature(
    sources=("accounts",),
    rationale="A jump in current assets (cash, stock, debtors) from one year to the next can hold injected "
              "criminal funds.",
    reference=f"FATF, Professional Money Laundering (2018); {_MORE}",
    direction="higher-is-riskier",
    reason="Current assets changed by a log ratio of {value} between the last two accounts filed by {as_of}; "
           "{peer_share} of {peer_group} grew less",
)
def current_assets_log_growth_since_previous_accounts(view: AsOf) -> pd.Series:
    """log(1 + latest current assets) minus log(1 + previous ones); NaN when either is missing or negative."""
    return _log_growth(view, "current_assets")


@feature(
    sources=("accounts",),
    rationale="Net assets collapsing within a year can mean assets stripped before the company is abandoned "
              "(phoenixing, bust-out).",
    reference="Insolvency Service, phoenixism and director disqualification guidance; Transcrime DATACROS "
              "(2018) financial anomaly indicators",
    direction="higher-is-riskier",
    reason="Net assets fell by more than half between the last two accounts filed by {as_of}",
)
def net_assets_collapse_since_previous_accounts(view: AsOf) -> pd.Series:
    """1 when net assets fell by more than 50% from a positive previous value, 0 otherwise, NaN if unknown."""
    table = _latest_table(view)
    latest, previous = table["net_assets"], table["previous_net_assets"]
    known = latest.notna() & (previous > 0)
    return (latest < (1 - COLLAPSE_SHARE) * previous).astype("float64").where(known)


@feature(
    sources=("accounts", "companies"),
    rationale="Businesses used as fronts neglect their statutory filings; late accounts are a common shell "
              "and infiltration red flag.",
    reference=f"{_TIMELINE}; {_TI_UK}",
    direction="higher-is-riskier",
    reason="The latest accounts filed by {as_of} arrived {value} days after the statutory deadline; {peer_share} of "
           "{peer_group} were less late",
)
def days_late_latest_accounts(view: AsOf) -> pd.Series:
    """Days between the statutory deadline and the first filing of the latest period (0 when on time)."""
    return _latest_table(view)["days_late"]


@feature(
    sources=("accounts",),
    rationale="Dormant companies are kept ready as shells, and their accounts disclose nothing about "
              "the activity behind them.",
    reference=f"{_TI_UK}; Companies Act 2006 s.1169 (dormant companies)",
    direction="higher-is-riskier",
    reason="The latest accounts filed by {as_of} were dormant-company accounts",
)
def latest_accounts_dormant(view: AsOf) -> pd.Series:
    """1 when the latest accounts are of type dormant, 0 otherwise."""
    return (_latest_table(view)["accounts_type"] == "dormant").astype("float64")


@feature(
    sources=("accounts",),
    rationale="Few filings mark a young or newly activated company; many mark an established trading record. "
              "Context for the other accounts features.",
    reference=_TIMELINE,
    direction="either",
    reason="{value} sets of accounts had been filed by {as_of}; {peer_share} of {peer_group} had filed fewer",
    zero_when_absent=True,
)
def accounts_filed_count(view: AsOf) -> pd.Series:
    """Count the distinct accounting periods filed by as_of."""
    return _latest_table(view)["periods"]


@feature(
    sources=("companies",),
    rationale="Sector context: organised crime favours pubs, hospitality, construction, waste, security, taxis "
              "and property, and every financial ratio means something different by sector (categorical, for "
              "peer groups).",
    reference="Scottish Government, Serious Organised Crime Strategy (2022), sectors at risk; Transcrime, MORE "
              "project (2018), sectors of infiltrated companies; ONS, UK SIC 2007 divisions",
    direction="either",
    reason="The business's first SIC code on {as_of} is in division {value}",
)
def sic_division(view: AsOf) -> pd.Series:
    """SIC 2007 division (first two digits of the first SIC code) as a float; NaN when no valid code."""
    comp = view.companies
    # Parse each distinct text once: "56302", "56302;56101" or "56302 - Public houses and bars"; a 4-digit
    # code is a 5-digit one that lost its leading zero in a spreadsheet.
    codes, texts = pd.factorize(comp["sic_codes"])
    first = pd.Series(texts, dtype="string").str.extract(r"^\s*(\d{4,5})(?!\d)", expand=False)
    divisions = pd.to_numeric(first.str.zfill(5).str[:2], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    values = np.where(codes >= 0, divisions[np.maximum(codes, 0)] if len(divisions) else np.nan, np.nan)
    return pd.Series(values, index=comp.index, name="sic_division").dropna()
