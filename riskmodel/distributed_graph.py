"""The network family computed with Dask's own shuffles and reductions, equal to :mod:`features.network`.

The local family builds the business graph in one process (:func:`features.network._build_graph`). Here every
step is a Dask DataFrame operation over partitions of the staged tables, so no process holds the whole graph:

1. Each table is read in row partitions from the staged Arrow files (only the columns used) and cut to the date by
   the same point-in-time view as locally (:class:`features.pit.AsOf`, applied to the partition: its rules are row
   by row).
2. Officer appointments, named active owners and registered offices become (key, business) memberships, shuffled
   on the key: each partition then holds every row of its keys, finds formation-agent nominees and people with
   more than :data:`~features.network.MAX_SHARED_BUSINESSES` appointments, links every two businesses sharing a
   key held by 2 to 50 businesses (a registered office: 2 to 20), and a business to the business whose company
   number is one of its owner or officer ids. From there on a business is named by an integer code, its position
   in one partition of the businesses sent to every task.
3. The links are shuffled on their first end, where duplicates meet and are dropped: the edge list, both ways, in
   a few partitions per worker thread, persisted.
4. Degree and the linked counts are counted partition by partition (a business's edges are all in its partition).
   Component sizes come from a tree reduction of spanning forests (:meth:`dask.dataframe.DataFrame.reduction`):
   each edge partition is reduced to a spanning forest of its own edges, one (node, root) row per node of a piece
   other than its root; forests are merged a few at a time the same way, and the last one maps every linked
   business to the root of its component, whose size is the number of businesses pointing to the root plus the
   root. A forest has at most one row per linked business, so what reaches the client is of the size of the
   output column, not of the graph. The distance to the nearest other labelled business comes from three rounds
   of frontier joins that carry the two smallest positive codes reaching each business (the frontier is held by
   the client between rounds; see :func:`_distances`).

Memberships and links go through explicit shuffles and per-partition work rather than chains of Dask joins: dask
2026.8 takes the output of a broadcast join as partitioned on the join key, and a second join or group-by on that
key then runs partition by partition and loses matches (see :func:`_edge_list`).

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
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from features.network import (
    DISTANCE_NONE_WITHIN_REACH,
    MAX_ADDRESS_BUSINESSES,
    MAX_HOPS,
    MAX_SHARED_BUSINESSES,
    _cliques,
)
from features.register import NOMINEE_MAX_DAYS, NOMINEE_MIN_APPOINTMENTS
from riskmodel.engine import persisted

__all__ = ["NETWORK_FEATURES", "network_features"]

log = logging.getLogger(__name__)

#: The features this module computes (the whole network family).
NETWORK_FEATURES = ("network_degree", "network_component_size", "linked_businesses_dissolved",
                    "linked_businesses_with_refused_or_revoked_licence", "linked_businesses_labelled_positive",
                    "distance_to_labelled_positive")

#: Rows of a staged table per partition.
_ROWS = 250_000
#: Columns read from each staged table: those the point-in-time rules (:class:`features.pit.AsOf`) and the readers
#: below use.
_COLUMNS = {
    "companies": ("company_number", "date_of_creation", "date_of_cessation", "registered_office_postcode",
                  "registered_office_address"),
    "officers": ("company_number", "officer_id", "appointed_on", "resigned_on"),
    "ownership": ("company_number", "owner_id", "owner_kind", "notified_on", "ceased_on"),
    "licences": ("holder_company_number", "applied_on", "decided_on", "status_date", "status"),
    "labels": ("company_number", "labelled_on", "label"),
}
#: Rows of the link tables (companies, officers, ownership) per partition of the edge list, at most.
_EDGE_ROWS = 2_000_000
#: Kinds of membership rows (a key and a business): an officer appointment, a named active owner, an office.
_OFFICER, _OWNER, _OFFICE = 0, 1, 2


def _view(folder: str, table: str, start: int, stop: int, extract_date: dt.date | None, as_of: dt.date) -> Any:
    """Return the point-in-time view of rows ``start:stop`` of a staged table (a data set of that table alone)."""
    from features.pit import AsOf
    from riskmodel.contract import Dataset

    with pa.memory_map(str(Path(folder) / f"{table}.arrow")) as source:
        rows = ipc.open_file(source).read_all()
        # Only the columns the view's date rules and the readers use: converting the others (names, addresses,
        # nationalities, ...) to Python strings was most of a reader's time.
        rows = rows.select([c for c in _COLUMNS[table] if c in rows.column_names])
        frame = rows.slice(start, stop - start).to_pandas()
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


def _arrow_strings(values: Any) -> pa.Array:
    array = pa.array(getattr(values, "array", values), type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _isin(values: Any, known: Any) -> np.ndarray:
    """Whether each of ``values`` is one of ``known`` (strings), as a boolean array.

    pyarrow's hash set: pandas' ``isin`` on Arrow-backed strings loops in Python over ``known`` (pandas 2.3), which
    took seconds per partition against every business of a large register.
    """
    found: np.ndarray = pc.is_in(_arrow_strings(values), value_set=_arrow_strings(known)).to_numpy(
        zero_copy_only=False)
    return found


def _codes(known: Any, *values: Any) -> list[np.ndarray]:
    """Position of each of ``values`` in ``known`` (strings), -1 when absent, one array per argument.

    pyarrow's hash table (see :func:`_isin`), built once for all the arguments: building it over every business
    of a large register costs more than the look-ups.
    """
    arrays = [_arrow_strings(v) for v in values]
    found = pc.index_in(pa.concat_arrays(arrays), value_set=_arrow_strings(known)).fill_null(-1)
    codes = found.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.split(codes, np.cumsum([len(a) for a in arrays])[:-1])


def _key_edges(part: pd.DataFrame, businesses: pd.DataFrame) -> pd.DataFrame:
    """Return the links made by the keys of one partition, both ways: people and owners, control, offices.

    ``part`` holds every row of its keys (a partition of the memberships shuffled on the key), so each key's
    appointments, nominee test, distinct businesses and pairs are complete here. ``businesses`` is every business
    at the date (one partition sent to every task); a business is named by its position there (its code), the
    same in every task.
    """
    known = businesses["company_number"]
    kind = part["kind"].to_numpy()
    off = part[kind == _OFFICER]
    # Appointments and short ones per person, every appointment of the view counting (as locally).
    per_person = off.groupby("key").agg(appointments=("node", "count"), short=("short", "sum"))
    nominee = (per_person["appointments"] > NOMINEE_MIN_APPOINTMENTS) & (
        per_person["short"] / per_person["appointments"].clip(lower=1) > 0.5)
    ok = per_person.index[~nominee & (per_person["appointments"] <= MAX_SHARED_BUSINESSES)]
    current = off[off["current"].to_numpy(bool) & _isin(off["key"], ok)]
    owners = part[kind == _OWNER]
    member = pd.concat([current[["key", "node"]], owners[["key", "node"]]], ignore_index=True)
    offices = part[kind == _OFFICE]
    member_node, member_owner, office_node = _codes(known, member["node"], member["key"], offices["node"])
    # Distinct (key, business) rows; the owner's own code comes along (it depends on the key alone).
    member = pd.DataFrame({"key": member["key"], "node": member_node, "owner": member_owner})
    member = member[member_node >= 0].drop_duplicates(["key", "node"])
    node, owner = member["node"].to_numpy(), member["owner"].to_numpy()
    heads, tails = [], []
    for keys, nodes, max_size in ((member["key"], node, MAX_SHARED_BUSINESSES),
                                  (offices["key"], office_node, MAX_ADDRESS_BUSINESSES)):
        key_code = pd.factorize(keys)[0].astype(np.int64)
        a, b = _cliques(np.where(nodes >= 0, key_code, -1), nodes, len(known), max_size)
        heads += [a, b]
        tails += [b, a]
    # Corporate control: the key is itself a business of the register.
    control = (owner >= 0) & (owner != node)
    heads += [owner[control], node[control]]
    tails += [node[control], owner[control]]
    return pd.DataFrame({"a": np.concatenate(heads), "b": np.concatenate(tails)})


def _distinct_edges(part: pd.DataFrame) -> pd.DataFrame:
    """Each edge once, no loop (a partition of the edges shuffled on ``a`` holds all copies of its edges)."""
    part = part.drop_duplicates()
    return part[(part["a"] != part["b"]).to_numpy()].reset_index(drop=True)


def _layout(part: pd.DataFrame, kind: int) -> pd.DataFrame:
    out = part[["key", "node"]].reset_index(drop=True)
    n = len(out)
    out["kind"] = np.full(n, kind, np.int8)
    out["current"] = part["current"].to_numpy(bool) if "current" in part else np.ones(n, bool)
    out["short"] = part["short"].to_numpy(np.int64) if "short" in part else np.zeros(n, np.int64)
    return out


def _memberships(table: Any, kind: int) -> Any:
    """``table``'s (key, node) rows in the one layout of :func:`_key_edges` (appointment columns for officers)."""
    return table.map_partitions(_layout, kind, meta=_layout(table._meta, kind), enforce_metadata=False)


