"""Features and batch scores computed on a Dask cluster (``--engine dask``), equal to the local engine's.

The client validates and stages the data set (:func:`riskmodel.contract.staged.stage_dataset`) on storage every
worker reads. The businesses become a Dask DataFrame with one partition per chunk, and ``map_partitions`` runs
each partition on a worker:

- ``riskmodel score``: the partition is scored into the part file the local engine would write
  (:func:`riskmodel.scoring.batch.write_part`); the client merges the parts into the ranked outputs with the local
  engine's code, so both engines give the same files.
- ``riskmodel features``: the partition's features are returned and Dask writes them as partitioned parquet
  (:func:`build_features`).

Before the partitions run, the cross-business work is done with Dask's own shuffles and joins (:func:`prepare`):

- :func:`riskmodel.distributed_rows.gather_rows` finds every partition's neighbourhood rows (its businesses' own
  rows and the rows sharing an officer, an owner, an office, a premises or a buyer with them) and writes their row
  positions, one small file per partition;
- :func:`riskmodel.distributed_graph.network_features` computes the two features that need the whole business
  graph (component size, distance to a labelled business), which travel with the partition's task.

A worker then reads only its partition's rows from the memory-mapped staged files and builds the features on
them, so a business's features do not depend on which partition it falls in, and no worker holds an index or a
graph of the whole data set. It keeps the model (when scoring) and the watchlist for every partition it is given.

A part is written under a temporary name and renamed when complete, so a worker lost mid-partition leaves nothing
under a final name. Dask reruns a lost worker's partitions on the others; a partition that kills workers again
and again fails the job with :class:`DistributedScoringError`, with the finished parts kept for ``--resume``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import resource
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.errors import RiskmodelError, writing

__all__ = ["ClusterFeatures", "ClusterFrame", "DistributedScoringError", "PartsJob", "build_features", "features_job",
           "prepare", "score_parts"]

log = logging.getLogger(__name__)


class DistributedScoringError(RiskmodelError):
    """The cluster could not finish the job's partitions (the finished ones are kept for ``--resume``)."""


@dataclass(frozen=True)
class PartsJob:
    """What a worker needs to score any partition of a job (small: it travels with every task).

    Attributes
    ----------
    staged : str
        The staging folder (on storage every worker reads).
    tables : tuple of str
        The tables of the data set.
    extract_date : date or None
        The data set's extract date.
    as_of : date
        The date of the features and scores.
    feature_names : tuple of str
        The features to build (scoring: the model's).
    model : str, optional
        The job's saved model folder (scoring only).
    version : str
        The model version named in the outputs.
    explain : str
        Which businesses get reasons.
    partial : str
        The folder of the part files (scoring only).
    rows : str
        The folder of each partition's row positions (:func:`riskmodel.distributed_rows.rows_file`).
    """

    staged: str
    tables: tuple[str, ...]
    extract_date: dt.date | None
    as_of: dt.date
    feature_names: tuple[str, ...]
    model: str | None = None
    version: str = ""
    explain: str = "all"
    partial: str = ""
    rows: str = ""

    @classmethod
    def of(cls, staged: Any, as_of: dt.date, feature_names: Iterable[str], **scoring: str) -> PartsJob:
        """Return the job for a staged data set (``scoring``: ``model``, ``version``, ``explain``, ``partial``).

        The partitions' row files go in ``rows`` (default: ``rows-<as_of>`` beside the staging folder).
        """
        dataset = staged.dataset
        folder = Path(staged.folder).resolve()
        scoring.setdefault("rows", str(folder.parent / f"rows-{as_of.isoformat()}"))
        return cls(staged=str(folder), tables=tuple(dataset.tables), extract_date=dataset.extract_date, as_of=as_of,
                   feature_names=tuple(feature_names), **scoring)


class _Context:
    """A worker's handles on the staged files, the watchlist and the model for one job (nothing per business)."""

    def __init__(self, job: PartsJob) -> None:
        from features.pit import AsOf
        from riskmodel.artifact import load_bundle
        from riskmodel.contract.staged import open_staged
        from riskmodel.scoring.core import Scorer

        started = time.perf_counter()
        # Only the watchlist is held (reference data, not rows of a business: every partition reads all of it);
        # the other tables are read by position, a partition's rows at a time.
        self.staged = open_staged(job.staged, [t for t in job.tables if t == "watchlist"], job.extract_date)
        self.dataset = self.staged.dataset
        # One frame for every partition, as the local engine keeps: screening reuses its work on the entries.
        self.watchlist = AsOf(self.dataset, job.as_of).watchlist if "watchlist" in self.dataset else None
        self.scorer = Scorer(load_bundle(job.model), job.version) if job.model else None
        self.seconds = time.perf_counter() - started


