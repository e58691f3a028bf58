"""Network features: businesses linked by shared people, owners, corporate control and registered offices.

An undirected graph of the businesses that existed at ``as_of`` is built from links that held at ``as_of``:

- a shared officer (an appointment made by ``as_of`` and not resigned by then); formation-agent nominees (as
  defined in :mod:`features.register`: over 50 appointments, most shorter than 60 days) and people with more than
  :data:`MAX_SHARED_BUSINESSES` appointments known at ``as_of`` are excluded;
- a shared person with significant control (a PSC notified by ``as_of`` and not ceased by then; ``unknown``
  owners and "no PSC" ids excluded), an id may be both an officer and an owner; owners holding more than
  :data:`MAX_SHARED_BUSINESSES` businesses (group parents, nominee services) are excluded to keep links
  meaningful and the graph sparse;
- corporate control: an owner (or corporate officer) id equal to another business's company number;
- a shared registered office (postcode and address line), addresses of more than :data:`MAX_ADDRESS_BUSINESSES`
  businesses excluded as mass-registration addresses. The register only gives the current office, so this assumes
  offices rarely move.

Features
--------
network_degree
    Distinct businesses directly linked (Transcrime DATACROS network indicators; Moody's / TI UK 2017 shared
    officers and addresses).
network_component_size
    Businesses in the connected component, the business included (an isolated business has 1).
linked_businesses_dissolved
    Direct links to businesses ceased by ``as_of`` (phoenix companies; Insolvency Service, phoenixism).
linked_businesses_with_refused_or_revoked_licence
    Direct links to businesses with a licence refused or revoked as of ``as_of`` (Licensing (Scotland) Act 2005
    fit-and-proper test; Civic Government (Scotland) Act 1982).
linked_businesses_labelled_positive
    Direct links to OTHER businesses confirmed infiltrated by ``as_of`` (guilt by association; Savona & Riccardi
    2018, DATACROS).
distance_to_labelled_positive
    Hops to the nearest OTHER confirmed-infiltrated business, up to 3; :data:`DISTANCE_NONE_WITHIN_REACH` (4)
    when none lies within 3 hops, NaN only when the data set holds no labels (unknown, not far).

A business's own label never enters its own features: the graph has no self-loops, neighbour counts only sum over
other businesses, and the distance counts distinct positive businesses other than the business itself. The latest
label known at ``as_of`` decides whether a business is positive (a later clearance overrides an earlier finding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from features.catalogue import feature
from features.pit import AsOf
from features.register import _address_keys, _officer_table
from features.text import few_ascii, is_missing, python_pattern

__all__ = [
    "DISTANCE_NONE_WITHIN_REACH",
    "MAX_ADDRESS_BUSINESSES",
    "MAX_HOPS",
    "MAX_SHARED_BUSINESSES",
    "distance_to_labelled_positive",
    "linked_businesses_dissolved",
    "linked_businesses_labelled_positive",
    "linked_businesses_with_refused_or_revoked_licence",
    "network_component_size",
    "network_degree",
]

#: People or owners linked to more businesses than this are service providers, not meaningful links.
MAX_SHARED_BUSINESSES = 50
#: Registered offices hosting more businesses than this are mass-registration addresses and link nobody.
MAX_ADDRESS_BUSINESSES = 20
#: Largest number of hops searched for a labelled positive.
MAX_HOPS = 3
#: Distance given when no labelled positive lies within :data:`MAX_HOPS` hops.
DISTANCE_NONE_WITHIN_REACH = 4.0
_NO_PSC = r"^(?:no[\s_-]?psc|none$|unknown$)"
_NO_PSC_PY = python_pattern(_NO_PSC)

_NETWORK_REF = ("Transcrime DATACROS (2018) network and ownership-link indicators; Savona & Riccardi (2018) "
                "Mapping the risk of organised crime infiltration")


@dataclass(frozen=True)
class _Graph:
    nodes: pd.Index
    adjacency: sp.csr_matrix


def _cliques(keys: np.ndarray, nodes: np.ndarray, n: int, max_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges between all distinct nodes sharing a key (keys >= 0 held by 2..max_size nodes), each pair once."""
    keep = (keys >= 0) & (nodes >= 0)
    both = np.sort(keys[keep].astype(np.int64) * max(n, 1) + nodes[keep].astype(np.int64))
    both = both[np.r_[True, both[1:] != both[:-1]]] if len(both) else both
    key, node = both // max(n, 1), both % max(n, 1)
    if len(key) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[start, len(key)])
    ok = np.repeat((size >= 2) & (size <= max_size), size)
    end = np.repeat(start + size, size)
    partners = np.where(ok, end - np.arange(len(key)) - 1, 0)
    first = np.repeat(np.arange(len(key)), partners)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(partners) - partners, partners)
    return node[first], node[first + 1 + offset]


