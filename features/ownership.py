"""Ownership features: who controls the business, according to the PSC register as it stood at ``as_of``.

Opaque, offshore, layered and fast-changing ownership is how organised crime hides its control of legitimate
businesses; the register of persons with significant control (PSC, from 6 April 2016; Scottish limited partnerships
from 26 June 2017) is where it shows. Rows come from :attr:`AsOf.ownership` (notifications made by ``as_of``, later
cessations blanked); an owner is *current* when it has no cessation by then.

Scope. A feature is computed for businesses under the PSC regime at ``as_of`` (companies of type ``ltd``, ``plc``,
``llp`` and ``other`` from 2016-04-06, limited partnerships from 2017-06-26) and for any other business with PSC
rows; the rest (sole traders, general partnerships, any business before the register existed) get NaN, because no
row there does not mean no owner. Within scope, counts and flags are 0 when no row qualifies. An absent ownership
table gives NaN everywhere.

Features
--------
no_person_with_significant_control_declared
    No current PSC row at all although the business has been under the PSC duty for over six months (NaN before
    that and for businesses that have ceased). Transparency International UK, *Hiding in Plain Sight* (2017);
    Companies House PSC guidance (a company must identify its PSCs or state that it has none).
current_owner_not_identified
    A current statement that no registrable person was identified (``owner_kind`` ``unknown``). DATACROS
    (Transcrime 2018) ownership opacity indicator; FATF/Egmont, *Concealment of Beneficial Ownership* (2018).
current_corporate_owners
    Current corporate PSCs (relevant legal entities). DATACROS ownership opacity; FATF/Egmont (2018).
share_of_corporate_owners_among_current_owners
    Corporate owners among identified current owners (individual, corporate, legal person). DATACROS.
current_legal_person_owners
    Current "other registrable persons" (legal persons that are not companies). FATF/Egmont (2018).
current_owners_in_high_risk_jurisdictions
    Current owners registered or resident in a FATF-listed, EU non-cooperative or secrecy jurisdiction
    (:mod:`features.jurisdictions`). DATACROS risky-jurisdiction indicator; UK MLR 2017 reg. 33; Tax Justice Network
    Financial Secrecy Index.
has_current_foreign_corporate_owner
    A current corporate owner registered outside the United Kingdom. DATACROS foreign-ownership indicator.
corporate_ownership_chain_depth
    Layers of corporate ownership above the business (0 none, 1 a corporate owner, k a chain of k companies),
    following corporate owners that are businesses of the data set, capped at 5. DATACROS ownership-chain length;
    FATF/Egmont (2018) layering.
circular_ownership_within_5_steps
    The business owns itself through at most five corporate ownership links. Transparency International UK (2017)
    shell-company flags; DATACROS cross-shareholdings.
ownership_changes_last_12m, ownership_changes_last_36m
    PSC notifications after the business's first notification date, plus PSC cessations, in the 12 or 36 months up
    to ``as_of``. DATACROS change-of-ownership indicator; Transcrime, *Organised crime infiltration of legitimate
    businesses in Europe* (Savona and Riccardi, 2016): takeovers show as changes of owners.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from features.catalogue import empty_feature, feature
from features.jurisdictions import UK_CODES, is_high_risk, to_iso2
from features.pit import AsOf

__all__ = [
    "circular_ownership_within_5_steps",
    "corporate_ownership_chain_depth",
    "current_corporate_owners",
    "current_legal_person_owners",
    "current_owner_not_identified",
    "current_owners_in_high_risk_jurisdictions",
    "has_current_foreign_corporate_owner",
    "no_person_with_significant_control_declared",
    "ownership_changes_last_12m",
    "ownership_changes_last_36m",
    "share_of_corporate_owners_among_current_owners",
]

#: Start of the PSC duty by company type (Small Business, Enterprise and Employment Act 2015, Part 7; Scottish
#: limited partnerships under the Scottish Partnerships (Register of People with Significant Control) Regulations 2017).
PSC_REGIME_START: dict[str, pd.Timestamp] = {
    "ltd": pd.Timestamp("2016-04-06"),
    "plc": pd.Timestamp("2016-04-06"),
    "llp": pd.Timestamp("2016-04-06"),
    "other": pd.Timestamp("2016-04-06"),
    "limited-partnership": pd.Timestamp("2017-06-26"),
}
#: Grace period before an empty register counts as "no PSC declared".
NO_PSC_GRACE = pd.DateOffset(months=6)
#: Longest ownership chain followed.
MAX_CHAIN = 5
_IDENTIFIED = ("individual", "corporate", "legal-person")
_REF_DATACROS = "DATACROS (Transcrime 2018) ownership anomaly indicators"
_REF_FATF = "FATF/Egmont Group, Concealment of Beneficial Ownership (2018)"


class _Context(NamedTuple):
    """Integer-coded current PSC rows of a view, shared by the features (computed once per view)."""

    businesses: pd.Index
    scope: np.ndarray  # bool per business: PSC rows are meaningful at as_of
    pos: np.ndarray  # position in ``businesses`` of each current row's business
    owner: np.ndarray  # owner code of each current row
    kind: np.ndarray  # owner_kind of each current row
    jurisdiction: pd.Series  # owner_jurisdiction of each current row
    parent: np.ndarray  # position in ``businesses`` of a corporate owner that is a business of the data set, else -1


def _absent(view: AsOf) -> bool:
    return not view.has("ownership")


def _duty_start(view: AsOf) -> np.ndarray:
    """Date from which each business had to keep a PSC register (NaT when never, e.g. sole traders)."""
    comp = view.companies
    regime = pd.to_datetime(comp["company_type"].map(PSC_REGIME_START)).to_numpy(dtype="datetime64[ns]")
    created = comp["date_of_creation"].to_numpy(dtype="datetime64[ns]")
    return np.where(np.isnat(regime), regime, np.maximum(regime, created))


def _context(view: AsOf) -> _Context:
    return view.memo("ownership.context", lambda: _build_context(view))


def _build_context(view: AsOf) -> _Context:
    index = view.index
    own = view.ownership
    if own.empty:
        own = pd.DataFrame({c: pd.Series(dtype=object) for c in
                            ("company_number", "owner_id", "owner_kind", "owner_jurisdiction")})
        own = own.assign(ceased_on=pd.Series(dtype="datetime64[ns]"))
    all_pos = index.get_indexer(pd.Index(own["company_number"]))
    scope = _duty_start(view) <= np.datetime64(view.t, "ns")
    scope[all_pos[all_pos >= 0]] = True
    cur = own[own["ceased_on"].isna().to_numpy() & (all_pos >= 0)]
    pos = index.get_indexer(pd.Index(cur["company_number"]))
    owner, _ = pd.factorize(cur["owner_id"])
    kind = cur["owner_kind"].to_numpy(dtype=object)
    parent = np.where(kind == "corporate", index.get_indexer(pd.Index(cur["owner_id"])), -1)
    return _Context(index, scope, pos, owner, kind, cur["owner_jurisdiction"], parent)


def _series(ctx: _Context, values: np.ndarray) -> pd.Series:
    """Values over every business, NaN outside the scope."""
    return pd.Series(np.where(ctx.scope, values, np.nan), index=ctx.businesses)


def _distinct_owners(ctx: _Context, mask: np.ndarray) -> np.ndarray:
    """Count distinct current owners per business among the rows in ``mask``."""
    pairs = np.unique(ctx.pos[mask].astype(np.int64) * (int(ctx.owner.max(initial=0)) + 1) + ctx.owner[mask])
    biz = pairs // (int(ctx.owner.max(initial=0)) + 1)
    return np.bincount(biz, minlength=len(ctx.businesses)).astype("float64")


def _count_owners(view: AsOf, kinds: tuple[str, ...]) -> pd.Series:
    ctx = _context(view)
    return _series(ctx, _distinct_owners(ctx, np.isin(ctx.kind, kinds)))


def _corporate_edges(ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Return the current corporate links between businesses of the data set (child, parent positions)."""
    linked = ctx.parent >= 0
    n = len(ctx.businesses)
    pairs = np.unique(ctx.pos[linked].astype(np.int64) * n + ctx.parent[linked])
    return pairs // n, pairs % n


