"""Where a job runs: in this process (``local``) or on a Dask cluster (``dask``).

``--engine dask`` with no address starts a :class:`distributed.LocalCluster` sized to this machine: one worker
process per core, one thread each (the feature code is pandas, which holds the GIL, so processes rather than
threads), the machine's memory shared between them. With ``--scheduler ADDRESS`` (or the environment variable
``DASK_SCHEDULER_ADDRESS``) the job connects to an existing cluster instead, which may span many machines; the
job's folders must then be on storage every worker can read and write (see docs/scaling.md).

Dask is an optional dependency (``pip install riskmodel[dask]``): nothing here imports it until a cluster is asked
for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from riskmodel.errors import RiskmodelError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["ENGINES", "SCHEDULER_ENV", "EngineError", "dask_client", "machine_workers", "persisted", "resolve_engine"]

log = logging.getLogger(__name__)

#: The engines a job can run on.
ENGINES = ("local", "dask")
#: Environment variable naming a Dask scheduler (Dask's own name for it).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class EngineError(RiskmodelError):
    """The engine cannot be used as asked (unknown engine, Dask not installed, scheduler unreachable)."""


def resolve_engine(engine: str, scheduler: str | None = None) -> tuple[str, str | None]:
    """Check an engine choice; return it with the scheduler address to use (None: start a LocalCluster).

    Raises
    ------
    EngineError
        If the engine is unknown, or a scheduler address is given to the local engine.
    """
    if engine not in ENGINES:
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}", engine=engine)
    if engine == "local":
        if scheduler:
            raise EngineError("a scheduler address needs --engine dask", scheduler=scheduler)
        return engine, None
    return engine, scheduler or os.environ.get(SCHEDULER_ENV) or None


def machine_workers() -> int:
    """Worker processes of a LocalCluster on this machine: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(scheduler: str | None = None, *, n_workers: int | None = None,
                announce: Callable[[str], None] | None = None, timeout: str = "30s") -> Iterator[Client]:
    """Connect to ``scheduler``, or to a LocalCluster started for the block and closed after it.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). None starts a LocalCluster.
    n_workers : int, optional
        Workers of the LocalCluster (default :func:`machine_workers`); ignored with a scheduler.
    announce : callable, optional
        Called once with a line naming the cluster and its dashboard address (the CLI prints it).
    timeout : str
        How long to keep trying to reach ``scheduler``.

    Raises
    ------
    EngineError
        If Dask is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the dask extra is part of the dev install
        raise EngineError("--engine dask needs Dask: pip install 'riskmodel[dask]'", missing=str(exc.name)) from None
    # distributed sets its loggers to INFO when imported: follow the application's level instead (the CLI's
    # --verbose), so that a job's output is not buried under cluster chatter.
    logging.getLogger("distributed").setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))
    # The P2P shuffle reports each shuffle it retires as a warning: routine, not a problem.
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    cluster: Any = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", scheduler=scheduler) from None
        where = f"Dask scheduler {scheduler}"
    else:
        workers = n_workers or machine_workers()
        # Port 0: a free port, so that two jobs (or tests) on one machine do not fight over 8787.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        where = f"Dask LocalCluster of {workers} worker process(es)"
    try:
        line = f"{where}; dashboard {client.dashboard_link}"
        log.info(line)
        if announce is not None:
            announce(line)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def persisted(collection: Any, **options: Any) -> Any:
    """Persist a Dask collection and wait until it is held; return the persisted collection.

    Waiting is not only for order. With a LocalCluster the scheduler lives in this process, and it builds the
    task graph of every submitted collection in a thread of its own. Before Python 3.12 each
    ``functools.cached_property`` takes one lock shared by all instances of its class (3.12 dropped it), and
    dask's expressions, shared between the two threads, compute such properties inside each other: the client
    building its next collection while the scheduler still builds the last one can take two of those locks in
    opposite orders and deadlock. Stack dumps of Dask jobs that hung with idle workers show exactly that. Once a
    collection's tasks are done its graph has been built, so the client may go on.

    Parameters
    ----------
    collection : dask collection
        What to persist.
    **options
        Passed to ``persist`` (``scheduler="sync"`` runs it here, with nothing to wait for).
    """
    held = collection.persist(**options)
    try:
        from distributed import futures_of, wait
    except ImportError:  # pragma: no cover - dask without distributed
        return held
    futures = futures_of(held)
    if futures:
        wait(futures)
    return held
