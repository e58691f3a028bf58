"""Features from licensing registers: alcohol, civic and other licences held or applied for by a business.

Licensing is where Scottish policy meets organised crime: the Serious Organised Crime Strategy (Scottish
Government 2022) names pubs, taxis, scrap metal, second-hand goods and late-night food among the trades groups use,
and licensing boards and councils as a means to deter and disrupt them. Alcohol premises licences fall under the
Licensing (Scotland) Act 2005 (s.21-24: notice to and report by the chief constable, objections and
representations; s.23 refusal grounds, including the fit-and-proper test added by the Air Weapons and Licensing
(Scotland) Act 2015; s.33-34 transfers; s.36-39 review, suspension and revocation); late-hours catering, taxi and
private-hire operators, second-hand and metal dealers under the Civic Government (Scotland) Act 1982 (Sch.1 paras
2-3 objections and representations, para 5 refusal, para 11 suspension and revocation).

Rows are linked to a business by ``holder_company_number`` only (rows without it are used as other holders of a
premises, never as the business's own). Only applications made on or before ``as_of`` are seen, with the status
they had then (``status_as_of``). An objection carries no date of its own: it is taken as known once the
application was decided by ``as_of`` or had been open for :data:`OBJECTION_PERIOD_DAYS` (the statutory 21-day
period for the chief constable's response and for objections, with a week's margin); earlier, the application is
left out of the objection features.

Features
--------
licence_applications_count
    Applications made (any type, any outcome).
premises_alcohol_licence_applications_count
    Premises licence applications (Licensing (Scotland) Act 2005 Part 3).
late_hours_catering_licence_applications_count
    Late-hours catering applications (Civic Government (Scotland) Act 1982 s.42).
taxi_or_private_hire_operator_licence_applications_count
    Taxi and private-hire operator applications (1982 Act s.10).
metal_or_second_hand_dealer_licence_applications_count
    Metal dealer and second-hand dealer applications (1982 Act s.24-27 and s.28-37).
licence_refusals_count, licence_revocations_count, licence_suspensions_count
    Applications refused, licences revoked or suspended, by status as of ``as_of`` (2005 Act s.23, s.39; 1982 Act
    Sch.1 paras 5 and 11).
licence_applications_with_police_objection_count, share_of_licence_applications_with_police_objection
    Applications the chief constable objected to or reported adversely on (2005 Act s.21-24; 1982 Act Sch.1 para 2).
licence_objections_total, licence_objections_mean_per_application
    Objections and representations received (2005 Act s.22; 1982 Act Sch.1 para 3).
premises_taken_over_from_other_holder_last_36m
    Applications in the last 36 months for premises whose last licence of that type went to a different holder
    (2005 Act s.33-34 transfers; SOC Strategy 2022, fronts and premises changing hands).
days_from_incorporation_to_first_licence_application
    Days from incorporation to the first licence application (SOC Strategy 2022, fronts set up to hold licences).
licensing_authorities_with_licence_held_count
    Licensing boards or councils in which the business holds a current licence (SOC Strategy 2022, groups
    operating across areas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from features.catalogue import empty_feature, feature

if TYPE_CHECKING:
    from features.pit import AsOf

__all__ = [
    "days_from_incorporation_to_first_licence_application",
    "late_hours_catering_licence_applications_count",
    "licence_applications_count",
    "licence_applications_with_police_objection_count",
    "licence_objections_mean_per_application",
    "licence_objections_total",
    "licence_refusals_count",
    "licence_revocations_count",
    "licence_suspensions_count",
    "licensing_authorities_with_licence_held_count",
    "metal_or_second_hand_dealer_licence_applications_count",
    "premises_alcohol_licence_applications_count",
    "premises_taken_over_from_other_holder_last_36m",
    "share_of_licence_applications_with_police_objection",
    "taxi_or_private_hire_operator_licence_applications_count",
]

#: Days after the application by which the police report and objections are known (21 statutory days + margin).
OBJECTION_PERIOD_DAYS = 28
#: Window of recent premises take-overs.
TAKEOVER_WINDOW_MONTHS = 36
#: Statuses of a licence that was granted at some point (a premises "licensed" to its holder).
_GRANTED_ONCE = ("granted", "revoked", "suspended", "surrendered", "expired")
#: Statuses of a licence still held.
_HELD = ("granted", "suspended")

_ACT_2005 = "Licensing (Scotland) Act 2005"
_ACT_1982 = "Civic Government (Scotland) Act 1982"
_SOC = "Scottish Government, Serious Organised Crime Strategy (2022)"


def _own(view: AsOf) -> pd.DataFrame:
    """Applications made by a known business on or before as_of (once per view)."""

    def compute() -> pd.DataFrame:
        lic = view.licences
        return lic if lic.empty else lic[lic["holder_company_number"].notna()]

    return view.memo("licences.own", compute)


def _count(rows: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """Rows (optionally only where ``mask``) per holder_company_number, as floats."""
    if rows.empty:
        return empty_feature()
    company = rows["holder_company_number"]
    values = pd.Series(1.0, index=rows.index) if mask is None else mask.astype("float64")
    return values.groupby(company).sum().rename_axis("company_number")


def _count_types(view: AsOf, types: tuple[str, ...]) -> pd.Series:
    own = _own(view)
    return _count(own, own["licence_type"].isin(types)) if not own.empty else empty_feature()


def _count_status(view: AsOf, status: str) -> pd.Series:
    own = _own(view)
    return _count(own, own["status_as_of"] == status) if not own.empty else empty_feature()


def _objections_known(view: AsOf) -> pd.DataFrame:
    """Own applications whose police report and objections were known at as_of (computed once per view)."""
    return view.memo("licences.objections_known", lambda: _compute_objections_known(view))


def _compute_objections_known(view: AsOf) -> pd.DataFrame:
    own = _own(view)
    if own.empty:
        return own
    known = own["decided_on"].notna() | (own["applied_on"] <= view.t - pd.Timedelta(days=OBJECTION_PERIOD_DAYS))
    own = own[known]
    return own.assign(police=own["police_objection"].fillna(False).astype("float64"),
                      n_objections=own["objections"].astype("float64"))


@feature(
    sources=("licences",),
    rationale="Licensed trades (alcohol, late-night food, taxis, dealers) are where organised crime runs cash "
              "businesses, so the volume of applications sets the exposure.",
    reference=f"{_SOC}, licensing as a means to deter and disrupt; {_ACT_2005}; {_ACT_1982}",
    direction="higher-is-riskier",
    reason="The business had made {value} licence applications by {as_of}; {peer_share} of {peer_group} had "
           "made fewer",
    zero_when_absent=True,
)
def licence_applications_count(view: AsOf) -> pd.Series:
    """Licence applications made by the business on or before as_of."""
    return _count(_own(view))


@feature(
    sources=("licences",),
    rationale="Pubs and licensed premises are among the businesses organised crime groups most often own or "
              "control, as cash-intensive fronts.",
    reference=f"{_SOC}, pubs and licensed premises; {_ACT_2005} Part 3 (premises licences)",
    direction="higher-is-riskier",
    reason="The business had applied for {value} alcohol premises licences by {as_of}; {peer_share} of "
           "{peer_group} had applied for fewer",
    zero_when_absent=True,
)
def premises_alcohol_licence_applications_count(view: AsOf) -> pd.Series:
    """Premises-alcohol licence applications."""
    return _count_types(view, ("premises-alcohol",))


@feature(
    sources=("licences",),
    rationale="Late-night takeaways and food outlets are cash-intensive businesses named as vehicles for "
              "laundering and for control of the night-time economy.",
    reference=f"{_SOC}; {_ACT_1982} s.42 (late hours catering)",
    direction="higher-is-riskier",
    reason="The business had applied for {value} late-hours catering licences by {as_of}; {peer_share} of "
           "{peer_group} had applied for fewer",
    zero_when_absent=True,
)
def late_hours_catering_licence_applications_count(view: AsOf) -> pd.Series:
    """Late-hours-catering licence applications."""
    return _count_types(view, ("late-hours-catering",))


@feature(
    sources=("licences",),
    rationale="Taxi and private-hire firms are cash businesses that also move people and goods, a trade the "
              "strategy names as used by organised crime.",
    reference=f"{_SOC}, taxis; {_ACT_1982} s.10 (taxi and private hire car licences)",
    direction="higher-is-riskier",
    reason="The business had applied for {value} taxi or private-hire operator licences by {as_of}; "
           "{peer_share} of {peer_group} had applied for fewer",
    zero_when_absent=True,
)
def taxi_or_private_hire_operator_licence_applications_count(view: AsOf) -> pd.Series:
    """Taxi-operator and private-hire-operator licence applications."""
    return _count_types(view, ("taxi-operator", "private-hire-operator"))


@feature(
    sources=("licences",),
    rationale="Scrap metal and second-hand dealing handle stolen goods and cash, which is why they are licensed "
              "and named in the strategy.",
    reference=f"{_SOC}, scrap metal; {_ACT_1982} s.24-27 (second-hand dealers), s.28-37 (metal dealers)",
    direction="higher-is-riskier",
    reason="The business had applied for {value} metal or second-hand dealer licences by {as_of}; {peer_share} "
           "of {peer_group} had applied for fewer",
    zero_when_absent=True,
)
def metal_or_second_hand_dealer_licence_applications_count(view: AsOf) -> pd.Series:
    """Metal-dealer and second-hand-dealer licence applications."""
    return _count_types(view, ("metal-dealer", "second-hand-dealer"))


@feature(
    sources=("licences",),
    rationale="Boards and councils refuse applicants who are not fit and proper, including on police information "
              "about links to serious organised crime.",
    reference=f"{_ACT_2005} s.23 (grounds for refusal; fit and proper, Air Weapons and Licensing (Scotland) Act "
              f"2015 s.43); {_ACT_1982} Sch.1 para 5",
    direction="higher-is-riskier",
    reason="{value} of the business's licence applications had been refused by {as_of}; {peer_share} of "
           "{peer_group} had fewer refusals",
    zero_when_absent=True,
)
def licence_refusals_count(view: AsOf) -> pd.Series:
    """Applications refused as of as_of."""
    return _count_status(view, "refused")


@feature(
    sources=("licences",),
    rationale="Revocation follows a review on grounds such as crime prevention or the holder no longer being fit "
              "and proper, a direct enforcement signal.",
    reference=f"{_ACT_2005} s.36-39 (premises licence review; suspension or revocation at a review hearing); "
              f"{_ACT_1982} Sch.1 para 11; {_SOC}",
    direction="higher-is-riskier",
    reason="{value} of the business's licences had been revoked by {as_of}; {peer_share} of {peer_group} had "
           "fewer revocations",
    zero_when_absent=True,
)
def licence_revocations_count(view: AsOf) -> pd.Series:
    """Licences revoked as of as_of."""
    return _count_status(view, "revoked")


@feature(
    sources=("licences",),
    rationale="Suspension follows a review of the licence on crime-prevention or fitness grounds.",
    reference=f"{_ACT_2005} s.36-39 (review hearing); {_ACT_1982} Sch.1 para 11 (suspension)",
    direction="higher-is-riskier",
    reason="{value} of the business's licences had been suspended by {as_of}; {peer_share} of {peer_group} had "
           "fewer suspensions",
    zero_when_absent=True,
)
def licence_suspensions_count(view: AsOf) -> pd.Series:
    """Licences suspended as of as_of."""
    return _count_status(view, "suspended")


@feature(
    sources=("licences",),
    rationale="The chief constable objects or reports adversely when Police Scotland holds information on the "
              "applicant, including links to organised crime.",
    reference=f"{_ACT_2005} s.21-24 (notice to and report by the chief constable); {_ACT_1982} Sch.1 para 2; "
              f"{_SOC}",
    direction="higher-is-riskier",
    reason="Police Scotland objected to {value} of the business's licence applications by {as_of}; "
           "{peer_share} of {peer_group} had fewer police objections",
    zero_when_absent=True,
)
def licence_applications_with_police_objection_count(view: AsOf) -> pd.Series:
    """Applications (with objections known by as_of) to which the chief constable objected."""
    known = _objections_known(view)
    return _count(known, known["police"]) if not known.empty else empty_feature()


@feature(
    sources=("licences",),
    rationale="A high share of applications drawing police objections shows a pattern, not a one-off dispute.",
    reference=f"{_ACT_2005} s.21-24; {_ACT_1982} Sch.1 para 2; {_SOC}",
    direction="higher-is-riskier",
    reason="Police Scotland objected to {value} of the business's licence applications by {as_of}; "
           "{peer_share} of {peer_group} had a lower share",
)
def share_of_licence_applications_with_police_objection(view: AsOf) -> pd.Series:
    """Share of applications (with objections known by as_of) drawing a police objection."""
    known = _objections_known(view)
    if known.empty:
        return empty_feature()
    return known["police"].groupby(known["holder_company_number"]).mean().rename_axis("company_number")


@feature(
    sources=("licences",),
    rationale="Objections and representations from residents, community councils and others record local "
              "concern about how premises are run.",
    reference=f"{_ACT_2005} s.22 (objections and representations); {_ACT_1982} Sch.1 para 3",
    direction="higher-is-riskier",
    reason="The business's licence applications had drawn {value} objections by {as_of}; {peer_share} of "
           "{peer_group} had drawn fewer",
    zero_when_absent=True,
)
def licence_objections_total(view: AsOf) -> pd.Series:
    """Objections and representations received on applications with objections known by as_of."""
    known = _objections_known(view)
    if known.empty:
        return empty_feature()
    return known["n_objections"].groupby(known["holder_company_number"]).sum().rename_axis("company_number")


@feature(
    sources=("licences",),
    rationale="Many objections per application, rather than many applications, point to contested premises.",
    reference=f"{_ACT_2005} s.22; {_ACT_1982} Sch.1 para 3",
    direction="higher-is-riskier",
    reason="The business's licence applications drew {value} objections each on average by {as_of}; "
           "{peer_share} of {peer_group} drew fewer",
)
def licence_objections_mean_per_application(view: AsOf) -> pd.Series:
    """Mean objections per application with objections known by as_of."""
    known = _objections_known(view)
    if known.empty:
        return empty_feature()
    return known["n_objections"].groupby(known["holder_company_number"]).mean().rename_axis("company_number")


@feature(
    sources=("licences",),
    rationale="Premises passing from one holder to another, often between businesses of the same group or to a "
              "new company when the old one is closed, keep a licensed front trading.",
    reference=f"{_ACT_2005} s.33-34 (transfer of premises licences); {_SOC}, fronts and phoenix companies in "
              "licensed trades",
    direction="higher-is-riskier",
    reason="In the 36 months before {as_of} the business applied {value} times for premises last licensed to "
           "someone else; {peer_share} of {peer_group} did so less often",
    zero_when_absent=True,
)
def premises_taken_over_from_other_holder_last_36m(view: AsOf) -> pd.Series:
    """Own applications in the last 36 months whose premises' previous licence of that type had another holder.

    The premises is the normalised ``premises_postcode`` with the licence type (a postcode holds several
    addresses; requiring the same type keeps neighbours in other trades apart). The previous licence is the most
    recent earlier application at that premises that was granted (whatever became of it later); its holder is
    compared by company number, or by the normalised holder name when the number is missing.
    """
    lic = view.licences
    if lic.empty:
        return empty_feature()
    lic = lic[lic["premises_postcode"].notna()]
    premises = lic["premises_postcode"].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    holder = ("co:" + lic["holder_company_number"].astype("string")).fillna(
        "name:" + lic["holder_name"].astype("string").str.casefold().str.strip())
    rows = pd.DataFrame({"premises": premises, "licence_type": lic["licence_type"], "holder": holder,
                         "company_number": lic["holder_company_number"], "applied_on": lic["applied_on"],
                         "granted": lic["status_as_of"].isin(_GRANTED_ONCE)})
    start = view.t - pd.DateOffset(months=TAKEOVER_WINDOW_MONTHS)
    recent = rows[rows["company_number"].notna() & (rows["applied_on"] > start)].sort_values("applied_on")
    if recent.empty:
        return empty_feature()
    before = rows.loc[rows["granted"], ["premises", "licence_type", "holder", "applied_on"]].rename(
        columns={"holder": "previous_holder"}).sort_values("applied_on")
    matched = pd.merge_asof(recent, before, on="applied_on", by=["premises", "licence_type"],
                            allow_exact_matches=False, direction="backward")
    taken_over = matched["previous_holder"].notna() & (matched["previous_holder"] != matched["holder"])
    return taken_over.astype("float64").groupby(matched["company_number"]).sum().rename_axis("company_number")


@feature(
    sources=("licences", "companies"),
    rationale="Companies formed only to hold a licence for a group apply almost as soon as they exist, where "
              "genuine businesses take months to set up.",
    reference=f"{_SOC}, companies set up as fronts; {_ACT_2005} s.20 (premises licence applications)",
    direction="lower-is-riskier",
    reason="The business first applied for a licence {value} days after it was incorporated; {peer_share} of "
           "{peer_group} applied sooner",
)
def days_from_incorporation_to_first_licence_application(view: AsOf) -> pd.Series:
    """Days from incorporation (date_of_creation) to the first licence application, 0 if it came before."""
    own = _own(view)
    if own.empty:
        return empty_feature()
    first = own.groupby("holder_company_number")["applied_on"].min()
    created = view.companies["date_of_creation"]
    first = first[first.index.isin(created.index)]
    days = (first - created.reindex(first.index)).dt.days.clip(lower=0)
    return days.astype("float64").rename_axis("company_number")


@feature(
    sources=("licences",),
    rationale="Licensing boards and councils do not share their registers; a business holding licences under "
              "several authorities spreads across areas where no single board sees the whole picture.",
    reference=f"{_SOC}, groups operating across local authority areas; {_ACT_2005} (one licensing board per "
              "council area)",
    direction="higher-is-riskier",
    reason="On {as_of} the business held licences from {value} licensing authorities; {peer_share} of "
           "{peer_group} held them from fewer",
    zero_when_absent=True,
)
def licensing_authorities_with_licence_held_count(view: AsOf) -> pd.Series:
    """Distinct authorities in which the business held a granted or suspended, unexpired licence at as_of."""
    own = _own(view)
    if own.empty:
        return empty_feature()
    held = own["status_as_of"].isin(_HELD) & (own["expires_on"].isna() | (own["expires_on"] > view.t))
    own = own[held]
    authority = own["authority"].astype(str).str.casefold().str.strip()
    counts = authority.groupby(own["holder_company_number"]).nunique()
    return counts.astype("float64").rename_axis("company_number")

