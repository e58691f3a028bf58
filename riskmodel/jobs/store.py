"""The job database: one row per scoring job and one per officer's login session (SQLAlchemy Core).

Any SQLAlchemy URL works; the default is a sqlite file (WAL mode, so the service and its worker processes read and
write it at once). Every state change is one ``UPDATE ... WHERE`` guarded by the state (and the worker) it expects,
so two workers can never claim the same job, and a worker that lost a job (taken as dead, given to another) finds
out at its next write instead of overwriting the new owner's work.

States: ``queued`` -> ``validating`` -> ``running`` -> ``done``; any unfinished state -> ``failed`` or
``cancelled``; ``validating``/``running`` -> ``queued`` again when its worker stopped (resumed by the next one).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["ACTIVE", "FINISHED", "STATES", "Job", "JobStore", "Session", "WorkerRef", "utcnow"]

STATES = ("queued", "validating", "running", "done", "failed", "cancelled")
#: States of a job that is still to run or running.
ACTIVE = ("queued", "validating", "running")
#: States a job never leaves.
FINISHED = ("done", "failed", "cancelled")

_metadata = sa.MetaData()

jobs_table = sa.Table(
    "jobs", _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("scope", sa.String(200), nullable=False, index=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_uri", sa.Text, nullable=False),
    sa.Column("as_of", sa.String(10)),
    sa.Column("source", sa.String(16), nullable=False),  # upload | folder
    sa.Column("input_path", sa.Text, nullable=False),
    sa.Column("input_name", sa.Text, nullable=False),
    sa.Column("input_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("progress_done", sa.Integer, nullable=False, default=0),
    sa.Column("progress_total", sa.Integer, nullable=False, default=0),
    sa.Column("counts", sa.Text),  # JSON: businesses in / scored / not scored, rows quarantined, bands
    sa.Column("validation", sa.Text),  # JSON: the validation report's summary
    sa.Column("error", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("worker_id", sa.String(200)),
    sa.Column("worker_host", sa.String(200)),
    sa.Column("worker_pid", sa.Integer),
    sa.Column("heartbeat", sa.DateTime),
    sa.Column("created", sa.DateTime, nullable=False, index=True),
    sa.Column("started", sa.DateTime),
    sa.Column("finished", sa.DateTime),
)

sessions_table = sa.Table(
    "sessions", _metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie value; never the value
    sa.Column("key_id", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),  # the key's stored hash: a rotated key ends its sessions
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("expires", sa.DateTime, nullable=False, index=True),
)


def utcnow() -> dt.datetime:
    """Now in UTC, without a time zone (how every time is stored: the same in sqlite and PostgreSQL)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class WorkerRef:
    """Who runs a job: a unique id, the host and the process id (to tell a dead worker on this host at once)."""

    id: str
    host: str
    pid: int


@dataclass(frozen=True)
class Job:
    """One row of the jobs table."""

    id: str
    scope: str
    owner: str
    state: str
    model_name: str
    model_uri: str
    as_of: str | None
    source: str
    input_path: str
    input_name: str
    input_bytes: int
    progress_done: int
    progress_total: int
    counts: dict[str, Any] | None
    validation: dict[str, Any] | None
    error: str | None
    note: str | None
    cancel_requested: bool
    attempts: int
    worker_id: str | None
    worker_host: str | None
    worker_pid: int | None
    heartbeat: dt.datetime | None
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None

    @property
    def active(self) -> bool:
        """Still to run or running."""
        return self.state in ACTIVE

    @classmethod
    def _from_row(cls, row: Any) -> Job:
        values = dict(row)
        for name in ("counts", "validation"):
            values[name] = json.loads(values[name]) if values[name] else None
        values["cancel_requested"] = bool(values["cancel_requested"])
        return cls(**values)


@dataclass(frozen=True)
class Session:
    """An officer's login session (the cookie's value is never stored, only its hash)."""

    key_id: str
    key_hash: str
    scope: str
    csrf: str
    expires: dt.datetime


