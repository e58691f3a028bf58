"""A validated data set staged on disk: every table's valid rows in an Arrow IPC file, a few columns in memory.

A batch job over a large data set cannot hold every table at once. :func:`stage_dataset` validates the tables one
at a time (exactly as :func:`~riskmodel.contract.load_dataset` does), writes each table's valid rows to
``FOLDER/TABLE.arrow`` and keeps in memory only :data:`INDEX_COLUMNS`: the keys and dates from which the scoring
neighbourhood (:class:`riskmodel.scoring.neighbourhood.Neighbourhood`) builds its indexes and the business graph.
Full rows are then read back by position (:meth:`StagedDataset.take`) from the memory-mapped files, a chunk of
businesses at a time; the files are read through the page cache, which the system can reclaim.

Row positions are the same in memory and on disk, and a row read back equals the loaded row exactly (same dtypes,
same index of source rows).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from riskmodel.contract.validate import Dataset, load_dataset

__all__ = ["INDEX_COLUMNS", "StagedDataset", "stage_dataset"]

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


def _write(frame: pd.DataFrame, path: Path) -> None:
    schema = pa.Schema.from_pandas(frame, preserve_index=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, schema) as writer:
        for start in range(0, max(len(frame), 1), _WRITE_ROWS):
            piece = pa.Table.from_pandas(frame.iloc[start:start + _WRITE_ROWS], schema=schema, preserve_index=True)
            writer.write_table(piece.replace_schema_metadata(schema.metadata))
    tmp.replace(path)


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

    def keep(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        # Validation leaves reference cycles holding a table's worth of memory (about as much again as the kept
        # columns at 100,000 businesses): collect them before the next table is read.
        gc.collect()
        path = folder / f"{name}.arrow"
        _write(frame, path)
        columns = INDEX_COLUMNS[name]
        if columns is None:
            return frame
        # Read back rather than select: fresh, deduplicated strings instead of ones scattered among the whole
        # table's, so the memory of the validated table can go back to the system.
        with pa.memory_map(str(path)) as source:
            index = [n for n in frame.index.names if n is not None]  # the source rows, kept as the index
            kept = ipc.open_file(source).read_all().select([*columns, *index]).to_pandas()
        pa.default_memory_pool().release_unused()
        return kept

    dataset = load_dataset(root, tables, keep=keep)
    gc.collect()
    return StagedDataset(dataset, folder)
