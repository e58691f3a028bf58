"""Benchmark the HTTP service: ``POST /v1/score`` of known businesses under ApacheBench (``ab``) on loopback.

Run on demand (not a test). Each repetition starts a fresh ``riskmodel serve`` subprocess with a new API key,
waits for ``/health``, sends a warm-up of ``--warmup`` calls, then measures ``ab -k -c CONCURRENCY -n REQUESTS``.
It prints requests/s, p50, p99, failed and non-2xx per repetition and their medians, and checks that the audit log
holds exactly one JSON line per ``/v1`` call. Usage::

    python benchmarks/bench_http.py --workers 2 --model /tmp/s6/model100k --reference /tmp/synth-bench/n10000

``--bodies 1`` (the default) posts one known business, as ``ab`` posts one body. ``--bodies K`` rotates over K
different businesses: K ``ab`` processes run at the same time, each with its own body and ``CONCURRENCY / K``
connections, so the total concurrency stays the same; percentiles are then computed over every request of every
process (from ``ab -g``), and requests/s is the total over the slowest process's wall time. ``--client-cpus`` and
``--server-cpus`` pin ``ab`` and the server with ``taskset`` (client and server share the machine's cores).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from _common import known_numbers, serving

from riskmodel.service import add_key


@dataclass
class Run:
    """What one measured ``ab`` run gave (summed or merged over its ``ab`` processes)."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    failed: int
    non_2xx: int
    complete: int
    audit_lines_ok: bool


def _ab(bodies: list[Path], url: str, key: str, requests: int, concurrency: int, out: Path,
        cpus: str | None, keep: bool) -> list[tuple[str, Path]]:
    """Run one ``ab`` per body at the same time; return each one's text output and ``-g`` per-request file."""
    share_c, share_n = concurrency // len(bodies), requests // len(bodies)
    procs = []
    for i, body in enumerate(bodies):
        gnuplot = out / f"ab-{i}.tsv"
        cmd = ["ab", "-q", "-k", "-c", str(share_c), "-n", str(share_n), "-p", str(body), "-T", "application/json",
               "-H", f"X-API-Key: {key}", "-g", str(gnuplot), url]
        if cpus:
            cmd = ["taskset", "-c", cpus, *cmd]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), gnuplot))
    results = [(proc.communicate()[0], gnuplot) for proc, gnuplot in procs]
    for (proc, _), (text, _) in zip(procs, results, strict=True):
        if proc.returncode != 0 and keep:
            sys.exit(f"ab failed ({proc.returncode}):\n{text}")
    return results


def _field(text: str, pattern: str, default: float = 0.0) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else default


def _summarise(results: list[tuple[str, Path]]) -> tuple[float, float, float, int, int, int]:
    """Requests/s, p50, p99 (ms), failed, non-2xx and completed over every ``ab`` process of one run."""
    complete = sum(int(_field(t, r"^Complete requests:\s+(\d+)")) for t, _ in results)
    failed = sum(int(_field(t, r"^Failed requests:\s+(\d+)")) for t, _ in results)
    non_2xx = sum(int(_field(t, r"^Non-2xx responses:\s+(\d+)")) for t, _ in results)
    if len(results) == 1:  # ab's own figures, as the original shell script reported them
        text = results[0][0]
        return (_field(text, r"^Requests per second:\s+([\d.]+)"), _field(text, r"^\s+50%\s+(\d+)"),
                _field(text, r"^\s+99%\s+(\d+)"), failed, non_2xx, complete)
    wall = max(_field(t, r"^Time taken for tests:\s+([\d.]+)") for t, _ in results)
    times: list[float] = []
    for _, gnuplot in results:  # columns: starttime, seconds, ctime, dtime, ttime, wait
        times += [float(line.split("\t")[4]) for line in gnuplot.read_text().splitlines()[1:] if line.strip()]
    times.sort()
    return (complete / wall, times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))],
            failed, non_2xx, complete)