def _named_owners(owner_id: pd.Series) -> np.ndarray:
    """Whether each owner id names someone (not blank, not a "no PSC" or "unknown" placeholder)."""
    if (values := few_ascii(owner_id)) is not None:  # one supplier's few owners: the rule in Python (features.text)
        return np.array([not is_missing(v) and bool(t := str(v).strip().lower()) and not _NO_PSC_PY.search(t)
                         for v in values], dtype=bool)
    owner = owner_id.astype("string[pyarrow]").str.strip().str.lower().fillna("")
    return ((owner.str.len() > 0) & ~owner.str.contains(_NO_PSC, regex=True)).to_numpy(bool)


def _build_graph(view: AsOf) -> _Graph:
    nodes = view.index
    n = len(nodes)
    off, officer_ids = _officer_table(view)
    appointments = np.bincount(off["person"].to_numpy(np.int64), minlength=len(officer_ids))
    person = off["person"].to_numpy(np.int64)
    keep = (off["resigned_on"].isna().to_numpy() & (off["code"].to_numpy() >= 0) & ~off["nominee"].to_numpy()
            & (appointments[person] <= MAX_SHARED_BUSINESSES))
    officer_person, officer_node = person[keep], off["code"].to_numpy(np.int64)[keep]

    owner_ids = pd.Series([], dtype=object)
    owner_node = np.empty(0, np.int64)
    own = view.ownership if view.has("ownership") else pd.DataFrame()
    if not own.empty:
        named = _named_owners(own["owner_id"])
        active = own["ceased_on"].isna().to_numpy() & own["owner_kind"].ne("unknown").to_numpy() & named
        owner_node = nodes.get_indexer(pd.Index(own["company_number"][active])).astype(np.int64)
        owner_ids = own["owner_id"][active]

    # One id space for people and entities: an owner_id may equal an officer_id or a company number.
    joint, uniques = pd.factorize(np.concatenate([officer_ids.to_numpy(object), owner_ids.to_numpy(object)]))
    joint = joint.astype(np.int64)
    key = np.concatenate([joint[: len(officer_ids)][officer_person], joint[len(officer_ids):]])
    member = np.concatenate([officer_node, owner_node])
    heads, tails = [], []
    a, b = _cliques(key, member, n, MAX_SHARED_BUSINESSES)
    heads.append(a)
    tails.append(b)
    # Corporate control: the owner (or corporate officer) is itself a business of the register.
    controller = nodes.get_indexer(pd.Index(uniques)).astype(np.int64)[key] if len(key) else key
    link = (controller >= 0) & (member >= 0) & (controller != member)
    heads.append(controller[link])
    tails.append(member[link])

    a, b = _cliques(_address_keys(view), np.arange(n, dtype=np.int64), n, MAX_ADDRESS_BUSINESSES)
    heads.append(a)
    tails.append(b)

    head = np.concatenate(heads)
    tail = np.concatenate(tails)
    adj = sp.coo_matrix((np.ones(2 * len(head), np.int32), (np.concatenate([head, tail]),
                                                            np.concatenate([tail, head]))), shape=(n, n)).tocsr()
    adj.sum_duplicates()
    adj.setdiag(0)
    adj.eliminate_zeros()
    adj.data[:] = 1
    return _Graph(nodes, adj)


