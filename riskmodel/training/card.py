"""Model card in Markdown, written to double as a draft Algorithmic Transparency Recording Standard (ATRS) record.

The card follows Mitchell et al., "Model cards for model reporting" (FAT* 2019): intended use, data, features,
performance overall and per slice, fairness, limitations. Its last section maps the content onto the UK ATRS
(Tier 1 overview; Tier 2 sections on owner and responsibility, description and rationale, decision-making process,
tool specification and data, risks, mitigations and impact assessments). Fields only the organisation that runs
the tool can fill in (owner, contacts, impact assessments) are left as placeholders (:data:`PLACEHOLDER`).

:func:`model_card` is a pure function of :class:`CardInputs`: no I/O, no clock, so a card can be rebuilt exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FAIRNESS_HIGH", "FAIRNESS_LOW", "FAIRNESS_MIN_EXPECTED", "MAX_SLICE_ROWS", "PLACEHOLDER",
           "SMALL_SLICE_POSITIVES", "CardInputs", "flagged_groups", "model_card"]

#: Text of every field the owning organisation must complete before the record is published.
PLACEHOLDER = "*To be completed by the owning organisation.*"
#: Slices with fewer positives than this are marked as unstable.
SMALL_SLICE_POSITIVES = 5
#: Slice rows shown per kind (largest slices first).
MAX_SLICE_ROWS = 30
#: A group is flagged when its share in the top 1% is above this multiple of the overall share...
FAIRNESS_HIGH = 1.25
#: ...or below this one (the four-fifths rule, used as a screening heuristic only).
FAIRNESS_LOW = 0.8
#: Groups expected to have fewer businesses than this on the review list at the overall rate are shown but not
#: screened: one business more or less moves their ratio across both thresholds.
FAIRNESS_MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class CardInputs:
    """Everything the model card says, gathered by the training run.

    Attributes
    ----------
    model_name : str
        Registered model name, e.g. ``riskmodel``.
    model_version : str or None
        Registry version; None before registration.
    run_id : str or None
        Tracking run id.
    created_at : str
        ISO timestamp of the run.
    code_version : str
        Package version and git commit.
    data_source : str
        ``dataset.json`` ``source``, or the data folder name.
    data_sha256 : str
        Fingerprint of the input data.
    extract_date : str
        Date the data were extracted.
    train_as_of : str
        Point in time of the training features and labels.
    validation_window : str
        Period the validation labels come from, e.g. ``2024-07-01 to 2025-06-30``.
    counts : mapping of str to int
        Row counts, e.g. ``businesses_train``, ``positives_train``, ``businesses_validation``,
        ``positives_validation``.
    feature_set : str
        Name of the feature set.
    features : sequence of (name, family, rationale)
        Every model feature.
    pu_strategy : str
        Positive-unlabelled strategy name.
    pu_description : str
        One or two sentences on what the strategy does.
    calibration : str
        How probabilities were calibrated.
    bands : sequence of mapping
        Risk bands, highest first, each with ``band``, ``min_score``, ``share``, ``precision``, ``recall``.
    metrics : mapping of str to float
        Validation measures, e.g. ``pr_auc``, ``roc_auc``, ``precision_at_50``, ``recall_at_top_1pct``,
        ``brier``, ``prevalence``, ``explanations_per_second``.
    slices : DataFrame
        Columns ``kind`` (``sector`` or ``region``), ``slice``, ``businesses``, ``positives``, ``pr_auc``,
        ``precision_at_top_1pct``.
    fairness : DataFrame
        Columns ``attribute``, ``group``, ``businesses``, ``share_in_top_1pct``, ``mean_score``, ``positives``,
        ``ratio_to_overall``.
    protected_columns : sequence of str
        Contract columns never used as features, e.g. ``officers.nationality``.
    limitations : sequence of str
        Limitations added to the built-in ones.
    """

    model_name: str
    model_version: str | None
    run_id: str | None
    created_at: str
    code_version: str
    data_source: str
    data_sha256: str
    extract_date: str
    train_as_of: str
    validation_window: str
    counts: Mapping[str, int]
    feature_set: str
    features: Sequence[tuple[str, str, str]]
    pu_strategy: str
    pu_description: str
    calibration: str
    bands: Sequence[Mapping[str, object]]
    metrics: Mapping[str, float]
    slices: pd.DataFrame
    fairness: pd.DataFrame
    protected_columns: Sequence[str]
    limitations: Sequence[str] = ()


# ---------------------------------------------------------------------------------------------------- formatting


def _number(value: object) -> float | None:
    """``value`` as a finite float, or None when missing, not a number, or infinite."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _fmt(value: object) -> str:
    """Format a measure with three decimals (three significant digits below 0.01); ``n/a`` when missing."""
    x = _number(value)
    if x is None:
        return "n/a"
    if x == 0 or abs(x) >= 0.01:
        return f"{x:.3f}"
    return f"{x:.3g}"


