"""The network family computed with Dask's own shuffles and joins, equal to :mod:`features.network`.

The local family builds the business graph in one process (:func:`features.network._build_graph`). Here every
step is a Dask DataFrame operation over partitions of the staged tables, so no process holds the whole graph:

1. Each table is read in row partitions from the staged Arrow files and cut to the date by the same point-in-time
   view as locally (:class:`features.pit.AsOf`, applied to the partition: its rules are row by row).
2. Officer appointments are grouped by officer (a shuffle) to find formation-agent nominees and people with more
   than :data:`~features.network.MAX_SHARED_BUSINESSES` appointments; current appointments and named active owners
   become (key, business) memberships in one id space.
3. Keys held by 2 to 50 businesses, and registered offices held by 2 to 20, link every pair of their businesses
   (a self-join on the key); an owner or officer id equal to a company number links the two businesses.
4. Degree and the linked counts are group-bys of the edge list joined to indicator tables. Component sizes come
   from label propagation (each business takes the smallest label among itself and its neighbours until no label
   changes), and the distance to the nearest other labelled business from three rounds of frontier joins that
   carry the two smallest positive ids reaching each business (the frontier is held by the client between rounds;
   see :func:`_distances`).

:func:`network_features` returns the six network features for every business, equal to ``features.build``'s.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from features.network import DISTANCE_NONE_WITHIN_REACH, MAX_ADDRESS_BUSINESSES, MAX_HOPS, MAX_SHARED_BUSINESSES
from features.register import NOMINEE_MAX_DAYS, NOMINEE_MIN_APPOINTMENTS

__all__ = ["NETWORK_FEATURES", "network_features"]

log = logging.getLogger(__name__)

#: The features this module computes (the whole network family).
NETWORK_FEATURES = ("network_degree", "network_component_size", "linked_businesses_dissolved",
                    "linked_businesses_with_refused_or_revoked_licence", "linked_businesses_labelled_positive",
                    "distance_to_labelled_positive")

#: Rows of a staged table per partition.
_ROWS = 250_000


def _view(folder: str, table: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> Any:
    """Return the point-in-time view of rows ``start:stop`` of a staged table (a data set of that table alone)."""
    from features.pit import AsOf
    from riskmodel.contract import Dataset

    with pa.memory_map(str(Path(folder) / f"{table}.arrow")) as source:
        frame = ipc.open_file(source).read_all().slice(start, stop - start).to_pandas()
    empty = pd.DataFrame()
    dataset = Dataset(root=Path(folder), tables={table: frame}, quarantine={}, problems=empty, summary=empty,
                      extract_date=extract_date)
    return AsOf(dataset, as_of)


def _companies(folder: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> pd.DataFrame:
    from features.register import office_parts

    view = _view(folder, "companies", start, stop, extract_date, as_of)
    comp = view.companies
    office = view.registered_office.reindex(view.index)
    postcode, address = office_parts(office["registered_office_postcode"], office["registered_office_address"])
    known = (postcode.notna() & address.notna()).to_numpy()
    key = np.where(known, postcode.astype(object).to_numpy() + "\x1f" + address.astype(object).to_numpy(), None)
    return pd.DataFrame({"company_number": view.index.to_numpy(object),
                         "ceased": comp["date_of_cessation"].notna().to_numpy(),
                         "office": pd.Series(key, dtype=object)})


def _officers(folder: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> pd.DataFrame:
    off = _view(folder, "officers", start, stop, extract_date, as_of).officers
    appointed = off["appointed_on"].to_numpy("datetime64[ns]")
    resigned = off["resigned_on"].to_numpy("datetime64[ns]")
    with np.errstate(invalid="ignore"):
        short = (resigned - appointed) < np.timedelta64(NOMINEE_MAX_DAYS, "D")
    return pd.DataFrame({"key": off["officer_id"].to_numpy(object), "node": off["company_number"].to_numpy(object),
                         "current": off["resigned_on"].isna().to_numpy(), "short": short.astype("int64")})


def _owners(folder: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> pd.DataFrame:
    from features.network import _named_owners

    own = _view(folder, "ownership", start, stop, extract_date, as_of).ownership
    if own.empty:
        return pd.DataFrame({"key": pd.Series(dtype=object), "node": pd.Series(dtype=object)})
    active = own["ceased_on"].isna().to_numpy() & own["owner_kind"].ne("unknown").to_numpy() & _named_owners(
        own["owner_id"])
    return pd.DataFrame({"key": own["owner_id"][active].to_numpy(object),
                         "node": own["company_number"][active].to_numpy(object)})


def _bad_licences(folder: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> pd.DataFrame:
    lic = _view(folder, "licences", start, stop, extract_date, as_of).licences
    bad = lic.loc[lic["status_as_of"].isin(["refused", "revoked"]), "holder_company_number"] if not lic.empty \
        else pd.Series(dtype=object)
    return pd.DataFrame({"node": bad.dropna().to_numpy(object)})


def _labels(folder: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> pd.DataFrame:
    lab = _view(folder, "labels", start, stop, extract_date, as_of).labels
    return pd.DataFrame({"node": lab["company_number"].to_numpy(object),
                         "labelled_on": lab["labelled_on"].to_numpy("datetime64[ns]"),
                         "label": lab["label"].to_numpy("int64")})


def _table(reader: Any, folder: str, table: str, extract_date: dt.date | None, as_of: dt.date) -> Any:
    """Return ``reader`` over row partitions of a staged table, as a Dask DataFrame."""
    import dask.dataframe as dd

    with pa.memory_map(str(Path(folder) / f"{table}.arrow")) as source:
        rows = ipc.open_file(source).read_all().num_rows
    bounds = list(range(0, rows, _ROWS)) or [0]
    meta = reader(folder, 0, 0, extract_date, as_of)
    return dd.from_map(lambda a: reader(folder, a, min(a + _ROWS, rows), extract_date, as_of), bounds, meta=meta,
                       enforce_metadata=False)


def _rename_part(part: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return part.rename(columns=columns)


def _renamed(frame: Any, columns: dict[str, str]) -> Any:
    """``frame`` with columns renamed partition by partition.

    Dask's own ``rename`` keeps track of the columns a frame was shuffled on, and a merge after renaming such a
    column fails while planning (dask 2026.8); renaming inside the partitions leaves nothing to track.
    """
    return frame.map_partitions(_rename_part, columns, meta=frame._meta.rename(columns=columns),
                                enforce_metadata=False)


def _pairs(members: Any, max_size: int) -> Any:
    """Edges between every two distinct businesses sharing a key held by 2 to ``max_size`` businesses."""
    members = members.drop_duplicates()
    sizes = members.groupby("key").node.count().rename("size").reset_index()
    grouped = members.merge(sizes[(sizes["size"] >= 2) & (sizes["size"] <= max_size)][["key"]], on="key")
    pairs = grouped.merge(grouped, on="key", suffixes=("_a", "_b"))
    pairs = pairs[pairs["node_a"] != pairs["node_b"]]
    return _renamed(pairs[["node_a", "node_b"]], {"node_a": "a", "node_b": "b"})


def _counts(edges: Any, flagged: Any) -> pd.Series:
    """Neighbours of each business that are in ``flagged`` (a frame with one ``node`` per flagged business).

    ``flagged`` may be a Dask DataFrame (joined by a shuffle) or a small pandas one (sent to every partition).
    """
    if isinstance(flagged, pd.DataFrame):
        hits = _broadcast_join(edges, flagged.drop_duplicates().rename(columns={"node": "b"}))
    else:
        hits = edges.merge(_renamed(flagged.drop_duplicates(), {"node": "b"}), on="b")
    result: pd.Series = hits.groupby("a").b.count().compute()
    return result


def _join_part(part: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    return part.merge(right, on="b")


def _broadcast_join(edges: Any, right: pd.DataFrame) -> Any:
    """Join each edge partition to a small pandas frame on ``b`` (the frame travels to every partition)."""
    meta = edges._meta.merge(right.iloc[:0], on="b")
    return edges.map_partitions(_join_part, right, meta=meta, enforce_metadata=False)


def network_features(staged: Any, as_of: dt.date) -> pd.DataFrame:
    """Compute the six network features of every business that existed at ``as_of`` on the Dask cluster.

    Parameters
    ----------
    staged : StagedDataset
        The data set, staged on storage every worker reads.
    as_of : date
        Point in time.

    Returns
    -------
    DataFrame
        Indexed by ``company_number`` in the order of ``AsOf(dataset, as_of).index``, one column per name of
        :data:`NETWORK_FEATURES`: equal to ``features.build(dataset, as_of, list(NETWORK_FEATURES))``.
    """
    import dask.dataframe as dd

    from features.pit import AsOf

    dataset = staged.dataset
    folder, extract = str(Path(staged.folder).resolve()), dataset.extract_date
    index = AsOf(dataset, as_of).index
    companies = _table(_companies, folder, "companies", extract, as_of).persist()
    nodes = _renamed(companies[["company_number"]], {"company_number": "node"})

    parts = []
    members = []
    if "officers" in dataset:
        off = _table(_officers, folder, "officers", extract, as_of)
        per_person = off.groupby("key").agg({"node": "count", "short": "sum"}).reset_index()
        per_person = _renamed(per_person, {"node": "appointments"})
        nominee = (per_person["appointments"] > NOMINEE_MIN_APPOINTMENTS) & (
            per_person["short"] / per_person["appointments"].clip(lower=1) > 0.5)
        ok = per_person[~nominee & (per_person["appointments"] <= MAX_SHARED_BUSINESSES)][["key"]]
        members.append(off[off["current"]][["key", "node"]].merge(ok, on="key").merge(nodes, on="node"))
    if "ownership" in dataset:
        members.append(_table(_owners, folder, "ownership", extract, as_of).merge(nodes, on="node"))
    if members:
        member = dd.concat(members).drop_duplicates().persist()
        parts.append(_pairs(member, MAX_SHARED_BUSINESSES))
        # Corporate control: the key is itself a business of the register.
        control = member.merge(_renamed(nodes, {"node": "key"}), on="key")
        control = _renamed(control[control["key"] != control["node"]], {"key": "a", "node": "b"})
        parts.append(control[["a", "b"]])
    offices = _renamed(companies[companies["office"].notnull()][["office", "company_number"]],
                       {"office": "key", "company_number": "node"})
    parts.append(_pairs(offices, MAX_ADDRESS_BUSINESSES))
    one_way = dd.concat(parts)
    edges = dd.concat([one_way, _renamed(one_way, {"a": "b", "b": "a"})[["a", "b"]]]).drop_duplicates()
    edges = edges[edges["a"] != edges["b"]].persist()

    out = pd.DataFrame(index=index)
    out["network_degree"] = edges.groupby("a").b.count().compute().reindex(index).fillna(0.0)
    out["network_component_size"] = _component_sizes(edges, index)
    ceased = _renamed(companies[companies["ceased"]][["company_number"]], {"company_number": "node"})
    out["linked_businesses_dissolved"] = _counts(edges, ceased).reindex(index).fillna(0.0)
    if "licences" in dataset:
        bad = _table(_bad_licences, folder, "licences", extract, as_of)
        out["linked_businesses_with_refused_or_revoked_licence"] = _counts(edges, bad).reindex(index).fillna(0.0)
    else:
        out["linked_businesses_with_refused_or_revoked_licence"] = np.nan
    if "labels" in dataset:
        positives = _positives(_table(_labels, folder, "labels", extract, as_of))
        out["linked_businesses_labelled_positive"] = _counts(
            edges, pd.DataFrame({"node": pd.Series(positives, dtype=object)})).reindex(index).fillna(0.0)
        out["distance_to_labelled_positive"] = _distances(edges, positives, index)
    else:
        out["linked_businesses_labelled_positive"] = np.nan
        out["distance_to_labelled_positive"] = np.nan
    return out.astype("float64")[list(NETWORK_FEATURES)]


def _positives(labels: Any) -> np.ndarray:
    """Businesses whose latest label known at the date is 1 (ties by label, as :func:`features.network._positives`)."""
    ordered = labels.compute().sort_values(["node", "labelled_on", "label"], kind="mergesort")
    latest = ordered.drop_duplicates("node", keep="last")
    return latest.loc[latest["label"] == 1, "node"].to_numpy(object)


def _component_sizes(edges: Any, index: pd.Index) -> pd.Series:
    """Connected-component sizes by label propagation: the smallest business number of each component.

    Each round every linked business takes the smallest label among itself and its neighbours, then the label of
    its label (pointer jumping: a label is a business of the same component), which cuts the rounds from the
    component's diameter to about its logarithm. Businesses without a link form components of one.
    """
    nodes = _renamed(edges[["a"]].drop_duplicates(), {"a": "node"})
    labels = nodes.assign(label=nodes["node"]).persist()
    rounds = 0
    while True:
        rounds += 1
        reached = edges.merge(_renamed(labels, {"node": "b"}), on="b").groupby("a").label.min()
        proposal = _renamed(reached.to_frame("proposed").reset_index(), {"a": "node"})
        merged = labels.merge(proposal, on="node", how="left")
        smaller = merged["proposed"].notnull() & (merged["proposed"] < merged["label"])
        merged["label"] = merged["label"].where(~smaller, merged["proposed"])
        stepped = merged[["node", "label"]]
        jumped = stepped.merge(_renamed(stepped, {"node": "label", "label": "further"}), on="label", how="left")
        closer = jumped["further"].notnull() & (jumped["further"] < jumped["label"])
        jumped["label"] = jumped["label"].where(~closer, jumped["further"])
        fresh = jumped[["node", "label"]].persist()
        changed = int(fresh.merge(_renamed(labels, {"label": "before"}), on="node")
                       .pipe(lambda f: f["label"] != f["before"]).sum().compute())
        labels = fresh
        log.info("label propagation round %d: %d labels changed", rounds, changed)
        if not changed:
            break
    final = labels.compute().set_index("node")["label"]
    sizes = final.map(final.value_counts())
    return sizes.reindex(index).fillna(1.0).astype("float64")


def _distances(edges: Any, positives: np.ndarray, index: pd.Index) -> pd.Series:
    """Hops (1 to 3) to the nearest other positive business; 4 when none lies within 3 hops.

    The frontier carries, per business, the two smallest positive ids that reach it within k hops: a business has
    another positive within k hops exactly when one of those two is not itself. The edges stay on the cluster;
    the frontier (two rows at most per business reached) is held by the client between rounds and sent to every
    edge partition. A frontier kept as a Dask DataFrame gave 2 wrong distances out of 10^5 businesses (dask
    2026.8; the cause is not yet found), so it is not used.
    """
    distance = pd.Series(DISTANCE_NONE_WITHIN_REACH, index=index)
    if not len(positives):
        return distance
    reach = pd.DataFrame({"node": pd.Series(positives, dtype=object), "source": pd.Series(positives, dtype=object)})
    for hops in range(1, MAX_HOPS + 1):
        spread = _broadcast_join(edges, reach.rename(columns={"node": "b"}))
        spread = spread[["a", "source"]].compute().rename(columns={"a": "node"})
        both = pd.concat([reach, spread.astype(object)], ignore_index=True).drop_duplicates()
        first = both.groupby("node")["source"].min()
        rest = both[both["source"] != both["node"].map(first)]
        second = rest.groupby("node")["source"].min()
        reach = pd.concat([first.reset_index(), second.reset_index()], ignore_index=True)
        other = (first.index.to_series() != first) | first.index.isin(second.index)
        newly = other[other].index
        newly = newly[distance.reindex(newly).to_numpy() == DISTANCE_NONE_WITHIN_REACH]
        distance.loc[distance.index.intersection(newly)] = float(hops)
    return distance
