"""Helpers of the job service tests: a zipped batch, a `riskmodel serve --jobs-dir` process, polling."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def zip_folder(folder: Path, top: str | None = "batch") -> bytes:
    """The files of ``folder`` zipped (inside one top folder, as zipping a folder does)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                zf.write(path, f"{top}/{path.name}" if top else path.name)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Call ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Served:
    """A running `riskmodel serve --jobs-dir` process group."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole process group: the service and its job workers, as a crash would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@contextmanager
def serve(folder: Path, *, model: Path, reference: Path, keys: Path, config: Path, port: int,
          name: str = "serve") -> Iterator[Served]:
    """Start ``riskmodel serve`` with the job service in its own process group; stop it (all of it) on exit."""
    log = folder / f"{name}-{time.monotonic_ns()}.log"
    args = [sys.executable, "-m", "riskmodel", "serve", "--reference", str(reference), "--keys", str(keys),
            "--model", str(model), "--audit-log", str(folder / "audit.jsonl"), "--port", str(port),
            "--jobs-dir", str(folder / "jobs"), "--jobs-config", str(config)]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    try:
        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"riskmodel serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                return httpx.get(f"{served.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 90, "riskmodel serve to answer /health", every=0.2)
        yield served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):  # the job workers are in its group: none may outlive the test
            os.killpg(proc.pid, signal.SIGKILL)
