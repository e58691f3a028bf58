"""The neighbourhood of one business in a reference data set: every row its features can depend on.

``RiskScorer.score_record`` joins a supplier's own records to the reference data. Rebuilding every feature of every
reference business for one supplier costs seconds; the supplier's features only depend on a small part of the data:

- its own rows (all tables);
- the rows sharing a key with a business within two links: an officer or owner id (one id space, which is also the
  company-number space: corporate owners and officers), a registered office, a licensed premises postcode, a public
  buyer. Whole key groups are taken, so counts over a key (appointments of a person, businesses at an office,
  a buyer's awards, a premises' earlier holders) are exact, and so is whether a key makes a link at all (service
  providers, nominees and mass-registration offices link nobody);
- the businesses three links away (their register rows, licences and labels: the nearest labelled business is
  searched up to three links);
- the chain of corporate owners above the business, five layers deep;
- the whole watchlist.

Connected-component size is the one feature that needs more than this; :class:`Neighbourhood` computes it from the
reference graph's components, with the business's old links taken out and its new ones put in. When the new records
would change a link between two other businesses (a person or office crossing a threshold), the shortcut is not
exact and :meth:`Neighbourhood.dataset` says so; the caller then rebuilds everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from features.network import DISTANCE_NONE_WITHIN_REACH, MAX_ADDRESS_BUSINESSES, MAX_HOPS, _graph, _positives
from features.ownership import MAX_CHAIN
from features.pit import AsOf
from features.register import office_parts
from riskmodel.contract import Dataset

__all__ = ["BUSINESS_KEYS", "Neighbourhood"]

#: The column naming the business a row belongs to, per table.
BUSINESS_KEYS = {"companies": "company_number", "officers": "company_number", "ownership": "company_number",
                 "accounts": "company_number", "licences": "holder_company_number",
                 "contracts": "supplier_company_number", "transactions": "company_number",
                 "labels": "company_number"}


#: No row positions (read-only: it is shared).
_NONE = np.empty(0, np.int64)
_NONE.setflags(write=False)


class _KeyIndex:
    """Row positions of a table grouped by one key column (lookups of many keys at once)."""

    def __init__(self, values: pd.Series | np.ndarray) -> None:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        keep = codes >= 0
        order = np.argsort(codes[keep], kind="stable")
        self.rows = np.flatnonzero(keep)[order]
        self.starts = np.r_[0, np.cumsum(np.bincount(codes[keep], minlength=len(uniques)))]
        self.keys = pd.Index(uniques)

    def lookup(self, keys: Iterable[object]) -> np.ndarray:
        """Row positions holding any of ``keys`` (unknown keys are ignored)."""
        wanted = pd.Index(pd.unique(np.asarray(list(keys), dtype=object)))
        if len(wanted) == 0 or len(self.keys) == 0:
            return _NONE
        codes = self.keys.get_indexer(wanted)
        codes = codes[codes >= 0]
        if len(codes) == 0:
            return _NONE
        parts = [self.rows[self.starts[c]:self.starts[c + 1]] for c in codes]
        return np.concatenate(parts)


def _premises_key(postcode: pd.Series) -> pd.Series:
    # The rule of features.licences.premises_taken_over_from_other_holder_last_36m, written out here: moving it into
    # a shared helper would change that feature's source and so the catalogue fingerprint every model is checked
    # against. The exact-equality test against a full rebuild holds the two together.
    return postcode.astype("string[pyarrow]").str.upper().str.replace(r"\s+", "", regex=True).astype(object)


def _office_key(frame: pd.DataFrame) -> pd.Series:
    postcode, address = office_parts(frame["registered_office_postcode"], frame["registered_office_address"])
    return (postcode + "|" + address).astype(object)


def _present(values: np.ndarray) -> set[object]:
    return {v for v in values.tolist() if not pd.isna(v)}


def _values(frame: pd.DataFrame, column: str) -> set[object]:
    if column not in frame.columns or frame.empty:
        return set()
    return set(frame[column].dropna().tolist())


class Neighbourhood:
    """Key indexes over a reference data set, and the reference graph's components, for one scoring date.

    Parameters
    ----------
    view : AsOf
        The reference data set at the scoring date (never modified); a graph already built on it is reused.
    """

    def __init__(self, view: AsOf) -> None:
        self.reference = view.dataset
        self.as_of = view.as_of
        tables = self.reference.tables
        self._by_business = {t: _KeyIndex(frame[BUSINESS_KEYS[t]]) for t, frame in tables.items()
                             if t in BUSINESS_KEYS}
        self._by_id: dict[str, _KeyIndex] = {}
        if "officers" in tables:
            self._by_id["officers"] = _KeyIndex(tables["officers"]["officer_id"])
        if "ownership" in tables:
            self._by_id["ownership"] = _KeyIndex(tables["ownership"]["owner_id"])
        self._by_id["companies"] = self._by_business["companies"]
        self._columns: dict[tuple[str, str], np.ndarray] = {}
        self._office_keys = _office_key(tables["companies"]).to_numpy(dtype=object)
        self._office = _KeyIndex(self._office_keys)
        # Businesses at each office on the scoring date: an office with more than MAX_ADDRESS_BUSINESSES + 1 stays
        # a mass-registration address (which links nobody) whether or not the supplier is added to it or leaves.
        created = (tables["companies"]["date_of_creation"] <= pd.Timestamp(self.as_of)).to_numpy()
        members = pd.DataFrame({"office": self._office_keys[created],
                                "business": tables["companies"]["company_number"].to_numpy(dtype=object)[created]})
        members = members.dropna().drop_duplicates()
        counts = members.groupby("office").size()
        self._crowded = frozenset(counts.index[counts.to_numpy() > MAX_ADDRESS_BUSINESSES + 1].tolist())
        self._premises_keys = (_premises_key(tables["licences"]["premises_postcode"]).to_numpy(dtype=object)
                               if "licences" in tables else None)
        self._premises = _KeyIndex(self._premises_keys) if self._premises_keys is not None else None
        self._buyer = _KeyIndex(tables["contracts"]["buyer_id"]) if "contracts" in tables else None
        self._watchlist = view.watchlist if "watchlist" in tables else None
        self.graph = _graph(view)
        _, self.component_ = connected_components(self.graph.adjacency, directed=False)
        self.component_size_ = np.bincount(self.component_) if len(self.component_) else np.empty(0, np.int64)
        self.positive_: np.ndarray | None = None
        if "labels" in tables:
            self.positive_ = self.graph.nodes.isin(_positives(view))

    # ------------------------------------------------------------------------------------------------ rows

    def _rows(self, table: str, index: dict[str, _KeyIndex] | _KeyIndex | None, keys: Iterable[object]) -> np.ndarray:
        if isinstance(index, dict):
            index = index.get(table)
        return _NONE if index is None else index.lookup(keys)

    def _column(self, table: str, column: str) -> np.ndarray:
        """Return a reference column as an object array, made once (a lookup is then a numpy take)."""
        key = (table, column)
        if key not in self._columns:
            self._columns[key] = self.reference.tables[table][column].to_numpy(dtype=object)
        return self._columns[key]

    def _values_at(self, table: str, column: str, rows: np.ndarray) -> set[object]:
        if table not in self.reference.tables or not len(rows):
            return set()
        return _present(self._column(table, column)[rows])

    def _own(self, table: str, businesses: Iterable[object]) -> np.ndarray:
        return self._rows(table, self._by_business, businesses)

    def _old_keys(self, own: Mapping[str, np.ndarray]) -> tuple[set[object], set[object], set[object], set[object]]:
        """Ids, offices, premises and buyers of the business's reference rows (row positions per table)."""
        ids = self._values_at("officers", "officer_id", own.get("officers", _NONE)) | self._values_at(
            "ownership", "owner_id", own.get("ownership", _NONE)) | self._values_at(
            "companies", "company_number", own.get("companies", _NONE))
        offices = _present(self._office_keys[own.get("companies", _NONE)])
        premises = set() if self._premises_keys is None else _present(self._premises_keys[own.get("licences", _NONE)])
        buyers = self._values_at("contracts", "buyer_id", own.get("contracts", _NONE))
        return ids, offices, premises, buyers

    @staticmethod
    def _new_keys(parts: Mapping[str, pd.DataFrame]) -> tuple[set[object], set[object], set[object], set[object]]:
        """Ids, offices, premises and buyers held by the records (the business's new rows, any table)."""
        ids = _values(parts.get("officers", pd.DataFrame()), "officer_id") | _values(
            parts.get("ownership", pd.DataFrame()), "owner_id") | _values(parts.get("companies", pd.DataFrame()),
                                                                          "company_number")
        comp = parts.get("companies", pd.DataFrame())
        offices = set(_office_key(comp).dropna().tolist()) if not comp.empty else set()
        lic = parts.get("licences", pd.DataFrame())
        premises = set(_premises_key(lic["premises_postcode"]).dropna().tolist()) if not lic.empty else set()
        buyers = _values(parts.get("contracts", pd.DataFrame()), "buyer_id")
        return ids, offices, premises, buyers

    def _key_rows(self, ids: set[object], offices: set[object], premises: set[object],
                  buyers: set[object]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rows sharing a key, per table, and (apart) the register rows at mass-registration offices."""
        rows = {t: self._rows(t, self._by_id, ids) for t in ("officers", "ownership", "companies")}
        rows["companies"] = np.concatenate([rows["companies"], self._office.lookup(offices - self._crowded)])
        rows["licences"] = self._rows("licences", self._premises, premises)
        rows["contracts"] = self._rows("contracts", self._buyer, buyers)
        return rows, self._office.lookup(offices & self._crowded)

    def dataset(self, number: str, records: Mapping[str, pd.DataFrame]) -> tuple[Dataset, Dataset, list[str]]:
        """Return the rows the business's features depend on, with its own rows replaced by ``records``.

        Parameters
        ----------
        number : str
            The business's company number.
        records : mapping of table name to DataFrame
            The business's own rows, typed to the contract (``companies`` holds its one row).

        Returns
        -------
        (Dataset, Dataset, list of str)
            The neighbourhood with the new records, the same neighbourhood with the business's reference rows
            instead, and the businesses sharing a key with it (old or new).
        """
        tables = self.reference.tables
        own = {t: self._own(t, [number]) for t in tables if t in BUSINESS_KEYS}
        new = {t: frame for t, frame in records.items() if t in tables and len(frame)}
        ids, offices, premises, buyers = (a | b for a, b in zip(self._old_keys(own), self._new_keys(new),
                                                                  strict=True))
        keyed, crowd = self._key_rows(ids | {number}, offices, premises, buyers)
        linked: set[object] = set()
        for table, positions in keyed.items():
            linked |= self._values_at(table, BUSINESS_KEYS[table], positions)
        linked.discard(number)
        # Businesses met only at a mass-registration office are never linked to the supplier: their register rows
        # are kept (the office's count stays exact), their licences and labels are not needed.
        crowded = self._values_at("companies", "company_number", crowd) - linked - {number}
        keyed["companies"] = np.concatenate([keyed["companies"], crowd])
        # Corporate owners above the business, MAX_CHAIN layers deep (owners that are businesses of the register).
        chain: set[object] = set()
        layer = _values(new.get("ownership", pd.DataFrame()), "owner_id") | self._values_at(
            "ownership", "owner_id", own.get("ownership", _NONE))
        for _ in range(MAX_CHAIN):
            layer = {x for x in layer if x not in chain and x != number}
            if not layer:
                break
            chain |= layer
            layer = self._values_at("ownership", "owner_id", self._own("ownership", layer))
        others = linked | chain
        new_tables: dict[str, pd.DataFrame] = {}
        old_tables: dict[str, pd.DataFrame] = {}
        for table, frame in tables.items():
            if table not in BUSINESS_KEYS:
                # The watchlist stays the same frame across calls, so screening reuses its work on the entries.
                kept = self._watchlist if table == "watchlist" and self._watchlist is not None else frame
                new_tables[table] = old_tables[table] = kept
                continue
            parts = [keyed.get(table, _NONE)]
            if table in ("companies", "licences", "labels"):
                parts.append(self._own(table, others))
            elif table == "ownership":
                parts.append(self._own(table, chain))
            base = np.unique(np.concatenate(parts))
            base = base[self._column(table, BUSINESS_KEYS[table])[base] != number]
            # A business's own label is kept in both states (never its feature; its neighbours' distance uses it).
            mine = own[table] if table == "labels" else _NONE
            old_tables[table] = frame.iloc[np.concatenate([base, own[table]])].reset_index(drop=True)
            if table in new:
                records_frame = new[table]
                if not records_frame.dtypes.equals(frame.dtypes):
                    records_frame = records_frame.astype(frame.dtypes.to_dict(), errors="ignore")
                new_tables[table] = pd.concat([frame.iloc[base], records_frame], ignore_index=True)
            else:
                new_tables[table] = frame.iloc[np.concatenate([base, mine])].reset_index(drop=True)
        return (dataclasses.replace(self.reference, tables=new_tables),
                dataclasses.replace(self.reference, tables=old_tables), sorted(str(x) for x in linked | crowded))

    # ------------------------------------------------------------------------------------------- components

    def network(self, number: str, new: AsOf, old: AsOf, linked: list[str]) -> dict[str, float] | None:
        """Component size and distance to a labelled business once the business's links are replaced.

        Parameters
        ----------
        number : str
            The business.
        new, old : AsOf
            Views of its neighbourhood with its new records and with its reference rows.
        linked : list of str
            The businesses sharing a key with it (old or new): the only ones whose links the records can change.

        Returns
        -------
        dict or None
            ``network_component_size`` and ``distance_to_labelled_positive`` (the latter only when the data set
            holds labels), or None when the records change a link between two other businesses.
        """
        new_graph, old_graph = _graph(new), _graph(old)
        me = new_graph.nodes.get_indexer(pd.Index([number]))[0]
        if me < 0:
            return None
        # Links between the other businesses sharing a key must be the same in both states.
        others = pd.Index(linked)
        a, b = new_graph.nodes.get_indexer(others), old_graph.nodes.get_indexer(others)
        if not np.array_equal(a >= 0, b >= 0):
            return None
        a, b = a[a >= 0], b[b >= 0]
        if (new_graph.adjacency[a][:, a] != old_graph.adjacency[b][:, b]).nnz:
            return None
        nodes = self.graph.nodes
        neighbours = nodes.get_indexer(new_graph.nodes[new_graph.adjacency[me].indices])
        if (neighbours < 0).any():
            return None
        old_pos = nodes.get_indexer(pd.Index([number]))[0]
        out = {"network_component_size": self._component_size(neighbours, old_pos)}
        if self.positive_ is not None:
            out["distance_to_labelled_positive"] = self._distance(neighbours, old_pos)
        return out

    def _component_size(self, neighbours: np.ndarray, old: int) -> float:
        labels = self.component_[neighbours].astype(np.int64)
        sizes = self.component_size_[labels].astype(np.int64)
        if old >= 0:
            # Without the business, its old component may fall apart: label its pieces afresh.
            members = np.flatnonzero(self.component_ == self.component_[old])
            members = members[members != old]
            inside = np.isin(neighbours, members)
            if inside.any():
                _, pieces = connected_components(self.graph.adjacency[members][:, members], directed=False)
                where = np.searchsorted(members, neighbours[inside])
                labels[inside] = -1 - pieces[where]
                sizes[inside] = np.bincount(pieces)[pieces[where]]
        _, first = np.unique(labels, return_index=True)
        return float(1 + sizes[first].sum())

    def _distance(self, neighbours: np.ndarray, old: int) -> float:
        positive = self.positive_
        assert positive is not None
        adjacency = self.graph.adjacency
        seen = np.zeros(len(self.graph.nodes), dtype=bool)
        if old >= 0:
            seen[old] = True  # the business's old links are gone, and its own label never counts
        level = np.unique(neighbours)
        for hops in range(1, MAX_HOPS + 1):
            level = level[~seen[level]]
            if len(level) == 0:
                break
            if positive[level].any():
                return float(hops)
            seen[level] = True
            level = np.unique(adjacency[level].indices)
        return DISTANCE_NONE_WITHIN_REACH