def _edge_list(dataset: Any, folder: str, extract: dt.date | None, as_of: dt.date, companies: Any, businesses: Any,
               npartitions: int) -> Any:
    """Return the edge list between business codes, both ways and each edge once, partitioned on ``a`` (persisted).

    Two shuffles: every membership (an officer appointment, a named active owner, a registered office) goes to the
    partition of its key, where :func:`_key_edges` finds that key's links; the links then go to the partition of
    their first end, where duplicates (a pair linked by several keys) meet and are dropped. Each step is a
    ``map_partitions`` over an explicit shuffle, not a chain of Dask joins: dask 2026.8 takes the output of a
    broadcast join as partitioned on the join key, and a second join on that key then runs partition by partition
    and loses matches (it lost links at 10^6 businesses), whereas an explicit shuffle is always carried out.
    """
    import dask.dataframe as dd

    offices = companies[companies["office"].notnull()][["office", "company_number"]]
    sources = [_memberships(_renamed(offices, {"office": "key", "company_number": "node"}), _OFFICE)]
    if "officers" in dataset:
        sources.append(_memberships(_table(_officers, folder, "officers", extract, as_of), _OFFICER))
    if "ownership" in dataset:
        sources.append(_memberships(_table(_owners, folder, "ownership", extract, as_of), _OWNER))
    by_key = dd.concat(sources).shuffle("key", npartitions=npartitions)
    meta = pd.DataFrame({"a": pd.Series(dtype="int64"), "b": pd.Series(dtype="int64")})
    links = by_key.map_partitions(_key_edges, businesses, meta=meta, enforce_metadata=False)
    edges = links.shuffle("a", npartitions=npartitions).map_partitions(_distinct_edges, meta=meta,
                                                                        enforce_metadata=False)
    return persisted(edges)


