"""Write a synthetic world to a data-set folder, chunk by chunk, with the truth kept apart in ``_truth/``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.contract.io import to_arrow_table, to_csv_frame
from riskmodel.contract.spec import TABLES
from riskmodel.errors import RiskmodelError
from riskmodel.synth.accounts import accounts_table, licences_table
from riskmodel.synth.labels import labels_table
from riskmodel.synth.market import contracts_table, transactions_table, watchlist_table
from riskmodel.synth.officers import officers_table, ownership_table
from riskmodel.synth.world import Groups, SynthConfig, WorldChunk, companies_table, make_chunk, make_groups

__all__ = ["TRUTH_DIR", "generate"]

log = logging.getLogger(__name__)

#: Folder of the ground truth inside a generated data set; training and scoring code never read it.
TRUTH_DIR = "_truth"

_CHUNK_TABLES: dict[str, Callable[[SynthConfig, Groups, WorldChunk], pd.DataFrame]] = {
    "companies": lambda cfg, groups, w: companies_table(w),
    "officers": officers_table,
    "ownership": ownership_table,
    "accounts": accounts_table,
    "licences": licences_table,
    "contracts": contracts_table,
    "labels": labels_table,
    "transactions": transactions_table,
}


class _TableSink:
    """Appends chunks of one table to a parquet or CSV file; the file appears under its name only when complete."""

    def __init__(self, path: Path, name: str, fmt: str) -> None:
        self.final = path
        self.tmp = path.with_name(path.name + ".partial")
        self.spec = TABLES.get(name)
        self.fmt = fmt
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            table = to_arrow_table(frame, self.spec) if self.spec else _plain_arrow(frame)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.tmp, table.schema)
            self.writer.write_table(table)
        else:
            text = to_csv_frame(frame, self.spec) if self.spec else frame
            text.to_csv(self.tmp, mode="a" if self.rows else "w", header=not self.rows, index=False,
                        encoding="utf-8")
        self.rows += len(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.tmp.replace(self.final)


def _plain_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def generate(out: str | Path, cfg: SynthConfig, fmt: str = "parquet",
             progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Generate a synthetic world into ``out`` (a contract data set plus ``_truth/``).

    Parameters
    ----------
    out : str or Path
        Destination folder (created; existing table files are replaced).
    cfg : SynthConfig
        World parameters (size, seed, dates, chunk size).
    fmt : {"parquet", "csv"}
        File format of the tables.
    progress : callable, optional
        Called with (businesses done, businesses total) after each chunk.

    Returns
    -------
    dict of str to int
        Rows written per table.
    """
    if fmt not in ("parquet", "csv"):
        raise RiskmodelError(f"unknown format {fmt!r}: use parquet or csv", format=fmt)
    if cfg.businesses < 1:
        raise RiskmodelError("--businesses must be at least 1", businesses=cfg.businesses)
    root = Path(out)
    truth = root / TRUTH_DIR
    truth.mkdir(parents=True, exist_ok=True)
    groups = make_groups(cfg)
    sinks = {name: _TableSink(root / f"{name}.{fmt}", name, fmt) for name in _CHUNK_TABLES}
    truth_sink = _TableSink(truth / "businesses.parquet", "_truth", "parquet")
    n_chunks = -(-cfg.businesses // cfg.chunk_size)
    for chunk in range(n_chunks):
        world = make_chunk(cfg, groups, chunk)
        for name, make in _CHUNK_TABLES.items():
            sinks[name].write(make(cfg, groups, world))
        truth_sink.write(world.truth())
        log.debug("chunk %d/%d written", chunk + 1, n_chunks)
        if progress is not None:
            progress(min((chunk + 1) * cfg.chunk_size, cfg.businesses), cfg.businesses)
    watch = _TableSink(root / f"watchlist.{fmt}", "watchlist", fmt)
    watch.write(watchlist_table(cfg, groups))
    for sink in (*sinks.values(), truth_sink, watch):
        sink.close()
    groups.frame().to_parquet(truth / "groups.parquet", index=False)
    settings = {k: str(v) for k, v in asdict(cfg).items()}
    (truth / "config.json").write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    meta = {"extract_date": cfg.extract_date.isoformat(),
            "source": f"riskmodel synth (synthetic, fictional): {cfg.businesses} businesses, seed {cfg.seed}",
            "synthetic": True}
    (root / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    counts = {name: sink.rows for name, sink in sinks.items()}
    counts["watchlist"] = watch.rows
    return counts
