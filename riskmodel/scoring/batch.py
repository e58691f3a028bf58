"""``riskmodel score``: the batch job that licensing officers run, written chunk by chunk and resumable.

Outputs (in ``OUT_DIR``): ``scores.parquet`` and ``scores.csv`` (one row per business, ranked), ``quarantine.csv``
(every input row that could not be used, and every business not scored, with the reason), ``report.html`` and,
last, ``manifest.json``.

The input is staged on disk first (:mod:`riskmodel.contract.staged`), so the tables are never held whole. Each
chunk's features are built on its businesses' neighbourhoods from rows read back by position
(:meth:`riskmodel.scoring.neighbourhood.Neighbourhood.features`). Each finished chunk is saved under
``OUT_DIR/.partial/`` by an atomic rename, so an interrupted job resumes from its last finished chunk with
``resume=True`` and produces the same files. Every final file is written under a temporary name and renamed into
place: a file with its final name is always complete, and ``manifest.json`` appears only when the job is done.
This holds whenever the job stops: killed (SIGKILL) at any moment, or unable to write (disk full, no permission),
when it raises :class:`~riskmodel.errors.OutputWriteError` naming the output and the cause. A rerun with
``resume=True`` removes the temporary files the stopped job left and writes the same files as a job never stopped.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.pit import AsOf
from riskmodel import __version__
from riskmodel.contract.staged import StagedDataset, stage_dataset
from riskmodel.engine import resolve_engine
from riskmodel.errors import OutputWriteError, RiskmodelError, writing
from riskmodel.files import AtomicFile, atomic_write
from riskmodel.registry import load_model, resolve_version
from riskmodel.scoring.core import MAX_REASONS, Scorer
from riskmodel.scoring.neighbourhood import BUSINESS_KEYS, Neighbourhood
from riskmodel.scoring.report import write_report
from riskmodel.tracking import data_sha256

__all__ = ["JobResult", "run_score_job"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: Rows per row group of a part file (the unit the final merge reads).
_PART_ROW_GROUP = 2048
#: The files a job writes in ``OUT_DIR`` (``manifest.json`` last).
_OUTPUTS = ("scores.parquet", "scores.csv", "quarantine.csv", "model_card.md", "report.html", "manifest.json")
_P = ParamSpec("_P")


@dataclass(frozen=True)
class JobResult:
    """Where a finished job wrote its outputs, and its manifest."""

    out: Path
    manifest: dict[str, Any]


def _remove_temporaries(out: Path) -> None:
    """Remove the temporary files of outputs that a stopped job left in ``out`` (only its own ``.NAME.*tmp``)."""
    for name in _OUTPUTS:
        for stale in out.glob(f".{glob.escape(name)}.*tmp"):
            stale.unlink(missing_ok=True)


def _resume_hint(job: Callable[_P, JobResult]) -> Callable[_P, JobResult]:
    """Add to an :class:`OutputWriteError` of a job that the job can be resumed once the cause is fixed."""

    @functools.wraps(job)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> JobResult:
        try:
            return job(*args, **kwargs)
        except OutputWriteError as exc:
            exc.message += (". Once that is fixed, run the job again with --resume to continue from the last "
                            "finished chunk")
            exc.evidence["resumable"] = True
            raise

    return run


class _NameLookup:
    """Registered names of businesses, read from the staged companies file (first row of each number)."""

    def __init__(self, staged: StagedDataset) -> None:
        self._staged = staged
        numbers = staged.dataset["companies"]["company_number"]
        first = ~numbers.duplicated().to_numpy()
        self._rows = np.flatnonzero(first)
        self._index = pd.Index(numbers[first])

    def __call__(self, numbers: pd.Index) -> pd.Series:
        rows = self._rows[self._index.get_indexer(numbers)]
        names = self._staged.take("companies", rows, columns=["company_name"])["company_name"]
        return pd.Series(names.to_numpy(), index=numbers)


def _rejected_businesses(dataset: Any, scored: pd.Index, as_of: dt.date) -> pd.DataFrame:
    """Businesses in the companies file that were not scored, with the reason."""
    rows = []
    quarantined = dataset.quarantine.get("companies")
    if quarantined is not None and len(quarantined):
        for _, row in quarantined.iterrows():
            rows.append({"company_number": row.get("company_number"), "reason": "company row quarantined: "
                         + str(row.get("quarantine_reasons"))})
    comp = dataset["companies"]
    later = comp[~comp["company_number"].isin(scored)]
    for number, created in zip(later["company_number"], later["date_of_creation"], strict=True):
        rows.append({"company_number": number, "reason": f"did not exist on {as_of} (created {created.date()})"})
    return pd.DataFrame(rows, columns=["company_number", "reason"])


def _coverage(dataset: Any, scored: pd.Index) -> dict[str, dict[str, int]]:
    """Rows of each table, how many are about a scored business and how many scored businesses have any.

    A table with no rows about scored businesses gives those businesses no evidence at all: the report says so, so
    that a reason citing a missing record is read as a gap in the sources, not as something about the business.
    """
    coverage: dict[str, dict[str, int]] = {}
    for table, key in BUSINESS_KEYS.items():
        if table == "companies" or table not in dataset:
            continue
        numbers = dataset[table][key]
        on_scored = numbers.isin(scored)
        coverage[table] = {"rows": len(numbers), "rows_on_scored_businesses": int(on_scored.sum()),
                           "scored_businesses_with_rows": int(numbers[on_scored].nunique())}
    if "watchlist" in dataset:
        coverage["watchlist"] = {"rows": len(dataset["watchlist"])}
    return coverage


def _quarantine_frame(dataset: Any, rejected: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for table, frame in dataset.quarantine.items():
        if len(frame):
            parts.append(pd.DataFrame({"table": table, "source_row": frame["source_row"].to_numpy(),
                                       "company_number": frame.get("company_number", pd.Series(
                                           [None] * len(frame))).to_numpy(),
                                       "reason": frame["quarantine_reasons"].astype(str).to_numpy()}))
    for table in dataset.rejected_tables:
        parts.append(pd.DataFrame({"table": [table], "source_row": [None], "company_number": [None],
                                   "reason": ["whole table rejected (see riskmodel validate)"]}))
    not_scored = rejected[~rejected["reason"].str.startswith("company row quarantined")]
    if len(not_scored):
        parts.append(pd.DataFrame({"table": "companies", "source_row": None,
                                   "company_number": not_scored["company_number"].to_numpy(),
                                   "reason": "business not scored: " + not_scored["reason"]}))
    columns = ["table", "source_row", "company_number", "reason"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


@_resume_hint
def run_score_job(data_dir: str | Path, model: str | Path, out: str | Path, *, as_of: dt.date | None = None,
                  explain: str = "all", resume: bool = False, chunk_size: int = 20_000, top_n: int = 50,
                  progress: Progress | None = None, engine: str = "local", scheduler: str | None = None,
                  announce: Callable[[str], None] | None = None) -> JobResult:
    """Score every business of a data set and write the officers' outputs.

    Parameters
    ----------
    data_dir : str or Path
        A data set written to the contract (labels not needed).
    model : str or Path
        ``models:/riskmodel@champion`` (or another MLflow URI) or an exported model folder.
    out : str or Path
        Output folder.
    as_of : date, optional
        Date the scores describe; default the data set's extract date.
    explain : {"all", "flagged", "none"}
        Which businesses get reasons.
    resume : bool
        Continue an interrupted job in ``out`` from its last finished chunk.
    chunk_size : int
        Businesses per chunk.
    top_n : int
        Businesses shown in detail in the report.
    progress : callable, optional
        Called with (chunks done, chunks in total).
    engine : {"local", "dask"}
        Score the chunks in this process, or on a Dask cluster (:mod:`riskmodel.distributed`). Both write
        the same files; a job started on one engine can be resumed on the other.
    scheduler : str, optional
        With ``engine="dask"``: a scheduler address (default ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
        ``out`` must then be on storage every worker can read and write.
    announce : callable, optional
        Called with a line naming the Dask cluster and its dashboard when it starts, and with a line saying so when
        ``resume`` finds nothing to resume in ``out``.

    Returns
    -------
    JobResult

    Raises
    ------
    RiskmodelError
        If ``resume`` is asked for a job with other inputs or settings, or the inputs cannot be used.
    riskmodel.errors.OutputWriteError
        If an output cannot be written (no space left, no permission, ``out`` under a file): nothing under a final
        name is incomplete, there is no ``manifest.json`` and the finished chunks are kept for ``resume``.
    riskmodel.distributed.DistributedScoringError
        If the cluster cannot finish every chunk (the finished ones are kept for ``resume``).
    """
    engine, scheduler = resolve_engine(engine, scheduler)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    out = Path(out)
    data_dir = Path(data_dir)
    bundle = load_model(model)
    version = resolve_version(model)
    scorer = Scorer(bundle, version)
    model_sha = bundle.metadata["files"]["model.txt"]
    job = {"data_sha256": data_sha256(data_dir), "model_sha256": model_sha,
           "as_of": as_of.isoformat() if as_of else "extract date", "explain": explain,
           "chunk_size": int(chunk_size), "model_version": version, "parts": "rank-ordered"}
    partial = out / ".partial"
    job_file = partial / "job.json"
    if resume and job_file.exists():
        previous = json.loads(job_file.read_text(encoding="utf-8"))
        if previous != job:
            changed = sorted(k for k in job if previous.get(k) != job[k])
            raise RiskmodelError(f"cannot resume: the job in {out} was started with other {', '.join(changed)}",
                                 changed=changed)
    elif partial.exists():
        shutil.rmtree(partial)
    if resume and not job_file.exists():
        # Stopped before it recorded its settings (or finished): there is nothing to continue, and nothing lost. Not
        # a warning: a job service resumes every job, new ones too.
        note = f"nothing to resume in {out} (no unfinished job is recorded there): scoring from the start"
        log.info(note)
        if announce is not None:
            announce(note)
    with writing(partial):
        partial.mkdir(parents=True, exist_ok=True)
    atomic_write(job_file, lambda p: p.write_text(json.dumps(job, indent=1), encoding="utf-8"))
    with writing(out):
        (out / "manifest.json").unlink(missing_ok=True)  # an older finished job's manifest must not vouch for this
        _remove_temporaries(out)

    # The tables are validated in batches and staged on disk; memory holds their key columns, the neighbourhood
    # indexes and one chunk of businesses at a time.
    with writing(partial / "staged"):
        staged = stage_dataset(data_dir, partial / "staged")
    dataset = staged.dataset
    when = as_of or dataset.extract_date
    if when is None:
        raise RiskmodelError("the data set has no extract date: give --as-of", field="as_of")
    view = AsOf(dataset, when)
    numbers = view.index.sort_values()
    n_chunks = max(1, -(-len(numbers) // int(chunk_size)))
    engine_info: dict[str, Any] = {"name": engine}
    if engine == "local":
        neighbourhood = Neighbourhood(view, take=staged.take)
        del view  # its shared work (the graph's inputs) is not needed once the indexes are built
        names = _NameLookup(staged)
        timings["load_seconds"] = time.perf_counter() - start
        timings["features_seconds"] = 0.0
        start = time.perf_counter()
        for i in range(n_chunks):
            part = partial / f"part-{i:05d}.parquet"
            if not part.exists():
                chunk = numbers[i * chunk_size:(i + 1) * chunk_size]
                timings["features_seconds"] += write_part(neighbourhood, scorer, names, chunk, when, explain, part)
            if progress is not None:
                progress(i + 1, n_chunks)
        timings["scoring_seconds"] = time.perf_counter() - start - timings["features_seconds"]
    else:
        del view
        timings["load_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        engine_info.update(_score_on_dask(staged, bundle, version, numbers, int(chunk_size), when, explain, partial,
                                          scheduler, n_chunks, progress, announce))
        # The workers build features and score at once: one wall time for both (their own seconds are in "engine").
        timings["partitions_seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    ranked, top = _write_ranked([partial / f"part-{i:05d}.parquet" for i in range(n_chunks)], out,
                                 int(chunk_size), top_n)
    rejected = _rejected_businesses(dataset, numbers, when)
    quarantine = _quarantine_frame(dataset, rejected)
    atomic_write(out / "quarantine.csv", lambda p: quarantine.to_csv(p, index=False, encoding="utf-8"))
    timings["writing_seconds"] = time.perf_counter() - start

    summary = dataset.summary
    tables = {str(r["table"]): {k: (int(r[k]) if pd.notna(r[k]) else 0) for k in
                                ("rows_read", "rows_kept", "rows_quarantined", "rows_rejected")}
              for _, r in summary.iterrows()} if "rows_read" in summary.columns else {}
    companies_in = int(tables.get("companies", {}).get("rows_read", len(dataset["companies"])))
    manifest: dict[str, Any] = {
        "job": "riskmodel score", "code_version": __version__, "as_of": when.isoformat(),
        "model": {"name": "riskmodel", "version": version, "sha256": model_sha, "uri": str(model),
                  "train_as_of": bundle.metadata.get("train_as_of"),
                  "catalogue_version": bundle.metadata.get("catalogue_version"),
                  "training_data": bundle.metadata.get("training_data")},
        "data": {"path": str(data_dir.resolve()), "sha256": job["data_sha256"],
                 "extract_date": str(dataset.extract_date), "source": dataset.source},
        "explain": explain, "chunks": n_chunks, "chunk_size": int(chunk_size), "engine": engine_info,
        "rows": tables,
        "rows_in": int(sum(t["rows_read"] for t in tables.values())),
        "rows_used": int(sum(t["rows_kept"] for t in tables.values())),
        "rows_quarantined": int(sum(t["rows_quarantined"] for t in tables.values())),
        "rows_rejected": int(sum(t["rows_rejected"] for t in tables.values())),
        "coverage": _coverage(dataset, numbers),
        "businesses_in": companies_in, "businesses_scored": len(ranked), "businesses_rejected": len(rejected),
        "bands": {str(k): int(v) for k, v in ranked["risk_band"].value_counts().items()},
        "reasons_per_business": MAX_REASONS,
        "score_meaning": bundle.metadata.get("score_meaning"),
    }
    start = time.perf_counter()
    if bundle.model_card:
        atomic_write(out / "model_card.md", lambda p: p.write_text(bundle.model_card or "", encoding="utf-8"))
    card = "model_card.md" if (out / "model_card.md").exists() else None
    atomic_write(out / "report.html",
                 lambda p: write_report(p, ranked, manifest, scorer, top_n=top_n, top=top, model_card=card))
    timings["report_seconds"] = time.perf_counter() - start
    manifest["timings"] = timings
    manifest["businesses_per_second"] = len(ranked) / max(sum(timings.values()), 1e-9)
    atomic_write(out / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=1, default=str),
                                                                 encoding="utf-8"))
    shutil.rmtree(partial)
    return JobResult(out, manifest)


def _score_on_dask(staged: StagedDataset, bundle: Any, version: str, numbers: pd.Index, chunk_size: int,
                   when: dt.date, explain: str, partial: Path, scheduler: str | None, n_chunks: int,
                   progress: Progress | None, announce: Callable[[str], None] | None) -> dict[str, Any]:
    """Score the chunks without a part file on a Dask cluster; return what the manifest records of it."""
    from riskmodel.distributed import PartsJob, prepare, score_parts
    from riskmodel.engine import dask_client

    model_dir = partial / "model"
    with writing(model_dir):
        bundle.save(model_dir)  # the workers load it from here, checksums verified
    job = PartsJob.of(staged, when, bundle.feature_names, model=str(model_dir.resolve()), version=version,
                      explain=explain, partial=str(partial.resolve()), rows=str((partial / "rows").resolve()))
    todo = [i for i in range(n_chunks) if not (partial / f"part-{i:05d}.parquet").exists()]
    resumed = n_chunks - len(todo)
    with dask_client(scheduler, announce=announce) as client:
        workers = len(client.scheduler_info()["workers"])

        def advance(done: int) -> None:
            if progress is not None:
                progress(resumed + done, n_chunks)

        advance(0)
        graph, prepared = prepare(client, job, staged, numbers, chunk_size, todo)
        costs = score_parts(client, job, numbers, chunk_size, todo, advance, graph)
    scored = costs[costs["rows"] > 0]
    return {"name": "dask", "scheduler": scheduler or "LocalCluster", "workers": workers,
            "partitions": n_chunks, "partitions_resumed": resumed, **prepared,
            "worker_features_seconds": float(scored["features_seconds"].sum()),
            "worker_seconds": float(scored["seconds"].sum()),
            "partition_seconds_median": float(scored["seconds"].median()) if len(scored) else None,
            "worker_setup_seconds_median": float(scored.loc[scored["setup_seconds"] > 0, "setup_seconds"].median())
            if (scored["setup_seconds"] > 0).any() else None,
            "worker_peak_rss_mb": {str(pid): float(g.max()) for pid, g in
                                   scored.groupby("worker_pid")["worker_peak_rss_mb"]}}


class _FeatureSource(Protocol):
    """What builds a chunk's features: a :class:`Neighbourhood`, or a Dask partition's rows."""

    def features(self, numbers: Iterable[str], names: list[str] | str) -> pd.DataFrame: ...


def write_part(neighbourhood: Neighbourhood | _FeatureSource, scorer: Scorer, names: Callable[[pd.Index], pd.Series],
               chunk: pd.Index, when: dt.date, explain: str, part: Path) -> float:
    """Score one chunk of businesses into the part file ``part``; return the seconds spent building features.

    Both engines write their parts here, so a part holds the same rows whichever engine wrote it.
    """
    started = time.perf_counter()
    X = neighbourhood.features(chunk, scorer.bundle.feature_names).loc[chunk]
    feature_seconds = time.perf_counter() - started
    frame = scorer.score_frame(X, when.isoformat(), explain=explain, names=names(chunk))
    # Each part in rank order, so the final files are a merge of the parts read front to back.
    frame = frame.iloc[_rank_order(frame["company_number"].to_numpy(), frame["log_odds"].to_numpy())]
    # Small row groups: the merge decodes one group of each part at a time, not the whole part. A part with its
    # final name is always complete.
    with AtomicFile(part) as tmp:
        frame.to_parquet(tmp, index=False, row_group_size=_PART_ROW_GROUP)
    return feature_seconds


def _rank_order(numbers: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """Rank order: highest log-odds first, ties by company number (a total order: numbers are unique)."""
    return np.lexsort((numbers, -log_odds))


@contextmanager
def _reading(part: Path) -> Iterator[None]:
    """Turn a failure to read a scored part into a :class:`RiskmodelError` naming it (not an output's failure)."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise RiskmodelError(f"cannot read the scored part {part}: {type(exc).__name__}: {exc}; delete it and rerun "
                             "with --resume to score its businesses again", path=str(part),
                             cause=f"{type(exc).__name__}: {exc}") from exc


class _PartReader:
    """Rows of one part file, handed out front to back in pieces of any size (one record batch held at a time)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._path = path
        with _reading(path):
            self._batches = pq.ParquetFile(path).iter_batches(batch_size=_PART_ROW_GROUP)
        self._schema = schema
        self._buffer = schema.empty_table()

    def take(self, n: int) -> pa.Table:
        pieces = [self._buffer]
        held = self._buffer.num_rows
        while held < n:
            with _reading(self._path):
                batch = next(self._batches)
            pieces.append(pa.Table.from_batches([batch]).cast(self._schema))
            held += batch.num_rows
        table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        self._buffer = table.slice(n)
        return table.slice(0, n)


def _write_ranked(parts: list[Path], out: Path, chunk_size: int, top_n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge the rank-ordered parts into ``scores.parquet`` and ``scores.csv``, ``chunk_size`` rows at a time.

    Only the ranking columns of every business are held at once; the reasons are read and written chunk by chunk.

    Returns
    -------
    (DataFrame, DataFrame)
        ``company_number``, ``risk_score`` and ``risk_band`` of every business in rank order, and the first
        ``top_n`` rows in full (for the report).
    """
    key_columns = ["company_number", "log_odds", "risk_score", "risk_band"]
    keys, schemas = [], []
    for p in parts:
        with _reading(p):
            keys.append(pq.read_table(p, columns=key_columns))
            schemas.append(pq.read_schema(p).remove_metadata())
    # Parts may type an all-missing column as null: one schema for all (text where any part has text).
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    numbers = np.concatenate([t.column("company_number").to_numpy(zero_copy_only=False) for t in keys])
    log_odds = np.concatenate([t.column("log_odds").to_numpy() for t in keys])
    part_of = np.repeat(np.arange(len(parts)), [t.num_rows for t in keys])
    order = _rank_order(numbers, log_odds)
    summary = pd.DataFrame({
        "company_number": numbers[order],
        "risk_score": np.concatenate([t.column("risk_score").to_numpy() for t in keys])[order],
        "risk_band": np.concatenate([t.column("risk_band").to_numpy(zero_copy_only=False) for t in keys])[order],
    })
    del keys, numbers, log_odds
    ranked_part = part_of[order]
    readers = [_PartReader(p, schema) for p in parts]
    rank_at = schema.get_field_index("company_name") + 1 if "company_name" in schema.names else 1
    out_schema = schema.insert(rank_at, pa.field("rank", pa.int64()))
    top: list[pd.DataFrame] = []
    with AtomicFile(out / "scores.parquet") as parquet_path, AtomicFile(out / "scores.csv") as csv_path, \
            pq.ParquetWriter(parquet_path, out_schema) as parquet, pacsv.CSVWriter(csv_path, out_schema) as csv:
        for start in range(0, len(ranked_part), max(1, chunk_size)):
            which = ranked_part[start:start + chunk_size]
            grouped = np.argsort(which, kind="stable")  # the chunk's rows grouped by part, each part in order
            pieces = [readers[p].take(int(k)) for p, k in zip(*np.unique(which, return_counts=True), strict=True)]
            chunk = pa.concat_tables(pieces).take(pa.array(np.argsort(grouped, kind="stable")))
            chunk = chunk.add_column(rank_at, out_schema.field("rank"),
                                     pa.array(np.arange(start + 1, start + len(which) + 1), pa.int64()))
            parquet.write_table(chunk)
            csv.write_table(chunk)
            if sum(len(t) for t in top) < top_n:
                top.append(chunk.slice(0, top_n).to_pandas())
    top_frame = pd.concat(top, ignore_index=True).head(top_n) if top else pd.DataFrame()
    pa.default_memory_pool().release_unused()  # hand the decoded chunks' memory back to the system
    return summary, top_frame
