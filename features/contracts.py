"""Public procurement features: what a business won, and how, from the ``contracts`` table (OCDS awards).

Organised crime infiltrates legal businesses partly to capture public money (construction, waste, cleaning, care,
security), and corrupt or captured procurement leaves traces in the award data. Every feature reads the awards of
the business as supplier (``supplier_company_number``) made on or before ``as_of``; an award listed twice for the
same business (e.g. under two supplier names) counts once. Joint awards count in full for each supplier, since
OCDS gives one value per award, not per supplier.

Features
--------
awards_won
    Number of public contract awards won up to ``as_of`` (0 for businesses with none).
award_value_won_gbp
    Total award value won up to ``as_of`` (0 for businesses with none).
share_of_awards_single_bid
    Share of the open or selective awards with a known bidder count that received a single bid. Cardinal R018
    "Single bid received"; the single-bidder component of Fazekas, Toth & King's Corruption Risk Index.
share_of_awards_direct_or_limited_procedure
    Share of awards made by a non-open procedure (OCDS ``direct`` or ``limited``). Fazekas, Toth & King (2016) CRI
    "non-open procedure type".
share_of_awards_submission_period_under_10_days
    Share of open or selective awards with known dates whose submission period (``tender_deadline`` minus
    ``tender_published_on``) was under 10 days. Cardinal R003 "Short submission period" flags periods shorter than
    a threshold (15 days by default) meant to be set to the legal minimum; 10 days is the shortest minimum time
    limit for tenders in UK procurement law (accelerated restricted procedure, Public Contracts Regulations 2015
    and Public Contracts (Scotland) Regulations 2015 reg. 28), so a shorter period is below every statutory
    minimum. Below-threshold contracts have no statutory minimum, which is why the cut is the lowest one.
max_final_to_award_value_ratio
    Largest ratio of final value to award value over the business's contracts. The view only shows final values
    of contracts that had ended by ``as_of`` (amendments are undated in OCDS flattenings). Open Contracting
    Partnership, Red Flags for Integrity (2016): "Large difference between contract award and final contract
    amount".
max_share_of_a_buyers_award_value
    Largest share, over buyers that had made at least 3 awards, of the buyer's total award value (all suppliers,
    up to ``as_of``) won by the business. Winner's share of the issuer's spending (Fazekas, Toth & King 2016);
    OCP Red Flags (2016) "High number of contract awards to one bidder".
company_age_years_at_first_award_over_500k
    Age of the business (years since ``date_of_creation``) when it first won an award above GBP 500,000. Shell
    or newly created companies set up to win a particular contract (IACRC Guide to Combating Corruption & Fraud in
    Infrastructure Development Projects; OCP Red Flags 2016). The GBP 500,000 cut for "large" is a fixed
    assumption of this module.
distinct_cpv_divisions_won
    Number of distinct CPV divisions (first two digits of the code) among the business's awards. Cardinal R048
    "Heterogeneous supplier" (default 2 digits).

References
----------
Open Contracting Partnership and Development Gateway (2016), *Red Flags for Integrity: Giving the green light to
open data solutions*. Open Contracting Partnership, Cardinal (open-contracting/cardinal-rs) indicators R003, R018,
R048. Fazekas, M., Toth, I. J. and King, L. P. (2016), "An Objective Corruption Risk Index Using Public
Procurement Data", *European Journal on Criminal Policy and Research* 22(3); Fazekas, M. and Kocsis, G. (2020),
"Uncovering High-Level Corruption: Cross-National Objective Corruption Risk Indicators Using Public Procurement
Data", *British Journal of Political Science* 50(1). Savona, E. U. and Riccardi, M. (eds.) (2015), *From illegal
markets to legitimate businesses: the portfolio of organised crime in Europe*, Transcrime.
"""

from __future__ import annotations

import pandas as pd

from features.catalogue import empty_feature, feature
from features.pit import AsOf

__all__ = [
    "award_value_won_gbp",
    "awards_won",
    "company_age_years_at_first_award_over_500k",
    "distinct_cpv_divisions_won",
    "max_final_to_award_value_ratio",
    "max_share_of_a_buyers_award_value",
    "share_of_awards_direct_or_limited_procedure",
    "share_of_awards_single_bid",
    "share_of_awards_submission_period_under_10_days",
]

#: Competitive procedures (OCDS codelist) in which a single bid or a short submission period is a red flag.
COMPETITIVE_METHODS: tuple[str, ...] = ("open", "selective")
#: Non-open procedures (OCDS codelist) counted by the CRI procedure-type component.
NON_OPEN_METHODS: tuple[str, ...] = ("direct", "limited")
#: Shortest statutory minimum time limit for tenders in UK procurement law, in days (see the module docstring).
MINIMUM_SUBMISSION_DAYS = 10
#: Award value above which an award counts as large for the young-company flag (GBP; an assumption).
LARGE_AWARD_GBP = 500_000.0
#: Buyers with fewer awards than this are too small for a share of their spending to mean concentration.
MIN_BUYER_AWARDS = 3
#: Days per year for ages.
DAYS_PER_YEAR = 365.25


