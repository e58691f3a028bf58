"""Load test of the HTTP service: sustained concurrent calls to ``riskmodel serve`` on loopback for minutes.

Run on demand (a short form runs in the test suite: ``tests/model/test_service_load.py``). The script starts
``riskmodel serve`` in a subprocess (``_common.serving``), finds ``--numbers`` businesses the service scores,
builds ``--records`` supplier records from the reference data, then keeps ``--concurrency`` calls in flight for
``--warmup`` + ``--duration`` seconds. The load generator is a pool of asyncio tasks in this process, each with
its own keep-alive connection (closed loop: a task sends its next call as soon as its last one is answered). By
default the tasks speak HTTP/1.1 on asyncio streams (:class:`RawConnection`): the client shares the machine's cores
with the server, and httpx costs about six times the server's CPU per call (measured: 1.4 ms against 0.22 ms), so
an httpx client measures mostly itself. ``--client httpx`` uses an httpx pool instead, as a cross-check. locust would
add gevent and a web UI for nothing this needs; a pool of coroutines measures each call's latency exactly.

The mix (``--mix``, weights) holds known businesses by number (the fast path), batches of 1 to ``--batch-size``
numbers, supplier records (``score_record``, features built per call), ``GET /v1/model``, unknown businesses (404),
calls without a key or with a wrong one (401) and invalid bodies (422). Each call has its expected status; anything
else, and any connection error or timeout, is an error.

Every second the script samples the resident memory (``VmRSS``) of every process of the server's session (the
server and its uvicorn workers). It reports per window (``--window`` seconds) the calls answered, requests/s, p50
and p99 latency, errors and RSS; then the totals per kind, the RSS after warm-up, at the end and at its peak, the
slope of a least-squares line through the RSS of the second half of the measured time (memory must not grow), and
whether the audit log holds exactly one line per call. Usage::

    python benchmarks/bench_service_load.py --model /tmp/s16/models/riskmodel-1 --reference /tmp/s16/syn10k \\
        --duration 180 [--workers 2] [--concurrency 32] [--json load.json]

Memory passes when the largest RSS of the last window is at most ``--rss-growth`` (10 %) plus ``--rss-slack-mb``
(20 MB) above the RSS at the end of the warm-up. The exit status is 0 whatever the figures; ``--check`` makes it
1 when there were errors or the memory or audit checks failed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import known_numbers, proc_status, serving, session_pids

from riskmodel.service import add_key

#: Default call mix (relative weights).
MIX = {"score": 70, "batch": 10, "record": 1, "model": 4, "unknown": 5, "unauthorised": 5, "invalid": 5}


@dataclass
class Call:
    """One call to send and the status it must get."""

    kind: str
    method: str
    path: str
    expected: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    marker: bytes | None = None  # bytes a 200's body must hold (a score, the model's hash)


@dataclass
class Window:
    """What one window of the measured time gave."""

    end_s: float
    calls: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float


def parse_mix(text: str) -> dict[str, int]:
    mix = dict(MIX)
    for part in filter(None, text.split(",")):
        name, _, weight = part.partition("=")
        if name not in MIX or not weight.isdigit():
            sys.exit(f"--mix takes name=weight pairs with names from {', '.join(MIX)}, got {part!r}")
        mix[name] = int(weight)
    return mix


def supplier_records(reference: Path, numbers: list[str]) -> list[dict[str, Any]]:
    """Each business's own rows from the reference data, as a supplier would send them in ``{"record": ...}``."""
    import pandas as pd

    tables = {}
    for part, table in (("company", "companies"), ("officers", "officers"), ("ownership", "ownership"),
                        ("accounts", "accounts")):
        frame = pd.read_parquet(reference / f"{table}.parquet")
        tables[part] = frame[frame["company_number"].isin(numbers)].astype(object)
    records = []
    for number in numbers:
        rows = {part: [{k: (None if pd.isna(v) else str(v)) for k, v in r.items()}
                       for r in frame[frame["company_number"] == number].to_dict("records")]
                for part, frame in tables.items()}
        records.append({"company": rows["company"][0], **{k: v for k, v in rows.items() if k != "company"}})
    return records