def _audit_ok(audit: Path, expected: int) -> bool:
    lines = audit.read_bytes().splitlines()
    try:
        parsed = [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return False
    return len(parsed) == expected and all(line.get("status") == 200 for line in parsed)


def run_once(args: argparse.Namespace, workdir: Path) -> Run:
    """Start a server, warm it up, measure one ``ab`` run, stop the server."""
    keys, audit = workdir / "keys.json", workdir / "audit.jsonl"
    for stale in (keys, audit):
        stale.unlink(missing_ok=True)
    key = add_key(keys, "bench")
    with serving(args.model, args.reference, keys, audit, workdir, workers=args.workers, cpus=args.server_cpus,
                 startup_timeout=args.startup_timeout) as (base, _):
        numbers = known_numbers(args.reference, f"{base}/v1/score", key, args.bodies)
        probes = len(audit.read_bytes().splitlines())  # every probe call is audited too
        bodies = []
        for i, number in enumerate(numbers):
            bodies.append(workdir / f"body-{i}.json")
            bodies[-1].write_text(json.dumps({"company_number": number}))
        url = f"{base}/v1/score"
        _ab(bodies, url, key, args.warmup, args.concurrency, workdir, args.client_cpus, keep=False)
        results = _ab(bodies, url, key, args.requests, args.concurrency, workdir, args.client_cpus, keep=True)
        rps, p50, p99, failed, non_2xx, complete = _summarise(results)
        share = args.bodies * (args.warmup // args.bodies) + args.bodies * (args.requests // args.bodies)
        time.sleep(0.2)  # let the last audit writes land
        return Run(rps, p50, p99, failed, non_2xx, complete, _audit_ok(audit, probes + share))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="riskmodel serve --workers")
    parser.add_argument("--model", type=Path, required=True, help="exported model folder (or MLflow URI)")
    parser.add_argument("--reference", type=Path, required=True, help="reference data set folder")
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests (ab -n)")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent connections in total (ab -c)")
    parser.add_argument("--warmup", type=int, default=1_000, help="warm-up requests before measuring")
    parser.add_argument("--bodies", type=int, default=1, help="different businesses to rotate over (ab processes)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh server + measurement this many times")
    parser.add_argument("--client-cpus", help="taskset CPU list for ab, e.g. 1")
    parser.add_argument("--server-cpus", help="taskset CPU list for the server, e.g. 0")
    parser.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for /health")
    parser.add_argument("--json", type=Path, help="also write the runs and medians to this file")
    args = parser.parse_args()
    if shutil.which("ab") is None:
        sys.exit("ApacheBench (ab) is not installed: install apache2-utils (Debian/Ubuntu) or httpd-tools (RHEL).")
    if (args.client_cpus or args.server_cpus) and shutil.which("taskset") is None:
        sys.exit("taskset is not installed (util-linux): drop --client-cpus / --server-cpus.")
    if args.concurrency % args.bodies or args.requests % args.bodies or args.requests < args.concurrency:
        sys.exit("--concurrency and --requests must be multiples of --bodies, and --requests >= --concurrency")

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for i in range(args.repeats):
            run = run_once(args, Path(tmp))
            runs.append(run)
            print(f"run {i + 1}: {run.requests_per_s:8.0f} req/s  p50 {run.p50_ms:5.1f} ms  p99 {run.p99_ms:5.1f} ms"
                  f"  failed {run.failed}  non-2xx {run.non_2xx}  complete {run.complete}"
                  f"  audit one line per call: {run.audit_lines_ok}", flush=True)
    medians = {k: statistics.median(float(getattr(r, k)) for r in runs)
               for k in ("requests_per_s", "p50_ms", "p99_ms", "failed", "non_2xx")}
    print(f"workers {args.workers}, -c {args.concurrency} -n {args.requests}, {args.bodies} business(es), "
          f"median of {len(runs)}: {medians['requests_per_s']:.0f} req/s, p50 {medians['p50_ms']:.1f} ms, "
          f"p99 {medians['p99_ms']:.1f} ms, failed {medians['failed']:.0f}, non-2xx {medians['non_2xx']:.0f}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "runs": [asdict(r) for r in runs], "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