@feature(
    sources=("ownership", "companies"),
    rationale="A company that has been under the PSC duty for months yet declares no owner at all hides who "
              "controls it, which is how criminal owners stay out of sight.",
    reference="Transparency International UK, Hiding in Plain Sight (2017); Companies House PSC guidance",
    direction="higher-is-riskier",
    reason="No person with significant control was on the register on {as_of} (1 = none declared); "
           "{peer_share} of {peer_group} had a lower value",
)
def no_person_with_significant_control_declared(view: AsOf) -> pd.Series:
    """1 when a business under the PSC duty for over six months has no current PSC row, else 0."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    due_by = np.datetime64(view.t - NO_PSC_GRACE, "ns")
    due = (_duty_start(view) <= due_by) & view.companies["date_of_cessation"].isna().to_numpy()
    declared = np.bincount(ctx.pos, minlength=len(ctx.businesses)) > 0
    return pd.Series(np.where(due, np.where(declared, 0.0, 1.0), np.nan), index=ctx.businesses)


@feature(
    sources=("ownership", "companies"),
    rationale="A statement that no registrable person could be identified leaves the real owner unknown, an "
              "ownership-opacity red flag.",
    reference=f"{_REF_DATACROS} (opacity); {_REF_FATF}",
    direction="higher-is-riskier",
    reason="On {as_of} the register stated that no owner could be identified (1 = yes); "
           "{peer_share} of {peer_group} had a lower value",
)
def current_owner_not_identified(view: AsOf) -> pd.Series:
    """1 when a current PSC statement says no registrable person was identified, else 0."""
    if _absent(view):
        return empty_feature()
    return _count_owners(view, ("unknown",)).clip(upper=1)


@feature(
    sources=("ownership", "companies"),
    rationale="Control held through companies puts a legal entity between the business and the people who "
              "benefit, the first step of concealing beneficial ownership.",
    reference=f"{_REF_DATACROS} (opacity); {_REF_FATF}",
    direction="higher-is-riskier",
    reason="{value} companies were registered as owners on {as_of}; {peer_share} of {peer_group} had fewer",
)
def current_corporate_owners(view: AsOf) -> pd.Series:
    """Count current corporate PSCs."""
    if _absent(view):
        return empty_feature()
    return _count_owners(view, ("corporate",))


@feature(
    sources=("ownership", "companies"),
    rationale="The more of a business's control sits with companies rather than people, the harder it is to see "
              "who really owns it.",
    reference=f"{_REF_DATACROS} (opacity); {_REF_FATF}",
    direction="higher-is-riskier",
    reason="{value} of the owners on record on {as_of} were companies (share); {peer_share} of {peer_group} had "
           "a lower share",
)
def share_of_corporate_owners_among_current_owners(view: AsOf) -> pd.Series:
    """Share of corporate owners among current identified owners (NaN when none is identified)."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    owners = _distinct_owners(ctx, np.isin(ctx.kind, _IDENTIFIED))
    corporate = _distinct_owners(ctx, ctx.kind == "corporate")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(owners > 0, corporate / owners, np.nan)
    return _series(ctx, share)


