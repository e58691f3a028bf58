"""Model card: sections, formatting, escaping, slice and fairness rules, ATRS placeholders."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.training.card import PLACEHOLDER, CardInputs, model_card

SECTIONS = ["## Intended use", "## How it works", "## Data", "## Features", "## Performance", "## Fairness",
            "## Limitations", "## How to challenge a score", "## ATRS draft"]


def _inputs(**overrides: Any) -> CardInputs:
    card = CardInputs(
        model_name="riskmodel",
        model_version="3",
        run_id="run-42",
        created_at="2025-07-01T10:00:00+00:00",
        code_version="0.1.0 (15e96c3)",
        data_source="example registers",
        data_sha256="ab12cd34",
        extract_date="2025-06-30",
        train_as_of="2024-06-30",
        validation_window="2024-07-01 to 2025-06-30",
        counts={"businesses_train": 12000, "positives_train": 150, "businesses_validation": 11000,
                "positives_validation": 90},
        feature_set="default",
        features=[("officer_churn", "ownership", "Director changes | nominee pattern"),
                  ("cash_share", "accounts", "High cash share of assets"),
                  ("late_filings", "register", "Filings overdue")],
        pu_strategy="weighted-negative",
        pu_description="Unlabelled businesses are down-weighted negatives.",
        calibration="isotonic, fitted on the calibration half of the validation window",
        bands=[{"band": "high", "min_score": 0.0412, "share": 0.01, "precision": 0.21, "recall": 0.3},
               {"band": "low", "min_score": 0.0, "share": 0.99, "precision": 0.005, "recall": 0.7}],
        metrics={"pr_auc": 0.12345, "roc_auc": 0.8, "precision_at_50": 0.2, "precision_at_100": 0.15,
                 "precision_at_500": float("nan"), "recall_at_top_1pct": 0.3, "brier": 0.00812,
                 "prevalence": 0.0082, "explanations_per_second": 5321.7},
        slices=pd.DataFrame({"kind": ["sector", "sector", "region"],
                             "slice": ["F construction", "I accommodation | food", "LS"],
                             "businesses": [500, 300, 800], "positives": [10, 2, 7],
                             "pr_auc": [0.1, np.nan, 0.2], "precision_at_top_1pct": [0.2, 0.0, 0.125]}),
        fairness=pd.DataFrame({"attribute": ["director_nationality"] * 2,
                               "group": ["all British", "any non-British"], "businesses": [9000, 1000],
                               "selected": [90, 15], "share_in_top_1pct": [0.01, 0.015],
                               "precision_in_top_1pct": [0.2, 0.4], "mean_score": [0.008, 0.011],
                               "positives": [80, 20], "ratio_to_overall": [1.0, 1.5]}),
        protected_columns=["officers.nationality", "officers.birth_year"],
    )
    return dataclasses.replace(card, **overrides)


def _line(text: str, start: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith(start)]
    assert len(lines) == 1, (start, lines)
    return lines[0]


def _section(text: str, heading: str) -> str:
    after = text.split(heading + "\n", 1)[1]
    return after.split("\n## ", 1)[0]


def test_every_section_in_order() -> None:
    text = model_card(_inputs())
    assert text.startswith("# Model card: riskmodel (version 3)\n")
    positions = [text.index(f"\n{heading}\n") for heading in SECTIONS]
    assert positions == sorted(positions)


def test_unregistered_model() -> None:
    text = model_card(_inputs(model_version=None, run_id=None))
    assert text.startswith("# Model card: riskmodel (not yet registered)\n")
    assert "| Registry version | not registered |" in text


def test_metrics_formatted_with_plain_names() -> None:
    text = model_card(_inputs())
    assert _line(text, "| Average precision (PR-AUC) |").startswith("| Average precision (PR-AUC) | 0.123 |")
    assert _line(text, "| ROC-AUC |").startswith("| ROC-AUC | 0.800 |")
    assert _line(text, "| Precision in the top 50 |").startswith("| Precision in the top 50 | 0.200 |")
    assert _line(text, "| Precision in the top 500 |").startswith("| Precision in the top 500 | n/a |")
    assert _line(text, "| Brier score |").startswith("| Brier score | 0.00812 |")
    assert _line(text, "| Prevalence |").startswith("| Prevalence | 0.0082 (0.82%) |")
    assert _line(text, "| Recall in the top 1% |").startswith("| Recall in the top 1% | 0.300 (30.0%) |")
    assert _line(text, "| Explanations per second |").startswith("| Explanations per second | 5,322 |")
    # Precision at k in increasing k, after the AUCs.
    perf = _section(text, "## Performance")
    order = [perf.index(name) for name in ("ROC-AUC", "top 50 ", "top 100 ", "top 500 ", "Brier")]
    assert order == sorted(order)


def test_bands_and_counts() -> None:
    text = model_card(_inputs())
    assert "| high | 0.041 | 1.0% | 0.210 | 0.300 |" in text
    assert "| low | 0.000 | 99.0% | 0.005 | 0.700 |" in text
    assert "| businesses train | 12,000 |" in text
    assert "confirmed (labelled positive) within the validation horizon" in text
    assert "**not** the chance" in text


def test_every_feature_listed_with_family_counts() -> None:
    features = [(f"feature_{i}", "network" if i % 3 else "accounts", f"reason {i}") for i in range(7)]
    text = model_card(_inputs(features=features))
    for name, family, reason in features:
        assert f"| `{name}` | {family} | {reason} |" in text
    assert "| accounts | 3 |" in text
    assert "| network | 4 |" in text
    assert "7 features in 2 families" in text


def test_pipes_in_cells_are_escaped_and_tables_stay_rectangular() -> None:
    text = model_card(_inputs(data_source="registers | licences"))
    assert "Director changes \\| nominee pattern" in text
    assert "I accommodation \\| food" in text
    assert "| Source | registers \\| licences |" in text
    assert "Director changes | nominee" not in text
    # Every table row has as many unescaped pipes as its header.
    block: list[int] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(len(re.findall(r"(?<!\\)\|", line)))
        elif block:
            assert len(set(block)) == 1, block
            block = []


def test_group_outside_four_fifths_is_flagged_and_others_are_not() -> None:
    text = model_card(_inputs())
    flagged = _line(text, "**Flagged for review**")
    assert "director_nationality = any non-British (ratio 1.50)" in flagged
    assert "all British" not in flagged
    assert "#### By director nationality" in text
    assert "| any non-British | 1,000 | 20 | 15 | 1.5% | 1.50 | 40.0% | 0.011 | flagged |" in text
    assert "| all British | 9,000 | 80 | 90 | 1.0% | 1.00 | 20.0% | 0.008 |  |" in text


def test_groups_too_small_to_screen_are_shown_but_not_flagged() -> None:
    # At the overall rate of 1.071% (107.1 of 10,000), 300 businesses would put 3.2 on the list (< 5): not
    # screened; 500 would put 5.4: screened. Without a ``selected`` column (older runs) that cell is n/a.
    fairness = pd.DataFrame({"attribute": ["region"] * 3, "group": ["EH", "KW", "ZE"],
                             "businesses": [9200, 300, 500], "share_in_top_1pct": [0.0105, 0.0, 0.021],
                             "mean_score": [0.01] * 3, "positives": [1] * 3, "ratio_to_overall": [1.0, 0.0, 2.0]})
    text = model_card(_inputs(fairness=fairness))
    flagged = _line(text, "**Flagged for review**")
    assert "region = ZE (ratio 2.00)" in flagged
    assert "KW" not in flagged
    assert "| KW | 300 | 1 | n/a | 0.0% | 0.00 | n/a | 0.010 |  |" in text


def test_fairness_boundaries() -> None:
    fairness = pd.DataFrame({"attribute": ["age"] * 4, "group": ["g125", "g080", "g079", "gnan"],
                             "businesses": [1000, 1000, 1000, 0], "share_in_top_1pct": [0.0125, 0.008, 0.0079, np.nan],
                             "mean_score": [0.1] * 4, "positives": [1] * 4,
                             "ratio_to_overall": [1.25, 0.8, 0.79, np.nan]})
    flagged = _line(model_card(_inputs(fairness=fairness)), "**Flagged for review**")
    assert "age = g079" in flagged
    assert "g125" not in flagged and "g080" not in flagged and "gnan" not in flagged


def test_no_flag_when_all_groups_are_even() -> None:
    fairness = _inputs().fairness.assign(ratio_to_overall=[1.0, 1.1])
    text = model_card(_inputs(fairness=fairness))
    assert "**Flagged for review**" not in text
    assert "No group is flagged" in text


def test_protected_columns_listed_and_clash_warned() -> None:
    text = model_card(_inputs())
    fairness = _section(text, "## Fairness")
    assert "- `officers.nationality`" in fairness
    assert "- `officers.birth_year`" in fairness
    assert "**Warning:**" not in fairness
    clash = model_card(_inputs(features=[("nationality", "people", "should never be here")]))
    assert "**Warning:** features share a name with protected columns: `officers.nationality`" in clash


def test_slices_capped_sorted_and_small_ones_marked() -> None:
    n = 35
    slices = pd.DataFrame({"kind": ["sector"] * n + ["region"], "slice": [f"s{i:02d}" for i in range(n)] + ["LS"],
                           "businesses": [100 + i for i in range(n)] + [50], "positives": [i for i in range(n)] + [9],
                           "pr_auc": [0.5] * (n + 1), "precision_at_top_1pct": [0.25] * (n + 1)})
    text = model_card(_inputs(slices=slices))
    sector = _section(text, "## Performance").split("#### By sector\n", 1)[1].split("#### By region", 1)[0]
    rows = [line for line in sector.splitlines() if line.startswith("| s")]
    assert len(rows) == 30
    assert rows[0].startswith("| s34 | 134 | 34 |")
    assert rows[-1].startswith("| s05 | 105 | 5 |")
    assert "5 smaller sector slices not shown." in sector
    assert "| LS | 50 | 9 | 0.500 | 0.250 |  |" in text
    small = model_card(_inputs())
    assert "| I accommodation \\| food | 300 | 2 | n/a | 0.000 | fewer than 5 positives |" in small
    assert "| F construction | 500 | 10 | 0.100 | 0.200 |  |" in small


def test_empty_tables_do_not_raise() -> None:
    text = model_card(_inputs(slices=pd.DataFrame(), fairness=pd.DataFrame(), bands=[], metrics={}, counts={}))
    assert "No slice figures were supplied." in text
    assert "No fairness figures were supplied." in text
    assert "No risk bands were supplied." in text
    assert "No measures were supplied." in text


def test_limitations_built_in_plus_callers() -> None:
    text = model_card(_inputs(limitations=["Example data is synthetic."]))
    limitations = _section(text, "## Limitations")
    items = [line for line in limitations.splitlines() if line.startswith("- ")]
    assert items[-1] == "- Example data is synthetic."
    for topic in ("Positive-unlabelled", "Feedback loops", "Data quality", "Drift", "Small-slice", "Proxies"):
        assert topic in limitations
    assert "location" in limitations


def test_challenge_and_atrs_sections() -> None:
    text = model_card(_inputs())
    challenge = _section(text, "## How to challenge a score")
    assert "model owner" in challenge and "reviewed" in challenge and "corrected" in challenge
    atrs = text.split("## ATRS draft\n", 1)[1]
    for heading in ("### Tier 1", "owner and responsibility", "description and rationale",
                    "decision-making process", "tool specification and data", "risks, mitigations and impact"):
        assert heading in atrs
    assert f"| Senior responsible owner | {PLACEHOLDER} |" in atrs
    assert f"| Contact email | {PLACEHOLDER} |" in atrs
    assert "SHA-256 ab12cd34" in atrs


def test_pure_function() -> None:
    card = _inputs()
    assert model_card(card) == model_card(card)
    assert model_card(card) != model_card(_inputs(pu_strategy="spy"))