class JobStore:
    """The job and session tables behind an SQLAlchemy URL; created when missing.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _engine(url)
        _metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections (a child process must not share its parent's)."""
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ----------------------------------------------------------------------------------------------- jobs
    def add(self, **values: Any) -> Job:
        """Insert a queued job; ``id`` and ``created`` are made here unless given."""
        row = {"id": secrets.token_hex(10), "state": "queued", "created": utcnow(), "input_bytes": 0,
               "progress_done": 0, "progress_total": 0, "cancel_requested": False, "attempts": 0, **values}
        for name in ("counts", "validation"):
            if row.get(name) is not None:
                row[name] = json.dumps(row[name])
        with self._tx() as conn:
            conn.execute(jobs_table.insert().values(**row))
        job = self.get(row["id"])
        if job is None:  # read back at once: only a database failure could lose it
            raise RuntimeError(f"job {row['id']} was not recorded")
        return job

    def get(self, job_id: str, scope: str | None = None) -> Job | None:
        """Return the job ``job_id`` (None when absent, or not of ``scope`` when one is given)."""
        query = sa.select(jobs_table).where(jobs_table.c.id == job_id)
        if scope is not None:
            query = query.where(jobs_table.c.scope == scope)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else Job._from_row(row)

    def list_jobs(self, scope: str | None = None, limit: int = 200) -> list[Job]:
        """Jobs newest first (of ``scope`` when given)."""
        query = sa.select(jobs_table).order_by(jobs_table.c.created.desc(), jobs_table.c.id).limit(limit)
        if scope is not None:
            query = query.where(jobs_table.c.scope == scope)
        with self.engine.connect() as conn:
            return [Job._from_row(r) for r in conn.execute(query).mappings()]

    def count_active(self, scope: str) -> int:
        """Jobs of ``scope`` queued or running."""
        query = sa.select(sa.func.count()).select_from(jobs_table).where(
            jobs_table.c.scope == scope, jobs_table.c.state.in_(ACTIVE))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def claim(self, worker: WorkerRef) -> Job | None:
        """Take the oldest queued job for ``worker`` (state ``validating``); None when there is none.

        The ``UPDATE`` is guarded by ``state = 'queued'``: of two workers racing for one job, one updates the row
        and the other updates nothing and tries the next job.
        """
        while True:
            with self.engine.connect() as conn:
                job_id = conn.execute(
                    sa.select(jobs_table.c.id).where(jobs_table.c.state == "queued")
                    .order_by(jobs_table.c.created, jobs_table.c.id).limit(1)).scalar()
            if job_id is None:
                return None
            now = utcnow()
            with self._tx() as conn:
                taken = conn.execute(
                    jobs_table.update().where(jobs_table.c.id == job_id, jobs_table.c.state == "queued").values(
                        state="validating", worker_id=worker.id, worker_host=worker.host, worker_pid=worker.pid,
                        heartbeat=now, attempts=jobs_table.c.attempts + 1,
                        started=sa.func.coalesce(jobs_table.c.started, now))).rowcount
            if taken == 1:
                return self.get(job_id)

    def _owned(self, job_id: str, worker: WorkerRef) -> Any:
        return sa.and_(jobs_table.c.id == job_id, jobs_table.c.worker_id == worker.id,
                       jobs_table.c.state.in_(("validating", "running")))

    def update(self, job_id: str, worker: WorkerRef, **values: Any) -> bool:
        """Update a job this worker holds (and mark it alive); False when it no longer holds it."""
        for name in ("counts", "validation"):
            if name in values and values[name] is not None:
                values[name] = json.dumps(values[name])
        with self._tx() as conn:
            return conn.execute(jobs_table.update().where(self._owned(job_id, worker)).values(
                heartbeat=utcnow(), **values)).rowcount == 1

    def heartbeat(self, job_id: str, worker: WorkerRef) -> bool:
        """Mark a job alive; False when this worker no longer holds it."""
        return self.update(job_id, worker)

    def progress(self, job_id: str, worker: WorkerRef, done: int, total: int) -> tuple[bool, bool]:
        """Record progress; return (still held by this worker, cancellation asked for)."""
        held = self.update(job_id, worker, state="running", progress_done=done, progress_total=total)
        job = self.get(job_id)
        return held, bool(job is not None and job.cancel_requested)

    def finish(self, job_id: str, worker: WorkerRef, state: str, *, error: str | None = None,
               counts: dict[str, Any] | None = None, validation: dict[str, Any] | None = None) -> bool:
        """End a job this worker holds as ``done``, ``failed`` or ``cancelled``; False when it no longer holds it."""
        if state not in FINISHED:
            raise ValueError(f"not a final state: {state}")
        values: dict[str, Any] = {"state": state, "finished": utcnow(), "error": error}
        if counts is not None:
            values["counts"] = counts
        if validation is not None:
            values["validation"] = validation
        return self.update(job_id, worker, **values)

    def release(self, job_id: str, worker: WorkerRef, note: str) -> bool:
        """Put a job this worker holds back in the queue (the worker is stopping); the run does not count."""
        return self.update(job_id, worker, state="queued", worker_id=None, note=note,
                           attempts=jobs_table.c.attempts - 1)

    def request_cancel(self, job_id: str, scope: str) -> Job | None:
        """Cancel a queued job at once, or ask the worker of a running one to stop; None if not of ``scope``."""
        now = utcnow()
        with self._tx() as conn:
            conn.execute(jobs_table.update().where(
                jobs_table.c.id == job_id, jobs_table.c.scope == scope, jobs_table.c.state == "queued").values(
                state="cancelled", cancel_requested=True, finished=now))
            conn.execute(jobs_table.update().where(
                jobs_table.c.id == job_id, jobs_table.c.scope == scope,
                jobs_table.c.state.in_(("validating", "running"))).values(cancel_requested=True))
        return self.get(job_id, scope)

    def running(self) -> list[Job]:
        """Jobs a worker holds (validating or running)."""
        query = sa.select(jobs_table).where(jobs_table.c.state.in_(("validating", "running")))
        with self.engine.connect() as conn:
            return [Job._from_row(r) for r in conn.execute(query).mappings()]

    def requeue(self, job: Job, note: str) -> bool:
        """Give an abandoned job back to the queue, if its worker has not changed since ``job`` was read."""
        with self._tx() as conn:
            return conn.execute(jobs_table.update().where(
                jobs_table.c.id == job.id, jobs_table.c.worker_id == job.worker_id,
                jobs_table.c.state == job.state).values(state="queued", worker_id=None, note=note)).rowcount == 1

    def abandon(self, job: Job, error: str) -> bool:
        """Mark an abandoned job failed, if its worker has not changed since ``job`` was read."""
        with self._tx() as conn:
            return conn.execute(jobs_table.update().where(
                jobs_table.c.id == job.id, jobs_table.c.worker_id == job.worker_id,
                jobs_table.c.state == job.state).values(state="failed", error=error, finished=utcnow())
            ).rowcount == 1

    def finished_before(self, when: dt.datetime) -> list[Job]:
        """Finished jobs that finished before ``when``."""
        query = sa.select(jobs_table).where(jobs_table.c.state.in_(FINISHED), jobs_table.c.finished < when)
        with self.engine.connect() as conn:
            return [Job._from_row(r) for r in conn.execute(query).mappings()]

    def delete(self, job_ids: Sequence[str]) -> int:
        """Delete job rows; return how many were deleted."""
        if not job_ids:
            return 0
        with self._tx() as conn:
            return int(conn.execute(jobs_table.delete().where(jobs_table.c.id.in_(list(job_ids)))).rowcount)

    # ------------------------------------------------------------------------------------------- sessions
    def add_session(self, id_hash: str, key_id: str, key_hash: str, scope: str, csrf: str,
                    expires: dt.datetime) -> None:
        """Record a login session under the hash of its cookie value."""
        with self._tx() as conn:
            conn.execute(sessions_table.insert().values(id_hash=id_hash, key_id=key_id, key_hash=key_hash,
                                                        scope=scope, csrf=csrf, created=utcnow(), expires=expires))

    def session(self, id_hash: str) -> Session | None:
        """Return the unexpired session recorded under ``id_hash``."""
        query = sa.select(sessions_table).where(sessions_table.c.id_hash == id_hash,
                                                sessions_table.c.expires > utcnow())
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else Session(row["key_id"], row["key_hash"], row["scope"], row["csrf"],
                                                row["expires"])

    def delete_session(self, id_hash: str) -> None:
        """End a session."""
        with self._tx() as conn:
            conn.execute(sessions_table.delete().where(sessions_table.c.id_hash == id_hash))

    def delete_expired_sessions(self) -> int:
        """Remove expired sessions; return how many."""
        with self._tx() as conn:
            return int(conn.execute(sessions_table.delete().where(sessions_table.c.expires <= utcnow())).rowcount)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Several processes write the file: WAL lets readers go on during a write, and a busy connection waits
        # for the lock instead of failing at once.
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)
