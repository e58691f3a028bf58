"""Model layer: the HTTP service under a short, bounded load (the short form of benchmarks/bench_service_load.py).

``riskmodel serve`` runs in a subprocess on loopback with the session's model and world; a pool of concurrent
clients sends the benchmark's whole call mix (known businesses, batches, supplier records, the model, and calls
that must get 404, 401 or 422) for 5 s of warm-up and 15 s measured. The test holds the run to zero unexpected
statuses or connection errors, one audit line per call, and resident memory that does not grow: a resource bound,
not a timing one (the latencies are reported by the benchmark, never asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_service_load.py"


def test_service_under_a_short_load(model_dir: Path, world: Path, tmp_path: Path) -> None:
    pytest.importorskip("httpx", reason="the load generator needs httpx (service extra)")
    pytest.importorskip("uvicorn", reason="riskmodel serve needs uvicorn (service extra)")
    out = tmp_path / "load.json"
    cmd = [sys.executable, str(SCRIPT), "--model", str(model_dir), "--reference", str(world), "--warmup", "5",
           "--duration", "15", "--window", "5", "--concurrency", "8", "--numbers", "30", "--records", "2",
           "--json", str(out)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path) as run:
        try:
            output, _ = run.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            run.terminate()  # the script stops its server on SIGTERM
            output, _ = run.communicate(timeout=60)
            pytest.fail(f"the load benchmark did not finish within 400 s:\n{output[-3000:]}")
    assert run.returncode == 0, output[-3000:]
    report = json.loads(out.read_text())

    assert report["errors"] == 0, (report["error_kinds"], output[-3000:])
    assert set(report["kinds"]) == {"score", "batch", "record", "model", "unknown", "unauthorised", "invalid"}
    assert all(kind["calls"] > 0 for kind in report["kinds"].values()), report["kinds"]
    assert [w["end_s"] for w in report["windows"]] == [5.0, 10.0, 15.0]
    assert all(w["calls"] > 0 and w["errors"] == 0 for w in report["windows"])
    assert report["audit"]["ok"] and report["audit"]["lines"] == report["audit"]["expected"] == 30 + report["calls"]
    assert report["health"] == {"status": "ok", "audit": "ok"}
    # Memory does not grow: the last window's largest RSS within 10 % + 20 MB of the RSS after the warm-up.
    rss = report["rss"]
    assert rss["processes"] == 1 and rss["warm_mb"] > 50
    assert rss["end_mb"] <= rss["warm_mb"] * 1.10 + 20, rss