def _pct(value: object) -> str:
    """Format a share as a percentage: one decimal, two significant digits below 1%; ``n/a`` when missing."""
    x = _number(value)
    if x is None:
        return "n/a"
    p = 100.0 * x
    if p == 0 or abs(p) >= 1:
        return f"{p:.1f}%"
    return f"{p:.2g}%"


def _count(value: object) -> str:
    """Format a whole number with thousands separators; ``n/a`` when missing."""
    x = _number(value)
    return "n/a" if x is None else f"{round(x):,}"


def _ratio(value: object) -> str:
    x = _number(value)
    return "n/a" if x is None else f"{x:.2f}"


def _cell(value: object) -> str:
    """Table cell text: one line, ``|`` escaped so it cannot split the cell."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


# ---------------------------------------------------------------------------------------------------- metrics

_METRICS: dict[str, tuple[str, str]] = {
    "pr_auc": ("Average precision (PR-AUC)",
               "How well confirmed cases are ranked above other businesses; a random order scores the prevalence."),
    "roc_auc": ("ROC-AUC",
                "Chance that a confirmed case is ranked above a business that is not; 0.5 is a random order."),
    "recall_at_top_1pct": ("Recall in the top 1%",
                           "Share of all confirmed cases found among the 1% highest-scored businesses."),
    "brier": ("Brier score",
              "Mean squared error of the calibrated probability; lower is better."),
    "prevalence": ("Prevalence",
                   "Share of businesses that were confirmed cases in the validation window."),
    "explanations_per_second": ("Explanations per second",
                                "Businesses scored and explained per second on the training machine."),
    "businesses": ("Businesses evaluated", "Businesses in the validation set."),
    "positives": ("Confirmed cases", "Businesses labelled positive in the validation window."),
}
_PRECISION_AT = re.compile(r"^precision_at_(\d+)$")
_PERCENT_METRICS = {"prevalence", "recall_at_top_1pct"}


def _metric_row(key: str, value: float) -> tuple[str, str, str]:
    match = _PRECISION_AT.match(key)
    if match:
        k = int(match.group(1))
        name, meaning = (f"Precision in the top {k:,}",
                         f"Share of the {k:,} highest-scored businesses that were confirmed cases.")
    else:
        name, meaning = _METRICS.get(key, (key.replace("_", " ").capitalize(), ""))
    if key.endswith("per_second"):
        x = _number(value)
        shown = "n/a" if x is None else f"{x:,.0f}"
    elif key in ("businesses", "positives"):
        shown = _count(value)
    elif key in _PERCENT_METRICS:
        shown = f"{_fmt(value)} ({_pct(value)})" if _number(value) is not None else "n/a"
    else:
        shown = _fmt(value)
    return name, shown, meaning


def _metric_order(key: str) -> tuple[int, int, str]:
    fixed = ["pr_auc", "roc_auc"]
    if key in fixed:
        return (0, fixed.index(key), key)
    match = _PRECISION_AT.match(key)
    if match:
        return (1, int(match.group(1)), key)
    later = ["recall_at_top_1pct", "brier", "prevalence", "businesses", "positives", "explanations_per_second"]
    if key in later:
        return (2, later.index(key), key)
    return (3, 0, key)


# ---------------------------------------------------------------------------------------------------- sections


def _summary(card: CardInputs) -> str:
    version = f"version {card.model_version}" if card.model_version else "not yet registered"
    pr_auc = _fmt(card.metrics.get("pr_auc"))
    prevalence = _pct(card.metrics.get("prevalence"))
    title = f"# Model card: {card.model_name} ({version})"
    summary = (
        f"{card.model_name} ranks businesses by how likely they are to be confirmed as organised-crime "
        f"infiltration cases, so that licensing officers, procurement checks and analysts can decide which "
        f"businesses a person should look at first. It is a LightGBM model on point-in-time features "
        f"(feature set {_code(card.feature_set)}, {len(card.features)} features) built from "
        f"{card.data_source} (extracted {card.extract_date}), trained as of {card.train_as_of} and validated on "
        f"cases confirmed {card.validation_window}, where its average precision was {pr_auc} against a "
        f"prevalence of {prevalence}. Scores are advisory: every score comes with its reasons and is reviewed by "
        f"a person; the model never makes a decision about a business on its own."
    )
    meta = _table(["Item", "Value"], [
        ["Model", card.model_name],
        ["Registry version", card.model_version or "not registered"],
        ["Tracking run", card.run_id or "none"],
        ["Created", card.created_at],
        ["Code version", card.code_version],
    ])
    return f"{title}\n\n{summary}\n\n{meta}"


def _intended_use() -> str:
    return "\n".join([
        "## Intended use",
        "",
        "- **What it is for:** an advisory ranking of businesses for human review by licensing officers, "
        "procurement (due-diligence) checks and intelligence analysts, to decide where limited review time goes "
        "first.",
        "- **What it is not:** never an automated decision. A score on its own is not grounds to refuse, revoke or "
        "suspend a licence, exclude a supplier, open an investigation or share information; any such action "
        "needs a person's assessment of the underlying records.",
        "- **Businesses, not people:** scores describe companies. The model is not for use on individuals "
        "(directors, owners, employees), and scores must not be attached to a person's record.",
        "- **Out of scope:** credit, insurance or employment decisions; immigration or nationality checks; "
        "publishing or sharing scores outside the review process; use on businesses or data sources unlike the "
        "training data (other countries, sole traders without a register entry) without a new evaluation; use "
        "as evidence in proceedings.",
    ])


def _how_it_works(card: CardInputs) -> str:
    parts = [
        "## How it works",
        "",
        "Features describing each business are computed as they stood on a given date (point in time), so the "
        "model never sees information from after the date it scores. A LightGBM gradient-boosted tree model "
        "turns them into a log-odds score, and the score is calibrated into a probability "
        f"({card.calibration}).",
        "",
        f"The calibrated probability is the chance that a business like this one is **confirmed (labelled "
        f"positive) within the validation horizon** ({card.validation_window}). It is **not** the chance that "
        f"the business is criminal: most infiltrated businesses are never detected, and detection depends on "
        f"where agencies look (see Data).",
        "",
        f"Positive-unlabelled strategy: {_code(card.pu_strategy)}. {card.pu_description}",
        "",
        "Every score is explained by its top reasons: per-feature SHAP contributions, each traced back to the "
        "source records behind the feature.",
        "",
        "### Risk bands",
        "",
    ]
    if card.bands:
        rows = [[b.get("band", ""), _fmt(b.get("min_score")), _pct(b.get("share")), _fmt(b.get("precision")),
                 _fmt(b.get("recall"))] for b in card.bands]
        parts += [_table(["Band", "Minimum calibrated score", "Share of businesses (validation)",
                          "Precision (validation)", "Recall (validation)"], rows), "",
                  "Bands are listed highest first; a business falls in the highest band whose minimum score it "
                  "reaches. Precision and recall are measured against detected cases only."]
    else:
        parts.append("No risk bands were supplied.")
    return "\n".join(parts)


def _data(card: CardInputs) -> str:
    counts = _table(["Count", "Value"], [[k.replace("_", " "), _count(v)] for k, v in card.counts.items()])
    return "\n".join([
        "## Data",
        "",
        _table(["Item", "Value"], [
            ["Source", card.data_source],
            ["Data fingerprint (SHA-256)", _code(card.data_sha256)],
            ["Extract date", card.extract_date],
            ["Training as of", card.train_as_of],
            ["Validation window", card.validation_window],
        ]),
        "",
        counts if card.counts else "No counts were supplied.",
        "",
        "**Labels are positive-unlabelled.** Only detected cases are known. A business without a label is "
        "*unknown*, not clean: it may be an infiltrated business nobody has found. Detection is biased towards "
        "the sectors, places and behaviours agencies already look at, so the labels describe what gets caught "
        "as much as what happens. Every measure in this card is computed against detected cases; it understates "
        "or misstates performance on undetected cases, and precision is best read as a lower bound on the share "
        "of true cases in a review list.",
    ])


def _features(card: CardInputs) -> str:
    families: dict[str, int] = {}
    for _, family, _ in card.features:
        families[family] = families.get(family, 0) + 1
    parts = ["## Features", "",
             f"Feature set {_code(card.feature_set)}: {len(card.features)} features in {len(families)} families.", ""]
    if not card.features:
        parts.append("No features were supplied.")
        return "\n".join(parts)
    parts += [_table(["Family", "Features"], [[f, str(n)] for f, n in sorted(families.items())]), "",
              _table(["Name", "Family", "Rationale"], [[_code(n), f, r] for n, f, r in card.features])]
    return "\n".join(parts)


def _performance(card: CardInputs) -> str:
    parts = ["## Performance", "",
             f"Measured on businesses in the validation window ({card.validation_window}), against detected cases "
             f"only.", ""]
    if card.metrics:
        rows = [_metric_row(k, v) for k, v in sorted(card.metrics.items(), key=lambda kv: _metric_order(kv[0]))]
        parts.append(_table(["Measure", "Value", "Meaning"], rows))
    else:
        parts.append("No measures were supplied.")
    parts += ["", "### Slices", ""]
    slices = card.slices
    if slices is None or slices.empty:
        parts.append("No slice figures were supplied.")
        return "\n".join(parts)
    kinds = list(dict.fromkeys(["sector", "region", *[str(k) for k in pd.unique(slices["kind"])]]))
    small_seen = False
    for kind in kinds:
        part = slices[slices["kind"].astype(str) == kind]
        if part.empty:
            continue
        part = part.sort_values(["businesses", "slice"], ascending=[False, True], kind="stable")
        shown = part.head(MAX_SLICE_ROWS)
        slice_rows: list[list[object]] = []
        for r in shown.to_dict("records"):
            positives = _number(r["positives"])
            small = positives is not None and positives < SMALL_SLICE_POSITIVES
            small_seen = small_seen or small
            slice_rows.append([r["slice"], _count(r["businesses"]), _count(r["positives"]), _fmt(r["pr_auc"]),
                               _fmt(r["precision_at_top_1pct"]),
                               f"fewer than {SMALL_SLICE_POSITIVES} positives" if small else ""])
        parts += [f"#### By {kind}", "",
                  _table([kind.capitalize(), "Businesses", "Positives", "PR-AUC", "Precision in top 1%", "Caution"],
                         slice_rows), ""]
        if len(part) > len(shown):
            parts += [f"{len(part) - len(shown)} smaller {kind} slices not shown.", ""]
    if small_seen:
        parts.append(f"Slices with fewer than {SMALL_SLICE_POSITIVES} positives are unstable: one more or one fewer "
                     f"detected case changes their figures a lot. Do not compare them or act on them.")
    return "\n".join(parts).rstrip()


def flagged_groups(fairness: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Return the groups whose ratio is outside the screen, among groups large enough to be screened."""
    out: list[tuple[str, str, float]] = []
    frame = fairness.assign(attribute=fairness["attribute"].astype(str))
    businesses = pd.to_numeric(frame["businesses"], errors="coerce")
    selected = businesses * pd.to_numeric(frame["share_in_top_1pct"], errors="coerce")
    # Each attribute splits the same businesses, so its overall rate is its selected over its businesses.
    overall = selected.groupby(frame["attribute"]).transform("sum") / businesses.groupby(
        frame["attribute"]).transform("sum")
    expected = (businesses * overall).to_numpy(dtype="float64", na_value=np.nan)
    for r, exp in zip(frame.to_dict("records"), expected, strict=True):
        ratio = _number(r.get("ratio_to_overall"))
        if ratio is not None and exp >= FAIRNESS_MIN_EXPECTED and (ratio > FAIRNESS_HIGH or ratio < FAIRNESS_LOW):
            out.append((str(r.get("attribute")), str(r.get("group")), ratio))
    return out