@feature(
    sources=("ownership", "companies"),
    rationale="Control by a legal person that is not a company (a foundation, trust-like or public body) is a "
              "rarely used form that can shield the individuals behind it.",
    reference=_REF_FATF,
    direction="higher-is-riskier",
    reason="{value} legal persons other than companies were registered as owners on {as_of}; "
           "{peer_share} of {peer_group} had fewer",
)
def current_legal_person_owners(view: AsOf) -> pd.Series:
    """Count current legal-person PSCs (other registrable persons)."""
    if _absent(view):
        return empty_feature()
    return _count_owners(view, ("legal-person",))


@feature(
    sources=("ownership", "companies"),
    rationale="Owners in FATF-listed, EU non-cooperative or financial-secrecy jurisdictions put control where it "
              "is hardest to trace and require enhanced due diligence.",
    reference=f"{_REF_DATACROS} (risky jurisdictions); UK MLR 2017 reg. 33; FATF lists of October 2025; "
              "Tax Justice Network Financial Secrecy Index 2022",
    direction="higher-is-riskier",
    reason="{value} owners on record on {as_of} were registered or resident in high-risk or secrecy "
           "jurisdictions; {peer_share} of {peer_group} had fewer",
)
def current_owners_in_high_risk_jurisdictions(view: AsOf) -> pd.Series:
    """Count current owners whose jurisdiction is high-risk or a secrecy jurisdiction."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    return _series(ctx, _distinct_owners(ctx, is_high_risk(ctx.jurisdiction).to_numpy()))


@feature(
    sources=("ownership", "companies"),
    rationale="A UK business controlled by a company registered abroad is harder to investigate, because the "
              "owner's own register and owners lie outside UK reach.",
    reference=f"{_REF_DATACROS} (foreign ownership); {_REF_FATF}",
    direction="higher-is-riskier",
    reason="On {as_of} a company registered outside the UK was an owner (1 = yes); "
           "{peer_share} of {peer_group} had a lower value",
)
def has_current_foreign_corporate_owner(view: AsOf) -> pd.Series:
    """1 when a current corporate owner is registered outside the United Kingdom, else 0."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    iso = to_iso2(ctx.jurisdiction)
    foreign = (ctx.kind == "corporate") & (iso.notna() & ~iso.isin(UK_CODES)).to_numpy()
    return _series(ctx, np.minimum(_distinct_owners(ctx, foreign), 1.0))