def _graph(view: AsOf) -> _Graph:
    """Return the business graph at ``as_of`` (built once per view)."""
    return view.memo("network:graph", lambda: _build_graph(view))


def _indicator(graph: _Graph, businesses: pd.Index | pd.Series) -> np.ndarray:
    pos = graph.nodes.get_indexer(pd.Index(businesses).dropna().unique())
    out = np.zeros(len(graph.nodes), np.float64)
    out[pos[pos >= 0]] = 1.0
    return out


def _neighbour_count(graph: _Graph, indicator: np.ndarray, name: str) -> pd.Series:
    return pd.Series(graph.adjacency @ indicator, index=graph.nodes, name=name, dtype="float64")


def _positives(view: AsOf) -> pd.Index:
    """Businesses whose latest label known at ``as_of`` is 1."""
    lab = view.labels
    if lab.empty:
        return pd.Index([], name="company_number")
    latest = lab.sort_values(["company_number", "labelled_on", "label"], kind="mergesort").drop_duplicates(
        "company_number", keep="last")
    return pd.Index(latest.loc[latest["label"] == 1, "company_number"], name="company_number")


@feature(
    sources=("officers", "ownership", "companies"),
    rationale=("Businesses tied to many others through current officers, owners, corporate control or a shared "
               "registered office sit inside a network through which a criminal group can move money and people "
               "(the register only gives the current office; service providers and nominees are not links)."),
    reference=_NETWORK_REF,
    direction="higher-is-riskier",
    reason="The business was linked to {value} other businesses on {as_of} through officers, owners or its address; "
           "{peer_share} of {peer_group} had fewer links",
)
def network_degree(view: AsOf) -> pd.Series:
    """Distinct businesses directly linked at ``as_of``."""
    graph = _graph(view)
    return pd.Series(graph.adjacency.getnnz(axis=1), index=graph.nodes, name="network_degree", dtype="float64")


@feature(
    sources=("officers", "ownership", "companies"),
    rationale=("A large connected group of businesses under shared control is the footprint of an organised "
               "group's portfolio of companies (the register only gives the current office)."),
    reference=_NETWORK_REF,
    direction="higher-is-riskier",
    reason="The business belonged to a connected group of {value} businesses on {as_of}; {peer_share} of "
           "{peer_group} belonged to smaller groups",
)
def network_component_size(view: AsOf) -> pd.Series:
    """Businesses in the connected component at ``as_of``, the business itself included."""
    graph = _graph(view)
    if graph.adjacency.shape[0] == 0:
        return pd.Series(dtype="float64", index=graph.nodes, name="network_component_size")
    _, labels = connected_components(graph.adjacency, directed=False)
    sizes = np.bincount(labels)[labels]
    return pd.Series(sizes, index=graph.nodes, name="network_component_size", dtype="float64")


@feature(
    sources=("officers", "ownership", "companies"),
    rationale=("Links to dissolved businesses point to phoenix activity: the same people or address reappearing "
               "after companies are wound up, leaving debts and scrutiny behind."),
    reference="Insolvency Service / BEIS (2018) phoenixism; " + _NETWORK_REF,
    direction="higher-is-riskier",
    reason="The business was linked to {value} businesses that had ceased by {as_of}; {peer_share} of {peer_group} "
           "had fewer",
)
def linked_businesses_dissolved(view: AsOf) -> pd.Series:
    """Directly linked businesses whose cessation is dated on or before ``as_of``."""
    graph = _graph(view)
    comp = view.companies
    ceased = _indicator(graph, comp.index[comp["date_of_cessation"].notna()])
    return _neighbour_count(graph, ceased, "linked_businesses_dissolved")


