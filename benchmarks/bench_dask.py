"""The batch job on the local engine against a Dask LocalCluster on the same machine: time and memory per process.

Each run is a fresh ``python -m riskmodel score WORLD --model MODEL --out OUT --quiet [--engine dask]``
subprocess. The job's process and every process it starts (the Dask workers) are sampled from ``/proc`` every
100 ms for their peak ``VmRSS`` (resident) and ``RssAnon`` (private) memory. The engines alternate (local, dask,
local, ...) so that both see the same machine state; the scores of the two engines are compared row for row.
The Dask run's manifest gives the per-partition cost (median seconds per partition of ``--chunk-size``
businesses), each worker's set-up time (the model and the watchlist) and the cross-business joins' time.

Usage::

    python benchmarks/bench_dask.py WORLD --model MODEL [--repeats 1] [--chunk-size 20000] [--json F]

The world is a folder written by ``riskmodel synth`` (e.g. ``riskmodel synth --businesses 1000000``); it is not
generated here. The LocalCluster has one worker process per core the job may use (2 on the reference machine).
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

import pandas as pd
from _common import proc_status

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("VmRSS", "RssAnon")


def _status(pid: int) -> dict[str, int]:
    return proc_status(pid, FIELDS)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return found


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "job"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    return "worker" if "multiprocessing" in cmd and "spawn_main" in cmd else "other"


def run(world: Path, model: str, engine: str, out: Path, chunk_size: int) -> dict[str, object]:
    """Run the job once; return wall seconds, peak memory per process role and the manifest's engine record."""
    cmd = [sys.executable, "-m", "riskmodel", "score", str(world), "--model", model, "--out", str(out), "--quiet",
           "--engine", engine, "--chunk-size", str(chunk_size)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE)
    peaks: dict[int, dict[str, int]] = {}
    roles: dict[int, str] = {}
    while proc.poll() is None:
        for pid in _tree(proc.pid):
            if roles.get(pid, "other") == "other":  # a process just started may not show its command line yet
                roles[pid] = _role(pid, proc.pid)
            for key, value in _status(pid).items():
                peaks.setdefault(pid, dict.fromkeys(FIELDS, 0))
                peaks[pid][key] = max(peaks[pid][key], value)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"the {engine} job failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    by_role: dict[str, list[dict[str, float]]] = {}
    for pid, peak in peaks.items():
        by_role.setdefault(roles[pid], []).append({f"{k}_MB": v / 1024 for k, v in peak.items()})
    return {"engine": engine, "wall_s": wall, "businesses": manifest["businesses_scored"],
            "job_peak": by_role.get("job", [{}])[0], "worker_peaks": by_role.get("worker", []),
            "all_processes_peak_RssAnon_MB_sum": sum(p["RssAnon"] for p in peaks.values()) / 1024,
            "timings": manifest["timings"], "engine_record": manifest.get("engine")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("world", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        outs = {}
        for r in range(args.repeats):
            for engine in ("local", "dask"):
                out = Path(tmp) / f"{engine}-{r}"
                result = run(args.world, args.model, engine, out, args.chunk_size)
                results.append(result)
                outs[engine] = out
                print(json.dumps(result, default=str), flush=True)
        same = pd.read_parquet(outs["local"] / "scores.parquet").equals(
            pd.read_parquet(outs["dask"] / "scores.parquet"))
    summary = {}
    for engine in ("local", "dask"):
        runs = [r for r in results if r["engine"] == engine]
        summary[engine] = {"wall_s_median": statistics.median(float(r["wall_s"]) for r in runs),  # type: ignore[arg-type]
                           "job_peak_RssAnon_MB_median": statistics.median(
                               float(r["job_peak"]["RssAnon_MB"]) for r in runs),  # type: ignore[index]
                           "worker_peak_RssAnon_MB_max": max(
                               (float(w["RssAnon_MB"]) for r in runs for w in r["worker_peaks"]),  # type: ignore[attr-defined]
                               default=None)}
    summary["dask_over_local_wall"] = summary["dask"]["wall_s_median"] / summary["local"]["wall_s_median"]
    summary["scores_identical"] = bool(same)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