def _fairness(card: CardInputs) -> str:
    names = {n for n, _, _ in card.features}
    clash = [c for c in card.protected_columns if c in names or c.rsplit(".", 1)[-1] in names]
    parts = ["## Fairness", "",
             "Protected characteristics are never model features. These contract columns are read only to audit "
             "the scores:", ""]
    parts += [f"- {_code(c)}" for c in card.protected_columns] or ["- (none listed)"]
    if clash:
        parts += ["", "**Warning:** features share a name with protected columns: "
                  + ", ".join(_code(c) for c in clash) + ". Check that no protected characteristic is a feature."]
    parts += ["",
              "The review list is the top 1% of the evaluation businesses by score. For each group (of the "
              "protected characteristics above, and of sector and region, so that a trade or a place does not "
              "carry reviews out of proportion) the table gives its selection rate (share of its businesses on "
              "the list) and the ratio of that rate to the overall rate, and the precision of its selected "
              "businesses (the share that are detected cases: a lower bound, as labels are detected cases only). "
              f"A ratio above {FAIRNESS_HIGH} or below {FAIRNESS_LOW} is flagged for review, using the four-fifths "
              "rule as a screening heuristic: a flag is a reason to look closer, not proof of unfairness, and a "
              "ratio inside the range is not proof of fairness. Groups expected to have fewer than "
              f"{FAIRNESS_MIN_EXPECTED:g} businesses on the list at the overall rate are not screened: their ratio "
              "moves across both thresholds with one business.",
              ""]
    fairness = card.fairness
    if fairness is None or fairness.empty:
        parts.append("No fairness figures were supplied.")
        return "\n".join(parts)
    flagged = flagged_groups(fairness)
    flagged_keys = {(a, g) for a, g, _ in flagged}
    protected = [a for a in pd.unique(fairness["attribute"].astype(str)) if a not in ("sector", "region")]
    for attribute in [*protected, "sector", "region"]:
        part = fairness[fairness["attribute"].astype(str) == attribute]
        if part.empty:
            continue
        if attribute in ("sector", "region"):  # many groups: the largest, like the slices
            part = part.sort_values(["businesses", "group"], ascending=[False, True], kind="stable")
        shown = part.head(MAX_SLICE_ROWS)
        rows = [[r["group"], _count(r["businesses"]), _count(r["positives"]), _count(r.get("selected")),
                 _pct(r["share_in_top_1pct"]), _ratio(r["ratio_to_overall"]), _pct(r.get("precision_in_top_1pct")),
                 _fmt(r["mean_score"]), "flagged" if (attribute, str(r["group"])) in flagged_keys else ""]
                for r in shown.to_dict("records")]
        parts += [f"#### By {attribute.replace('_', ' ')}", "",
                  _table(["Group", "Businesses", "Positives", "Selected", "Selection rate", "Ratio to overall",
                          "Precision of selected", "Mean score", "Screen"], rows), ""]
        if len(part) > len(shown):
            hidden = part.iloc[len(shown):]
            hidden_flags = sum((attribute, str(g)) in flagged_keys for g in hidden["group"])
            parts += [f"{len(hidden)} smaller {attribute} groups not shown ({hidden_flags} of them flagged; all are "
                      "in the run's evaluation/fairness.csv).", ""]
    if flagged:
        listed = "; ".join(f"{a} = {g} (ratio {r:.2f})" for a, g, r in flagged[:MAX_SLICE_ROWS])
        more = f"; and {len(flagged) - MAX_SLICE_ROWS} more" if len(flagged) > MAX_SLICE_ROWS else ""
        parts.append(f"**Flagged for review** (ratio outside {FAIRNESS_LOW} to {FAIRNESS_HIGH}): {listed}{more}.")
    else:
        parts.append(f"No group is flagged: every ratio is within {FAIRNESS_LOW} to {FAIRNESS_HIGH}.")
    return "\n".join(parts)


