"""Memory and time of the whole batch job (``riskmodel score``) as the input grows.

Each run is a fresh ``python -m riskmodel score WORLD --model MODEL --out OUT --quiet`` subprocess. Its
``/proc/PID/status`` is sampled every 50 ms for the peaks of ``VmRSS`` (all resident memory), ``RssAnon`` (private
memory: what the job really holds) and ``RssFile`` (pages of mapped files, such as the staged tables, which the
system can reclaim). With ``--baseline DIR`` (a checkout of another commit, e.g. ``git worktree add /tmp/base
COMMIT``) the same job runs from that code too, alternating, and the ratios are printed.

Usage::

    python benchmarks/bench_job_memory.py --model models/riskmodel-1 WORLD [WORLD ...] [--baseline DIR] [--repeats 2]

Worlds are folders written by ``riskmodel synth`` (e.g. 10k, 100k and 1M businesses); they are not generated here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import proc_status

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("VmRSS", "RssAnon", "RssFile")


def _status(pid: int) -> dict[str, int]:
    return proc_status(pid, FIELDS)


def run(code: Path, world: Path, model: str) -> dict[str, float]:
    """Run the job once from ``code``; return wall seconds and peak memory in MB."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(code)}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "riskmodel", "score", str(world), "--model", model,
                                 "--out", str(Path(tmp) / "out"), "--quiet"], cwd=code, env=env,
                                stderr=subprocess.DEVNULL)
        peak = dict.fromkeys(FIELDS, 0)
        while proc.poll() is None:
            for key, value in _status(proc.pid).items():
                peak[key] = max(peak[key], value)
            time.sleep(0.05)
        if proc.returncode:
            raise SystemExit(f"the job failed ({proc.returncode}) for {world} from {code}")
        return {"wall_s": time.perf_counter() - start, **{f"{k}_MB": v / 1024 for k, v in peak.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("worlds", nargs="+", type=Path)
    parser.add_argument("--model", required=True, help="exported model folder or models:/ URI")
    parser.add_argument("--baseline", type=Path, help="checkout of the code to compare against")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    codes = {"this": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for world in args.worlds:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
        for _ in range(args.repeats):
            for name, code in codes.items():  # alternating, so drift on the machine hits both alike
                runs[name].append(run(code, world, args.model))
        results[world.name] = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in
                               runs.items()}
        for name, med in results[world.name].items():
            print(f"{world.name:>12} {name:>8}: wall {med['wall_s']:7.1f} s  peak RSS {med['VmRSS_MB']:7.0f} MB  "
                  f"private {med['RssAnon_MB']:7.0f} MB  mapped files {med['RssFile_MB']:6.0f} MB")
        if "baseline" in results[world.name]:
            this, base = results[world.name]["this"], results[world.name]["baseline"]
            print(f"{world.name:>12}   ratios: wall {this['wall_s'] / base['wall_s']:.2f}  peak RSS "
                  f"{this['VmRSS_MB'] / base['VmRSS_MB']:.2f}  private {this['RssAnon_MB'] / base['RssAnon_MB']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