@feature(
    sources=("ownership", "companies"),
    rationale="Each extra layer of companies between a business and its owners makes the real controller harder "
              "to find; long chains are a classic layering device.",
    reference=f"{_REF_DATACROS} (ownership chain length); {_REF_FATF}",
    direction="higher-is-riskier",
    reason="On {as_of} the business sat under {value} layers of corporate owners; {peer_share} of {peer_group} "
           "had fewer",
)
def corporate_ownership_chain_depth(view: AsOf) -> pd.Series:
    """Layers of current corporate ownership above the business, following owners in the data set, at most 5."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    n = len(ctx.businesses)
    depth = np.minimum(np.bincount(ctx.pos[ctx.kind == "corporate"], minlength=n), 1).astype("float64")
    child, parent = _corporate_edges(ctx)
    for _ in range(MAX_CHAIN - 1):
        new = depth.copy()
        np.maximum.at(new, child, depth[parent] + 1.0)
        new = np.minimum(new, MAX_CHAIN)
        if np.array_equal(new, depth):
            break
        depth = new
    return _series(ctx, depth)


@feature(
    sources=("ownership", "companies"),
    rationale="A business that owns itself through other companies has no real owner on the register: circular "
              "ownership is a shell-company and concealment flag.",
    reference="Transparency International UK, Hiding in Plain Sight (2017); "
              f"{_REF_DATACROS} (cross-shareholdings)",
    direction="higher-is-riskier",
    reason="On {as_of} the business owned itself through a loop of at most five companies (1 = yes); "
           "{peer_share} of {peer_group} had a lower value",
)
def circular_ownership_within_5_steps(view: AsOf) -> pd.Series:
    """1 when the business is reachable from itself through at most five current corporate ownership links."""
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    child, parent = _corporate_edges(ctx)
    edges = pd.DataFrame({"node": child, "next": parent})
    frontier = pd.DataFrame({"origin": child, "node": parent})
    circular = np.zeros(len(ctx.businesses), dtype=bool)
    for _ in range(MAX_CHAIN):
        if frontier.empty:
            break
        loop = frontier["origin"].to_numpy() == frontier["node"].to_numpy()
        circular[frontier["origin"].to_numpy()[loop]] = True
        frontier = frontier[~loop].merge(edges, on="node")[["origin", "next"]].rename(columns={"next": "node"})
        frontier = frontier.drop_duplicates(ignore_index=True)
    return _series(ctx, circular.astype("float64"))


def _ownership_changes(view: AsOf, months: int) -> pd.Series:
    if _absent(view):
        return empty_feature()
    ctx = _context(view)
    own = view.ownership
    if own.empty:
        return _series(ctx, np.zeros(len(ctx.businesses)))
    pos = ctx.businesses.get_indexer(pd.Index(own["company_number"]))
    known = pos >= 0
    pos = pos[known]
    notified = own["notified_on"].to_numpy(dtype="datetime64[ns]")[known]
    ceased = own["ceased_on"].to_numpy(dtype="datetime64[ns]")[known]
    first_int = np.full(len(ctx.businesses), np.iinfo(np.int64).max)
    np.minimum.at(first_int, pos, notified.astype(np.int64))
    first = first_int[pos]
    start = np.datetime64(view.t - pd.DateOffset(months=months), "ns")
    later = (notified.astype(np.int64) > first) & (notified > start)
    ended = ~np.isnat(ceased) & (ceased > start)
    events = np.bincount(pos, weights=later.astype("float64") + ended.astype("float64"), minlength=len(ctx.businesses))
    return _series(ctx, events)


@feature(
    sources=("ownership", "companies"),
    rationale="Changes of owners are how a takeover by criminals shows on the register, and frequent changes "
              "also obscure who is in control.",
    reference=f"{_REF_DATACROS} (change of ownership); Savona and Riccardi (eds.), Transcrime (2016)",
    direction="higher-is-riskier",
    reason="{value} owners were notified or ceased in the 12 months before {as_of}; {peer_share} of {peer_group} "
           "had fewer",
)
def ownership_changes_last_12m(view: AsOf) -> pd.Series:
    """PSC notifications after the first filing plus PSC cessations in the 12 months to ``as_of``."""
    return _ownership_changes(view, 12)


@feature(
    sources=("ownership", "companies"),
    rationale="Changes of owners are how a takeover by criminals shows on the register, and frequent changes "
              "also obscure who is in control.",
    reference=f"{_REF_DATACROS} (change of ownership); Savona and Riccardi (eds.), Transcrime (2016)",
    direction="higher-is-riskier",
    reason="{value} owners were notified or ceased in the 36 months before {as_of}; {peer_share} of {peer_group} "
           "had fewer",
)
def ownership_changes_last_36m(view: AsOf) -> pd.Series:
    """PSC notifications after the first filing plus PSC cessations in the 36 months to ``as_of``."""
    return _ownership_changes(view, 36)
