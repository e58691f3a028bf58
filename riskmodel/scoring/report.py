"""The officers' report: one self-contained HTML page (inline CSS and SVG, no scripts, no external files).

It says what the scores mean and do not mean, shows band counts and the score distribution, the top businesses
with their reasons and a SHAP waterfall each (log-odds), and the data-quality summary, and links the model card.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from riskmodel.scoring.core import Scorer

__all__ = ["write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px} h2{font-size:1.25em;margin-top:32px;border-bottom:2px solid #ddd}
.demo{background:#fde7e9;border-left-color:#b00020}
.meta{color:#555;font-size:.9em} .notice{background:#fff4ce;border-left:6px solid #c9a400;padding:12px 16px}
table{border-collapse:collapse;width:100%;font-size:.92em;background:#fff} th,td{padding:6px 8px;
border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top} th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.band{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}
.business{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:14px 0}
.business h3{margin:0 0 6px;font-size:1.05em} ol{margin:6px 0 8px 20px;padding:0}
"""
_BAND_COLOURS = ["#b3261e", "#c9a400", "#4c7a34", "#476a8a", "#777777"]


def _band_colour(bands: list[str], band: str) -> str:
    index = bands.index(band) if band in bands else len(bands) - 1
    return _BAND_COLOURS[min(index, len(_BAND_COLOURS) - 1)] if index < len(bands) - 1 else "#4c7a34"


