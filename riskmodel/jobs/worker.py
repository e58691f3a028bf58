"""The job worker: claims queued jobs, validates their data, runs the batch scoring job, and keeps jobs alive.

A worker runs outside the request path, as a child process of ``riskmodel serve`` or alone as ``riskmodel
jobs-worker`` (several may share one database). For each job it claims (atomically, see
:meth:`~riskmodel.jobs.store.JobStore.claim`) it

1. validates the data against the contract (state ``validating``); a data set with a rejected table fails the job
   at once with the validation report (``problems.csv`` and a summary), before any scoring;
2. runs :func:`riskmodel.scoring.batch.run_score_job` into the job's ``out/`` folder with ``resume=True`` (state
   ``running``): its progress callback records the chunks done, and stops the run when the job was cancelled,
   when the worker is asked to stop, or when the job was taken from this worker;
3. records the counts (``done``), or the reason it failed.

A heartbeat thread marks the job alive while it runs. On every pass, a worker gives back to the queue any job whose
worker is gone (its process no longer exists on this host, or no heartbeat for ``stale_seconds``), and the next
claim resumes it from its last finished chunk: ``run_score_job`` writes the same files as an uninterrupted run.
After ``max_attempts`` runs the job is marked failed with the reason instead. A worker stopped by SIGTERM (or whose
parent ``riskmodel serve`` died) puts its job back in the queue at the next chunk without counting the run.

Once in a while (and when it starts) a worker deletes finished jobs older than ``retention_days`` with their files,
and expired login sessions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.errors import DataContractError, RiskmodelError
from riskmodel.files import atomic_write
from riskmodel.jobs.settings import JobSettings
from riskmodel.jobs.store import Job, JobStore, WorkerRef, utcnow

__all__ = ["Worker", "die_with_parent", "install_signal_handlers", "validation_report"]

log = logging.getLogger(__name__)

#: Seconds between two retention passes of one worker.
_CLEAN_EVERY = 600.0
#: Problems kept in a job's validation summary (all of them are in its problems.csv).
_SAMPLE = 20


class _Cancelled(Exception):
    pass


class _Lost(Exception):
    pass


class _Stopping(Exception):
    pass


def _discard(name: str, batches: Iterator[pd.DataFrame]) -> pd.DataFrame:
    """Read a table's valid rows and keep none (a validation sink: every batch must be read, none held)."""
    for _ in batches:
        pass
    return pd.DataFrame()