def _limitations(card: CardInputs) -> list[str]:
    built_in = [
        "**Positive-unlabelled, biased labels.** Only detected cases are labelled, and detection follows where "
        "agencies already look; the model learns to find cases like those already found, and its measures say "
        "little about the cases nobody has detected.",
        "**Feedback loops.** Businesses reviewed because of a high score are more likely to be confirmed, and "
        "those confirmations become the next model's labels. Keep part of review capacity for cases not selected "
        "by the model and compare outcomes.",
        "**Data quality.** Register, licensing and other source records can be late, incomplete, wrong, or "
        "wrongly matched to a business; errors flow into features and reasons. Reviewers check the records "
        "behind a reason before relying on it.",
        f"**Drift.** Performance was measured on {card.validation_window}. Behaviour, data sources and "
        f"enforcement priorities change; scores degrade unless the model is monitored and retrained.",
        f"**Small-slice uncertainty.** Figures for sectors, regions or groups with few businesses or fewer than "
        f"{SMALL_SLICE_POSITIVES} positives are noisy.",
        "**Proxies for protected characteristics.** Protected characteristics are not features, but other "
        "features can stand in for them (for example location, sector, or company names and networks); the "
        "fairness screen covers only the groups listed.",
        "**Not a probability of criminality.** The calibrated score estimates the chance of a confirmed case "
        "within the validation horizon, given how cases were detected in the past.",
    ]
    return built_in + [str(extra) for extra in card.limitations]


