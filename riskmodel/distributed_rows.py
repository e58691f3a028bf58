"""Each partition's neighbourhood rows found with Dask's own shuffles and joins, so no process holds an index.

A business's features depend on its own rows and on rows shared with other businesses (see
:mod:`riskmodel.scoring.neighbourhood`, which finds them through in-memory indexes of the whole data set). On a
cluster, :func:`gather_rows` finds the same rows for every partition of businesses at once with Dask DataFrame
joins over the staged tables' key columns, read in row ranges, and writes one small file of row positions per
partition. A worker then reads just those rows from the staged Arrow files (memory-mapped) and builds the
partition's features on them: its memory follows its partition, not the whole data set.

For partition ``p`` (its businesses are the *targets*) the rows are:

1. every row of the targets, in every table;
2. the rows sharing a key with a target: officer and owner ids (one id space, which is also the company-number
   space: corporate officers and owners), registered offices, licensed premises and public buyers; whole key
   groups, so counts over a key are exact;
3. the register rows, licences and labels of every business met through an id or an office (the network's links
   and the counts over linked businesses read them);
4. the ownership rows and register rows of the corporate owners above the targets, ``MAX_CHAIN`` layers deep.

The watchlist is reference data and every worker reads it whole. This is a superset of the rows
:meth:`Neighbourhood.chunk <riskmodel.scoring.neighbourhood.Neighbourhood.chunk>` gathers (that class trims
crowded offices and people too busy to link to a sample, which only an index can do cheaply); the extra rows are
real rows of the data set, so the targets' features built on them equal a full build. Component size and the
distance to a labelled business need the whole graph: they come from
:func:`riskmodel.distributed_graph.network_features`.

No date filter is applied here: the rows are gathered from every row of the staged tables, and the point-in-time
view of the partition cuts them to the date, exactly as a full build does.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from features.ownership import MAX_CHAIN
from riskmodel.engine import persisted
from riskmodel.files import atomic_write

__all__ = ["ROW_TABLES", "gather_rows", "read_rows", "rows_file"]

log = logging.getLogger(__name__)

#: The tables whose rows belong to a business (the column naming it), in the order of their codes in a rows file.
ROW_TABLES = {"companies": "company_number", "officers": "company_number", "ownership": "company_number",
              "accounts": "company_number", "licences": "holder_company_number",
              "contracts": "supplier_company_number", "transactions": "company_number",
              "labels": "company_number"}

#: Rows of a staged table read per partition.
_ROWS = 500_000


def rows_file(folder: str | Path, part: int) -> Path:
    """Return the file of partition ``part``'s row positions in ``folder``."""
    return Path(folder) / f"rows-{part:05d}.parquet"


def read_rows(folder: str | Path, part: int) -> dict[str, np.ndarray]:
    """Return partition ``part``'s row positions per table (sorted, unique: the order of a full build)."""
    frame = pd.read_parquet(rows_file(folder, part))
    codes = frame["table"].to_numpy(np.int64)
    rows = frame["row"].to_numpy(np.int64)
    return {table: np.unique(rows[codes == code]) for code, table in enumerate(ROW_TABLES)}


# ---------------------------------------------------------------------------------------------- key columns


def _arrow(folder: str, table: str) -> pa.Table:
    return ipc.open_file(pa.memory_map(str(Path(folder) / f"{table}.arrow"))).read_all()


def _hash(values: pd.Series | np.ndarray) -> np.ndarray:
    """64-bit hashes of text keys: joins on integers are many times faster than on text.

    Two different keys with the same hash only join more rows than needed (a superset stays exact, see the
    module note); equal keys always hash equal.
    """
    return pd.util.hash_array(np.asarray(values, dtype=object)).view(np.int64)


#: The shared key of each table, besides the business (the column name is the kind of key, so key groups join
#: across tables: an officer id may equal an owner id or a company number).
_SHARED = {"companies": "office", "officers": "id", "ownership": "id", "licences": "premises", "contracts": "buyer"}