class _Partition:
    """One partition's rows, read from the staged files: its features and its businesses' registered names.

    ``graph`` holds the graph-wide features of its businesses (:func:`prepare`), or is empty when the job's
    features need none.
    """

    def __init__(self, context: _Context, job: PartsJob, part: int, graph: pd.DataFrame) -> None:
        from riskmodel.distributed_rows import ROW_TABLES, read_rows

        rows = read_rows(job.rows, part)
        tables: dict[str, pd.DataFrame] = {}
        for table in job.tables:
            if table in ROW_TABLES:
                tables[table] = context.staged.take(table, rows[table]).reset_index(drop=True)
            elif table == "watchlist" and context.watchlist is not None:
                tables[table] = context.watchlist
        self.dataset = dataclasses.replace(context.dataset, tables=tables)
        self.as_of = job.as_of
        self.graph = graph

    def features(self, numbers: Iterable[str], names: list[str] | str) -> pd.DataFrame:
        """Build the features of the partition's businesses on its rows (the graph-wide ones from ``graph``)."""
        import features
        from features.pit import AsOf
        from riskmodel.scoring.neighbourhood import GRAPH_FEATURES

        numbers = list(dict.fromkeys(str(n) for n in numbers))
        X = features.build_view(AsOf(self.dataset, self.as_of, targets=numbers), names)
        network_size, distance = GRAPH_FEATURES
        for name in (network_size, distance):
            # Without labels the distance is the neighbourhood's own value, as in the local engine.
            if name in X.columns and name in self.graph.columns and (name != distance or "labels" in self.dataset):
                X[name] = self.graph[name].reindex(X.index).to_numpy(np.float64)
        return X

    def names(self, numbers: pd.Index) -> pd.Series:
        """Return the registered names (the first register row of each business, as the local engine reads them)."""
        comp = self.dataset["companies"].drop_duplicates("company_number").set_index("company_number")
        return pd.Series(comp["company_name"].reindex(numbers).to_numpy(), index=numbers)


_LOCK = threading.Lock()
#: The current job's context in this worker process (one job at a time: a new job replaces it).
_CONTEXTS: dict[PartsJob, _Context] = {}


def _context(job: PartsJob) -> tuple[_Context, bool]:
    """Return this worker's context for ``job`` (built on first use) and whether this call built it."""
    with _LOCK:  # a worker with several threads builds it once
        if job not in _CONTEXTS:
            _CONTEXTS.clear()
            _CONTEXTS[job] = _Context(job)
            return _CONTEXTS[job], True
        return _CONTEXTS[job], False


def _release() -> int:
    """Drop this worker's job context (run on every worker when a job ends); return how many were held."""
    with _LOCK:
        held = len(_CONTEXTS)
        _CONTEXTS.clear()
    return held


def _release_all(client: Any) -> None:
    """Free the job's tables, indexes and model on every worker: a long-lived cluster serves other work next."""
    try:
        client.run(_release)
    except Exception as exc:  # a worker lost at the end of the job holds nothing any more
        log.warning("could not release the job's memory on every worker: %s: %s", type(exc).__name__, exc)


#: Columns of what each partition returns to the client.
_RESULT = {"part": "int64", "rows": "int64", "seconds": "float64", "features_seconds": "float64",
           "setup_seconds": "float64", "worker_pid": "int64", "worker_peak_rss_mb": "float64"}


def _score_partition(numbers: pd.DataFrame, job: PartsJob) -> pd.DataFrame:
    """Score one partition of businesses into its part file; return one row of what it cost."""
    from riskmodel.scoring.batch import write_part

    part_number = int(numbers["part"].iloc[0]) if len(numbers) else -1
    started = time.perf_counter()
    features_seconds = setup_seconds = 0.0
    if len(numbers):
        part = Path(job.partial) / f"part-{part_number:05d}.parquet"
        if not part.exists():  # written by an earlier attempt of this task
            context, built = _context(job)
            assert context.scorer is not None, "a scoring job names its model"  # noqa: S101 -- narrows for mypy
            setup_seconds = context.seconds if built else 0.0
            chunk = pd.Index(numbers["company_number"].to_numpy(), dtype=object)
            rows = _Partition(context, job, part_number, _graph_of(numbers))
            features_seconds = write_part(rows, context.scorer, rows.names, chunk, job.as_of, job.explain, part)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return pd.DataFrame({"part": [part_number], "rows": [len(numbers)],
                         "seconds": [time.perf_counter() - started], "features_seconds": [features_seconds],
                         "setup_seconds": [setup_seconds], "worker_pid": [os.getpid()],
                         "worker_peak_rss_mb": [peak]}).astype(_RESULT)


