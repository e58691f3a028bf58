"""Shared pieces of the benchmark scripts: synthetic worlds on disk, process memory and the per-seed median table."""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
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
