"""Benchmark `riskmodel synth`: wall time and peak memory at several sizes (run on demand, not a test).

Each size runs in a fresh subprocess (``python -m riskmodel synth``) so that its peak RSS is its own; the figure is
the child's ``ru_maxrss`` from ``os.wait4``. Usage::

    python benchmarks/bench_synth.py                       # 10k, 100k, 1M businesses
    python benchmarks/bench_synth.py --sizes 10000 100000 --repeats 3 --workdir /tmp/synth-bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(businesses: int, out: Path, seed: int) -> tuple[float, float]:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "riskmodel", "synth", "--businesses", str(businesses), "--seed", str(seed),
           "--out", str(out), "--quiet"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"synth failed for {businesses}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="synth-bench-"))
    results = []
    print(f"{'businesses':>12} {'median s':>10} {'peak RSS MiB':>13} {'MiB on disk':>12} {'businesses/s':>13}")
    for size in args.sizes:
        runs = [run_once(size, workdir / f"n{size}", args.seed) for _ in range(args.repeats)]
        secs = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        disk = sum(p.stat().st_size for p in (workdir / f"n{size}").rglob("*") if p.is_file()) / 2**20
        results.append({"businesses": size, "seconds": runs and [r[0] for r in runs], "median_seconds": secs,
                        "peak_rss_mib": peak, "disk_mib": disk})
        print(f"{size:>12,} {secs:>10.1f} {peak:>13,.0f} {disk:>12,.1f} {size / secs:>13,.0f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