def _neighbour_counts(part: pd.DataFrame, businesses: pd.DataFrame, bad: pd.DataFrame | None,
                      positives: np.ndarray | None) -> pd.DataFrame:
    """Return the degree and the linked dissolved, refused-or-revoked and positive businesses of ``part``'s ``a``.

    ``part`` holds every edge of its ``a`` ends (a partition of the edge list), so the counts are final here.
    """
    b = part["b"].to_numpy()
    flags = {"network_degree": np.ones(len(part)),
             "linked_businesses_dissolved": businesses["ceased"].to_numpy(bool)[b].astype(np.float64)}
    for name, flagged in (("linked_businesses_with_refused_or_revoked_licence", bad),
                          ("linked_businesses_labelled_positive", positives)):
        if flagged is None:
            continue
        codes = _codes(businesses["company_number"], flagged["node"])[0] if isinstance(flagged, pd.DataFrame) \
            else flagged
        flag = np.zeros(len(businesses), np.float64)
        flag[codes[codes >= 0]] = 1.0
        flags[name] = flag[b]
    return pd.DataFrame(flags).groupby(part["a"].to_numpy()).sum()


def _join_part(part: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    return part.merge(right, on="b")


def _broadcast_join(edges: Any, right: pd.DataFrame) -> Any:
    """Join each edge partition to a small pandas frame on ``b`` (the frame travels to every partition)."""
    meta = edges._meta.merge(right.iloc[:0], on="b")
    return edges.map_partitions(_join_part, right, meta=meta, enforce_metadata=False)


def _worker_threads() -> int:
    """Threads of the cluster of the current ``distributed`` client, else this machine's cores."""
    import dask

    try:
        from distributed import get_client

        return max(1, sum(get_client().nthreads().values()))
    except (ImportError, ValueError):  # no distributed, or no client: Dask's local schedulers
        return max(1, int(dask.system.CPU_COUNT))


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
    from features.pit import AsOf

    dataset = staged.dataset
    folder, extract = str(Path(staged.folder).resolve()), dataset.extract_date
    index = AsOf(dataset, as_of).index
    companies = persisted(_table(_companies, folder, "companies", extract, as_of))
    # Businesses are named by their position in this one partition (their code) from the links on: integer edges
    # shuffle, deduplicate and reduce faster than strings.
    businesses = persisted(companies[["company_number", "ceased"]].repartition(npartitions=1))
    npartitions = _partitions(folder, dataset)
    log.debug("network family: %d partitions of the edge list", npartitions)
    edges = _edge_list(dataset, folder, extract, as_of, companies, businesses, npartitions)
    ids = pd.Index(businesses["company_number"].compute().to_numpy(object), name="company_number")
    codes = pd.RangeIndex(len(ids))

    bad = (_table(_bad_licences, folder, "licences", extract, as_of).repartition(npartitions=1)
           if "licences" in dataset else None)
    positives = None
    if "labels" in dataset:
        found = ids.get_indexer(pd.Index(_positives(_table(_labels, folder, "labels", extract, as_of))))
        positives = np.unique(found[found >= 0]).astype(np.int64)
    counted = ["network_degree", "linked_businesses_dissolved"]
    counted += ["linked_businesses_with_refused_or_revoked_licence"] if bad is not None else []
    counted += ["linked_businesses_labelled_positive"] if positives is not None else []
    meta = pd.DataFrame({name: pd.Series(dtype="float64") for name in counted})
    counts = edges.map_partitions(_neighbour_counts, businesses, bad, positives, meta=meta,
                                  enforce_metadata=False).compute().reindex(codes).fillna(0.0)

    by_code = pd.DataFrame(index=codes)
    by_code["network_degree"] = counts["network_degree"]
    by_code["network_component_size"] = _component_sizes(edges, codes)
    for name in NETWORK_FEATURES[2:5]:
        by_code[name] = counts.get(name, np.nan)
    by_code["distance_to_labelled_positive"] = _distances(edges, positives, codes) if positives is not None \
        else np.nan
    out = by_code.set_axis(ids).reindex(index)
    return out.astype("float64")[list(NETWORK_FEATURES)]


def _partitions(folder: str, dataset: Any) -> int:
    """Partitions of the edge list: twice the cluster's threads, more for large tables.

    Each partition of a shuffle or a reduction is a task with a fixed cost; a few large partitions per thread
    keep that cost small, and :data:`_EDGE_ROWS` rows of the tables the links come from bound their size.
    """
    rows = 0
    for table in ("companies", "officers", "ownership"):
        if table in dataset:
            with pa.memory_map(str(Path(folder) / f"{table}.arrow")) as source:
                rows += ipc.open_file(source).read_all().num_rows
    return max(2 * _worker_threads(), -(-rows // _EDGE_ROWS))


def _positives(labels: Any) -> np.ndarray:
    """Businesses whose latest label known at the date is 1 (ties by label, as :func:`features.network._positives`)."""
    ordered = labels.compute().sort_values(["node", "labelled_on", "label"], kind="mergesort")
    latest = ordered.drop_duplicates("node", keep="last")
    return latest.loc[latest["label"] == 1, "node"].to_numpy(object)


def _forest_of(first: pd.Series, second: pd.Series) -> pd.DataFrame:
    """Return a spanning forest of the graph whose edges are ``first[i]``--``second[i]``, as ``(node, root)`` rows.

    The ends are factorized in sorted order, so the smallest code of a piece is its smallest node and the root
    does not depend on the order of the rows; every other node of the piece gets one row pointing to its root.
    The forest has the connectivity of the edges in at most one row per node, whatever the number of edges.
    """
    ends = pd.concat([first, second], ignore_index=True)
    codes, uniques = ends.factorize(sort=True)
    m, n = len(first), len(uniques)
    if not m:
        return pd.DataFrame({"node": ends.iloc[:0].to_numpy(), "root": ends.iloc[:0].to_numpy()})
    graph = sp.coo_matrix((np.ones(m, np.int32), (codes[:m], codes[m:])), shape=(n, n))
    _, piece = connected_components(graph, directed=False)
    # The first code of each piece in code order is its smallest node.
    _, smallest = np.unique(piece, return_index=True)
    root = smallest[piece]
    linked = np.flatnonzero(root != np.arange(n))
    return pd.DataFrame({"node": uniques.take(linked), "root": uniques.take(root[linked])})


def _edge_forest(part: pd.DataFrame) -> pd.DataFrame:
    """Spanning forest of one partition of the edge list (the chunk step of the tree reduction)."""
    return _forest_of(part["a"], part["b"])


def _merged_forest(forests: pd.DataFrame) -> pd.DataFrame:
    """Spanning forest of several forests concatenated (the combine and aggregate steps of the tree reduction).

    A union of spanning forests has the connectivity of the union of their edge lists, so the forest of the union
    is a spanning forest of all the edges below this node of the tree.
    """
    return _forest_of(forests["node"], forests["root"])


def _spanning_forest(edges: Any, split_every: int | None = None) -> pd.DataFrame:
    """Return a spanning forest of the edge list ``edges`` (columns ``a`` and ``b``), by a Dask tree reduction.

    Each edge partition is reduced to the spanning forest of its own edges (:func:`_edge_forest`), then forests are
    merged ``split_every`` at a time (Dask's default, 8, when None) by the same rule (:func:`_merged_forest`) until
    one is left: a ``(node, root)`` row per linked node that is not the root of its component, the root being the
    component's smallest node. Every intermediate forest holds at most one row per linked node, so what travels
    between the steps and to the client is of the size of the output column, not of the graph.
    """
    meta = pd.DataFrame({"node": edges._meta["a"].iloc[:0], "root": edges._meta["a"].iloc[:0]})
    forest = edges[["a", "b"]].reduction(_edge_forest, aggregate=_merged_forest, combine=_merged_forest, meta=meta,
                                         split_every=split_every, token="spanning-forest")  # noqa: S106 (a name)
    result: pd.DataFrame = forest.compute()
    return result


def _component_sizes(edges: Any, index: pd.Index, split_every: int | None = None) -> pd.Series:
    """Return the connected-component size of each node of ``index``, from a tree reduction of spanning forests.

    Parameters
    ----------
    edges : dask.dataframe.DataFrame
        Edge list, columns ``a`` and ``b`` (one way or both, duplicates allowed), of the ids of ``index``.
    index : Index
        The nodes whose sizes are wanted; a node without an edge forms a component of one.
    split_every : int, optional
        Forests merged at a time in the reduction (Dask's default, 8, when None).

    Returns
    -------
    Series
        Float sizes indexed by ``index``, the node included.

    Notes
    -----
    The final forest of :func:`_spanning_forest` maps each linked node to its component's root; a component's
    size is the number of nodes pointing to its root, plus the root. The work is a few connected-components runs
    on partitions and forests (``scipy.sparse.csgraph``), each of at most one row per node, in one pass over the
    edges; label propagation, which needed several shuffles per round and a round per halving of the diameter,
    took minutes at 10^5 businesses.
    """
    forest = _spanning_forest(edges, split_every)
    others = forest["root"].value_counts()
    sizes = pd.concat([pd.Series(forest["root"].map(others).to_numpy(), index=forest["node"].to_numpy()),
                       pd.Series(others.to_numpy(), index=others.index.to_numpy())]) + 1
    return sizes.reindex(index).fillna(1.0).astype("float64")


def _distances(edges: Any, positives: np.ndarray, index: pd.Index) -> pd.Series:
    """Hops (1 to 3) to the nearest other positive business; 4 when none lies within 3 hops.

    The frontier carries, per business, the two smallest positive codes that reach it within k hops: a business has
    another positive within k hops exactly when one of those two is not itself. The edges stay on the cluster;
    the frontier (two rows at most per business reached, integer codes) is held by the client between rounds and
    sent to every edge partition. A frontier kept as a Dask DataFrame once gave 2 wrong distances out of 10^5
    businesses (dask 2026.8). Its rounds chained joins and group-bys on the node after a join that could be a
    broadcast join, the planning fault described in :func:`_edge_list`, which is the likely cause; it was not
    reproduced on the present edge list (10^5 and 10^6 businesses), so the client-held frontier is kept.
    """
    distance = pd.Series(DISTANCE_NONE_WITHIN_REACH, index=index)
    if not len(positives):
        return distance
    reach = pd.DataFrame({"node": positives, "source": positives})
    for hops in range(1, MAX_HOPS + 1):
        spread = _broadcast_join(edges, reach.rename(columns={"node": "b"}))
        spread = spread[["a", "source"]].compute().rename(columns={"a": "node"})
        both = pd.concat([reach, spread], ignore_index=True).drop_duplicates()
        first = both.groupby("node")["source"].min()
        rest = both[both["source"] != both["node"].map(first)]
        second = rest.groupby("node")["source"].min()
        reach = pd.concat([first.reset_index(), second.reset_index()], ignore_index=True)
        other = (first.index.to_series() != first) | first.index.isin(second.index)
        newly = other[other].index
        newly = newly[distance.reindex(newly).to_numpy() == DISTANCE_NONE_WITHIN_REACH]
        distance.loc[distance.index.intersection(newly)] = float(hops)
    return distance
