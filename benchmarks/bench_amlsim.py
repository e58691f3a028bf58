"""AMLSim benchmark: riskmodel's transaction features + LightGBM against a naive baseline, on IBM's AMLSim samples.

Run on demand; this is not a test::

    python benchmarks/bench_amlsim.py                          # default ../shared/realdata/amlsim_ibm_sample
    python benchmarks/bench_amlsim.py --json amlsim.json --train-step 100

Each of the three 20,000-account scenarios (``20K_cycle200``, ``20K_fanin200``, ``20K_fanin200cycle200``) is
imported with ``riskmodel import amlsim`` (steps are days from 2017-01-01), then:

* **Temporal split by step.** The model learns from features as of step ``--train-step`` (100: only transfers
  booked up to then) and is evaluated on features as of the last step (149). The accounts are split in two halves
  by a hash of their id, learnt on one half and evaluated on the other, so that no account's label is seen in
  training and then scored again: otherwise a model can recognise an account rather than a behaviour.
* **Target.** AMLSim's ``isFraud`` (the account takes part in an injected laundering pattern). The simulator's truth
  is complete, so this is not positive-unlabelled; the imported ``labels`` table is read for it.
* **riskmodel**: the ``transactions`` feature family (:mod:`features.transactions`: cash share, round amounts,
  structuring, distinct payers in 7 days, pass-through within 3 days, high-risk jurisdictions, count), exactly as
  the product computes it, and LightGBM.
* **Baseline**: LightGBM on per-account counts and sums of money in and out up to the same date.

Both use the same LightGBM settings and seed and run in the same process. Figures: PR-AUC (average precision),
precision at 100, the base rate (the PR-AUC of a random ranking) and seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import features
from riskmodel.contract import load_dataset
from riskmodel.importers import import_sources

SCENARIOS = ("20K_cycle200", "20K_fanin200", "20K_fanin200cycle200")
START = dt.date(2017, 1, 1)
PARAMS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
                          "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.9, "random_state": 0,
                          "n_jobs": 2, "verbose": -1}


def _half(numbers: pd.Index) -> np.ndarray:
    """True for the accounts learnt from (a stable hash of the id, about half)."""
    return np.array([hashlib.sha256(n.encode()).digest()[0] < 128 for n in numbers])


def _baseline(transactions: pd.DataFrame, index: pd.Index, as_of: dt.date) -> pd.DataFrame:
    t = transactions[transactions["booked_at"] <= pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    incoming, outgoing = t[t["amount"] > 0], t[t["amount"] < 0]
    frame = pd.DataFrame({
        "in_count": incoming.groupby("company_number").size(),
        "out_count": outgoing.groupby("company_number").size(),
        "in_sum": incoming.groupby("company_number")["amount"].sum(),
        "out_sum": -outgoing.groupby("company_number")["amount"].sum(),
    })
    return frame.reindex(index).fillna(0.0)


def _precision_at(y: np.ndarray, score: np.ndarray, k: int) -> float:
    order = np.lexsort((np.arange(len(score)), -score))[:k]
    return float(y[order].mean())


def _fit_eval(X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, y_test: np.ndarray) -> dict[str, Any]:
    start = time.perf_counter()
    model = lgb.LGBMClassifier(**PARAMS).fit(X_train, y_train)
    score = model.predict_proba(X_test)[:, 1]
    return {"pr_auc": float(average_precision_score(y_test, score)), "precision_at_100": _precision_at(
        y_test, score, 100), "fit_and_score_seconds": time.perf_counter() - start,
            "importance": dict(zip(X_train.columns, map(int, model.feature_importances_), strict=True))}


def run_scenario(folder: Path, train_step: int, work: Path) -> dict[str, Any]:
    """Import one scenario and compare the two models on it."""
    start = time.perf_counter()
    out = work / folder.name
    sources = sorted(p for p in folder.glob("*.csv"))
    result = import_sources("amlsim", sources, out, {"start_date": START})
    import_seconds = time.perf_counter() - start
    dataset = load_dataset(out, ["companies", "transactions", "labels"])
    labels = dataset["labels"].set_index("company_number")["label"]
    last_step = int((pd.Timestamp(dataset["transactions"]["booked_at"].max()).date() - START).days)
    train_at, test_at = START + dt.timedelta(days=train_step), START + dt.timedelta(days=last_step)

    start = time.perf_counter()
    family = features.feature_set("family:transactions")
    X_train_all = features.build(dataset, train_at, family)
    X_test_all = features.build(dataset, test_at, family)
    feature_seconds = time.perf_counter() - start
    B_train_all = _baseline(dataset["transactions"], X_train_all.index, train_at)
    B_test_all = _baseline(dataset["transactions"], X_test_all.index, test_at)

    learn = _half(X_train_all.index)
    evaluate = ~_half(X_test_all.index)
    y_train = labels.reindex(X_train_all.index[learn]).fillna(0).to_numpy(dtype=int)
    y_test = labels.reindex(X_test_all.index[evaluate]).fillna(0).to_numpy(dtype=int)
    ours = _fit_eval(X_train_all[learn], y_train, X_test_all[evaluate], y_test)
    base = _fit_eval(B_train_all[learn], y_train, B_test_all[evaluate], y_test)
    return {
        "scenario": folder.name, "accounts": len(X_test_all), "transactions_rows": len(dataset["transactions"]),
        "import_rows_written": {t: c["rows_written"] for t, c in result.manifest["tables"].items()},
        "train_as_of_step": train_step, "test_as_of_step": last_step,
        "train_accounts": int(learn.sum()), "train_positives": int(y_train.sum()),
        "test_accounts": int(evaluate.sum()), "test_positives": int(y_test.sum()),
        "base_rate": float(y_test.mean()), "riskmodel": ours, "baseline": base,
        "import_seconds": import_seconds, "feature_seconds": feature_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "realdata" / "amlsim_ibm_sample")
    parser.add_argument("--train-step", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    folders = [args.real_dir / s for s in SCENARIOS if (args.real_dir / s).is_dir()]
    if not folders:
        print(f"no AMLSim scenarios under {args.real_dir}")
        return 1
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            results.append(run_scenario(folder, args.train_step, Path(tmp)))
    print("| scenario | test accounts (positives) | base rate | PR-AUC riskmodel | PR-AUC baseline | "
          "P@100 riskmodel | P@100 baseline | features s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['scenario']} | {r['test_accounts']:,} ({r['test_positives']}) | {r['base_rate']:.3f} | "
              f"{r['riskmodel']['pr_auc']:.3f} | {r['baseline']['pr_auc']:.3f} | "
              f"{r['riskmodel']['precision_at_100']:.2f} | {r['baseline']['precision_at_100']:.2f} | "
              f"{r['feature_seconds']:.1f} |")
    for r in results:
        print(f"{r['scenario']} importance riskmodel: {r['riskmodel']['importance']}")
        print(f"{r['scenario']} importance baseline: {r['baseline']['importance']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