def _limitations_section(card: CardInputs) -> str:
    return "\n".join(["## Limitations", "", *[f"- {item}" for item in _limitations(card)]])


def _challenge() -> str:
    return "\n".join([
        "## How to challenge a score",
        "",
        "- **Every score has reasons.** Each score comes with its top reasons, each traced to the source records "
        "behind it, so a reviewer (and, where disclosure is appropriate, the business) can see what drove it.",
        "- **A person reviews before any action.** Scores are read by a trained officer, who checks the records "
        "and records their own judgement; no action follows from a score alone.",
        "- **Asking for a review.** The business concerned, or any officer who disagrees with a score, can ask "
        "for it to be reviewed by contacting the model owner (see ATRS draft, Tier 1 contact). The review checks "
        "the reasons, the records behind them and whether the model was used within its intended use.",
        "- **Correcting source records.** Errors in a source record are corrected at the source (for example the "
        "register or licensing system that holds it); the corrected record flows into the next extract, and the "
        "business is rescored then. A score based on a record found to be wrong is set aside until the "
        "business is rescored.",
        "- **Reporting problems with the model.** Patterns of poor or uneven scores go to the model owner, who "
        "decides on retraining, changes to features, or withdrawing the model.",
    ])


def _atrs(card: CardInputs) -> str:
    version = f"version {card.model_version}" if card.model_version else "not registered"
    n_features = len(card.features)
    counts = ", ".join(f"{k.replace('_', ' ')} {_count(v)}" for k, v in card.counts.items()) or "see Data"
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("Tier 1: overview", [
            ("Name", card.model_name),
            ("Description", "Ranks businesses by the chance of being confirmed as an organised-crime infiltration "
                            "case, so that people choose which businesses to review first. Advisory only; a person "
                            "reviews every score before any action. See the summary and Intended use."),
            ("Website", PLACEHOLDER),
            ("Contact email", PLACEHOLDER),
        ]),
        ("Tier 2, section 1: owner and responsibility", [
            ("Organisation", PLACEHOLDER),
            ("Team", PLACEHOLDER),
            ("Senior responsible owner", PLACEHOLDER),
            ("External supplier involvement", PLACEHOLDER),
            ("Supplier name, Companies House number and role", PLACEHOLDER),
            ("Procurement procedure type", PLACEHOLDER),
            ("Terms of supplier access to data", PLACEHOLDER),
        ]),
        ("Tier 2, section 2: description and rationale", [
            ("Detailed description", "See How it works: LightGBM gradient-boosted trees on point-in-time features, "
                                     f"calibrated ({card.calibration}), with risk bands and per-score reasons."),
            ("Scope", "See Intended use: advisory ranking of businesses for licensing, procurement checks and "
                      "analysis; not for individuals; never an automated decision."),
            ("Benefits", "Focuses limited review time on the businesses with the strongest documented signals, "
                         "each with its reasons. Measured benefit: see Performance. " + PLACEHOLDER),
            ("Alternatives considered", PLACEHOLDER),
        ]),
        ("Tier 2, section 3: decision-making process", [
            ("Process integration", "Scores order review queues; a person decides what, if anything, to do."),
            ("Provided information", "Calibrated score, risk band and top reasons traced to source records."),
            ("Frequency and scale of usage", f"Scale at training: {counts}. Frequency: " + PLACEHOLDER),
            ("Human decisions and review", "Every score is reviewed by a person before any action; see How to "
                                           "challenge a score."),
            ("Required training", PLACEHOLDER),
            ("Appeals and review", "See How to challenge a score. Contact route: " + PLACEHOLDER),
        ]),
        ("Tier 2, section 4: tool specification and data", [
            ("System architecture", f"Model {card.model_name} ({version}), code {card.code_version}, run "
                                    f"{card.run_id or 'none'}."),
            ("Phase", PLACEHOLDER),
            ("Maintenance and retraining", "Retrain and re-run this card when data or behaviour drift. Schedule: "
                                           + PLACEHOLDER),
            ("Model performance", "See Performance and Fairness."),
            ("Source data", f"{card.data_source}, extracted {card.extract_date}, SHA-256 {card.data_sha256}."),
            ("Data description", f"{n_features} features (see Features); labels are detected cases "
                                 "(positive-unlabelled)."),
            ("Data completeness and representativeness", "Labels cover detected cases only and are biased towards "
                                                         "where agencies look; see Data and Limitations."),
            ("Data collection, sharing, access and storage", PLACEHOLDER),
        ]),
        ("Tier 2, section 5: risks, mitigations and impact assessments", [
            ("Impact assessments (e.g. DPIA, equality impact assessment)", PLACEHOLDER),
            ("Risks and mitigations", "See Limitations (risks) and Fairness; mitigations: human review of every "
                                      "score, reasons traced to records, protected characteristics excluded from "
                                      "features and audited, challenge route, monitoring and retraining."),
        ]),
    ]
    parts = ["## ATRS draft", "",
             "Draft content for an Algorithmic Transparency Recording Standard record, mapped from this card. "
             "Fields marked as to be completed need the owning organisation; review every field before "
             "publication.", ""]
    for heading, fields in sections:
        parts += [f"### {heading}", "", _table(["ATRS field", "Draft"], fields), ""]
    return "\n".join(parts).rstrip()


def model_card(card: CardInputs) -> str:
    """Render the model card, with a draft ATRS record, as Markdown.

    Parameters
    ----------
    card : CardInputs
        What the training run measured and recorded.

    Returns
    -------
    str
        Markdown with sections: summary, Intended use, How it works (with risk bands), Data, Features,
        Performance (measures and slices), Fairness, Limitations, How to challenge a score, ATRS draft. Table
        cells have ``|`` escaped; measures show three decimals, shares percentages, missing values ``n/a``.

    Notes
    -----
    Slice tables show at most :data:`MAX_SLICE_ROWS` rows per kind (largest first); fairness groups whose
    ``ratio_to_overall`` is above :data:`FAIRNESS_HIGH` or below :data:`FAIRNESS_LOW` are flagged.
    """
    sections = [_summary(card), _intended_use(), _how_it_works(card), _data(card), _features(card),
                _performance(card), _fairness(card), _limitations_section(card), _challenge(), _atrs(card)]
    return "\n\n".join(sections) + "\n"
