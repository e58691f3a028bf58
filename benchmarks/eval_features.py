"""Added value of the feature pipelines on synthetic worlds (run on demand; reads the synthetic truth).

For each seed: a world is generated (or reused), features are built as of a training date, and LightGBM with
default parameters is trained on the labels known then (unlabelled = negative), exactly like the naive baseline
of ``riskmodel.synth.baseline``. PR-AUC is measured against the latent truth on businesses unlabelled at the
training date (held-out half). Then each feature family is dropped in turn (ablation). Usage::

    python benchmarks/eval_features.py --businesses 50000 --seeds 0 1 2 --workdir /tmp/eval-features
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from _common import ensure_world, print_medians
from sklearn.metrics import average_precision_score

import features
from riskmodel.contract import load_dataset
from riskmodel.synth.baseline import evaluation_targets, naive_counts


def _pr_auc(X: pd.DataFrame, y_label: pd.Series, y_true: pd.Series, evaluate: np.ndarray, seed: int) -> float:
    model = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2).fit(X, y_label)
    scores = np.asarray(model.predict_proba(X[evaluate]))[:, 1]
    return float(average_precision_score(y_true[evaluate], scores))


def evaluate_seed(folder: Path, as_of: dt.date, seed: int) -> dict[str, float]:
    ds = load_dataset(folder)
    start = time.perf_counter()
    X = features.build(ds, as_of)
    build_seconds = time.perf_counter() - start
    naive = naive_counts(ds, as_of).reindex(X.index)
    t = evaluation_targets(ds, folder, X.index, as_of, seed)
    y_label, y_true, evaluate = t.y_label, t.y_true, t.evaluate
    out = {"prevalence": float(y_true[evaluate].mean()), "build_seconds": build_seconds,
           "naive_baseline": _pr_auc(naive, y_label, y_true, evaluate, seed),
           "all_features": _pr_auc(X, y_label, y_true, evaluate, seed)}
    families = sorted({features.CATALOGUE[c].family for c in X.columns})
    for family in families:
        keep = [c for c in X.columns if features.CATALOGUE[c].family != family]
        out[f"without_{family}"] = _pr_auc(X[keep], y_label, y_true, evaluate, seed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--businesses", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2023, 6, 30))
    # A developer's cache of synthetic worlds, reused across runs on purpose (the docs name the folder).
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/eval-features"))  # noqa: S108 -- see the line above
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        folder = ensure_world(args.workdir / f"n{args.businesses}-s{seed}", args.businesses, seed)
        results.append(evaluate_seed(folder, args.as_of, seed))
        print(json.dumps({"seed": seed, **results[-1]}), flush=True)
    print_medians(results, args.seeds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
