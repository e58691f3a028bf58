"""Benchmark ``features.build``: wall time and peak memory for synthetic worlds (run on demand, not a test).

Each size runs in a fresh subprocess that loads the data set and builds every feature as of a date; peak RSS is
the child's ``ru_maxrss``. Worlds are generated first (not timed) or reused from ``--workdir``. Usage::

    python benchmarks/bench_features.py --sizes 100000 1000000 --workdir /tmp/synth-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import ensure_world

CHILD = """
import datetime as dt, json, sys, time
import features
from riskmodel.contract import load_dataset
t0 = time.perf_counter()
ds = load_dataset(sys.argv[1])
t1 = time.perf_counter()
frame = features.build(ds, dt.date.fromisoformat(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "build_s": t2 - t1, "rows": len(frame), "features": frame.shape[1]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--as-of", default="2023-06-30")
    # A developer's cache of synthetic worlds, reused across runs on purpose (the docs name the folder).
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/synth-bench"))  # noqa: S108 -- see the line above
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        folder = ensure_world(args.workdir / f"n{size}", size)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), args.as_of], stdout=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"feature build failed for {size}")
        assert proc.stdout is not None
        row = {"businesses": size, **json.loads(proc.stdout.read()), "peak_rss_mib": usage.ru_maxrss / 1024}
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
