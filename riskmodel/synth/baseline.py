"""How hard is a synthetic world? A naive baseline against a model that learns from the latent truth.

The naive baseline is what anyone could build in an hour: a few row counts per business and table, LightGBM with
default parameters, trained on the labels known at a training date (unlabelled = negative). The reference model
uses the same features but learns from the latent truth instead of the biased, positive-unlabelled labels. Both
are scored against the truth on businesses with no label at the training date (the leads a user would want), so
the gap measures what label bias costs, and the gap to 1.0 what the counts cannot see. This module reads
``_truth/`` and is evaluation tooling: features, training and scoring code never import it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import average_precision_score

from riskmodel.contract import Dataset, load_dataset

__all__ = ["Targets", "evaluation_targets", "naive_counts", "naive_vs_truth", "signal_features"]


def _count(frame: pd.DataFrame, key: str, date_col: str, as_of: pd.Timestamp, name: str,
           where: pd.Series | None = None) -> pd.Series:
    rows = frame[frame[date_col] <= as_of]
    if where is not None:
        rows = rows[where.reindex(rows.index).fillna(False).to_numpy(dtype=bool)]
    return rows.groupby(key).size().rename(name)


def naive_counts(ds: Dataset, as_of: dt.date) -> pd.DataFrame:
    """Count rows per business and table as of a date (point in time: only rows dated on or before it).

    Parameters
    ----------
    ds : Dataset
        A loaded data set.
    as_of : date
        Only rows dated on or before it are counted.

    Returns
    -------
    DataFrame
        One row per business existing at ``as_of``, indexed by company_number.
    """
    t = pd.Timestamp(as_of)
    comp = ds["companies"]
    comp = comp[comp["date_of_creation"] <= t].set_index("company_number")
    feats = [pd.Series(((t - comp["date_of_creation"]).dt.days / 365.25), name="age_years")]
    off, own, acc = ds["officers"], ds["ownership"], ds["accounts"]
    lic, con = ds["licences"], ds["contracts"]
    feats += [
        _count(off, "company_number", "appointed_on", t, "officer_appointments"),
        _count(off, "company_number", "resigned_on", t, "officer_resignations"),
        _count(own, "company_number", "notified_on", t, "psc_notifications"),
        _count(own, "company_number", "notified_on", t, "corporate_psc", own["owner_kind"] == "corporate"),
        _count(acc, "company_number", "filed_on", t, "accounts_filed"),
        _count(lic, "holder_company_number", "applied_on", t, "licence_applications"),
        _count(con, "supplier_company_number", "award_date", t, "contract_awards"),
    ]
    return pd.concat(feats, axis=1).reindex(comp.index).fillna({f.name: 0 for f in feats[1:]})


def signal_features(ds: Dataset, as_of: dt.date) -> pd.DataFrame:
    """Count the red flags the generator's mechanisms plant, as of a date (evaluation tooling only).

    These are deliberately simple versions of the indicators in ``docs/synth.md``; they bound from below what a
    feature pipeline that knows the domain can reach, and are not the product's features.
    """
    t = pd.Timestamp(as_of)
    base = naive_counts(ds, as_of)
    comp = ds["companies"].set_index("company_number")
    off = ds["officers"][ds["officers"]["appointed_on"] <= t]
    own = ds["ownership"][ds["ownership"]["notified_on"] <= t]
    acc = ds["accounts"][ds["accounts"]["filed_on"] <= t]
    lic = ds["licences"][ds["licences"]["applied_on"] <= t]
    con = ds["contracts"][ds["contracts"]["award_date"] <= t]
    key = "company_number"
    directorships = off.groupby("officer_id")[key].nunique()
    off = off.assign(other=off["officer_id"].map(directorships) - 1)
    shared_officers = off[off["other"].between(1, 30)].groupby(key)["other"].sum()
    address_count = comp.groupby("registered_office_postcode").size()
    offshore = own[(own["owner_kind"] == "corporate") & ~own["owner_jurisdiction"].isin(["GB", None])]
    lateness = (acc["filed_on"] - acc["period_end"]).dt.days > 274
    decided = lic[lic["decided_on"].notna() & (lic["decided_on"] <= t)]
    single = con[(con["number_of_tenderers"] == 1) & con["procurement_method"].isin(["open", "selective"])]
    inflated = con[con["final_value"] > 1.2 * con["award_value"]]
    short = con[(con["tender_deadline"] - con["tender_published_on"]).dt.days < 10]
    feats = pd.DataFrame({
        "officers_with_other_directorships": shared_officers,
        "businesses_at_same_postcode": comp["registered_office_postcode"].map(address_count),
        "offshore_corporate_psc": offshore.groupby(key).size(),
        "unknown_psc": own[own["owner_kind"] == "unknown"].groupby(key).size(),
        "late_filings": acc[lateness].groupby(key).size(),
        "police_objections": lic[lic["police_objection"].fillna(False).astype(bool)].groupby(
            "holder_company_number").size(),
        "refused_or_revoked": decided[decided["status"].isin(["refused", "revoked"])].groupby(
            "holder_company_number").size(),
        "single_bid_awards": single.groupby("supplier_company_number").size(),
        "inflated_awards": inflated.groupby("supplier_company_number").size(),
        "short_tenders": short.groupby("supplier_company_number").size(),
    })
    if "transactions" in ds:
        tx = ds["transactions"][ds["transactions"]["booked_at"] <= t + pd.Timedelta(days=1)]
        structured = tx[(tx["channel"] == "cash") & tx["amount"].between(9000, 9999.99)]
        risky = tx[tx["counterparty_country"].isin(["AE", "TR", "CY", "PA", "VG", "KY", "BZ", "SC"])]
        feats["structured_cash"] = structured.groupby(key).size()
        feats["high_risk_flows"] = risky.groupby(key).size()
    return base.join(feats.reindex(base.index).fillna(0))


@dataclass(frozen=True)
class Targets:
    """What an evaluation on a synthetic world scores against (indexed like the feature frame)."""

    y_true: pd.Series  # latent truth: infiltrated
    y_label: pd.Series  # known positives at the training date (unlabelled = 0)
    half: npt.NDArray[np.bool_]  # training half for models fitted on the truth
    evaluate: npt.NDArray[np.bool_]  # unlabelled at the training date and in the other half
    known_positives: int


def evaluation_targets(ds: Dataset, data_dir: str | Path, index: pd.Index, as_of: dt.date, seed: int) -> Targets:
    """Truth, labels known at ``as_of`` and the evaluation split shared by every synthetic evaluation."""
    truth = pd.read_parquet(Path(data_dir) / "_truth" / "businesses.parquet",
                            columns=["company_number", "infiltrated"]).set_index("company_number")["infiltrated"]
    y_true = truth.reindex(index).fillna(False).astype(int)
    labels = ds["labels"]
    known = labels[labels["labelled_on"] <= pd.Timestamp(as_of)]
    positives = set(known.loc[known["label"] == 1, "company_number"])
    y_label = pd.Series(index.isin(list(positives)).astype(int), index=index)
    unlabelled = ~index.isin(list(set(known["company_number"])))
    half = np.random.default_rng(seed).random(len(index)) < 0.5  # truth-trained: fit on one half, score the other
    return Targets(y_true, y_label, half, unlabelled & ~half, len(positives))


def naive_vs_truth(data_dir: str | Path, as_of: dt.date, seed: int = 0) -> dict[str, float]:
    """PR-AUC against the truth: naive and red-flag features, each trained on the labels and on the truth.

    Parameters
    ----------
    data_dir : str or Path
        A data set written by ``riskmodel synth`` (with its truth folder).
    as_of : date
        Training date: features and labels use only what was known then.
    seed : int
        LightGBM seed.

    Returns
    -------
    dict
        ``naive_labels`` (the naive baseline), ``naive_truth``, ``signals_labels``, ``signals_truth``, and
        ``prevalence`` (the PR-AUC of a random ranking), ``known_positives`` and ``evaluated``.
    """
    ds = load_dataset(data_dir)
    features = {"naive": naive_counts(ds, as_of), "signals": signal_features(ds, as_of)}
    t = evaluation_targets(ds, data_dir, features["naive"].index, as_of, seed)
    y_true, y_label, half, evaluate = t.y_true, t.y_label, t.half, t.evaluate
    out: dict[str, float] = {}
    for name, X in features.items():
        by_labels = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2).fit(X, y_label)
        by_truth = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2).fit(X[half], y_true[half])
        for suffix, model in (("labels", by_labels), ("truth", by_truth)):
            scores = np.asarray(model.predict_proba(X[evaluate]))[:, 1]
            out[f"{name}_{suffix}"] = float(average_precision_score(y_true[evaluate], scores))
    out.update(prevalence=float(y_true[evaluate].mean()), known_positives=float(t.known_positives),
               evaluated=float(evaluate.sum()))
    return out
