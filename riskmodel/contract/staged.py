"""A validated data set staged on disk: every table's valid rows in an Arrow IPC file, a few columns in memory.

A batch job over a large data set cannot hold every table at once. :func:`stage_dataset` validates each table in
batches (:mod:`riskmodel.contract.stream`: the same rows, quarantine and problems as
:func:`~riskmodel.contract.load_dataset`), writes its valid rows batch by batch to ``FOLDER/TABLE.arrow`` and keeps
in memory only :data:`INDEX_COLUMNS`: the keys and dates from which the scoring neighbourhood
(:class:`riskmodel.scoring.neighbourhood.Neighbourhood`) builds its indexes and the business graph. Full rows are
then read back by position (:meth:`StagedDataset.take`) from the memory-mapped files, a chunk of businesses at a
time; the files are read through the page cache, which the system can reclaim.

Row positions are the same in memory and on disk, and a row read back equals the loaded row exactly (same dtypes,
same index of source rows).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from riskmodel.contract.validate import Dataset, load_dataset

__all__ = ["INDEX_COLUMNS", "StagedDataset", "open_staged", "stage_dataset"]

#: Columns each table keeps in memory once staged (None: the whole table). They are what the neighbourhood index,
#: the business graph and the labelled businesses are built from; the watchlist is reference data, not rows per
#: business, and stays whole.
INDEX_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "companies": ("company_number", "company_type", "date_of_creation", "date_of_cessation",
                  "registered_office_postcode", "registered_office_address"),
    "officers": ("company_number", "officer_id", "officer_role", "appointed_on", "resigned_on"),
    "ownership": ("company_number", "owner_id", "owner_kind", "notified_on", "ceased_on"),
    "accounts": ("company_number",),
    "licences": ("holder_company_number", "premises_postcode"),
    "contracts": ("supplier_company_number", "buyer_id"),
    "transactions": ("company_number",),
    "labels": ("company_number", "label", "labelled_on"),
    "watchlist": None,
}

#: Rows converted to Arrow at a time while a table is written (bounds the copy made on the way out).
_WRITE_ROWS = 250_000


@dataclass
class StagedDataset:
    """A data set whose full rows are on disk (see the module note).

    Attributes
    ----------
    dataset : Dataset
        The validated data set: quarantine, problems, summary and extract date as loaded, but ``tables`` holding
        only :data:`INDEX_COLUMNS`.
    folder : Path
        Where the ``TABLE.arrow`` files are.
    """

    dataset: Dataset
    folder: Path

    def __post_init__(self) -> None:
        self._files: dict[str, pa.Table] = {}

    def _file(self, table: str) -> pa.Table:
        if table not in self._files:
            # Memory-mapped: reading rows by position touches only their pages.
            self._files[table] = ipc.open_file(pa.memory_map(str(self.folder / f"{table}.arrow"))).read_all()
        return self._files[table]

    def take(self, table: str, positions: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
        """Return the rows of ``table`` at ``positions``, as the loaded data set holds them.

        Parameters
        ----------
        table : str
            A table of the data set.
        positions : ndarray of int
            Row positions (0-based, as in ``dataset.tables[table]``).
        columns : list of str, optional
            Only these columns (default: every column, and the source-row index).

        Returns
        -------
        DataFrame
            The columns, typed; indexed by source row when every column is read.
        """
        file = self._file(table)
        if columns is not None:
            file = file.select(columns)  # only these columns' pages are read
        return file.take(pa.array(np.asarray(positions, np.int64))).to_pandas()


#: Rows of a staged table from which its validation's reference cycles are collected before the next table.
_COLLECT_ROWS = 100_000


def _write(batches: Iterator[pd.DataFrame], path: Path) -> int:
    """Write valid rows, batch by batch, to an Arrow IPC file (the source-row index kept as a column); count them."""
    tmp = path.with_name(f".{path.name}.tmp")
    writer = None
    schema = None
    rows = 0
    with pa.OSFile(str(tmp), "wb") as sink:
        for frame in batches:
            rows += len(frame)
            if schema is None:
                first = pa.Schema.from_pandas(frame, preserve_index=True)
                # A text column with no value in the first batch would be typed null; later batches hold text.
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in first],
                                   metadata=first.metadata)
                writer = ipc.new_file(sink, schema)
            assert writer is not None  # noqa: S101 -- narrows the type for mypy: opened on the first batch just above
            for start in range(0, len(frame), _WRITE_ROWS):
                piece = pa.Table.from_pandas(frame.iloc[start:start + _WRITE_ROWS], schema=schema, preserve_index=True)
                writer.write_table(piece.replace_schema_metadata(schema.metadata))
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return rows


def stage_dataset(root: str | Path, folder: str | Path, tables: list[str] | None = None) -> StagedDataset:
    """Validate a data set table by table and stage its valid rows in ``folder``.

    Parameters
    ----------
    root : str or Path
        Data set folder (as for :func:`~riskmodel.contract.load_dataset`).
    folder : str or Path
        Work folder for the ``TABLE.arrow`` files (created; files of an earlier staging are replaced).
    tables : list of str, optional
        Restrict to these tables.

    Returns
    -------
    StagedDataset

    Raises
    ------
    DataContractError
        As :func:`~riskmodel.contract.load_dataset`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    staged = 0

    def sink(name: str, batches: Iterator[pd.DataFrame]) -> pd.DataFrame:
        nonlocal staged
        path = folder / f"{name}.arrow"
        rows = _write(batches, path)
        staged += rows
        # Validation leaves reference cycles holding a batch's worth of memory: collect them before the next table.
        # Only after a large table: a full collection walks the whole heap of the process (seconds in a service or
        # a test session), far more than a small table's cycles hold.
        if rows >= _COLLECT_ROWS:
            gc.collect()
        return _index_frame(path, name)

    dataset = load_dataset(root, tables, sink=sink)
    if staged >= _COLLECT_ROWS:
        gc.collect()
    return StagedDataset(dataset, folder)


def _index_frame(path: Path, name: str) -> pd.DataFrame:
    """Read the in-memory part of a staged table: its :data:`INDEX_COLUMNS`, indexed by source row."""
    columns = INDEX_COLUMNS[name]
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
        # The source rows, kept as the index (a named index; an unnamed one is a RangeIndex of no meaning).
        index = [c for c in table.schema.pandas_metadata.get("index_columns", [])
                 if isinstance(c, str) and not c.startswith("__index_level_")]
        kept = (table if columns is None else table.select([*columns, *index])).to_pandas()
    pa.default_memory_pool().release_unused()
    return kept


def open_staged(folder: str | Path, tables: list[str], extract_date: dt.date | None,
                source: str | None = None) -> StagedDataset:
    """Reopen a data set staged by :func:`stage_dataset` (in another process: a Dask worker).

    The tables hold the same rows and index columns as the staging process holds; the quarantine, problems and
    summary stay with that process (they are empty here).

    Parameters
    ----------
    folder : str or Path
        The staging folder.
    tables : list of str
        The tables the staging process kept (a rejected table may have a file but is not part of the data set).
    extract_date : date or None
        The data set's extract date (point-in-time views read it).
    source : str, optional
        The data set's source.
    """
    folder = Path(folder)
    held = {name: _index_frame(folder / f"{name}.arrow", name) for name in tables}
    empty = pd.DataFrame()
    dataset = Dataset(root=folder, tables=held, quarantine={}, problems=empty, summary=empty,
                      extract_date=extract_date, source=source)
    return StagedDataset(dataset, folder)
