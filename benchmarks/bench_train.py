"""Benchmark training: wall time and peak memory at 100k and 1M businesses (run on demand, not a test).

Each size runs in a fresh subprocess that loads a synthetic world and fits the default experiment exactly as
``riskmodel train`` does (``fit_model``; MLflow logging is excluded). Reported separately: loading, feature building
(training date plus history snapshots) and model fitting (PU training set, early stopping, refit), the target
being fitting 1,000,000 businesses within 15 minutes on 2 cores. Peak RSS is the child's ``ru_maxrss`` (the whole
job, features included). Worlds are generated first (not timed) or reused from ``--workdir``. Usage::

    python benchmarks/bench_train.py --sizes 100000 1000000 --workdir /tmp/synth-bench [--set key=value ...]
    python benchmarks/bench_train.py --engines local dask --repeats 2   # alternating, same session

With ``--engines local dask`` each size runs on both engines, alternating, ``--repeats`` times. The Dask run
stages the tables and trains on a 2-worker LocalCluster started in the child (``fit_model`` with a
``ClusterFeatures``; the feature rows stay on the workers). Its ``peak_rss_mib`` is the client's (the process
that holds the per-business arrays and the sample), and ``worker_peak_rss_mib`` the largest of its workers'.
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
import json, resource, sys, time
from riskmodel.config import load_config
from riskmodel.contract import load_dataset
from riskmodel.training.fit import fit_model
t0 = time.perf_counter()
ds = load_dataset(sys.argv[1])
t1 = time.perf_counter()
fm = fit_model(ds, load_config(overrides=sys.argv[2:]))
t2 = time.perf_counter()
t = fm.timings
print(json.dumps({"load_s": t1 - t0, "features_s": t["features_seconds"] + t["history_features_seconds"],
                  "fit_s": t["fit_seconds"], "total_s": t2 - t0, "businesses": len(fm.index),
                  "training_rows": fm.pu_info["positives"] + fm.pu_info["known_negatives"] + fm.pu_info["unlabelled"],
                  "trees": fm.metrics["trees"], "pr_auc": fm.metrics["pr_auc"], "roc_auc": fm.metrics["roc_auc"],
                  "explanations_per_second": fm.metrics["explanations_per_second"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


DASK_CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
from riskmodel.config import load_config
from riskmodel.contract.staged import stage_dataset
from riskmodel.distributed import ClusterFeatures
from riskmodel.engine import dask_client
from riskmodel.training.fit import fit_model
t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    with dask_client(None, n_workers=2) as client:
        staged = stage_dataset(sys.argv[1], Path(tmp) / "staged")
        t1 = time.perf_counter()
        fm = fit_model(staged.dataset, load_config(overrides=sys.argv[2:]), cluster=ClusterFeatures(client, staged))
        t2 = time.perf_counter()
t = fm.timings
print(json.dumps({"load_s": t1 - t0, "features_s": t["features_seconds"] + t["history_features_seconds"],
                  "fit_s": t["fit_seconds"], "total_s": t2 - t0, "businesses": len(fm.index),
                  "training_rows": fm.pu_info["positives"] + fm.pu_info["known_negatives"] + fm.pu_info["unlabelled"],
                  "client_sample_rows": fm.pu_info["client_sample_rows"], "trees": fm.metrics["trees"],
                  "pr_auc": fm.metrics["pr_auc"], "roc_auc": fm.metrics["roc_auc"],
                  "explanations_per_second": fm.metrics["explanations_per_second"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    # A developer's cache of synthetic worlds, reused across runs on purpose (the docs name the folder).
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/synth-bench"))  # noqa: S108 -- see the line above
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--engines", nargs="+", choices=["local", "dask"], default=["local"])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        folder = ensure_world(args.workdir / f"n{size}", size)
        for repeat in range(args.repeats):
            for engine in args.engines:
                code = DASK_CHILD if engine == "dask" else CHILD
                out = subprocess.run([sys.executable, "-c", code, str(folder), *args.overrides], capture_output=True,
                                     text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
                result = {"size": size, "engine": engine, "repeat": repeat,
                          **json.loads(out.stdout.strip().splitlines()[-1])}
                results.append(result)
                print(json.dumps(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
