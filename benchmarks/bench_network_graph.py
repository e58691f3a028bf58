"""The network family on a Dask LocalCluster (:func:`riskmodel.distributed_graph.network_features`) against the local
build (``features.build(load_dataset(WORLD), as_of, NETWORK_FEATURES)``): wall time and equality.

The world is loaded once and staged once (both timed, not part of the runs). Each run then computes the six
network features: locally in this process, and on a ``LocalCluster(n_workers=2, threads_per_worker=1)`` started
once for all runs (its first run also pays for the workers' imports). Every Dask result is compared with the local
one by ``pandas.testing.assert_frame_equal(got, expected, check_index_type=False)``.

Usage::

    python benchmarks/bench_network_graph.py WORLD [--as-of 2024-12-31] [--runs 3] [--workers 2]

The world is a folder written by ``riskmodel synth`` (e.g. ``riskmodel synth --businesses 100000``); it is not
generated here. ``--as-of`` defaults to the world's extract date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd


def _timed(func, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("world", type=Path, help="folder of a data set written to the data contract")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="date (default: extract date)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each engine (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    args = parser.parse_args()

    import distributed

    import features
    from riskmodel.contract import load_dataset
    from riskmodel.contract.staged import stage_dataset
    from riskmodel.distributed_graph import NETWORK_FEATURES, network_features

    # P2P shuffles log every start and end at WARNING level.
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    dataset, load_s = _timed(load_dataset, args.world)
    as_of = args.as_of or dataset.extract_date
    names = list(NETWORK_FEATURES)
    print(f"world {args.world} as of {as_of}: loaded in {load_s:.1f} s", flush=True)

    local: list[float] = []
    expected = pd.DataFrame()
    for _ in range(args.runs):
        expected, seconds = _timed(features.build, dataset, as_of, names)
        local.append(seconds)
    print(f"{len(expected)} businesses, local runs {', '.join(f'{s:.2f}' for s in local)} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        staged, stage_s = _timed(stage_dataset, args.world, Path(tmp) / "staged")
        print(f"staged in {stage_s:.1f} s", flush=True)
        dask_runs: list[float] = []
        equal: list[bool] = []
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0")
        with cluster, distributed.Client(cluster):
            for _ in range(args.runs):
                got, seconds = _timed(network_features, staged, as_of)
                dask_runs.append(seconds)
                try:
                    pd.testing.assert_frame_equal(got, expected, check_index_type=False)
                    equal.append(True)
                except AssertionError as error:
                    equal.append(False)
                    print(f"NOT EQUAL: {str(error).splitlines()[0]}", flush=True)
                print(f"dask run {len(dask_runs)}: {seconds:.2f} s, equal={equal[-1]}", flush=True)

    local_median, dask_median = statistics.median(local), statistics.median(dask_runs)
    print(f"\n{'engine':8} {'runs (s)':>30} {'median (s)':>11} {'ratio':>7} {'equal':>6}")
    print(f"{'local':8} {' '.join(f'{s:7.2f}' for s in local):>30} {local_median:11.2f} {1.0:7.1f} {'':>6}")
    print(f"{'dask':8} {' '.join(f'{s:7.2f}' for s in dask_runs):>30} {dask_median:11.2f} "
          f"{dask_median / local_median:7.1f} {all(equal)!s:>6}")
    print(f"(not in the runs: load {load_s:.1f} s, staging {stage_s:.1f} s; {args.workers} workers, 1 thread each)")


if __name__ == "__main__":
    main()
