"""Shared pieces of the benchmark scripts: synthetic worlds on disk, process memory, the per-seed median table, and
a ``riskmodel serve`` subprocess on loopback (start, wait for ``/health``, known businesses, stop)."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def ensure_world(folder: Path, businesses: int, seed: int = 0) -> Path:
    """Generate a synthetic world into ``folder`` unless one is there already.

    Generation runs in a subprocess: on Linux a child inherits its parent's peak RSS, so generating in the
    benchmark's own process would inflate every later memory figure.
    """
    if not (folder / "dataset.json").exists():
        subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--businesses", str(businesses), "--seed",
                        str(seed), "--out", str(folder), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return folder


def proc_status(pid: int, fields: Sequence[str]) -> dict[str, int]:
    """The ``fields`` of ``/proc/PID/status`` in kB (``VmRSS``, ``RssAnon``, ...); empty once the process is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in fields:
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def print_medians(results: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> None:
    """Print one row per measure: its value for each seed, then the median."""
    print(f"\n{'measure':32} " + " ".join(f"seed {s:>5}" for s in seeds) + "    median")
    for key in results[0]:
        values = [float(r.get(key, float("nan"))) for r in results]
        print(f"{key:32} " + " ".join(f"{v:10.4f}" for v in values) + f" {statistics.median(values):9.4f}")


def session_pids(session: int) -> list[int]:
    """The processes of session ``session``: a ``riskmodel serve`` started in its own session and its workers."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    stat = fh.read()
            except OSError:
                continue  # gone meanwhile
            # Fields after the command name (which may hold spaces): state ppid pgrp session ...
            if int(stat.rpartition(")")[2].split()[3]) == session:
                pids.append(int(entry))
    return sorted(pids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_status(url: str, body: bytes, key: str) -> int:
    # The urls are http://127.0.0.1:<port>/... built by the scripts, never file: or another scheme.
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 -- see the line above
                                     headers={"Content-Type": "application/json", "X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- http://127.0.0.1 only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_for_health(base: str, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"riskmodel serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:  # noqa: S310 -- http://127.0.0.1
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet: poll again until the deadline
        time.sleep(0.5)
    sys.exit(f"riskmodel serve did not answer /health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def known_numbers(reference: Path, url: str, key: str, count: int) -> list[str]:
    """``count`` company numbers spread over the register that the service scores (200), probed one call each."""
    import pandas as pd  # here, not at the top: bench_load.py's parent process imports only the standard library

    numbers = pd.read_parquet(reference / "companies.parquet", columns=["company_number"])["company_number"]
    step = max(1, len(numbers) // max(count, 1))
    found: list[str] = []
    for number in list(numbers.iloc[5::step]) + list(numbers.iloc[6:]):  # the original script used row 5
        if len(found) == count:
            break
        if number not in found and post_status(url, json.dumps({"company_number": str(number)}).encode(), key) == 200:
            found.append(str(number))
    if len(found) < count:
        sys.exit(f"only {len(found)} of {count} businesses in {reference} are scored by the service")
    return found


@contextmanager
def serving(model: str | Path, reference: Path, keys: Path, audit: Path, workdir: Path, *, workers: int = 1,
            cpus: str | None = None, startup_timeout: float = 300.0,
            options: Sequence[str] = ()) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``riskmodel serve`` on a free loopback port until the block ends; yield its base URL and process.

    The server's output goes to ``workdir/serve.log``. It runs in a session of its own, so stopping it stops its
    uvicorn workers too, and nothing else.
    """
    log = workdir / "serve.log"
    base = f"http://127.0.0.1:{(port := free_port())}"
    cmd = [sys.executable, "-m", "riskmodel", "serve", "--model", str(model), "--reference", str(reference),
           "--keys", str(keys), "--port", str(port), "--audit-log", str(audit), "--workers", str(workers), *options]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with open(log, "wb") as log_file:
        # cwd: ``python -m`` puts the working directory first on sys.path, so a checkout there would win over the
        # installed (or PYTHONPATH) riskmodel.
        server = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                                  start_new_session=True)
    try:
        wait_for_health(base, server, log, startup_timeout)
        yield base, server
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
