"""Validate a table file in batches: the same valid rows, quarantine and problems as a whole read, in bounded memory.

Every rule of the contract is about one row, except the key: rows sharing a key are exact copies or conflicts, and
the rows of one key may lie anywhere in the file. So a table is read in passes:

1. **Keys.** The key columns only, typed, one 64-bit hash per row. Rows whose hash occurs more than once are the
   *suspects*: every row of a shared key is one (a hash collision only adds a few rows more).
2. **Suspects** (only when there are any). Their whole rows are read and validated together, so each shared key is
   judged on all its rows, exactly as a whole read judges it.
3. **Batches.** Every other row is validated a batch at a time; the suspects' valid rows are put back in their
   places, and the valid rows go out in file order.

Memory is one batch plus the hashes (16 bytes a row) and the suspects. A CSV file that turns out not to be UTF-8
part-way through is read again from the start in the fallback encodings during the key pass, before any row goes
out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.contract.io import (
    _FALLBACK_ENCODINGS,
    BATCH_ROWS,
    BatchReadError,
    RawTable,
    _problem,
    read_table_batches,
    table_header,
)
from riskmodel.contract.spec import TableSpec
from riskmodel.contract.validate import (
    QUARANTINE_REASONS,
    QUARANTINE_ROW,
    TableResult,
    _problems,
    _quarantine_frame,
    _reject,
    coerce_column,
    validate_table,
)

__all__ = ["StreamedTable"]


class StreamedTable:
    """One table file validated in batches (see the module note).

    Iterate :meth:`batches` for the valid rows; :attr:`result` then holds the counts, the quarantine and the
    problems (its ``valid`` is empty: the rows went to the caller).

    Parameters
    ----------
    spec : TableSpec
        The table's contract.
    path : Path
        Its file.
    extract_date : date, optional
        As for :func:`~riskmodel.contract.validate.validate_table`.
    batch_rows : int
        Rows validated at a time.
    """

    def __init__(self, spec: TableSpec, path: Path, extract_date: dt.date | None = None,
                 batch_rows: int = BATCH_ROWS) -> None:
        self.spec = spec
        self.path = path
        self.extract_date = extract_date
        self.batch_rows = batch_rows
        self.result: TableResult | None = None
        self._block: int | None = None  # CSV bytes parsed at a time (the reader's default unless a record needs more)

    def batches(self) -> Iterator[pd.DataFrame]:
        """Yield the valid rows, typed and indexed by source row, in file order; then set :attr:`result`."""
        spec, name = self.spec, self.spec.name
        header, unreadable = table_header(self.path, name)
        if header is None:
            self.result = _reject(name, 0, unreadable)
            return
        missing = [c for c in spec.column_names if c not in header]
        if missing:
            msg = "missing required column{} {} (the contract's columns are: {})".format(
                "s" if len(missing) > 1 else "", ", ".join(missing), ", ".join(spec.column_names))
            self.result = _reject(name, 0, [_problem("table", name, "missing-column", msg, column=", ".join(missing))])
            return
        try:
            encoding, rows_read, suspects = self._keys()
        except BatchReadError as exc:
            self.result = _reject(name, 0, [exc.problem])
            return
        warnings: list[dict[str, object]] = []
        if encoding != "utf-8":
            warnings.append(_problem("warning", name, "encoding", f"{self.path.name} is not UTF-8; it was read as "
                                                                  f"{encoding} (save it as UTF-8 to be sure)"))
        if rows_read < spec.min_rows:
            self.result = _reject(name, rows_read, [*warnings, _problem(
                "table", name, "no-rows", f"has no data rows; at least {spec.min_rows} is needed")])
            return
        if rows_read == 0:
            warnings.append(_problem("warning", name, "no-rows", "has a header but no data rows"))
        parts = [_problems(warnings)]
        quarantines: list[pd.DataFrame] = []
        kept = 0
        held = self._suspects(encoding, suspects, parts, quarantines)
        held_rows = held.index.to_numpy(np.int64)
        done = 0  # held rows already put back
        for raw in read_table_batches(self.path, name, encoding=encoding, batch_rows=self.batch_rows,
                                      block_bytes=self._block):
            frame = raw.frame
            assert frame is not None  # noqa: S101 -- narrows the type for mypy: a batch read has a frame
            parts.append(_problems(raw.problems))
            if len(raw.ragged):
                quarantines.append(_quarantine_frame(frame.iloc[:0], raw.ragged, parts[-1]))
            others = ~np.isin(frame.index.to_numpy(np.int64), suspects)
            valid = frame.iloc[:0]
            if others.any():
                result = validate_table(spec, RawTable(frame[others], text=raw.text), self.extract_date)
                parts.append(result.problems)
                quarantines.append(result.quarantine)
                valid = result.valid
            # The held rows that belong before the end of this batch go back in their places.
            end = len(held_rows) if not len(frame) else int(np.searchsorted(held_rows, frame.index[-1], "right"))
            if end > done:
                valid = pd.concat([valid, held.iloc[done:end]]).sort_index() if len(valid) else held.iloc[done:end]
                done = end
            if len(valid):
                kept += len(valid)
                yield valid
        if done < len(held):
            kept += len(held) - done
            yield held.iloc[done:]
        if not kept:
            # No valid row: the typed columns still go out (a whole read holds an empty typed table). The table's
            # row count was checked above: typing no rows must not be rejected for having too few.
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in header},
                                 index=pd.Index([], dtype=np.int64, name="source_row"))
            yield validate_table(replace(spec, min_rows=0), RawTable(empty, text=True), self.extract_date).valid
        problems = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else (
            _problems([]))
        quarantine = self._quarantine(header, quarantines)
        self.result = TableResult(name, pd.DataFrame(), quarantine, problems, rows_read, kept_rows=kept)
        # The central promise of the loader: nothing is lost silently. Raised, not asserted: it must hold under -O.
        if kept + len(quarantine) != rows_read:
            raise RuntimeError(f"{name}: {kept} rows kept + {len(quarantine)} quarantined != {rows_read} read")

    def _keys(self) -> tuple[str, int, np.ndarray]:
        """Pass 1: the encoding, the data rows and the source rows whose key is shared (or collides).

        It also finds the block of bytes that holds every CSV record (:attr:`_block`), for the later passes.
        """
        key = list(self.spec.key)
        encodings = iter(("utf-8", *_FALLBACK_ENCODINGS))
        encoding = next(encodings)
        while True:
            hashes: list[np.ndarray] = []
            rows: list[np.ndarray] = []
            ragged = 0
            try:
                for raw in read_table_batches(self.path, self.spec.name, key or None, encoding, self.batch_rows,
                                              self._block):
                    frame = raw.frame
                    assert frame is not None  # noqa: S101 -- narrows the type for mypy: a batch read has a frame
                    ragged += len(raw.ragged)
                    rows.append(frame.index.to_numpy(np.int64))
                    if key:
                        typed = pd.DataFrame({c: coerce_column(frame[c], self.spec.column(c), text=raw.text)[0]
                                              for c in key})
                        hashes.append(pd.util.hash_pandas_object(typed, index=False).to_numpy())
            except BatchReadError as exc:
                if exc.block_too_small and exc.block_bytes <= self.path.stat().st_size:
                    self._block = 4 * exc.block_bytes  # a record longer than a block (a cell of megabytes)
                    continue
                if exc.encoding_failed and encoding != _FALLBACK_ENCODINGS[-1]:
                    encoding = next(encodings)
                    continue
                raise
            break
        source = np.concatenate(rows) if rows else np.empty(0, np.int64)
        if not key or not hashes:
            return encoding, len(source) + ragged, np.empty(0, np.int64)
        shared = pd.Series(np.concatenate(hashes)).duplicated(keep=False).to_numpy()
        return encoding, len(source) + ragged, np.sort(source[shared])

    def _suspects(self, encoding: str, suspects: np.ndarray, parts: list[pd.DataFrame],
                  quarantines: list[pd.DataFrame]) -> pd.DataFrame:
        """Pass 2: validate the rows of shared keys together; return their valid rows (by source row)."""
        if not len(suspects):
            return pd.DataFrame(index=pd.Index([], dtype=np.int64, name="source_row"))
        pieces = []
        text = False
        for raw in read_table_batches(self.path, self.spec.name, encoding=encoding, batch_rows=self.batch_rows,
                                      block_bytes=self._block):
            assert raw.frame is not None  # noqa: S101 -- narrows the type for mypy: a batch read has a frame
            text = raw.text
            pieces.append(raw.frame[np.isin(raw.frame.index.to_numpy(np.int64), suspects)])
        result = validate_table(self.spec, RawTable(pd.concat(pieces), text=text), self.extract_date)
        parts.append(result.problems)
        quarantines.append(result.quarantine)
        return result.valid

    @staticmethod
    def _quarantine(header: list[str], pieces: list[pd.DataFrame]) -> pd.DataFrame:
        """Return the batches' quarantined rows in file order, with the columns of a whole read's quarantine."""
        pieces = [q for q in pieces if len(q)]
        if not pieces:
            return pd.DataFrame(columns=[QUARANTINE_ROW, *header, QUARANTINE_REASONS])
        out = pd.concat(pieces, ignore_index=True).sort_values(QUARANTINE_ROW, kind="stable", ignore_index=True)
        ragged = ["raw_record"] if "raw_record" in out.columns else []
        middle = [c for c in out.columns if c not in (QUARANTINE_ROW, QUARANTINE_REASONS, *ragged)]
        return out[[QUARANTINE_ROW, *middle, *ragged, QUARANTINE_REASONS]]