def make_calls(mix: dict[str, int], numbers: list[str], records: list[dict[str, Any]], key: str, batch_size: int,
               count: int, seed: int) -> list[Call]:
    """A fixed, seeded sequence of ``count`` calls drawn from ``mix`` (the workers cycle through it)."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible call mix, nothing secret
    kinds = [k for k, w in mix.items() if w > 0 and (k != "record" or records)]
    weights = [mix[k] for k in kinds]
    valid = {"X-API-Key": key, "Content-Type": "application/json"}
    wrong = {"X-API-Key": "wrong-" + key[6:], "Content-Type": "application/json"}

    def dumps(data: Any) -> bytes:
        return json.dumps(data).encode()

    calls = []
    for i, kind in enumerate(rng.choices(kinds, weights, k=count)):
        if kind == "score":
            calls.append(Call(kind, "POST", "/v1/score", 200, dumps({"company_number": rng.choice(numbers)}), valid,
                              b'"risk_score"'))
        elif kind == "batch":
            chosen = rng.sample(numbers, rng.randint(1, min(batch_size, len(numbers))))
            calls.append(Call(kind, "POST", "/v1/score/batch", 200, dumps({"company_numbers": chosen}), valid,
                              b'"risk_score"'))
        elif kind == "record":
            calls.append(Call(kind, "POST", "/v1/score", 200, dumps({"record": rng.choice(records)}), valid,
                              b'"risk_score"'))
        elif kind == "model":
            calls.append(Call(kind, "GET", "/v1/model", 200, None, {"X-API-Key": key}, b'"sha256"'))
        elif kind == "unknown":
            calls.append(Call(kind, "POST", "/v1/score", 404, dumps({"company_number": f"NOSUCH{i}"}), valid))
        elif kind == "unauthorised":
            headers = wrong if i % 2 else {"Content-Type": "application/json"}
            calls.append(Call(kind, "POST", "/v1/score", 401, dumps({"company_number": rng.choice(numbers)}), headers))
        else:  # invalid: a number with a space, or JSON cut short
            body = dumps({"company_number": "a b"}) if i % 2 else b'{"company_number": '
            calls.append(Call(kind, "POST", "/v1/score", 422, body, valid))
    return calls


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: a client far cheaper per call than httpx.

    It reads exactly what the service sends (a status line, headers, then a ``Content-Length`` or chunked body), so
    the load generator costs the machine's shared cores little and the latencies measured are mostly the server's.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = body or b""
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}Content-Length: {len(payload)}"
                          f"\r\n\r\n".encode("latin-1") + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection before answering")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])  # the chunk and its CRLF
            await self.reader.readline()  # the blank line after the last chunk
            content = b"".join(parts)
        elif length is not None:
            content = await self.reader.readexactly(length)
        else:
            content, close = await self.reader.read(), True
        if close:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    """The closed-loop load: results per call and RSS samples, with times relative to the start."""

    def __init__(self, base: str, server_pid: int, calls: list[Call], concurrency: int, client: str) -> None:
        self.base = base
        self.server_pid = server_pid
        self.calls = calls
        self.concurrency = concurrency
        self.client = client
        self.next = 0
        self.start = 0.0
        # (seconds since start when answered, latency in seconds, kind, error or "")
        self.results: list[tuple[float, float, str, str]] = []
        self.rss: list[tuple[float, int, int]] = []  # (seconds since start, summed VmRSS kB, processes)
        self.cpu: list[tuple[float, float, float]] = []  # (seconds since start, server CPU s, this client's CPU s)

    async def run(self, seconds: float) -> None:
        # httpx: idle connections expire on this side first (2 s, below uvicorn's 5 s keep-alive timeout), or a call
        # sent on a connection the server is closing for idleness fails before the server reads it. The raw client
        # has one connection per task, never idle.
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency,
                              keepalive_expiry=2.0)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as client:
            self.start = time.perf_counter()
            deadline = self.start + seconds
            sampler = asyncio.create_task(self._sample(deadline))
            await asyncio.gather(*(self._worker(client, deadline) for _ in range(self.concurrency)))
            await sampler

    async def _worker(self, client: httpx.AsyncClient, deadline: float) -> None:
        host, _, port = self.base.removeprefix("http://").partition(":")
        raw = RawConnection(host, int(port))
        while time.perf_counter() < deadline:
            call = self.calls[self.next % len(self.calls)]
            self.next += 1
            began = time.perf_counter()
            try:
                if self.client == "raw":
                    status, content = await asyncio.wait_for(
                        raw.request(call.method, call.path, call.body, call.headers), 30)
                else:
                    response = await client.request(call.method, call.path, content=call.body, headers=call.headers)
                    status, content = response.status_code, response.content
                error = ""
                if status != call.expected:
                    error = f"status {status}"
                elif call.marker is not None and call.marker not in content:
                    error = "200 without its content"
                elif call.expected != 200 and b'"risk_score"' in content:
                    error = f"score in a {call.expected}"
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, TimeoutError, ValueError,
                    IndexError) as exc:
                error = type(exc).__name__
                raw.close()  # a connection in an unknown state is not reused
            done = time.perf_counter()
            self.results.append((done - self.start, done - began, call.kind, error))
        raw.close()

    async def _sample(self, deadline: float) -> None:
        while True:
            pids = session_pids(self.server_pid)
            total = sum(proc_status(pid, ("VmRSS",)).get("VmRSS", 0) for pid in pids)
            now = time.perf_counter() - self.start
            self.rss.append((now, total, len(pids)))
            self.cpu.append((now, sum(cpu_seconds(pid) for pid in pids), time.process_time()))
            if time.perf_counter() >= deadline:
                return
            await asyncio.sleep(1.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14 and 15)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of unsorted ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(load: Load, warmup: float, duration: float, window: float, growth: float,
              slack_mb: float) -> dict[str, Any]:
    """Windows, totals per kind, errors and the RSS figures of the measured time (after the warm-up)."""
    measured = [r for r in load.results if warmup < r[0] <= warmup + duration]
    windows = []
    edges = [warmup + window * i for i in range(int(duration // window) + 1)]
    if edges[-1] < warmup + duration - 1e-9:
        edges.append(warmup + duration)
    for lo, hi in itertools.pairwise(edges):
        inside = [r for r in measured if lo < r[0] <= hi]
        rss = [kb for t, kb, _ in load.rss if lo < t <= hi]
        windows.append(Window(round(hi - warmup, 1), len(inside), len(inside) / (hi - lo),
                              1000 * percentile([r[1] for r in inside], 0.50),
                              1000 * percentile([r[1] for r in inside], 0.99),
                              sum(1 for r in inside if r[3]), max(rss, default=0) / 1024))
    kinds: dict[str, dict[str, float]] = {}
    for kind in sorted({r[2] for r in measured}):
        latencies = [r[1] for r in measured if r[2] == kind]
        kinds[kind] = {"calls": len(latencies), "p50_ms": 1000 * percentile(latencies, 0.5),
                       "p99_ms": 1000 * percentile(latencies, 0.99)}
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    for _, _, kind, error in load.results:
        if error:
            errors[kind][error] += 1
    warm = [kb for t, kb, _ in load.rss if t <= warmup + 0.5]
    warm_kb = warm[-1] if warm else load.rss[0][1]
    last = [kb for t, kb, _ in load.rss if t > edges[-2]]
    end_kb = max(last) if last else load.rss[-1][1]
    half = [(t / 60, kb / 1024) for t, kb, _ in load.rss if t >= warmup + duration / 2]
    slope = statistics.linear_regression([t for t, _ in half], [mb for _, mb in half]).slope if len(half) > 2 else 0.0
    bound_kb = warm_kb * (1 + growth) + slack_mb * 1024
    # CPU of the server and of this load generator over the measured time: which of the two was the bottleneck.
    first = next(c for c in load.cpu if c[0] >= warmup - 0.5)
    span = max(load.cpu[-1][0] - first[0], 1e-9)
    cpu = {"server_cores": (load.cpu[-1][1] - first[1]) / span, "client_cores": (load.cpu[-1][2] - first[2]) / span}
    latencies = [r[1] for r in measured]
    return {
        "windows": [asdict(w) for w in windows],
        "kinds": kinds,
        "calls": len(load.results),
        "measured_calls": len(measured),
        "requests_per_s": len(measured) / duration,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "errors": sum(sum(c.values()) for c in errors.values()),
        "error_kinds": {kind: dict(c) for kind, c in errors.items()},
        "cpu": cpu,
        "rss": {"warm_mb": warm_kb / 1024, "end_mb": end_kb / 1024,
                "max_mb": max(kb for _, kb, _ in load.rss) / 1024, "bound_mb": bound_kb / 1024,
                "slope_mb_per_min_second_half": slope, "processes": load.rss[-1][2],
                "samples": [[round(t, 2), kb] for t, kb, _ in load.rss], "ok": end_kb <= bound_kb},
    }


def audit_check(audit: Path, expected: int) -> dict[str, Any]:
    """Whether the audit log holds exactly one whole JSON line per call."""
    lines = audit.read_bytes().splitlines()
    try:
        statuses = Counter(json.loads(line)["status"] for line in lines)
        whole = True
    except (json.JSONDecodeError, KeyError):
        statuses, whole = Counter(), False
    return {"lines": len(lines), "expected": expected, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "ok": whole and len(lines) == expected}


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{'window end s':>12} {'calls':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB':>8}")
    for w in report["windows"]:
        print(f"{w['end_s']:12.1f} {w['calls']:8d} {w['requests_per_s']:8.0f} {w['p50_ms']:8.2f} "
              f"{w['p99_ms']:8.2f} {w['errors']:7d} {w['rss_mb']:8.1f}")
    print(f"\n{'kind':>14} {'calls':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, k in report["kinds"].items():
        print(f"{kind:>14} {k['calls']:8d} {k['p50_ms']:8.2f} {k['p99_ms']:8.2f}")
    rss = report["rss"]
    print(f"\nmeasured {report['measured_calls']:,} calls in {report['args']['duration']:.0f} s: "
          f"{report['requests_per_s']:.0f} req/s, p50 {report['p50_ms']:.2f} ms, p99 {report['p99_ms']:.2f} ms; "
          f"errors {report['errors']} {report['error_kinds'] or ''}")
    print(f"CPU over the measured time: server {report['cpu']['server_cores']:.2f} cores, this load generator "
          f"{report['cpu']['client_cores']:.2f} cores (of {os.cpu_count()} on the machine)")
    print(f"RSS of {rss['processes']} server process(es): {rss['warm_mb']:.1f} MB after warm-up, "
          f"{rss['end_mb']:.1f} MB in the last window (bound {rss['bound_mb']:.1f}), peak {rss['max_mb']:.1f}; "
          f"slope over the second half {rss['slope_mb_per_min_second_half']:+.3f} MB/min; "
          f"memory {'ok' if rss['ok'] else 'GREW'}")
    audit = report["audit"]
    print(f"audit log: {audit['lines']:,} lines for {audit['expected']:,} calls "
          f"({'one whole line per call' if audit['ok'] else 'MISMATCH'}); /health {report['health']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="exported model folder (or MLflow URI)")
    parser.add_argument("--reference", type=Path, required=True, help="reference data set folder")
    parser.add_argument("--duration", type=float, default=300.0, help="measured seconds, after the warm-up")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the same load before measuring")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per reported window")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    parser.add_argument("--workers", type=int, default=1, help="riskmodel serve --workers")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: raw HTTP/1.1 on asyncio streams (cheap), or httpx (a cross-check)")
    parser.add_argument("--numbers", type=int, default=200, help="known businesses to rotate over")
    parser.add_argument("--records", type=int, default=10, help="supplier records to rotate over (0: none)")
    parser.add_argument("--batch-size", type=int, default=20, help="largest batch (1 to this many numbers)")
    parser.add_argument("--mix", default="", help=f"call weights, e.g. score=70,record=1 (default {MIX})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the call sequence")
    parser.add_argument("--rss-growth", type=float, default=0.10, help="allowed RSS growth after warm-up (share)")
    parser.add_argument("--rss-slack-mb", type=float, default=20.0, help="allowed RSS growth after warm-up (MB)")
    parser.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for /health")
    parser.add_argument("--server-cpus", help="taskset CPU list for the server, e.g. 0")
    parser.add_argument("--check", action="store_true", help="exit 1 on errors or a failed memory or audit check")
    parser.add_argument("--json", type=Path, help="also write the report (with every RSS sample) to this file")
    args = parser.parse_args()
    mix = parse_mix(args.mix)
    if args.duration < args.window or args.concurrency < 1 or args.numbers < 1:
        sys.exit("--duration must be at least --window, and --concurrency and --numbers at least 1")
    # SIGTERM (a test's timeout, a CI runner) stops the server too: the ``serving`` block's cleanup runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="bench-service-load-") as tmp:
        workdir = Path(tmp)
        keys, audit = workdir / "keys.json", workdir / "audit.jsonl"
        key = add_key(keys, "load")
        with serving(args.model, args.reference, keys, audit, workdir, workers=args.workers, cpus=args.server_cpus,
                     startup_timeout=args.startup_timeout) as (base, server):
            numbers = known_numbers(args.reference, f"{base}/v1/score", key, args.numbers)
            probes = len(numbers)
            records = supplier_records(args.reference, numbers[:args.records]) if args.records else []
            calls = make_calls(mix, numbers, records, key, args.batch_size, 10_000, args.seed)
            print(f"{len(numbers)} businesses, {len(records)} records; {args.concurrency} calls in flight for "
                  f"{args.warmup:.0f} s warm-up + {args.duration:.0f} s against {args.workers} worker(s)", flush=True)
            load = Load(base, server.pid, calls, args.concurrency, args.client)
            asyncio.run(load.run(args.warmup + args.duration))
            time.sleep(0.2)  # let the last audit writes land
            health = httpx.get(f"{base}/health", timeout=10).json()
            report = summarise(load, args.warmup, args.duration, args.window, args.rss_growth, args.rss_slack_mb)
            report["audit"] = audit_check(audit, probes + len(load.results))
            report["health"] = {k: health.get(k) for k in ("status", "audit")}
            log_tail = (workdir / "serve.log").read_text(errors="replace")[-2000:]
    report["args"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report["mix"] = mix
    report["server_log_tail"] = log_tail
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    if args.check and (report["errors"] or not report["rss"]["ok"] or not report["audit"]["ok"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