def _awards(view: AsOf) -> pd.DataFrame:
    """One row per (supplier business, award) known at ``as_of``; empty when there are none (once per view)."""
    return view.memo("contracts.awards", lambda: _compute_awards(view))


def _compute_awards(view: AsOf) -> pd.DataFrame:
    con = view.contracts
    if con.empty:
        return con
    con = con[con["supplier_company_number"].notna()]
    return con.drop_duplicates(["supplier_company_number", "ocid", "award_id"])


def _share(flag: pd.Series, eligible: pd.Series, by: pd.Series) -> pd.Series:
    """Per group ``by``: share of eligible rows where ``flag`` holds (groups with no eligible row are left out)."""
    frame = pd.DataFrame({"company_number": by[eligible].to_numpy(),
                          "flag": flag[eligible].to_numpy(dtype="float64")})
    if frame.empty:
        return empty_feature()
    return frame.groupby("company_number")["flag"].mean()


@feature(
    sources=("contracts",),
    rationale="Organised crime infiltrates legal businesses to capture public contracts, so an unusual number of "
              "public awards is worth a look.",
    reference="Savona & Riccardi (eds., Transcrime 2015), public procurement as a driver of infiltration; OCP Red "
              "Flags for Integrity (2016), high number of contract awards to one bidder",
    direction="higher-is-riskier",
    reason="The business had won {value} public contract awards by {as_of}; {peer_share} of {peer_group} had won "
           "fewer",
    zero_when_absent=True,
)
def awards_won(view: AsOf) -> pd.Series:
    """Count the public contract awards won by the business up to as_of."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    return awards.groupby("supplier_company_number").size().astype("float64").rename_axis("company_number")


@feature(
    sources=("contracts",),
    rationale="Infiltrated businesses are used to capture public money; a large total of public awards is the "
              "stake that makes a business worth infiltrating.",
    reference="Savona & Riccardi (eds., Transcrime 2015), public procurement as a driver of infiltration",
    direction="higher-is-riskier",
    reason="The business had won public contracts worth £{value} in total by {as_of}; {peer_share} of {peer_group} "
           "had won less",
    zero_when_absent=True,
)
def award_value_won_gbp(view: AsOf) -> pd.Series:
    """Total value (GBP) of the public contract awards won by the business up to as_of."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    return awards.groupby("supplier_company_number")["award_value"].sum().rename_axis("company_number")


@feature(
    sources=("contracts",),
    rationale="In an open or selective procedure a single bid may mean competition was suppressed for a "
              "pre-determined winner.",
    reference="Cardinal R018 'Single bid received' (open or selective procedures); Fazekas, Toth & King (2016) "
              "Corruption Risk Index, single bidder",
    direction="higher-is-riskier",
    reason="{value} of the business's open or selective awards up to {as_of} received a single bid; "
           "{peer_share} of {peer_group} had a lower share",
)
def share_of_awards_single_bid(view: AsOf) -> pd.Series:
    """Share of the business's open or selective awards with a known bidder count that received one bid."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    tenderers = awards["number_of_tenderers"]
    eligible = awards["procurement_method"].isin(COMPETITIVE_METHODS) & tenderers.notna()
    single = tenderers.fillna(0).eq(1)
    return _share(single, eligible, awards["supplier_company_number"])


@feature(
    sources=("contracts",),
    rationale="Direct awards and limited tendering avoid open competition and are where favoured suppliers are "
              "most easily chosen.",
    reference="Fazekas, Toth & King (2016) Corruption Risk Index, non-open procedure type",
    direction="higher-is-riskier",
    reason="{value} of the business's awards up to {as_of} were made without open competition (direct award or "
           "limited tendering); {peer_share} of {peer_group} had a lower share",
)
def share_of_awards_direct_or_limited_procedure(view: AsOf) -> pd.Series:
    """Share of the business's awards made by direct award or limited tendering."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    non_open = awards["procurement_method"].isin(NON_OPEN_METHODS)
    return _share(non_open, pd.Series(True, index=awards.index), awards["supplier_company_number"])


