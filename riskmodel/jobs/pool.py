"""The worker processes ``riskmodel serve`` starts, watches and stops.

Each worker is a ``riskmodel jobs-worker`` child process (its own interpreter: no state shared with the web
processes). A worker that exits while the service runs is started again after a pause. Each worker asks Linux for
SIGTERM when the service dies, so none outlives a killed service; a job it held is taken up again by the next
service's workers (see :mod:`riskmodel.jobs.worker`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    """Start ``count`` worker processes for the jobs folder ``root`` and keep them running until :meth:`stop`.

    Parameters
    ----------
    root : Path
        The jobs folder.
    config : Path, optional
        The jobs TOML file.
    count : int
        Worker processes (jobs run at once).
    restart_seconds : float
        Pause before a worker that exited is started again.
    """

    def __init__(self, root: Path, config: Path | None, count: int, *, restart_seconds: float = 5.0) -> None:
        self.args = [sys.executable, "-m", "riskmodel", "jobs-worker", "--jobs-dir", str(root),
                     "--parent-pid", str(os.getpid())]
        if config is not None:
            self.args += ["--jobs-config", str(config)]
        self.count = count
        self.restart_seconds = restart_seconds
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers and the thread that restarts them."""
        self.procs = [self._spawn() for _ in range(self.count)]
        self._watch = threading.Thread(target=self._watch_loop, daemon=True, name="jobs-worker-pool")
        self._watch.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # A fixed argv: this interpreter running riskmodel, with paths from the service's own options.
        proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL)  # noqa: S603
        log.info("started jobs worker process %d", proc.pid)
        return proc

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.restart_seconds):
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is not None and not self._stop.is_set():
                    log.warning("jobs worker process %d exited with %d: starting another", proc.pid, code)
                    self.procs[i] = self._spawn()

    def stop(self, timeout: float = 20.0) -> None:
        """Ask every worker to stop (their jobs go back to the queue), then kill those still running."""
        self._stop.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("jobs worker process %d did not stop in %.0f s: killed (its job will resume)",
                            proc.pid, timeout)
                proc.kill()
                proc.wait()
        if self._watch is not None:
            self._watch.join(timeout=1)