def _no_features(names: Iterable[str]) -> pd.DataFrame:
    """Return an empty feature frame with the columns and index of a built one."""
    return pd.DataFrame(columns=pd.Index(list(names)), index=pd.Index([], dtype=object, name="company_number"),
                        dtype="float64")


def _feature_partition(numbers: pd.DataFrame, job: PartsJob) -> pd.DataFrame:
    """Build the features of one partition of businesses (indexed by company number)."""
    chunk = pd.Index(numbers["company_number"].to_numpy(), dtype=object, name="company_number")
    if not len(chunk):
        return _no_features(job.feature_names)
    context, _ = _context(job)
    part = int(numbers["part"].iloc[0])
    return _Partition(context, job, part, _graph_of(numbers)).features(chunk, list(job.feature_names)).loc[chunk]


def _graph_of(numbers: pd.DataFrame) -> pd.DataFrame:
    """Return the graph-wide features carried by a partition's task, indexed by company number."""
    columns = [c for c in numbers.columns if c not in ("company_number", "part")]
    return numbers.set_index("company_number")[columns]


def _chunk_frame(piece: tuple[int, list[str], dict[str, list[float]]]) -> pd.DataFrame:
    part, numbers, graph = piece
    frame = pd.DataFrame({"company_number": pd.Series(numbers, dtype=object),
                          "part": np.full(len(numbers), part, dtype="int64")})
    for name, values in graph.items():
        frame[name] = np.asarray(values, dtype=np.float64)
    return frame


def _businesses(numbers: pd.Index, chunk_size: int, parts: list[int], graph: pd.DataFrame | None = None) -> Any:
    """Return the chunks ``parts`` of ``numbers`` as a Dask DataFrame, one partition per chunk.

    Each partition carries its businesses' graph-wide features (``graph``, indexed by company number).
    """
    import dask.dataframe as dd

    values = np.asarray(numbers, dtype=object)
    columns = {} if graph is None else {c: graph[c].reindex(numbers).to_numpy() for c in graph.columns}
    # Each task carries its own chunk only (a closure over all of them would travel with every task).
    pieces = [(i, values[i * chunk_size:(i + 1) * chunk_size].tolist(),
               {c: v[i * chunk_size:(i + 1) * chunk_size].tolist() for c, v in columns.items()}) for i in parts]
    meta = _chunk_frame((0, [], {c: [] for c in columns}))
    # One partition per chunk: the same chunks as the local engine, so a job can be resumed on either engine.
    return dd.from_map(_chunk_frame, pieces, meta=meta, enforce_metadata=False)


