"""Benchmark scoring: the batch stage against bare ``pred_contrib``, the whole job, the scoring function and HTTP.

Run on demand (not a test). A model is trained once on the world (default experiment, not timed) unless
``--model`` names one. Figures are medians over ``--repeats`` runs in this one process, so ratios compare like
with like. Usage::

    python benchmarks/bench_score.py --businesses 100000 --workdir /tmp/synth-bench [--model models/riskmodel-1]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from _common import ensure_world

import features
from riskmodel.artifact import load_bundle
from riskmodel.config import load_config
from riskmodel.contract import load_dataset
from riskmodel.scoring import RiskScorer, Scorer
from riskmodel.scoring.batch import run_score_job
from riskmodel.training.fit import fit_model


def _median_seconds(func, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _naive(bundle, X: pd.DataFrame, as_of: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """What a user would otherwise write: shap.TreeExplainer and a loop building reason strings."""
    import shap

    explainer = shap.TreeExplainer(bundle.booster)
    Xt = bundle.transform(X)
    values = explainer.shap_values(Xt)
    values = values[1] if isinstance(values, list) else values
    raw = bundle.booster.predict(Xt, raw_score=True)
    rows = []
    for i, (number, row) in enumerate(Xt.iterrows()):
        order = np.argsort(-values[i])[:5]
        reasons = []
        for j in order:
            if values[i, j] <= 0:
                break
            name = Xt.columns[j]
            spec = features.CATALOGUE.get(name)
            reasons.append(spec.render(row[name], as_of) if spec else name)
        rows.append({"company_number": number, "log_odds": raw[i], "reasons": reasons})
    return pd.DataFrame(rows)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _http_load(url: str, key: str, numbers: list[str], concurrency: int, total: int) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue = list(range(total))

    async with httpx.AsyncClient(timeout=30) as client:
        async def worker() -> None:
            nonlocal errors
            while queue:
                i = queue.pop()
                start = time.perf_counter()
                response = await client.post(url, json={"company_number": numbers[i % len(numbers)]},
                                             headers={"X-API-Key": key})
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--businesses", type=int, default=100_000)
    # A developer's cache of synthetic worlds, reused across runs on purpose (the docs name the folder).
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/synth-bench"))  # noqa: S108 -- see the line above
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--record-calls", type=int, default=200, help="score_record calls timed")
    parser.add_argument("--rebuild-calls", type=int, default=5, help="full rebuilds timed as the baseline")
    parser.add_argument("--parts", default="stage,job,score,record,http",
                        help="comma-separated parts to run: stage (with the naive comparison), job, score, record, "
                             "http")
    args = parser.parse_args()
    parts_wanted = set(args.parts.split(","))
    world = ensure_world(args.workdir / f"n{args.businesses}", args.businesses)
    tmp = Path(tempfile.mkdtemp(prefix="bench-score-"))
    dataset = load_dataset(world)
    if args.model is None:
        args.model = fit_model(dataset, load_config()).bundle.save(tmp / "model")
    bundle = load_bundle(args.model)
    scorer = Scorer(bundle, "bench")
    as_of = dataset.extract_date
    assert as_of is not None
    X = features.build(dataset, as_of, bundle.feature_names)
    n = len(X)
    out: dict[str, float] = {"businesses": float(n)}
    Xt = bundle.transform(X)
    numbers = [str(v) for v in X.index.to_numpy()[np.random.default_rng(0).integers(0, n, 5000)]]
    if "stage" in parts_wanted:
        _stage(args, bundle, scorer, X, Xt, as_of, tmp, out)
    if "job" in parts_wanted:
        start = time.perf_counter()
        result = run_score_job(world, args.model, tmp / "job")
        whole = time.perf_counter() - start
        out.update(job_s=whole, job_businesses_per_s=result.manifest["businesses_scored"] / whole)
    if {"score", "record"} & parts_wanted:
        _scoring_function(args, world, numbers, parts_wanted, out)
    if "http" in parts_wanted:
        _http(args, world, numbers, tmp, out)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


def _stage(args: argparse.Namespace, bundle: Any, scorer: Scorer, X: pd.DataFrame, Xt: Any, as_of: Any, tmp: Path,
           out: dict[str, float]) -> None:
    n = len(X)
    bare = _median_seconds(lambda: bundle.booster.predict(Xt, pred_contrib=True), args.repeats)

    def stage() -> None:
        frame = scorer.score_frame(X, as_of.isoformat())
        frame.to_parquet(tmp / "s.parquet", index=False)
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), tmp / "s.csv")

    staged = _median_seconds(stage, args.repeats)
    out.update(bare_pred_contrib_s=bare, stage_s=staged, stage_over_bare=staged / bare,
               stage_businesses_per_s=n / staged)
    sub = X.iloc[: args.naive_rows]
    naive = _median_seconds(lambda: _naive(bundle, sub, as_of.isoformat()), 1)
    ours = _median_seconds(lambda: scorer.score_frame(sub, as_of.isoformat()), args.repeats)
    out.update(naive_s_per_1000=1000 * naive / len(sub), ours_s_per_1000=1000 * ours / len(sub),
               naive_over_ours=naive / ours)


def _scoring_function(args: argparse.Namespace, world: Path, numbers: list[str], parts_wanted: set[str],
                      out: dict[str, float]) -> None:
    start = time.perf_counter()
    rs = RiskScorer.load(args.model, reference=world)
    out.update(scorer_load_s=time.perf_counter() - start)
    lat = []
    for number in numbers:
        start = time.perf_counter()
        rs.score(number)
        lat.append(time.perf_counter() - start)
    out.update(score_p50_ms=1000 * float(np.percentile(lat, 50)), score_p99_ms=1000 * float(np.percentile(lat, 99)))
    if "record" not in parts_wanted:
        return
    # score_record: each business's own rows sent as a procurement system would (its transactions left out).
    parts = {"company": ("companies", "company_number"), "officers": ("officers", "company_number"),
             "ownership": ("ownership", "company_number"), "accounts": ("accounts", "company_number"),
             "licences": ("licences", "holder_company_number"), "contracts": ("contracts", "supplier_company_number")}
    frames = {part: pd.read_parquet(world / f"{table}.parquet") for part, (table, _) in parts.items()}
    groups = {part: frames[part].groupby(key).indices for part, (_, key) in parts.items()}

    def record(number: str) -> dict[str, object]:
        out: dict[str, object] = {}
        for part, frame in frames.items():
            rows = frame.iloc[groups[part].get(number, [])].astype(object)
            rows = [{k: (None if pd.isna(v) else str(v)) for k, v in r.items()} for r in rows.to_dict("records")]
            out[part] = rows[0] if part == "company" else rows
        return out

    records = [record(number) for number in numbers[: args.record_calls]]
    template = {k: (None if pd.isna(v) else str(v)) for k, v in frames["officers"].iloc[0].items()}

    def new_director(rec: dict[str, object], i: int) -> dict[str, object]:
        # A director appointed a month ago who is in no other business: the register, network and watchlist
        # families are rebuilt on the neighbourhood, and the network check runs.
        number = rec["company"]["company_number"]  # type: ignore[index]
        row = {**template, "company_number": number, "officer_id": f"BENCH-P{i:06d}",
               "officer_name": f"Alex Bench{i:06d}", "appointed_on": str(rs.as_of - dt.timedelta(days=30)),
               "resigned_on": None}
        return {**rec, "officers": [*rec["officers"], row]}  # type: ignore[misc]

    def new_supplier(rec: dict[str, object], i: int) -> dict[str, object]:
        # The same records under a company number the reference does not hold: every feature is built.
        number = f"BENCH{i:06d}"
        keys = {"licences": "holder_company_number", "contracts": "supplier_company_number"}
        out = {"company": {**rec["company"], "company_number": number}}  # type: ignore[dict-item]
        for part in parts:
            if part != "company":
                out[part] = [{**row, keys.get(part, "company_number"): number} for row in rec[part]]  # type: ignore
        return out

    scenarios = {"": records, "new_director_": [new_director(r, i) for i, r in enumerate(records)],
                 "new_supplier_": [new_supplier(r, i) for i, r in enumerate(records)]}
    lats: dict[str, list[float]] = {}
    for name, sent in scenarios.items():
        rebuilds = rs.rebuilds
        lat = lats[name] = []
        for rec in sent:
            start = time.perf_counter()
            rs.score_record(rec)
            lat.append(time.perf_counter() - start)
        out.update({f"score_record_{name}calls": len(lat), f"score_record_{name}rebuilds": rs.rebuilds - rebuilds,
                    f"score_record_{name}p50_ms": 1000 * float(np.percentile(lat, 50)),
                    f"score_record_{name}p99_ms": 1000 * float(np.percentile(lat, 99))})
    if args.rebuild_calls:
        from riskmodel.scoring.scorer import _record_tables

        full = []
        for rec in records[: args.rebuild_calls]:
            start = time.perf_counter()
            tables = _record_tables(rec, rs.as_of)
            rs._rebuild_features(str(tables["companies"]["company_number"].iloc[0]), tables)
            full.append(time.perf_counter() - start)
        out.update(full_rebuild_p50_ms=1000 * float(np.percentile(full, 50)),
                   record_speedup_vs_rebuild=float(np.percentile(full, 50) / np.percentile(lats[''][: len(full)], 50)))


def _http(args: argparse.Namespace, world: Path, numbers: list[str], tmp: Path, out: dict[str, float]) -> None:
    """HTTP: uvicorn in a subprocess on loopback, 50 concurrent clients (see bench_http.py for ab)."""
    from riskmodel.service import add_key

    key = add_key(tmp / "keys.json", "bench")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "riskmodel", "serve", "--model", str(args.model),
                               "--reference", str(world), "--keys", str(tmp / "keys.json"), "--port", str(port),
                               "--audit-log", str(tmp / "audit.jsonl")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/v1/score"
        asyncio.run(_http_load(url, key, numbers, 50, 200))  # warm-up
        lat, errors = asyncio.run(_http_load(url, key, numbers, 50, 5000))
        out.update(http_p50_ms=1000 * float(np.percentile(lat, 50)), http_p99_ms=1000 * float(np.percentile(lat, 99)),
                   http_errors=float(errors), http_requests=float(len(lat)))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