def _keys(folder: str, table: str, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start:stop`` of a staged table: row position and the hashed business and shared key.

    A missing key is no key (pandas would join missing keys to each other): the row keeps its business and its
    shared key column holds no hash; ``has_<key>`` says which.
    """
    from riskmodel.scoring.neighbourhood import _office_key, _premises_key

    business = ROW_TABLES[table]
    source = {"companies": ["registered_office_postcode", "registered_office_address"], "officers": ["officer_id"],
              "ownership": ["owner_id"], "licences": ["premises_postcode"], "contracts": ["buyer_id"]}.get(table, [])
    frame = _arrow(folder, table).select([business, *source]).slice(start, stop - start).to_pandas()
    # A row naming no business (a contract with an unregistered supplier) still counts in its key group.
    out = pd.DataFrame({"row": np.arange(start, start + len(frame), dtype=np.int64),
                        "business": _hash(frame[business])})
    if table in _SHARED:
        if table == "companies":
            values = _office_key(frame)
        elif table == "licences":
            values = _premises_key(frame["premises_postcode"])
        else:
            values = frame[source[0]]
        values = pd.Series(np.asarray(values, dtype=object))
        present = values.notna().to_numpy()
        key = np.zeros(len(values), np.int64)
        key[present] = _hash(values[present])
        out[_SHARED[table]] = key
        out["has_" + _SHARED[table]] = present
    return out


def _table(folder: str, table: str) -> Any:
    """Return the key columns of a staged table as a Dask DataFrame of row ranges."""
    import dask.dataframe as dd

    with pa.memory_map(str(Path(folder) / f"{table}.arrow")) as source:
        n = ipc.open_file(source).read_all().num_rows
    bounds = list(range(0, n, _ROWS)) or [0]
    return dd.from_map(_key_range, bounds, folder=folder, table=table, n=n, meta=_keys(folder, table, 0, 0),
                       enforce_metadata=False)


def _key_range(start: int, folder: str, table: str, n: int) -> pd.DataFrame:
    return _keys(folder, table, start, min(start + _ROWS, n))


def _targets(piece: tuple[int, list[str]]) -> pd.DataFrame:
    part, numbers = piece
    return pd.DataFrame({"business": _hash(np.asarray(numbers, dtype=object)),
                         "part": np.full(len(numbers), part, dtype=np.int64)})


# ---------------------------------------------------------------------------------------------- joins


def _rename(part: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return part.rename(columns=columns)


def _renamed(frame: Any, columns: dict[str, str]) -> Any:
    # Renamed inside the partitions: Dask's own rename tracks shuffled-on columns and a later merge on a renamed
    # one fails while planning (dask 2026.8; see riskmodel.distributed_graph).
    return frame.map_partitions(_rename, columns, meta=frame._meta.rename(columns=columns), enforce_metadata=False)


def _present(frame: Any, column: str) -> Any:
    """Return the rows of ``frame`` holding a ``column`` key (a key table's rows; other frames hold no missing key)."""
    flag = "has_" + column
    return frame[frame[flag]] if flag in frame.columns else frame


def _code(frame: Any, table: str) -> Any:
    """``(part, table, row)`` rows of ``table`` from a frame holding ``part`` and ``row``."""
    code = list(ROW_TABLES).index(table)
    return frame[["part", "row"]].assign(table=np.int8(code))


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _write_part(frame: pd.DataFrame, folder: str) -> pd.DataFrame:
    """Write each partition's rows held in this shuffle output to its file; return (part, rows written)."""
    written = []
    for part in sorted(pd.unique(frame["part"]).tolist()):
        rows = frame.loc[frame["part"].to_numpy() == part, ["table", "row"]]
        rows = rows.drop_duplicates().sort_values(["table", "row"], ignore_index=True)
        atomic_write(rows_file(folder, int(part)), partial(_to_parquet, rows))
        written.append((int(part), len(rows)))
    return pd.DataFrame(written, columns=["part", "rows"]).astype("int64")


def gather_rows(client: Any, folder: str | Path, tables: tuple[str, ...] | list[str], numbers: pd.Index,
                chunk_size: int, parts: list[int], out: str | Path) -> pd.DataFrame:
    """Find the neighbourhood rows of the chunks ``parts`` of ``numbers`` on the cluster; one file per chunk.

    Parameters
    ----------
    client : distributed.Client or None
        The cluster; None runs the joins in this process, on Dask's synchronous scheduler (tests, small data).
    folder : str or Path
        The staging folder (``TABLE.arrow`` files on storage every worker reads).
    tables : sequence of str
        The tables of the data set.
    numbers : Index
        Every business, in chunk order (chunk ``i`` is ``numbers[i * chunk_size:(i + 1) * chunk_size]``).
    chunk_size : int
        Businesses per chunk.
    parts : list of int
        The chunks to gather for.
    out : str or Path
        A folder (created) for the :func:`rows_file` of each chunk.

    Returns
    -------
    DataFrame
        ``part`` and ``rows``: the row positions written for each chunk.
    """
    import dask.dataframe as dd

    folder, out = str(Path(folder).resolve()), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not parts:
        return pd.DataFrame({"part": pd.Series(dtype="int64"), "rows": pd.Series(dtype="int64")})
    values = np.asarray(numbers, dtype=object)
    pieces = [(i, values[i * chunk_size:(i + 1) * chunk_size].tolist()) for i in parts]
    # Each step waits for the last (see riskmodel.engine.persisted: a LocalCluster's scheduler shares this process).
    persist = (lambda f: persisted(f, scheduler="sync")) if client is None else persisted

    def small(frame: Any) -> Any:
        # A side with a row or two per business (16 bytes each) goes to every partition of the table it is
        # joined to, Dask's broadcast join: the big tables are then joined where they lie, never shuffled.
        return persist(frame.repartition(npartitions=1).drop_duplicates())

    targets = small(dd.from_map(_targets, pieces, meta=_targets((0, [])), enforce_metadata=False))
    # Read once and kept on the workers while the joins run: every table is joined several times.
    keys = {t: persist(_table(folder, t)) for t in ROW_TABLES if t in tables}

    found = []
    own = {}
    for table, frame in keys.items():
        own[table] = frame.merge(targets, on="business")
        found.append(_code(own[table], table))

    # The ids of the targets: their own company numbers, their officers' and their owners' ids (one space).
    ids = [_renamed(targets, {"business": "id"})]
    ids += [_present(own[t], "id")[["part", "id"]] for t in ("officers", "ownership") if t in own]
    ids = small(dd.concat(ids))
    met = []  # (part, business): businesses sharing an id or an office with a target
    for table in ("officers", "ownership"):
        if table in keys:
            shared = _present(keys[table], "id")[["row", "business", "id"]].merge(ids, on="id")
            found.append(_code(shared, table))
            met.append(shared[["part", "business"]])
    named = keys["companies"][["row", "business"]].merge(_renamed(ids, {"id": "business"}), on="business")
    found.append(_code(named, "companies"))
    met.append(named[["part", "business"]])
    for table, key in (("companies", "office"), ("licences", "premises"), ("contracts", "buyer")):
        if table in keys:
            held = small(_present(own[table], key)[["part", key]])
            shared = _present(keys[table], key)[["row", "business", key]].merge(held, on=key)
            found.append(_code(shared, table))
            if key == "office":  # a premises or a buyer makes no network link: its businesses bring nothing more
                met.append(shared[["part", "business"]])

    # Corporate owners above the targets, MAX_CHAIN layers deep: each layer is a join to the ownership rows.
    chain = []
    if "ownership" in keys:
        owners = _present(keys["ownership"], "id")[["business", "id"]]
        layer = _renamed(_present(own["ownership"], "id")[["part", "id"]], {"id": "business"})
        for _ in range(MAX_CHAIN):
            layer = small(layer)
            if not len(layer):
                break
            chain.append(layer)
            layer = _renamed(owners.merge(layer, on="business")[["part", "id"]], {"id": "business"})
    others = small(dd.concat([*met, *chain]))
    for table in ("companies", "licences", "labels"):
        if table in keys:
            found.append(_code(keys[table][["row", "business"]].merge(others, on="business"), table))
    if chain:
        found.append(_code(keys["ownership"][["row", "business"]].merge(small(dd.concat(chain)), on="business"),
                           "ownership"))

    workers = 1 if client is None else max(1, len(client.nthreads()))
    rows = dd.concat(found).shuffle("part", npartitions=max(1, min(len(parts), 2 * workers)))
    written = rows.map_partitions(_write_part, str(out), meta={"part": "int64", "rows": "int64"},
                                  enforce_metadata=False)
    result: pd.DataFrame = (written.compute(scheduler="sync") if client is None
                            else client.compute(written).result())
    return result.sort_values("part", ignore_index=True)