def prepare(client: Any, job: PartsJob, staged: Any, numbers: pd.Index, chunk_size: int,
            parts: list[int]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Do the job's cross-business work on the cluster, before its partitions run.

    Writes the row positions of each chunk in ``parts`` to ``job.rows``
    (:func:`riskmodel.distributed_rows.gather_rows`) and computes the graph-wide features of every business when
    the job's features include one (:func:`riskmodel.distributed_graph.network_features`).

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    job : PartsJob
        The job.
    staged : StagedDataset
        The staged data set (its folder is ``job.staged``).
    numbers : Index
        Every business, in chunk order.
    chunk_size : int
        Businesses per chunk.
    parts : list of int
        The chunks to prepare.

    Returns
    -------
    (DataFrame, dict)
        The graph-wide features indexed by company number (no column when none is needed), and the seconds the
        row gathering and the graph took.
    """
    import shutil

    from riskmodel.distributed_graph import network_features
    from riskmodel.distributed_rows import gather_rows
    from riskmodel.scoring.neighbourhood import GRAPH_FEATURES

    seconds = {}
    started = time.perf_counter()
    shutil.rmtree(job.rows, ignore_errors=True)  # rows of an earlier attempt may belong to other chunks
    gather_rows(client, job.staged, job.tables, numbers, chunk_size, parts, job.rows)
    seconds["rows_seconds"] = time.perf_counter() - started
    wanted = [name for name in GRAPH_FEATURES if name in job.feature_names]
    graph = pd.DataFrame(index=numbers)
    if wanted and parts:
        started = time.perf_counter()
        graph = network_features(staged, job.as_of)[wanted]
        seconds["graph_seconds"] = time.perf_counter() - started
    return graph, seconds


def _features(client: Any, job: PartsJob, staged: Any, numbers: pd.Index, chunk_size: int) -> Any:
    """Return the features of ``numbers`` as a Dask DataFrame, one partition per chunk of ``chunk_size``."""
    n_parts = max(1, -(-len(numbers) // chunk_size))
    parts = list(range(n_parts))
    graph, _ = prepare(client, job, staged, numbers, chunk_size, parts)
    return _businesses(numbers, chunk_size, parts, graph).map_partitions(
        _feature_partition, job, meta=_no_features(job.feature_names), enforce_metadata=False)


def _wait(future: Any, show: bool) -> Any:
    """Wait for the future and return its result, showing Dask's text progress bar of its tasks when ``show``."""
    if show:
        from distributed import progress

        progress(future, notebook=False, multi=False)
    return future.result()


def build_features(client: Any, job: PartsJob, staged: Any, numbers: pd.Index, chunk_size: int, out: Path, *,
                   show_progress: bool = False) -> int:
    """Build the features of ``numbers`` on the cluster and write them as partitioned parquet in ``out``.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    job : PartsJob
        The job (no model).
    staged : StagedDataset
        The staged data set.
    numbers : Index
        The businesses, in output order.
    chunk_size : int
        Businesses per partition.
    out : Path
        A folder (created) for ``part.N.parquet`` files; reading it with ``pandas.read_parquet`` gives the frame
        :func:`features.build` returns.
    show_progress : bool
        Show Dask's progress bar (the CLI does).

    Returns
    -------
    int
        The number of partitions written.
    """
    try:
        frame = _features(client, job, staged, numbers, chunk_size)
        _wait(client.compute(frame.to_parquet(str(out), write_index=True, compute=False)), show_progress)
    finally:
        _release_all(client)
    return int(frame.npartitions)


def score_parts(client: Any, job: PartsJob, numbers: pd.Index, chunk_size: int, parts: list[int],
                progress: Callable[[int], None] | None = None, graph: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score the chunks ``parts`` of ``numbers`` on the cluster, each into its part file.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    job : PartsJob
        The job.
    numbers : Index
        Every business to score, in chunk order.
    chunk_size : int
        Businesses per chunk (chunk ``i`` is ``numbers[i * chunk_size:(i + 1) * chunk_size]``).
    parts : list of int
        The chunks to score (the others are done).
    progress : callable, optional
        Called with the number of chunks finished so far, as they finish.
    graph : DataFrame, optional
        The graph-wide features from :func:`prepare`, which must have run for ``parts``.

    Returns
    -------
    DataFrame
        One row per chunk scored: rows, seconds, feature seconds, the worker's setup seconds (on its first
        chunk), its process id and peak resident memory.

    Raises
    ------
    DistributedScoringError
        If a partition cannot be finished (it killed its workers, or the cluster went away).
    """
    from distributed import as_completed

    if not parts:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in _RESULT.items()})
    results = _businesses(numbers, chunk_size, parts, graph).map_partitions(_score_partition, job, meta=dict(_RESULT),
                                                                     enforce_metadata=False)
    futures = client.compute(results.to_delayed())
    done: list[pd.DataFrame] = []
    failed: list[str] = []
    try:
        for future in as_completed(futures):
            try:
                done.append(future.result())
            except Exception as exc:  # a worker's error, reported with the partition it stopped
                failed.append(f"{type(exc).__name__}: {exc}")
                log.warning("a partition failed: %s: %s", type(exc).__name__, exc)
            if progress is not None:
                progress(len(done))
    finally:
        client.cancel(futures)
        _release_all(client)
    if failed:
        raise DistributedScoringError(
            f"{len(failed)} of {len(parts)} partition(s) could not be scored on the cluster ({failed[0]}); the "
            f"{len(done)} finished are kept: fix the cause and rerun with --resume", failed=failed,
            finished=len(done), partitions=len(parts))
    return pd.concat(done, ignore_index=True).sort_values("part", ignore_index=True)


def features_job(data_dir: str | Path, as_of: dt.date, names: list[str], out: str | Path, *,
                 scheduler: str | None = None, chunk_size: int = 20_000,
                 announce: Callable[[str], None] | None = None, show_progress: bool = False) -> tuple[int, int]:
    """``riskmodel features --engine dask``: stage the data set, build the features on a cluster, write parquet.

    Parameters
    ----------
    data_dir : str or Path
        A data set written to the contract.
    as_of : date
        Point in time of the features.
    names : list of str
        The features.
    out : str or Path
        The output folder of partitioned parquet (replaced when the job finishes; a temporary folder beside it
        until then, so a folder with this name is always complete).
    scheduler : str, optional
        A scheduler address (default ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
    chunk_size : int
        Businesses per partition.
    announce : callable, optional
        Called with a line naming the cluster and its dashboard.
    show_progress : bool
        Show Dask's progress bar.

    Returns
    -------
    (int, int)
        Businesses written and input rows quarantined.

    Raises
    ------
    riskmodel.errors.OutputWriteError
        When ``out``, the work folder beside it or the staged tables cannot be written.
    """
    import shutil

    from features.pit import AsOf
    from riskmodel.contract.staged import stage_dataset
    from riskmodel.engine import dask_client

    out = Path(out)
    work = out.with_name(f".{out.name}.work")
    shutil.rmtree(work, ignore_errors=True)
    try:
        with writing(out):  # the work folder beside --out: an unwritable place is named as the output
            work.mkdir(parents=True)
        with writing(work / "staged"):
            staged = stage_dataset(data_dir, work / "staged")
        numbers = AsOf(staged.dataset, as_of).index  # the order features.build gives
        job = PartsJob.of(staged, as_of, names)
        with dask_client(scheduler, announce=announce) as client, writing(out):
            build_features(client, job, staged, numbers, chunk_size, work / "features", show_progress=show_progress)
        with writing(out):
            if out.is_dir():
                shutil.rmtree(out)
            else:
                out.unlink(missing_ok=True)
            os.replace(work / "features", out)
        return len(numbers), staged.dataset.rows_quarantined
    finally:
        shutil.rmtree(work, ignore_errors=True)


class ClusterFeatures:
    """Feature frames of a staged data set built on a cluster and kept there, for any date.

    Training (:mod:`riskmodel.training.cluster`) asks for the training date's frame and each history snapshot's;
    a frame's partitions hold, business for business, what :func:`features.build` gives for the same data set,
    date and names.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    staged : StagedDataset
        The data set, staged on storage every worker reads.
    chunk_size : int
        Businesses per partition.
    show_progress : bool
        Show Dask's progress bar while a frame is built.
    """

    def __init__(self, client: Any, staged: Any, chunk_size: int = 20_000, show_progress: bool = False) -> None:
        self.client = client
        self.staged = staged
        self.chunk_size = chunk_size
        self.show_progress = show_progress
        self._rows: list[str] = []  # row files of the frames built, removed by release()

    def index(self, as_of: dt.date) -> pd.Index:
        """Return every business that existed at ``as_of``, in the order :func:`features.build` gives."""
        from features.pit import AsOf

        index: pd.Index = AsOf(self.staged.dataset, as_of).index
        return index

    def frame(self, as_of: dt.date, names: list[str], index: pd.Index | None = None) -> ClusterFrame:
        """Build the features ``names`` as of ``as_of`` and keep them on the workers (see :class:`ClusterFrame`).

        Parameters
        ----------
        as_of : date
            Point in time of the features.
        names : list of str
            The features.
        index : Index, optional
            The businesses (default: every business at ``as_of``). A business's features do not depend on which
            others are built with it.

        The partitions' row files stay until :meth:`release`, so Dask can rebuild a partition a lost worker held.
        """
        if index is None:
            index = self.index(as_of)
        job = PartsJob.of(self.staged, as_of, names)
        frame = _features(self.client, job, self.staged, index, self.chunk_size)
        parts = self.client.compute(frame.to_delayed())
        if self.show_progress:
            from distributed import progress

            progress(parts, notebook=False, multi=False)
        from distributed import wait

        wait(parts)
        self._rows.append(job.rows)
        return ClusterFrame(index=index, parts=list(parts), columns=list(names), chunk_size=self.chunk_size)

    def release(self) -> None:
        """Free the workers' job contexts and remove the row files of every frame built by :meth:`frame`."""
        import shutil

        _release_all(self.client)
        for rows in self._rows:
            shutil.rmtree(rows, ignore_errors=True)
        self._rows = []


@dataclass
class ClusterFrame:
    """A feature frame that stays on the cluster: one future per chunk of ``chunk_size`` businesses, in order.

    Partition ``i`` holds the features of ``index[i * chunk_size:(i + 1) * chunk_size]`` in that order, so the
    client can hold per-business arrays aligned with ``index`` and send each partition its slice, and the rows of
    the frame need never come to the client.

    Attributes
    ----------
    index : Index
        Every business (company number), in partition order.
    parts : list of distributed.Future
        One pandas frame per partition, held by the workers.
    columns : list of str
        The features.
    chunk_size : int
        Businesses per partition.
    """

    index: pd.Index
    parts: list[Any]
    columns: list[str]
    chunk_size: int