def validation_report(data_dir: Path, problems_csv: Path) -> dict[str, Any]:
    """Validate a data set against the contract; write every problem to ``problems_csv``; return a summary.

    Returns
    -------
    dict
        ``ok`` (no table rejected), ``tables`` (per table: file, rows read, kept, quarantined, rejected, status),
        ``problems`` (count), ``rows_quarantined``, ``rejected_tables``, ``extract_date`` and ``sample`` (the first
        problems, table-level first).
    """
    from riskmodel.contract import validate_dataset

    dataset = validate_dataset(data_dir, sink=_discard)
    problems = dataset.problems
    atomic_write(problems_csv, lambda p: problems.to_csv(p, index=False, encoding="utf-8"))
    order = problems["level"].map({"table": 0, "row": 1, "warning": 2})
    sample = problems.assign(_o=order).sort_values(["_o", "table", "row"], kind="stable").drop(columns="_o")
    sample = sample.head(_SAMPLE).astype(object)
    return {
        "ok": not dataset.rejected_tables,
        "tables": json.loads(dataset.summary.to_json(orient="records")),
        "problems": len(problems),
        "rows_quarantined": dataset.rows_quarantined,
        "rejected_tables": dataset.rejected_tables,
        "extract_date": None if dataset.extract_date is None else dataset.extract_date.isoformat(),
        "sample": [{k: (None if pd.isna(v) else (int(v) if k == "row" else str(v))) for k, v in r.items()}
                   for r in sample.to_dict("records")],
    }


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Worker:
    """Runs queued jobs one at a time.

    Parameters
    ----------
    settings : JobSettings
        The job service's settings.
    store : JobStore, optional
        The job database (default: opened from ``settings.db_url``).
    parent_pid : int, optional
        Stop (putting the job back in the queue) when this process, the ``riskmodel serve`` that started the
        worker, is gone.
    """

    def __init__(self, settings: JobSettings, store: JobStore | None = None, *, parent_pid: int | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else JobStore(settings.db_url)
        host, pid = socket.gethostname(), os.getpid()
        self.ref = WorkerRef(f"{host}:{pid}:{secrets.token_hex(4)}", host, pid)
        self.parent_pid = parent_pid
        self.stopping = threading.Event()
        self._cleaned = -_CLEAN_EVERY

    # ------------------------------------------------------------------------------------------- the loop
    def run(self, stop: threading.Event | None = None, *, once: bool = False) -> int:
        """Run jobs until ``stop`` is set (or, with ``once``, until the queue is empty); return jobs run."""
        stop = stop if stop is not None else self.stopping
        ran = 0
        log.info("jobs worker %s watching %s", self.ref.id, self.settings.db_url.split("@")[-1])
        while not (stop.is_set() or self.stopping.is_set()):
            job_id = self.run_once()
            if job_id is not None:
                ran += 1
            elif once:
                break
            else:
                stop.wait(self.settings.poll_seconds)
            if self._parent_gone():
                log.warning("the service that started this worker is gone: stopping")
                break
        return ran

    def run_once(self) -> str | None:
        """Recover abandoned jobs, clean old ones when due, then run one queued job; return its id (None: idle)."""
        self.recover()
        if time.monotonic() - self._cleaned >= _CLEAN_EVERY:
            self.clean()
        job = self.store.claim(self.ref)
        if job is None:
            return None
        self.process(job)
        return job.id

    def _parent_gone(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    # ----------------------------------------------------------------------------------------- recovery
    def recover(self) -> list[str]:
        """Requeue (or fail, after ``max_attempts``) jobs whose worker is gone; return their ids."""
        now = utcnow()
        stale = dt.timedelta(seconds=self.settings.stale_seconds)
        recovered = []
        for job in self.store.running():
            if job.worker_id == self.ref.id:
                continue
            gone = None
            if job.worker_host == self.ref.host and job.worker_pid is not None and (
                    job.worker_pid == self.ref.pid or not _alive(job.worker_pid)):
                gone = f"its worker (process {job.worker_pid} on {job.worker_host}) stopped"
            elif job.heartbeat is None or now - job.heartbeat > stale:
                gone = (f"its worker ({job.worker_id}) has not reported since "
                        f"{job.heartbeat:%Y-%m-%d %H:%M:%S} UTC" if job.heartbeat else "its worker never reported")
            if gone is None:
                continue
            if job.attempts >= self.settings.max_attempts:
                done = self.store.abandon(job, f"the job was run {job.attempts} time(s) and {gone} each time; "
                                               "it is not tried again")
                action = "failed"
            else:
                done = self.store.requeue(job, f"resumed: {gone} during run {job.attempts} of at most "
                                               f"{self.settings.max_attempts}")
                action = "requeued"
            if done:
                log.warning("job %s %s: %s", job.id, action, gone)
                recovered.append(job.id)
        return recovered

    def clean(self) -> int:
        """Delete finished jobs older than the retention period, with their folders; return how many."""
        self._cleaned = time.monotonic()
        cutoff = utcnow() - dt.timedelta(days=self.settings.retention_days)
        old = self.store.finished_before(cutoff)
        for job in old:
            shutil.rmtree(self.settings.job_dir(job.id), ignore_errors=True)
        deleted = self.store.delete([job.id for job in old])
        sessions = self.store.delete_expired_sessions()
        if deleted or sessions:
            log.info("retention: deleted %d finished job(s) and %d expired session(s)", deleted, sessions)
        return deleted

    # ------------------------------------------------------------------------------------------ one job
    def process(self, job: Job) -> None:
        """Validate and score one claimed job, recording its outcome."""
        folder = self.settings.job_dir(job.id)
        folder.mkdir(parents=True, exist_ok=True)
        lost, done = threading.Event(), threading.Event()
        beat = threading.Thread(target=self._beat, args=(job.id, lost, done), daemon=True,
                                name=f"heartbeat-{job.id}")
        beat.start()
        log.info("job %s: run %d of %s (%s)", job.id, job.attempts, job.input_name, job.model_name)
        try:
            self._run(job, folder, lost)
        except _Cancelled:
            shutil.rmtree(folder / "out", ignore_errors=True)  # unfinished outputs: nothing to keep
            self.store.finish(job.id, self.ref, "cancelled", error="cancelled at the officer's request")
            log.info("job %s cancelled", job.id)
        except _Lost:
            log.warning("job %s was taken from this worker (taken as stopped); leaving it", job.id)
        except _Stopping:
            self.store.release(job.id, self.ref, "the worker was stopped; the job resumes from its last chunk")
            log.info("job %s put back in the queue: the worker is stopping", job.id)
        except DataContractError as exc:
            self.store.finish(job.id, self.ref, "failed", error=str(exc))
        except RiskmodelError as exc:
            self.store.finish(job.id, self.ref, "failed", error=exc.message)
            log.warning("job %s failed: %s", job.id, exc.message)
        except Exception as exc:  # a bug: record it on the job rather than lose the worker
            log.exception("job %s failed with an internal error", job.id)
            self.store.finish(job.id, self.ref, "failed", error=f"internal error ({type(exc).__name__}: {exc}); "
                                                               "this is a bug in riskmodel: please report it")
        finally:
            done.set()
            beat.join(timeout=5)

    def _beat(self, job_id: str, lost: threading.Event, done: threading.Event) -> None:
        while not done.wait(self.settings.heartbeat_seconds):
            try:
                if not self.store.heartbeat(job_id, self.ref):
                    lost.set()
            except Exception:  # a busy or unreachable database: the next beat tries again
                log.warning("job %s: heartbeat not recorded", job_id, exc_info=True)
            if self._parent_gone():
                self.stopping.set()

    def _check(self, job_id: str, lost: threading.Event, held: bool = True, cancel: bool | None = None) -> None:
        """Stop the run (by raising) if the job was lost, cancelled, or the worker is stopping."""
        if lost.is_set() or not held:
            raise _Lost
        if cancel is None:
            current = self.store.get(job_id)
            if current is None:
                raise _Lost
            cancel = current.cancel_requested
        if cancel:
            raise _Cancelled
        if self.stopping.is_set():
            raise _Stopping

    def _run(self, job: Job, folder: Path, lost: threading.Event) -> None:
        from riskmodel.scoring.batch import run_score_job

        data_dir = Path(job.input_path)
        self._check(job.id, lost)
        validation = job.validation
        if validation is None:  # a resumed job was validated by its first run
            validation = validation_report(data_dir, folder / "problems.csv")
            if not validation["ok"]:
                self.store.finish(job.id, self.ref, "failed", validation=validation,
                                  error=f"the data do not meet the contract: {len(validation['rejected_tables'])} "
                                        f"table(s) rejected ({', '.join(validation['rejected_tables'])}); see the "
                                        "validation report")
                log.info("job %s failed validation", job.id)
                return
            if job.as_of is None and validation["extract_date"] is None:
                self.store.finish(job.id, self.ref, "failed", validation=validation,
                                  error="the data have no extract date: give an as-of date")
                return
            if not self.store.update(job.id, self.ref, validation=validation):
                raise _Lost
        self._check(job.id, lost)
        if not self.store.update(job.id, self.ref, state="running"):
            raise _Lost

        def progress(done: int, total: int) -> None:
            held, cancel = self.store.progress(job.id, self.ref, done, total)
            self._check(job.id, lost, held, cancel)

        result = run_score_job(data_dir, job.model_uri, folder / "out",
                               as_of=None if job.as_of is None else dt.date.fromisoformat(job.as_of),
                               resume=True, chunk_size=self.settings.chunk_size, progress=progress,
                               engine=self.settings.engine, scheduler=self.settings.scheduler)
        manifest = result.manifest
        counts = {key: manifest.get(key) for key in ("businesses_in", "businesses_scored", "businesses_rejected",
                                                     "rows_in", "rows_quarantined", "rows_rejected", "bands",
                                                     "as_of")}
        counts["model_version"] = manifest["model"]["version"]
        if not self.store.finish(job.id, self.ref, "done", counts=counts):
            raise _Lost
        log.info("job %s done: %s businesses scored", job.id, counts["businesses_scored"])


def install_signal_handlers(worker: Worker, stop: threading.Event) -> None:
    """SIGTERM and SIGINT stop the worker: its job goes back to the queue at the next chunk."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        worker.stopping.set()
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
