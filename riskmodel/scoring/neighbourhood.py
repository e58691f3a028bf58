"""The neighbourhood of one business in a reference data set: every row its features can depend on.

``RiskScorer.score_record`` joins a supplier's own records to the reference data. Rebuilding every feature of every
reference business for one supplier costs seconds; the supplier's features only depend on a small part of the data:

- its own rows (all tables);
- the rows sharing a key with it: an officer or owner id (one id space, which is also the company-number space:
  corporate owners and officers), a registered office, a licensed premises postcode, a public buyer. Whole key
  groups are taken, so counts over a key (appointments of a person, businesses at an office, a buyer's awards, a
  premises' earlier holders) are exact, and so is whether a key makes a link at all (service providers, nominees);
- the register rows, licences and labels of the businesses linked to it through an id or an office (a buyer or a
  premises makes no network link, so the businesses met only there bring nothing more);
- the chain of corporate owners above the business, five layers deep;
- the whole watchlist.

Three kinds of feature need more than this, and :class:`Neighbourhood` computes them from indexes of the whole
reference instead. Connected-component size and the distance to the nearest labelled business come from the
reference graph, with the business's old links taken out and its new ones put in. At a crowded office (more
businesses than can link), the neighbourhood holds only a sample of the office's businesses, enough to keep it
crowded, and the two office-count features come from the reference's counts (:meth:`Neighbourhood.office_features`).
When the new records would change a link between two other businesses (a person or office crossing a threshold),
the shortcut is not exact and :meth:`Neighbourhood.network` says so; the caller then rebuilds everything.

The same neighbourhoods serve a chunk of reference businesses at once (:meth:`Neighbourhood.chunk`,
:meth:`Neighbourhood.features`): the first step of a batch job that builds features chunk by chunk.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

import features
from features.network import (
    DISTANCE_NONE_WITHIN_REACH,
    MAX_ADDRESS_BUSINESSES,
    MAX_HOPS,
    MAX_SHARED_BUSINESSES,
    _graph,
    _positives,
    distance_to_labelled_positive,
)
from features.ownership import MAX_CHAIN
from features.pit import AsOf
from features.register import MASS_REGISTRATION_MIN_BUSINESSES, office_parts
from riskmodel.contract import Dataset

__all__ = ["BUSINESS_KEYS", "GRAPH_FEATURES", "Neighbourhood", "Rows"]

#: The column naming the business a row belongs to, per table.
BUSINESS_KEYS = {"companies": "company_number", "officers": "company_number", "ownership": "company_number",
                 "accounts": "company_number", "licences": "holder_company_number",
                 "contracts": "supplier_company_number", "transactions": "company_number",
                 "labels": "company_number"}


class Rows(NamedTuple):
    """What :meth:`Neighbourhood.dataset` returns."""

    #: The neighbourhood with the business's new records.
    new: Dataset
    #: The same neighbourhood with the business's reference rows instead; None when ``unchanged`` (it would hold
    #: the same rows as ``new``, and nothing reads it then).
    old: Dataset | None
    #: The businesses sharing a key with it (old or new).
    linked: list[str]
    #: Its registered office key in the records (None when missing).
    office: object
    #: The tables whose rows of the business differ between the records and the reference
    #: (:meth:`Neighbourhood.changed`).
    changed: frozenset[str]

    @property
    def unchanged(self) -> bool:
        """Whether the records hold exactly its reference rows of the tables the network is built from."""
        return self.changed.isdisjoint(_GRAPH_TABLES)


#: Features computed from the whole reference graph rather than a neighbourhood's rows (see
#: :meth:`Neighbourhood.network` and :meth:`Neighbourhood.features`).
GRAPH_FEATURES = ("network_component_size", "distance_to_labelled_positive")

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


#: The tables the business graph is built from.
_GRAPH_TABLES = ("companies", "officers", "ownership")


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two frames hold the same rows in any order (same columns and dtypes; missing equals missing)."""
    if len(a) != len(b) or list(a.columns) != list(b.columns) or not a.dtypes.equals(b.dtypes):
        return False
    # A business's own rows are a handful: counting row tuples beats hashing frames by far at that size.
    return Counter(map(_row_key, a.to_numpy(dtype=object).tolist())) == Counter(
        map(_row_key, b.to_numpy(dtype=object).tolist()))