@feature(
    sources=("officers", "ownership", "companies", "licences"),
    rationale=("Links to a business refused a licence or stripped of one (fit-and-proper or police grounds) "
               "suggest the same controllers trading through another business."),
    reference="Licensing (Scotland) Act 2005 s.23 and s.84 (refusal and revocation); Civic Government (Scotland) "
              "Act 1982 Sch.1; " + _NETWORK_REF,
    direction="higher-is-riskier",
    reason="The business was linked to {value} businesses with a licence refused or revoked by {as_of}; "
           "{peer_share} of {peer_group} had fewer",
)
def linked_businesses_with_refused_or_revoked_licence(view: AsOf) -> pd.Series:
    """Directly linked businesses holding a licence whose status at ``as_of`` is refused or revoked."""
    if not view.has("licences"):
        return pd.Series(dtype="float64", name="linked_businesses_with_refused_or_revoked_licence")
    graph = _graph(view)
    lic = view.licences
    bad = lic.loc[lic["status_as_of"].isin(["refused", "revoked"]), "holder_company_number"] if not lic.empty \
        else pd.Series(dtype=object)
    return _neighbour_count(graph, _indicator(graph, pd.Index(bad)),
                            "linked_businesses_with_refused_or_revoked_licence")


@feature(
    sources=("officers", "ownership", "companies", "labels"),
    rationale=("Businesses linked to others already found infiltrated are often part of the same group's "
               "portfolio; only other businesses' outcomes known by the date count, never the business's own."),
    reference=_NETWORK_REF,
    direction="higher-is-riskier",
    reason="The business was linked to {value} other businesses confirmed infiltrated by {as_of}; {peer_share} of "
           "{peer_group} had fewer",
)
def linked_businesses_labelled_positive(view: AsOf) -> pd.Series:
    """Directly linked OTHER businesses whose latest label known at ``as_of`` is 1."""
    if not view.has("labels"):
        return pd.Series(dtype="float64", name="linked_businesses_labelled_positive")
    graph = _graph(view)
    return _neighbour_count(graph, _indicator(graph, _positives(view)), "linked_businesses_labelled_positive")


@feature(
    sources=("officers", "ownership", "companies", "labels"),
    rationale=("The closer a business sits to another business found infiltrated, the likelier it shares its "
               "controllers; 4 means none within 3 links, and the business's own label is never used."),
    reference=_NETWORK_REF,
    direction="lower-is-riskier",
    reason="The nearest other business confirmed infiltrated by {as_of} was {value} links away (4 means none within "
           "3); {peer_share} of {peer_group} were closer",
)
def distance_to_labelled_positive(view: AsOf) -> pd.Series:
    """Hops (1-3) to the nearest OTHER business labelled positive at ``as_of``; 4 when none within 3 hops."""
    if not view.has("labels"):
        return pd.Series(dtype="float64", name="distance_to_labelled_positive")
    graph = _graph(view)
    n = len(graph.nodes)
    positive = _indicator(graph, _positives(view))
    sources = np.flatnonzero(positive)
    distance = np.full(n, DISTANCE_NONE_WITHIN_REACH)
    if len(sources):
        # Breadth-first from every positive at once, keeping which positives reach each node: a node is within k
        # hops of another positive when at least one positive other than itself reaches it in k steps.
        step = (graph.adjacency + sp.identity(n, dtype=np.int32, format="csr")).tocsr()
        reach: Any = sp.csr_matrix((np.ones(len(sources), np.int32), (np.arange(len(sources)), sources)),
                                   shape=(len(sources), n))
        for hops in range(1, MAX_HOPS + 1):
            reach = (reach @ step).tocsr()
            reach.data[:] = 1
            others = reach.getnnz(axis=0) - positive
            newly = (others > 0) & (distance == DISTANCE_NONE_WITHIN_REACH)
            distance[newly] = hops
    return pd.Series(distance, index=graph.nodes, name="distance_to_labelled_positive", dtype="float64")