@feature(
    sources=("contracts",),
    rationale="A submission period shorter than any legal minimum leaves other bidders no time to bid and favours "
              "a supplier told in advance.",
    reference="Cardinal R003 'Short submission period' with the UK minimum of 10 days (PCR 2015 / Public "
              "Contracts (Scotland) Regulations 2015 reg. 28); Fazekas, Toth & King (2016) CRI",
    direction="higher-is-riskier",
    reason="{value} of the business's open or selective awards up to {as_of} gave bidders under 10 days to "
           "respond; {peer_share} of {peer_group} had a lower share",
)
def share_of_awards_submission_period_under_10_days(view: AsOf) -> pd.Series:
    """Share of the business's open or selective awards with known dates whose submission period was under 10 days."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    days = (awards["tender_deadline"] - awards["tender_published_on"]).dt.days
    eligible = awards["procurement_method"].isin(COMPETITIVE_METHODS) & days.notna() & days.ge(0)
    short = days.lt(MINIMUM_SUBMISSION_DAYS)
    return _share(short, eligible, awards["supplier_company_number"])


@feature(
    sources=("contracts",),
    rationale="A contract whose final value far exceeds the award value may have been won low and inflated "
              "afterwards through amendments.",
    reference="OCP Red Flags for Integrity (2016), large difference between contract award and final contract "
              "amount",
    direction="higher-is-riskier",
    reason="One of the business's contracts ended by {as_of} finished at {value} times its award value; "
           "{peer_share} of {peer_group} had a lower ratio",
)
def max_final_to_award_value_ratio(view: AsOf) -> pd.Series:
    """Largest final value / award value over the business's contracts ended by as_of."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    known = awards["final_value"].notna() & awards["award_value"].gt(0)
    if not known.any():
        return empty_feature()
    ratio = awards.loc[known, "final_value"] / awards.loc[known, "award_value"]
    return ratio.groupby(awards.loc[known, "supplier_company_number"]).max().rename_axis("company_number")


@feature(
    sources=("contracts",),
    rationale="A supplier taking a large share of one buyer's spending suggests a captured buyer or a favoured "
              "supplier.",
    reference="Fazekas, Toth & King (2016), winner's share of the issuer's contract value; OCP Red Flags for "
              "Integrity (2016), high number of contract awards to one bidder",
    direction="higher-is-riskier",
    reason="The business won {value} of one public buyer's total award value up to {as_of}; {peer_share} of "
           "{peer_group} had a lower share",
)
def max_share_of_a_buyers_award_value(view: AsOf) -> pd.Series:
    """Largest share of a buyer's total award value (buyers with at least 3 awards) won by the business."""
    con = view.contracts
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    # Buyer totals count every award once, whoever (identified or not) the suppliers were.
    distinct = con.drop_duplicates(["buyer_id", "ocid", "award_id"])
    buyers = distinct.groupby("buyer_id")["award_value"].agg(["size", "sum"])
    buyers = buyers[(buyers["size"] >= MIN_BUYER_AWARDS) & (buyers["sum"] > 0)]
    won = awards.groupby(["supplier_company_number", "buyer_id"], as_index=False)["award_value"].sum()
    won = won.merge(buyers["sum"].rename("buyer_total"), left_on="buyer_id", right_index=True)
    if won.empty:
        return empty_feature()
    share = won["award_value"] / won["buyer_total"]
    return share.groupby(won["supplier_company_number"].to_numpy()).max().rename_axis("company_number")


@feature(
    sources=("contracts", "companies"),
    rationale="A newly created company winning a large public contract may be a shell set up for that contract, "
              "without the track record such awards normally need.",
    reference="IACRC Guide to Combating Corruption & Fraud in Infrastructure Development Projects, shell "
              "companies organised to bid on a particular contract; OCP Red Flags for Integrity (2016)",
    direction="lower-is-riskier",
    reason="The business was {value} years old when it first won a public award above £500,000 (up to {as_of}); "
           "{peer_share} of {peer_group} were younger",
)
def company_age_years_at_first_award_over_500k(view: AsOf) -> pd.Series:
    """Age in years of the business when it first won an award above GBP 500,000."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    large = awards[awards["award_value"] > LARGE_AWARD_GBP]
    first = large.groupby("supplier_company_number")["award_date"].min()
    created = view.companies["date_of_creation"]
    first = first[first.index.isin(created.index)]
    age = (first - created.reindex(first.index)).dt.days / DAYS_PER_YEAR
    # An award dated before the recorded creation (a predecessor trading) counts as age 0, not negative.
    return age.clip(lower=0).astype("float64").rename_axis("company_number")


@feature(
    sources=("contracts",),
    rationale="A supplier winning across many unrelated product divisions may be a front or broker without the "
              "capacity to deliver.",
    reference="Cardinal R048 'Heterogeneous supplier' (CPV divisions, 2 digits)",
    direction="higher-is-riskier",
    reason="The business had won awards in {value} different CPV divisions by {as_of}; {peer_share} of "
           "{peer_group} had fewer",
)
def distinct_cpv_divisions_won(view: AsOf) -> pd.Series:
    """Count the distinct CPV divisions (first two digits) among the business's awards."""
    awards = _awards(view)
    if awards.empty:
        return empty_feature()
    division = awards["cpv"].astype("string").str.strip().str[:2]
    valid = division.str.fullmatch(r"\d\d").fillna(False).astype(bool)
    if not valid.any():
        return empty_feature()
    pairs = pd.DataFrame({"company_number": awards.loc[valid, "supplier_company_number"].to_numpy(),
                          "division": division[valid].to_numpy()})
    return pairs.groupby("company_number")["division"].nunique().astype("float64")
