"""How good is the trained model against the synthetic truth? (Run on demand; reads the synthetic truth.)

For each seed a world is generated (or reused) and the experiment is fitted exactly as ``riskmodel train`` does
(``riskmodel.training.fit.fit_model``). On the evaluation set (network components with no label at the training
date, never seen in training) PR-AUC is measured against the latent truth for:

- ``model``: the trained model (labels only, as in production);
- ``naive``: the synth issue's naive baseline (row counts, LightGBM defaults, unlabelled = negative), trained on
  the same training rows and labels;
- ``truth``: the latent-truth model, the same features and LightGBM fitted on the truth of the training rows (an
  upper reference no real user can have).

Usage::

    python benchmarks/eval_training.py --businesses 50000 --seeds 101 202 --workdir /tmp/eval-training \
        [--set pu.strategy=elkan-noto ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from _common import ensure_world, print_medians
from sklearn.metrics import average_precision_score

from riskmodel.config import load_config
from riskmodel.contract import load_dataset
from riskmodel.synth.baseline import naive_counts, naive_vs_truth
from riskmodel.training.fit import fit_model


def evaluate(folder: Path, overrides: list[str], seed: int) -> dict[str, float]:
    ds = load_dataset(folder)
    start = time.perf_counter()
    fm = fit_model(ds, load_config(overrides=overrides))
    seconds = time.perf_counter() - start
    truth = pd.read_parquet(folder / "_truth" / "businesses.parquet", columns=["company_number", "infiltrated"])
    y_true = truth.set_index("company_number")["infiltrated"].reindex(fm.X.index).fillna(False).astype(int).to_numpy()
    ev, tr = fm.split.evaluation, fm.split.train
    y_label = (fm.status == 1).astype(int).to_numpy()
    naive = naive_counts(ds, fm.as_of).reindex(fm.X.index)
    naive_model = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2).fit(naive[tr], y_label[tr])
    truth_model = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2, n_estimators=300, learning_rate=0.03,
                                     num_leaves=15, min_child_samples=50, colsample_bytree=0.5)
    truth_model.fit(fm.X[tr], y_true[tr])
    out = {
        "model": float(average_precision_score(y_true[ev], fm.log_odds[ev])),
        "naive": float(average_precision_score(y_true[ev], naive_model.predict_proba(naive[ev])[:, 1])),
        "truth": float(average_precision_score(y_true[ev], truth_model.predict_proba(fm.X[ev])[:, 1])),
        "random": float(y_true[ev].mean()),
        **{f"synth_issue_{k}": v for k, v in naive_vs_truth(folder, fm.as_of, seed).items()
           if k in ("naive_labels", "signals_truth", "prevalence")},
        "label_pr_auc": fm.metrics["pr_auc"], "label_positives": fm.metrics["positives"],
        "evaluation_businesses": float(ev.sum()), "true_cases_in_evaluation": float(y_true[ev].sum()),
        "fit_seconds": seconds, "explanations_per_second": fm.metrics["explanations_per_second"],
        "trees": fm.metrics["trees"],
    }
    out["model_over_naive"] = out["model"] / out["naive"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--businesses", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202])
    # A developer's cache of synthetic worlds, reused across runs on purpose (the docs name the folder).
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/eval-training"))  # noqa: S108 -- see the line above
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        folder = ensure_world(args.workdir / f"n{args.businesses}-s{seed}", args.businesses, seed)
        results.append(evaluate(folder, args.overrides, seed))
        print(json.dumps({"seed": seed, **results[-1]}), flush=True)
    print_medians(results, args.seeds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