def _bars_svg(labels: list[str], values: list[int], colours: list[str], width: int = 520) -> str:
    top = max([*values, 1])
    rows = []
    for i, (label, value, colour) in enumerate(zip(labels, values, colours, strict=True)):
        w = 0 if top == 0 else int(360 * value / top)
        y = 8 + i * 30
        rows.append(f'<text x="0" y="{y + 15}" font-size="13">{html.escape(label)}</text>'
                    f'<rect x="110" y="{y}" width="{w}" height="20" fill="{colour}"/>'
                    f'<text x="{116 + w}" y="{y + 15}" font-size="13">{value:,}</text>')
    height = 16 + 30 * len(labels)
    return (f'<svg role="img" aria-label="businesses per band" width="{width}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _histogram_svg(scores: np.ndarray, bins: int = 30) -> str:
    if len(scores) == 0:
        return "<p>No scores.</p>"
    counts, edges = np.histogram(scores, bins=bins, range=(0.0, max(float(scores.max()), 1e-6)))
    logs = np.log10(counts + 1)
    top = max(float(logs.max()), 1e-9)
    w, h = 640, 200
    bar = w / bins
    rects = "".join(f'<rect x="{i * bar:.1f}" y="{h - 20 - 160 * v / top:.1f}" width="{bar - 1:.1f}" '
                    f'height="{160 * v / top:.1f}" fill="#476a8a"><title>{edges[i]:.4f} to {edges[i + 1]:.4f}: '
                    f'{c:,} businesses</title></rect>' for i, (v, c) in enumerate(zip(logs, counts, strict=True)))
    axis = (f'<text x="0" y="{h - 4}" font-size="12">0</text>'
            f'<text x="{w - 60}" y="{h - 4}" font-size="12">{edges[-1]:.3f}</text>')
    return (f'<svg role="img" aria-label="distribution of risk scores" width="{w}" height="{h}" '
            f'xmlns="http://www.w3.org/2000/svg">{rects}{axis}</svg>'
            '<p class="meta">Number of businesses (log scale) by calibrated risk score.</p>')


def _waterfall_svg(base: float, steps: list[tuple[str, float]], final: float) -> str:
    """Horizontal waterfall from the expected log-odds through each contribution to the business's log-odds."""
    points = [base]
    for _, value in steps:
        points.append(points[-1] + value)
    low, high = min([*points, final]), max([*points, final])
    span = max(high - low, 1e-9)
    w, label_w, row = 640, 300, 22
    scale = (w - label_w - 70) / span

    def x(v: float) -> float:
        return label_w + (v - low) * scale

    parts = []
    rows = [("expected log-odds (all businesses)", base, base, "#888888")]
    current = base
    for name, value in steps:
        rows.append((name, current, current + value, "#b3261e" if value > 0 else "#2f6f9f"))
        current += value
    rows.append(("this business (log-odds)", low if final >= low else final, final, "#1b1b1b"))
    for i, (name, start, end, colour) in enumerate(rows):
        y = 4 + i * row
        x0, x1 = sorted((x(start), x(end)))
        width = max(x1 - x0, 2.0)
        value = end - start if 0 < i < len(rows) - 1 else end
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(name[:44])}</text>'
                     f'<rect x="{x0:.1f}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" fill="{colour}"/>'
                     f'<text x="{x1 + 4:.1f}" y="{y + 14}" font-size="11">{value:+.2f}</text>')
    height = 8 + row * len(rows)
    return (f'<svg role="img" aria-label="SHAP waterfall" width="{w}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _quality_table(manifest: dict[str, Any]) -> str:
    rows = []
    for table, counts in manifest.get("rows", {}).items():
        rows.append(f"<tr><td>{html.escape(table)}</td>" + "".join(
            f'<td class="num">{counts.get(k, 0):,}</td>' for k in
            ("rows_read", "rows_kept", "rows_quarantined", "rows_rejected")) + "</tr>")
    return ("<table><thead><tr><th>table</th><th>rows read</th><th>used</th><th>quarantined</th><th>rejected</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _demonstration_notice(model: dict[str, Any]) -> str:
    """Return the warning shown above everything when the model learnt from synthetic data (its metadata says so)."""
    trained_on = model.get("training_data") or {}
    if not trained_on.get("synthetic"):
        return ""
    source = html.escape(str(trained_on.get("source") or "a synthetic data set"))
    return f"""<section class="notice demo" role="alert" aria-label="demonstration only">
<p><b>Demonstration only: this model was trained on synthetic data</b> ({source}). Its scores show how the
pipeline ranks and explains businesses; they say nothing about the real businesses listed here, which the model has
never learnt anything about. Do not use them to select, refuse or investigate any business.</p>
</section>"""


def _coverage_section(manifest: dict[str, Any]) -> str:
    """Which sources hold rows about the scored businesses, and which hold none."""
    coverage: dict[str, dict[str, int]] = manifest.get("coverage") or {}
    if not coverage:
        return ""
    scored = int(manifest.get("businesses_scored", 0))
    rows, empty = [], []
    for table, counts in coverage.items():
        if table == "watchlist":
            rows.append(f"<tr><td>watchlist</td><td class=\"num\">{counts['rows']:,}</td><td colspan=\"2\">"
                        "screened against names of businesses, officers and owners</td></tr>")
            continue
        with_rows = counts["scored_businesses_with_rows"]
        rows.append(f"<tr><td>{html.escape(table)}</td><td class=\"num\">{counts['rows']:,}</td>"
                    f"<td class=\"num\">{counts['rows_on_scored_businesses']:,}</td>"
                    f"<td class=\"num\">{with_rows:,} of {scored:,}</td></tr>")
        if with_rows == 0 and table != "labels":
            empty.append(table)
    gap = ("" if not empty else
           f"<p class=\"notice\"><b>No evidence from {html.escape(', '.join(empty))}.</b> The data set holds no rows "
           "from these sources about any scored business, so every feature built from them is missing for every "
           "business. A reason that cites a missing record (\"No record for ...\") then describes the gap in the "
           "sources, not the business.</p>")
    return ("<h2>Sources behind the scores</h2>" + gap
            + "<table><thead><tr><th>table</th><th>rows</th><th>rows about scored businesses</th>"
            f"<th>scored businesses with rows</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def write_report(path: Path, scores: pd.DataFrame, manifest: dict[str, Any], scorer: Scorer, *, top_n: int = 50,
                 model_card: str | None = None, top: pd.DataFrame | None = None) -> Path:
    """Write the report page for a ranked scores frame (``riskmodel.scoring.batch`` output).

    ``scores`` needs only ``risk_score`` and ``risk_band`` of every business when ``top`` gives the first rows in
    full (the batch job streams the rest to disk).

    Returns
    -------
    Path
        ``path`` (written in place: the batch job writes it through :func:`riskmodel.files.atomic_write`).
    """
    bands = [b[0] for b in scorer.bundle.bands]
    counts = [int((scores["risk_band"] == b).sum()) for b in bands]
    base = scorer.expected_log_odds
    e = html.escape
    top = (scores if top is None else top).head(top_n)
    cards = []
    for _, row in top.iterrows():
        steps: list[tuple[str, float]] = []
        reasons = []
        for c in range(1, 6):
            name = row.get(f"reason_{c}_feature")
            if name is None or (isinstance(name, float) and math.isnan(name)):
                break
            value = float(row[f"reason_{c}_contribution"])
            steps.append((str(name).replace("_", " "), value))
            reasons.append(f"<li>{e(str(row[f'reason_{c}_text']))} <span class=\"meta\">(+{value:.2f} log-odds; "
                           f"feature <code>{e(str(name))}</code>)</span></li>")
        other = float(row["log_odds"]) - base - sum(v for _, v in steps)
        steps.append(("all other features", other))
        colour = _band_colour(bands, str(row["risk_band"]))
        name = "" if row["company_name"] is None or pd.isna(row["company_name"]) else str(row["company_name"])
        cards.append(
            f'<div class="business"><h3>#{int(row["rank"])} {e(name)} <span class="meta">'
            f'{e(str(row["company_number"]))}</span></h3>'
            f'<p>Risk score <b>{float(row["risk_score"]):.3f}</b> <span class="band" style="background:{colour}">'
            f'{e(str(row["risk_band"]))}</span></p>'
            + (f"<p>Main reasons:</p><ol>{''.join(reasons)}</ol>" if reasons else
               "<p class=\"meta\">No reasons were computed for this business (explain mode).</p>")
            + _waterfall_svg(base, steps, float(row["log_odds"])) + "</div>")
    model = manifest.get("model", {})
    card_link = (f'<a href="{e(model_card)}">model card</a>' if model_card else
                 "model card: in the MLflow run of this model")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>riskmodel report {e(str(manifest.get("as_of")))}</title><style>{_CSS}</style></head>
<body><main>
<h1>Business risk ranking for review</h1>
<p class="meta">Scores as of {e(str(manifest.get("as_of")))} · model riskmodel version {e(str(model.get("version")))}
(trained as of {e(str(model.get("train_as_of")))}) · {manifest.get("businesses_scored", 0):,} businesses scored ·
{card_link}</p>
{_demonstration_notice(model)}
<section class="notice" aria-label="what the scores mean">
<p><b>What these scores mean.</b> Each score is a calibrated probability that a business like this one is
confirmed as used or infiltrated by an organised crime group within the model's horizon, estimated from cases
agencies detected in the past. It ranks businesses so that people can decide which to look at first.</p>
<p><b>What they do not mean.</b> A score is advisory. It is not evidence of wrongdoing and never decides anything
alone: it is not a reason to refuse, revoke or suspend a licence or to exclude a supplier. Past detection is
biased, so a low score does not mean a business is clean. Every reason below traces back to the records behind it;
check them before acting, and record what review found.</p>
</section>
<h2>Risk bands</h2>
{_bars_svg(bands, counts, [_band_colour(bands, b) for b in bands])}
<h2>Score distribution</h2>
{_histogram_svg(scores["risk_score"].to_numpy(dtype="float64"))}
<h2>Top {len(top)} businesses</h2>
<p class="meta">Reasons are exact SHAP contributions (log-odds) from the model; the chart runs from the expected
log-odds of all businesses through each reason to the business's own log-odds.</p>
{''.join(cards)}
{_coverage_section(manifest)}
<h2>Data quality</h2>
<p>{manifest.get("rows_in", 0):,} input rows: {manifest.get("rows_used", 0):,} used,
{manifest.get("rows_quarantined", 0):,} quarantined, {manifest.get("rows_rejected", 0):,} in rejected tables
(see <a href="quarantine.csv">quarantine.csv</a>). {manifest.get("businesses_in", 0):,} businesses in the register file:
{manifest.get("businesses_scored", 0):,} scored, {manifest.get("businesses_rejected", 0):,} not scored.</p>
{_quality_table(manifest)}
</main></body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
