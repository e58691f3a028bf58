"""Bank transaction features: money-laundering typologies in the business's own accounts (``transactions``).

Every feature looks at the 12 months up to the end of ``as_of`` (transactions booked on or after the same day a
year earlier; e.g. 2022-07-01 to 2023-06-30 for ``as_of`` 2023-06-30). Bank data are optional and held for few
businesses, so missing stays missing:

- when the data set has no ``transactions`` table, every feature is NaN for every business;
- a business with no transaction up to ``as_of`` is not covered by the bank data: NaN, not zero (its account is
  unseen, not empty);
- a covered business with no transaction in the window gets 0 for the counts and NaN for the shares (a share of
  nothing is undefined).

The window is turned into arrays once per view (kept in a weak cache keyed by the view object, so it lives as
long as the view does) and shared by the features; views never change, so the features stay pure functions.

Features
--------
cash_share_of_inflows_last_12m
    Cash credits / all credits, by value (cash-intensive businesses typology).
round_amount_share_of_inflows_over_1000_last_12m
    Share of credits of GBP 1,000 or more that are exact multiples of GBP 100. Only inflows: outgoing rent,
    salaries, loan repayments and owners' drawings are routinely round, while the typology concerns round sums
    paid in (round-sum cash deposits).
cash_deposits_9000_to_10000_last_12m
    Number of cash credits of at least GBP 9,000 and under GBP 10,000 (structuring just below a round
    GBP 10,000 threshold). The UK has no currency transaction report threshold (unlike the US $10,000 CTR): banks
    monitor cash with internal thresholds; GBP 10,000 is the UK border cash declaration threshold, and the Money
    Laundering Regulations 2017 (reg. 14) define high value dealers by cash payments of EUR 10,000 or more, which
    they must subject to customer due diligence. Structurers are documented to keep deposits just below such
    round figures (FATF structuring / "smurfing" indicators).
max_distinct_payers_in_7_days_last_12m
    Largest number of distinct identified payers (``counterparty_id``) crediting the account within any 7
    consecutive days (fan-in through money mules; FATF Professional Money Laundering 2018; AMLSim fan-in).
share_of_inflows_paid_out_within_3_days_last_12m
    Share of inflow value that left the account within 3 days (72 hours) of arriving: pass-through or funnel
    account (FATF Professional Money Laundering 2018; FinCEN funnel accounts). Computed first in, first out:
    money leaves in the order it arrived, and outflows larger than everything received so far in the window are
    paid from the unseen opening balance and match nothing. Credits in the last 3 days before ``as_of`` have a
    truncated follow-up. Businesses whose flows are steady and whose balance stays low (some retailers) also score
    high: it is a signal to combine, not a finding.
share_of_value_with_high_risk_jurisdictions_last_12m
    Share of transaction value (in and out, absolute) with a counterparty in a high-risk jurisdiction, as
    defined by :func:`features.jurisdictions.is_high_risk` (FATF call-for-action and increased-monitoring lists,
    mirrored in the UK by MLR 2017 reg. 33 and Schedule 3ZA; EU non-cooperative tax list; secrecy jurisdictions).
    The lists are current ones, not the lists in force at ``as_of``.
transactions_last_12m
    Number of transactions (activity level; context for the shares above).
inflow_value_last_12m
    Money paid in (GBP): the volume to set against the trade and size of the business (the model learns the
    comparison; the reason gives the business's place among its peers).
outflow_to_inflow_value_ratio_last_12m
    Money paid out over money paid in, by value (funnel and pass-through accounts pay out about what they take in;
    FinCEN FIN-2014-A005). Undefined without credits in the window.

References
----------
Cash-intensive businesses: FATF/MENAFATF (2015), *Money Laundering through the Physical Transportation of Cash*;
HM Treasury and Home Office, *UK National Risk Assessment of Money Laundering and Terrorist Financing* (2017,
2020); FFIEC, *BSA/AML Examination Manual*, cash-intensive businesses. Structuring and round sums: FATF
typologies and bank red-flag indicators. Fan-in and pass-through: FATF (2018), *Professional Money Laundering*;
FinCEN Advisory FIN-2014-A005 (funnel accounts); IBM AMLSim (Weber et al. 2018, *Scalable Graph Learning for
Anti-Money Laundering: A First Look*), fan-in typology. Jurisdictions: see :mod:`features.jurisdictions` (FATF,
EU and Tax Justice Network lists with their dates). The Money Laundering, Terrorist
Financing and Transfer of Funds (Information on the Payer) Regulations 2017 (UK), reg. 14, reg. 33 and
Schedule 3ZA.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import empty_feature, feature
from features.jurisdictions import is_high_risk
from features.pit import AsOf

__all__ = [
    "cash_deposits_9000_to_10000_last_12m",
    "cash_share_of_inflows_last_12m",
    "max_distinct_payers_in_7_days_last_12m",
    "round_amount_share_of_inflows_over_1000_last_12m",
    "share_of_inflows_paid_out_within_3_days_last_12m",
    "share_of_value_with_high_risk_jurisdictions_last_12m",
    "transactions_last_12m",
    "inflow_value_last_12m",
    "outflow_to_inflow_value_ratio_last_12m",
]

#: Look-back window of every feature, ending with the as-of day.
WINDOW = pd.DateOffset(months=12)
#: Structuring band: cash deposits at least this and under ``STRUCTURING_CEILING`` (GBP).
STRUCTURING_FLOOR = 9_000.0
STRUCTURING_CEILING = 10_000.0
#: Credits of at least this amount are tested for roundness (GBP); smaller round sums are common and harmless.
ROUND_MIN_GBP = 1_000.0
#: Round means an exact multiple of this many pence (GBP 100).
ROUND_UNIT_PENCE = 10_000
#: Fan-in window (calendar days, the as-of day included).
FAN_IN_DAYS = 7
#: Pass-through horizon.
PASS_THROUGH = pd.Timedelta(days=3)

_MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class _Window:
    """The window's transactions as arrays, businesses as integer codes into ``covered`` (shared by the features)."""

    covered: pd.Index  # businesses with any transaction up to as_of
    code: np.ndarray  # int64 code of each row's business
    ms: np.ndarray  # int64 milliseconds since the start of the window
    amount: np.ndarray  # float64, signed
    cash: np.ndarray  # bool, channel == cash
    payer: pd.Series  # counterparty_id (object)
    country: pd.Series  # counterparty_country (object)

    def per_business(self, values: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``values`` (or count of rows) per covered business, over rows where ``mask`` holds."""
        code = self.code if mask is None else self.code[mask]
        weights = None if values is None else (values if mask is None else values[mask])
        return np.bincount(code, weights=weights, minlength=len(self.covered)).astype("float64")

    def series(self, values: np.ndarray, keep: np.ndarray | None = None) -> pd.Series:
        """Return a per-business array as a Series on ``covered`` (only where ``keep`` holds)."""
        out = pd.Series(values, index=self.covered, dtype="float64")
        return out if keep is None else out[keep]


_CACHE: weakref.WeakKeyDictionary[AsOf, _Window | None] = weakref.WeakKeyDictionary()


def _window(view: AsOf) -> _Window | None:
    """Transactions of the 12 months up to the end of as_of, or None when no business is covered."""
    if view in _CACHE:
        return _CACHE[view]
    result: _Window | None = None
    if view.has("transactions") and not view.transactions.empty:
        tx = view.transactions
        codes, uniques = pd.factorize(tx["company_number"])
        start = view.t_end - WINDOW
        inside = (tx["booked_at"] >= start).to_numpy()
        win = tx[inside]
        ms = ((win["booked_at"] - start) // pd.Timedelta(milliseconds=1)).to_numpy(dtype="int64")
        result = _Window(covered=pd.Index(uniques, name="company_number"), code=codes[inside].astype("int64"),
                         ms=ms, amount=win["amount"].to_numpy(dtype="float64"),
                         cash=win["channel"].eq("cash").to_numpy(dtype=bool),
                         payer=win["counterparty_id"].reset_index(drop=True),
                         country=win["counterparty_country"].reset_index(drop=True))
    _CACHE[view] = result
    return result


def _share(part: np.ndarray, whole: np.ndarray, win: _Window) -> pd.Series:
    """Divide part by whole per covered business, leaving out businesses whose whole is 0 (undefined)."""
    # bincount of an empty selection is int64 even with weights: divide in float64 always.
    part, whole = np.asarray(part, dtype="float64"), np.asarray(whole, dtype="float64")
    keep = whole > 0
    return win.series(np.divide(part, whole, out=np.zeros_like(part), where=keep), keep)


@feature(
    sources=("transactions",),
    rationale="Cash is the easiest way to mix criminal proceeds with takings, so cash-intensive inflows give a "
              "business the capacity to launder.",
    reference="FATF typologies on cash-intensive businesses (FATF/MENAFATF 2015, physical transportation of cash); "
              "UK National Risk Assessment of Money Laundering and Terrorist Financing (2017, 2020)",
    direction="higher-is-riskier",
    reason="{value} of the money paid into the business's account in the 12 months to {as_of} was cash; "
           "{peer_share} of {peer_group} had a lower share",
)
def cash_share_of_inflows_last_12m(view: AsOf) -> pd.Series:
    """Cash credits over all credits, by value, in the 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    credit = win.amount > 0
    return _share(win.per_business(win.amount, credit & win.cash), win.per_business(win.amount, credit), win)


@feature(
    sources=("transactions",),
    rationale="Criminal cash is paid in as round sums, unlike trading receipts, which carry prices and VAT.",
    reference="FATF cash-intensive businesses and structuring indicators (round-sum deposits)",
    direction="higher-is-riskier",
    reason="{value} of the payments of £1,000 or more into the business's account in the 12 months to {as_of} "
           "were round hundreds of pounds; {peer_share} of {peer_group} had a lower share",
)
def round_amount_share_of_inflows_over_1000_last_12m(view: AsOf) -> pd.Series:
    """Share of credits of GBP 1,000 or more that are exact multiples of GBP 100, in the 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    large = win.amount >= ROUND_MIN_GBP
    pence = np.round(np.where(large, win.amount, 0.0) * 100).astype("int64")
    round_sum = large & (pence % ROUND_UNIT_PENCE == 0)
    return _share(win.per_business(mask=round_sum), win.per_business(mask=large), win)


@feature(
    sources=("transactions",),
    rationale="Cash deposits kept just below £10,000 suggest structuring to stay under monitoring thresholds.",
    reference="FATF structuring indicators; UK MLR 2017 reg. 14 (EUR 10,000 high value dealer cash threshold) and "
              "the £10,000 UK border cash declaration threshold (the UK has no CTR threshold)",
    direction="higher-is-riskier",
    reason="{value} cash deposits between £9,000 and £10,000 were paid into the business's account in the 12 "
           "months to {as_of}; {peer_share} of {peer_group} had fewer",
)
def cash_deposits_9000_to_10000_last_12m(view: AsOf) -> pd.Series:
    """Count cash credits of at least GBP 9,000 and under GBP 10,000 in the 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    hit = win.cash & (win.amount >= STRUCTURING_FLOOR) & (win.amount < STRUCTURING_CEILING)
    return win.series(win.per_business(mask=hit))


@feature(
    sources=("transactions",),
    rationale="Many different payers crediting one account within days is the fan-in pattern of money mules "
              "consolidating funds.",
    reference="FATF (2018) Professional Money Laundering, money mule networks; IBM AMLSim fan-in typology",
    direction="higher-is-riskier",
    reason="Up to {value} different payers paid into the business's account within one week in the 12 months to "
           "{as_of}; {peer_share} of {peer_group} had fewer",
)
def max_distinct_payers_in_7_days_last_12m(view: AsOf) -> pd.Series:
    """Largest number of distinct identified payers crediting the account within any 7 days, 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    peak = np.zeros(len(win.covered), dtype="float64")
    credit = (win.amount > 0) & win.payer.notna().to_numpy()
    if credit.any():
        payer = pd.factorize(win.payer[credit])[0].astype("int64")
        company = win.code[credit]
        day = win.ms[credit] // _MS_PER_DAY
        n_days = int(day.max()) + FAN_IN_DAYS + 1
        # One row per (business, payer, day), sorted by business, payer and day.
        key = np.unique((company * (int(payer.max()) + 1) + payer) * n_days + day)
        group, day = np.divmod(key, n_days)
        company = group // (int(payer.max()) + 1)
        # A payer seen on day d counts in the windows ending on days d .. d+6; per payer, keep the union of those
        # intervals so that a payer counts once per window: each day adds [max(d, previous day + 7), d + 7).
        same = np.r_[False, group[1:] == group[:-1]]
        previous = np.r_[np.int64(-FAN_IN_DAYS), day[:-1]]
        start = np.where(same, np.maximum(day, previous + FAN_IN_DAYS), day)
        stop = day + FAN_IN_DAYS
        # Sweep line per business; removals sort before additions at the same day, and every business's deltas
        # sum to 0, so a global running sum is each business's running count.
        span = 2 * (n_days + FAN_IN_DAYS + 1)
        events = np.concatenate([company * span + 2 * start + 1, company * span + 2 * stop])
        events.sort()
        running = np.cumsum(np.where(events % 2 == 1, 1, -1))
        np.maximum.at(peak, events // span, running)
    return win.series(peak)


@feature(
    sources=("transactions",),
    rationale="Money that leaves an account almost as soon as it arrives suggests a pass-through or funnel "
              "account used to layer funds.",
    reference="FATF (2018) Professional Money Laundering (pass-through and mule accounts); FinCEN Advisory "
              "FIN-2014-A005 (funnel accounts)",
    direction="higher-is-riskier",
    reason="{value} of the money paid into the business's account in the 12 months to {as_of} left again within "
           "3 days; {peer_share} of {peer_group} had a lower share",
)
def share_of_inflows_paid_out_within_3_days_last_12m(view: AsOf) -> pd.Series:
    """Share of inflow value paid out within 3 days of arriving (first in, first out), 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    moves = win.amount != 0
    amount, company, ms = win.amount[moves], win.code[moves], win.ms[moves]
    span = int(ms.max(initial=0)) + PASS_THROUGH // pd.Timedelta(milliseconds=1) + 1
    key = company * span + ms
    # Credits before debits booked at the same time (e.g. date-only bookings): same-day outflows can use them.
    order = np.lexsort((amount < 0, key))
    amount, company, key = amount[order], company[order], key[order]
    inflow = np.where(amount > 0, amount, 0.0)
    outflow = np.where(amount < 0, -amount, 0.0)
    sums = pd.DataFrame({"inflow": inflow, "outflow": outflow}).groupby(company, sort=False).cumsum()
    received, paid = sums["inflow"].to_numpy(), sums["outflow"].to_numpy()
    # Outflows beyond everything received so far come from the unseen opening balance (a reflected running
    # shortfall); the rest consumes inflows in arrival order. ``matched`` never decreases within a business.
    shortfall = pd.Series(np.clip(paid - received, 0, None)).groupby(company).cummax().to_numpy()
    matched = paid - shortfall
    credit = amount > 0
    horizon = key[credit] + PASS_THROUGH // pd.Timedelta(milliseconds=1)
    last = np.searchsorted(key, horizon, side="right") - 1  # never leaves the business: span exceeds the horizon
    before = received[credit] - inflow[credit]
    passed = np.minimum(np.clip(matched[last] - before, 0, None), inflow[credit])
    total_in = np.bincount(company[credit], weights=inflow[credit], minlength=len(win.covered))
    total_passed = np.bincount(company[credit], weights=passed, minlength=len(win.covered))
    return _share(total_passed, total_in, win).clip(upper=1.0)


@feature(
    sources=("transactions",),
    rationale="Payments to or from jurisdictions with strategic anti-money-laundering deficiencies or high "
              "financial secrecy carry higher risk and call for enhanced due diligence under UK law.",
    reference="FATF high-risk and increased-monitoring jurisdictions, EU non-cooperative tax list and secrecy "
              "jurisdictions (features.jurisdictions); UK MLR 2017 reg. 33 and Schedule 3ZA (enhanced due diligence)",
    direction="higher-is-riskier",
    reason="{value} of the value moved through the business's account in the 12 months to {as_of} was with "
           "high-risk jurisdictions; {peer_share} of {peer_group} had a lower share",
)
def share_of_value_with_high_risk_jurisdictions_last_12m(view: AsOf) -> pd.Series:
    """Share of transaction value (absolute, in and out) with a counterparty in a high-risk jurisdiction."""
    win = _window(view)
    if win is None:
        return empty_feature()
    value = np.abs(win.amount)
    flag = is_high_risk(win.country).to_numpy(dtype=bool)
    return _share(win.per_business(value, flag), win.per_business(value), win)


@feature(
    sources=("transactions",),
    rationale="The activity level of the account gives context to the shares and counts of the other transaction "
              "features; unusually high or low activity for the trade is itself worth a look.",
    reference="UK National Risk Assessment of Money Laundering (2020) and FFIEC BSA/AML manual: account activity "
              "inconsistent with the business's profile",
    direction="either",
    reason="The business's account had {value} transactions in the 12 months to {as_of}; {peer_share} of "
           "{peer_group} had fewer",
)
def transactions_last_12m(view: AsOf) -> pd.Series:
    """Count the transactions in the 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    return win.series(win.per_business())


@feature(
    sources=("transactions",),
    rationale="The money passing through an account, against what a business of its trade and size takes, is the "
              "first test of activity inconsistent with the customer's profile; laundering adds volume that no "
              "trade explains.",
    reference="FATF (2014) Guidance for a Risk-Based Approach: the Banking Sector (monitoring against expected "
              "activity); JMLSG Guidance Part I ch. 5 (2023); UK National Risk Assessment of Money Laundering (2020)",
    direction="either",
    reason="GBP {value} was paid into the business's account in the 12 months to {as_of}; {peer_share} of "
           "{peer_group} received less",
)
def inflow_value_last_12m(view: AsOf) -> pd.Series:
    """Sum the credits, by value, in the 12 months to as_of."""
    win = _window(view)
    if win is None:
        return empty_feature()
    return win.series(win.per_business(win.amount, win.amount > 0))


@feature(
    sources=("transactions",),
    rationale="An account that pays out as much as it receives keeps nothing back for the trade: funnel and "
              "pass-through accounts move money on rather than earn it.",
    reference="FinCEN Advisory FIN-2014-A005 (funnel accounts); FATF (2018) Professional Money Laundering "
              "(pass-through and mule accounts)",
    direction="higher-is-riskier",
    reason="The business's account paid out {value} of the money it received in the 12 months to {as_of} "
           "(money out over money in); {peer_share} of {peer_group} had a lower ratio",
)
def outflow_to_inflow_value_ratio_last_12m(view: AsOf) -> pd.Series:
    """Divide the debits by the credits, by value, in the 12 months to as_of (undefined with no credits)."""
    win = _window(view)
    if win is None:
        return empty_feature()
    paid_in = win.per_business(win.amount, win.amount > 0)
    paid_out = -win.per_business(win.amount, win.amount < 0)
    return _share(paid_out, paid_in, win)