def _row_key(row: list[object]) -> tuple[object, ...]:
    # Every kind of missing value (None, NaN, NaT, pd.NA) becomes one marker, so missing equals missing.
    return tuple(_MISSING if v is None or v is pd.NA or v != v else v for v in row)


#: What a missing value is counted as by _same_rows.
_MISSING = object()


def _typed_like(records: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the records with the reference table's dtypes (validation may type an all-missing column otherwise)."""
    if records.dtypes.equals(frame.dtypes):
        return records
    return records.astype(frame.dtypes.to_dict(), errors="ignore")


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
    take : callable, optional
        ``take(table, positions)`` returns the full rows of a reference table at row positions, when the view's
        tables hold only the columns the indexes need (:class:`~riskmodel.contract.staged.StagedDataset`); then
        :meth:`chunk` and :meth:`features` read their rows through it (:meth:`dataset`, for a supplier's records,
        needs the full tables). Default: the view's own tables.
    """

    def __init__(self, view: AsOf, take: Callable[[str, np.ndarray], pd.DataFrame] | None = None) -> None:
        self.reference = view.dataset
        self._take = take or self._own_rows
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
        comp = tables["companies"]
        when = pd.Timestamp(self.as_of)
        created = (comp["date_of_creation"] <= when).to_numpy()
        live = ~(comp["date_of_cessation"] <= when).to_numpy()
        #: Register rows the office-count features count: created by the scoring date and not ceased by it.
        self._counted = created & live
        members = pd.DataFrame({"office": self._office_keys, "business": comp["company_number"].to_numpy(dtype=object),
                                "row": np.arange(len(comp)), "live": live})[created]
        members = members.dropna().drop_duplicates(["office", "business"])
        counts = members.groupby("office").size()
        self._crowded = frozenset(counts.index[counts.to_numpy() > MAX_ADDRESS_BUSINESSES + 1].tolist())
        crowd = members[members["office"].isin(self._crowded)]
        #: Live businesses at each crowded office on the scoring date (the office-count features' input).
        self._office_live: dict[object, int] = crowd.groupby("office")["live"].sum().astype(int).to_dict()
        #: A few register rows of each crowded office: enough to keep it crowded with the supplier gone.
        self._office_sample: dict[object, np.ndarray] = {
            office: rows.to_numpy(np.int64)[:MAX_ADDRESS_BUSINESSES + 2]
            for office, rows in crowd.groupby("office")["row"]}
        #: Officer ids with more appointments on the scoring date than can link (each with its count).
        self._busy: dict[object, int] = {}
        self._appointed = np.empty(0, bool)
        if "officers" in tables:
            officers = tables["officers"]
            self._appointed = (officers["appointed_on"] <= when).to_numpy()
            appointments = officers.loc[self._appointed, "officer_id"].value_counts()
            self._busy = appointments[appointments > MAX_SHARED_BUSINESSES].to_dict()
        self._premises_keys = (_premises_key(tables["licences"]["premises_postcode"]).to_numpy(dtype=object)
                               if "licences" in tables else None)
        self._premises = _KeyIndex(self._premises_keys) if self._premises_keys is not None else None
        self._buyer = _KeyIndex(tables["contracts"]["buyer_id"]) if "contracts" in tables else None
        self._watchlist = view.watchlist if "watchlist" in tables else None
        self.graph = _graph(view)
        _, self.component_ = connected_components(self.graph.adjacency, directed=False)
        self.component_size_ = np.bincount(self.component_) if len(self.component_) else np.empty(0, np.int64)
        self.positive_: np.ndarray | None = None
        self._distance_: np.ndarray | None = None
        if "labels" in tables:
            self.positive_ = self.graph.nodes.isin(_positives(view))

    # ------------------------------------------------------------------------------------------------ rows

    def _own_rows(self, table: str, rows: np.ndarray) -> pd.DataFrame:
        return self.reference.tables[table].iloc[rows]

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
    def _new_keys(parts: Mapping[str, pd.DataFrame],
                  office: object) -> tuple[set[object], set[object], set[object], set[object]]:
        """Ids, offices, premises and buyers held by the records (the business's new rows, any table)."""
        ids = _values(parts.get("officers", pd.DataFrame()), "officer_id") | _values(
            parts.get("ownership", pd.DataFrame()), "owner_id") | _values(parts.get("companies", pd.DataFrame()),
                                                                          "company_number")
        offices = set() if office is None else {office}
        lic = parts.get("licences", pd.DataFrame())
        premises = set(_premises_key(lic["premises_postcode"]).dropna().tolist()) if not lic.empty else set()
        buyers = _values(parts.get("contracts", pd.DataFrame()), "buyer_id")
        return ids, offices, premises, buyers

    def _key_rows(self, ids: set[object], offices: set[object], premises: set[object],
                  buyers: set[object]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rows sharing a key, per table, and (apart) a sample of the register rows at crowded offices."""
        rows = {t: self._rows(t, self._by_id, ids) for t in ("officers", "ownership", "companies")}
        rows["companies"] = np.concatenate([rows["companies"], self._office.lookup(offices - self._crowded)])
        rows["licences"] = self._rows("licences", self._premises, premises)
        rows["contracts"] = self._rows("contracts", self._buyer, buyers)
        sample = [self._office_sample[office] for office in offices & self._crowded]
        return rows, np.concatenate(sample) if sample else _NONE

    def _busy_ids(self, numbers: set[object], ids: set[object], own: Mapping[str, np.ndarray],
                  new_owners: set[object]) -> list[object]:
        """Officer ids that link nobody in either state: too many appointments even without the business's own.

        Only ids that are officers alone (no owner, no business of the register) qualify: ownership and corporate
        control make links whatever the count.
        """
        if not self._busy:
            return []
        owners = self._by_id.get("ownership")
        candidates = [i for i in ids if i in self._busy and i not in numbers and i not in new_owners
                      and (owners is None or i not in owners.keys) and i not in self._by_business["companies"].keys]
        if not candidates:
            return []
        rows = own.get("officers", _NONE)
        mine = Counter(self._column("officers", "officer_id")[rows[self._appointed[rows]]].tolist())
        return [i for i in candidates if self._busy[i] - mine[i] > MAX_SHARED_BUSINESSES]

    def changed(self, number: str, records: Mapping[str, pd.DataFrame]) -> frozenset[str]:
        """Return the tables whose rows of the business differ between ``records`` and the reference.

        A table the records leave out (or send empty) holds none of the business's rows, as in a full rebuild. Its
        own labels are never changed: they are kept whatever the records hold. Every feature reading none of these
        tables has the value it has in the reference.

        Parameters
        ----------
        number : str
            The business's company number.
        records : mapping of table name to DataFrame
            The business's own rows, typed to the contract.

        Returns
        -------
        frozenset of str
        """
        tables = self.reference.tables
        out = set()
        for table, frame in tables.items():
            if table not in BUSINESS_KEYS or table == "labels":
                continue
            own = self._own(table, [number])
            sent = records.get(table)
            if sent is None or not len(sent):
                if len(own):
                    out.add(table)
            elif len(sent) != len(own) or not _same_rows(frame.iloc[own], _typed_like(sent, frame)):
                out.add(table)
        return frozenset(out)

    def _gather(self, numbers: set[object], own: Mapping[str, np.ndarray],
                keys: tuple[set[object], set[object], set[object], set[object]],
                new_owners: set[object]) -> tuple[dict[str, np.ndarray], set[object], set[object]]:
        """Return the reference rows of the neighbourhood of ``numbers``, their own rows left out (per table).

        Also returns the businesses linked to them and those sampled at their crowded offices. ``keys`` are the
        ids, offices, premises and buyers of the businesses (reference and new); ``new_owners`` the owner ids of
        their new records.
        """
        ids, offices, premises, buyers = keys
        keyed, crowd = self._key_rows(ids | numbers, offices, premises, buyers)
        # Linked: businesses sharing a key that can make a network link (a person or entity id, an office). Those
        # met only through a buyer or a premises bring no rows beyond that key group: no feature of the supplier
        # reads them. Those met only through a person too busy to link bring their register rows (a director's
        # other directorships count live businesses), not their licences and labels.
        busy = self._busy_ids(numbers, ids, own, new_owners)
        linked: set[object] = set()
        registered: set[object] = set()
        for table in ("officers", "ownership", "companies"):
            businesses = self._column(table, BUSINESS_KEYS[table])[keyed[table]]
            if busy and table == "officers":
                quiet = pd.Index(self._column(table, "officer_id")[keyed[table]]).isin(busy)
                registered |= _present(businesses[quiet])
                businesses = businesses[~quiet]
            linked |= _present(businesses)
        linked -= numbers
        # A crowded office links nobody: a sample of its businesses keeps it crowded in both states, and the
        # office-count features come from the reference counts instead (office_features).
        crowded = self._values_at("companies", "company_number", crowd) - linked - numbers
        registered = registered - linked - numbers
        keyed["companies"] = np.concatenate([keyed["companies"], crowd, self._own("companies", registered)])
        # Corporate owners above the businesses, MAX_CHAIN layers deep (owners that are businesses of the register).
        chain: set[object] = set()
        layer = new_owners | self._values_at("ownership", "owner_id", own.get("ownership", _NONE))
        for _ in range(MAX_CHAIN):
            layer = {x for x in layer if x not in chain and x not in numbers}
            if not layer:
                break
            chain |= layer
            layer = self._values_at("ownership", "owner_id", self._own("ownership", layer))
        others = linked | chain
        bases: dict[str, np.ndarray] = {}
        for table in self.reference.tables:
            if table not in BUSINESS_KEYS:
                continue
            parts = [keyed.get(table, _NONE)]
            if table in ("companies", "licences", "labels"):
                parts.append(self._own(table, others))
            elif table == "ownership":
                parts.append(self._own(table, chain))
            base = np.unique(np.concatenate(parts))
            held = self._column(table, BUSINESS_KEYS[table])[base]
            mine = held == next(iter(numbers)) if len(numbers) == 1 else pd.Index(held).isin(list(numbers))
            bases[table] = base[~mine]
        return bases, linked, crowded

    def dataset(self, number: str, records: Mapping[str, pd.DataFrame],
                changed: frozenset[str] | None = None) -> Rows:
        """Return the rows the business's features depend on, with its own rows replaced by ``records``.

        Parameters
        ----------
        number : str
            The business's company number.
        records : mapping of table name to DataFrame
            The business's own rows, typed to the contract (``companies`` holds its one row).
        changed : frozenset of str, optional
            :meth:`changed` for these records, when the caller has it already.

        Returns
        -------
        Rows
            The neighbourhood with the new records, the same neighbourhood with the business's reference rows
            instead, the businesses sharing a key with it (old or new) and its office key in the records.
        """
        tables = self.reference.tables
        own = {t: self._own(t, [number]) for t in tables if t in BUSINESS_KEYS}
        new = {t: frame for t, frame in records.items() if t in tables and len(frame)}
        comp = new.get("companies")
        office = None if comp is None else _office_key(comp).iloc[0]
        office = None if pd.isna(office) else office
        ids, offices, premises, buyers = (a | b for a, b in zip(self._old_keys(own), self._new_keys(new, office),
                                                                  strict=True))
        new_owners = _values(new.get("ownership", pd.DataFrame()), "owner_id")
        bases, linked, crowded = self._gather({number}, own, (ids, offices, premises, buyers), new_owners)
        new_tables: dict[str, pd.DataFrame] = {}
        old_rows: dict[str, np.ndarray] = {}
        changed = self.changed(number, records) if changed is None else changed
        for table, frame in tables.items():
            if table not in BUSINESS_KEYS:
                # The watchlist stays the same frame across calls, so screening reuses its work on the entries.
                kept = self._watchlist if table == "watchlist" and self._watchlist is not None else frame
                new_tables[table] = kept
                continue
            base = bases[table]
            # A business's own label is kept in both states (never its feature; its neighbours' distance uses it).
            mine = own[table] if table == "labels" else _NONE
            old_rows[table] = np.concatenate([base, own[table]])
            if table in new:
                new_tables[table] = pd.concat([frame.iloc[base], _typed_like(new[table], frame)], ignore_index=True)
            else:
                new_tables[table] = frame.iloc[np.concatenate([base, mine])].reset_index(drop=True)
        old = None
        if not changed.isdisjoint(_GRAPH_TABLES):
            old_tables = {t: tables[t].iloc[old_rows[t]].reset_index(drop=True) if t in old_rows else new_tables[t]
                          for t in tables}
            old = dataclasses.replace(self.reference, tables=old_tables)
        return Rows(dataclasses.replace(self.reference, tables=new_tables), old,
                    sorted(str(x) for x in linked | crowded), office, changed)

    def chunk(self, numbers: Iterable[str]) -> Dataset:
        """Return the reference rows the features of several businesses depend on, in reference order.

        Their neighbourhoods together (as :meth:`dataset`, with their reference rows as the records): features built
        on it with ``targets`` set to the businesses equal a full build, except the graph-wide ones
        (:meth:`features` sets those). A batch job can then build features chunk by chunk.

        Parameters
        ----------
        numbers : iterable of str
            The businesses.

        Returns
        -------
        Dataset
        """
        targets: set[object] = set(numbers)
        tables = self.reference.tables
        own = {t: self._own(t, targets) for t in tables if t in BUSINESS_KEYS}
        bases, _, _ = self._gather(targets, own, self._old_keys(own), set())
        out: dict[str, pd.DataFrame] = {}
        for table, frame in tables.items():
            if table not in BUSINESS_KEYS:
                out[table] = self._watchlist if table == "watchlist" and self._watchlist is not None else frame
                continue
            # Reference order (not own rows last): sums over a group then add up in the full build's order.
            rows = np.unique(np.concatenate([bases[table], own[table]]))
            out[table] = self._take(table, rows).reset_index(drop=True)
        return dataclasses.replace(self.reference, tables=out)

    def features(self, numbers: Iterable[str], names: list[str] | str = "all") -> pd.DataFrame:
        """Build the features of several reference businesses on their neighbourhoods: equal to a full build.

        The features are built on :meth:`chunk`; those a neighbourhood cannot give come from the whole reference:
        connected-component size and distance to a labelled business for every business, and the two
        office-count features for those at a crowded registered office.

        Parameters
        ----------
        numbers : iterable of str
            Businesses of the reference.
        names : list of str or str
            Feature names or the name of a feature set.

        Returns
        -------
        DataFrame
            Indexed by ``company_number``: the businesses that existed at the scoring date.
        """
        numbers = list(dict.fromkeys(str(n) for n in numbers))
        X = features.build_view(AsOf(self.chunk(numbers), self.as_of, targets=numbers), names)
        pos = self.graph.nodes.get_indexer(X.index)
        found = pos >= 0
        network_size, distance = GRAPH_FEATURES
        if network_size in X.columns:
            size = np.full(len(X), np.nan)
            size[found] = self.component_size_[self.component_[pos[found]]]
            X[network_size] = size
        if distance in X.columns and self.positive_ is not None:
            X[distance] = np.where(found, self._reference_distance()[np.maximum(pos, 0)], np.nan)
        # The office counts, for the businesses at a crowded office only (their first register row's office).
        by_business = self._by_business["companies"]
        code = by_business.keys.get_indexer(X.index)
        first = np.where(code >= 0, by_business.rows[by_business.starts[np.maximum(code, 0)]], -1)
        offices = self._office_keys[np.maximum(first, 0)].copy()
        offices[first < 0] = None
        at = np.flatnonzero(pd.Index(offices).isin(list(self._crowded)))
        if len(at):
            ceased = self.reference.tables["companies"]["date_of_cessation"].to_numpy()[first[at]]
            counts = self._office_counts(X.index[at], offices[at], ceased)
            for name, value in counts.items():
                if name in X.columns:
                    column = X[name].to_numpy(np.float64, copy=True)
                    column[at] = value
                    X[name] = column
        return X

    # ------------------------------------------------------------------------------------------- components

    def _reference_distance(self) -> np.ndarray:
        """Distance to a labelled business of every node of the reference graph (the feature's own rule, once)."""
        if self._distance_ is None:
            view = AsOf(self.reference, self.as_of)
            view.memo("network:graph", lambda: self.graph)  # the graph built already, not a second one
            self._distance_ = distance_to_labelled_positive(view).to_numpy(np.float64)
        return self._distance_

    def office_features(self, number: str, office: object, company: pd.DataFrame) -> dict[str, float] | None:
        """Return the office-count features of a business at a crowded registered office, from the reference counts.

        The neighbourhood holds only a sample of a crowded office's businesses, so the features counting them
        (``businesses_sharing_registered_office``, ``registered_office_at_mass_registration_address``) are
        computed here, with the rules of :mod:`features.register`: live businesses at the office on the scoring
        date, the business's reference row replaced by ``company``.

        Parameters
        ----------
        number : str
            The business's company number.
        office : object
            Its office key in the records (:attr:`Rows.office`).
        company : DataFrame
            Its one companies row, typed to the contract.

        Returns
        -------
        dict or None
            Feature values, or None when the office is not crowded (the neighbourhood then holds all of it).
        """
        if office is None or office not in self._crowded:
            return None
        counts = self._office_counts([number], np.array([office], dtype=object),
                                     company["date_of_cessation"].to_numpy()[:1])
        return {name: float(value[0]) for name, value in counts.items()}

    def _office_counts(self, numbers: Iterable[object], offices: np.ndarray,
                       ceased: np.ndarray) -> dict[str, np.ndarray]:
        """Return the office-count features of businesses at crowded offices, their reference rows replaced.

        ``offices`` and ``ceased`` are each business's office key and cessation date in its records.
        """
        # Live businesses at the office on the scoring date, less the business's own reference rows counted there,
        # plus the business itself when its records leave it live.
        by_business = self._by_business["companies"]
        codes = by_business.keys.get_indexer(pd.Index(list(numbers), dtype=object))
        starts = np.where(codes >= 0, by_business.starts[np.maximum(codes, 0)], 0)
        sizes = np.where(codes >= 0, by_business.starts[np.maximum(codes, 0) + 1] - starts, 0)
        owner = np.repeat(np.arange(len(codes)), sizes)
        rows = by_business.rows[starts[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)]
        counted = self._counted[rows] & (self._office_keys[rows] == offices[owner])
        live = ~(ceased <= np.datetime64(self.as_of, "ns"))
        count = (np.array([self._office_live[o] for o in offices.tolist()], np.int64)
                 - np.bincount(owner, weights=counted, minlength=len(codes)).astype(np.int64) + live)
        return {"businesses_sharing_registered_office": np.where(
                    count <= MASS_REGISTRATION_MIN_BUSINESSES, (count - live).astype(np.float64), np.nan),
                "registered_office_at_mass_registration_address": (
                    count > MASS_REGISTRATION_MIN_BUSINESSES).astype(np.float64)}

    def network(self, number: str, new: AsOf, old: AsOf | None, linked: list[str]) -> dict[str, float] | None:
        """Component size and distance to a labelled business once the business's links are replaced.

        Parameters
        ----------
        number : str
            The business.
        new : AsOf
            A view of its neighbourhood with its new records.
        old : AsOf or None
            The same with its reference rows; None when the records hold exactly its reference rows of the graph's
            tables (:attr:`Rows.unchanged`), so no link between other businesses can have changed.
        linked : list of str
            The businesses sharing a key with it (old or new): the only ones whose links the records can change.

        Returns
        -------
        dict or None
            ``network_component_size`` and ``distance_to_labelled_positive`` (the latter only when the data set
            holds labels), or None when the records change a link between two other businesses.
        """
        new_graph = _graph(new)
        me = new_graph.nodes.get_indexer(pd.Index([number]))[0]
        if me < 0:
            return None
        if old is not None:
            # Links between the other businesses sharing a key must be the same in both states.
            old_graph = _graph(old)
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
        network_size, distance = GRAPH_FEATURES
        out = {network_size: self._component_size(neighbours, old_pos)}
        if self.positive_ is not None:
            out[distance] = self._distance(neighbours, old_pos)
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
        assert positive is not None  # noqa: S101 -- narrows the type for mypy: called only when positive_ is set
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
