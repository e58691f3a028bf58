"""Evaluation figures written as PNG files: precision-recall, calibration, SHAP beeswarm, feature importance.

Figures are drawn with matplotlib's object API (``matplotlib.figure.Figure``), never ``pyplot``: no global state,
no backend switch, safe in threads and in a server. Every function writes one PNG and returns its path. Inputs too
small to draw (no rows, a single class where two are needed, no features) give a figure carrying a
"not enough data: ..." note instead of an exception, so a training run never fails on a plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, precision_recall_curve

__all__ = ["calibration_plot", "calibration_table", "feature_importance", "pr_curve", "shap_beeswarm"]

_DPI = 110
_SIZE = (7.0, 5.0)
#: Rows drawn at most in a beeswarm; more add time and ink, not information.
_MAX_SWARM_ROWS = 5000
_CMAP = "coolwarm"
_MISSING_COLOUR = "#9e9e9e"


def _figure(size: tuple[float, float] = _SIZE) -> Figure:
    return Figure(figsize=size, layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, format="png")
    return path


def _note(path: Path, title: str, reason: str) -> Path:
    """Write a figure that says why there is nothing to draw."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, f"not enough data: {reason}", ha="center", va="center", wrap=True, transform=ax.transAxes)
    return _save(fig, path)


def _as_float(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype="float64").ravel()


def pr_curve(y_true: np.ndarray, score: np.ndarray, path: Path, *, title: str = "Precision-recall",
             baseline: float | None = None) -> Path:
    """Precision-recall curve with average precision in the legend and the random-ranking baseline.

    Parameters
    ----------
    y_true : ndarray
        1 for a positive (labelled) business, 0 otherwise.
    score : ndarray
        Any score that orders businesses (log-odds or probability); only the order matters.
    path : Path
        PNG to write; parent folders are created.
    title : str
        Axes title.
    baseline : float, optional
        Precision of a random ranking, drawn as a dashed line labelled "random"; the prevalence of ``y_true``
        when not given.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Rows whose label or score is missing are left out. With no rows, or only one class, the figure carries a
    "not enough data" note instead.
    """
    y, s = _as_float(y_true), _as_float(score)
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} rows but score has {len(s)}")
    keep = np.isfinite(y) & np.isfinite(s)
    y, s = y[keep].astype(int), s[keep]
    if len(y) == 0:
        return _note(path, title, "no scored rows")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return _note(path, title, f"only one class among {len(y)} rows ({positives} positives)")
    precision, recall, _ = precision_recall_curve(y, s)
    ap = float(average_precision_score(y, s))
    level = float(positives / len(y)) if baseline is None else float(baseline)

    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(recall, precision, drawstyle="steps-post", color="C0", label=f"model (AP = {ap:.3f})")
    ax.axhline(level, linestyle="--", color="grey", label=f"random ({level:.3g})")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("recall (share of positives found)")
    ax.set_ylabel("precision (share of flagged that are positive)")
    ax.set_title(f"{title} (n = {len(y):,}, positives = {positives:,})")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def calibration_table(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability and observed positive rate per equal-count bin of predicted probability.

    Bin edges are the quantiles of ``prob`` at 0, 1/n_bins, ..., 1; duplicate edges (many tied probabilities, as
    isotonic calibration produces) collapse, bins are right-closed (the first also holds the minimum), and bins
    with no rows are dropped, so there can be fewer than ``n_bins`` bins and counts need not be equal.

    Parameters
    ----------
    y_true : ndarray
        1 for a positive business, 0 otherwise.
    prob : ndarray
        Calibrated probability of each business.
    n_bins : int
        Number of quantile bins asked for (at least 1).

    Returns
    -------
    DataFrame
        One row per non-empty bin, lowest probabilities first: ``bin`` (1, 2, ...), ``count``,
        ``mean_predicted``, ``observed_rate``. Rows with a missing label or probability are left out; no rows
        give an empty frame with these columns.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    y, p = _as_float(y_true), _as_float(prob)
    if len(y) != len(p):
        raise ValueError(f"y_true has {len(y)} rows but prob has {len(p)}")
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    columns = ["bin", "count", "mean_predicted", "observed_rate"]
    if len(p) == 0:
        return pd.DataFrame({"bin": pd.Series(dtype="int64"), "count": pd.Series(dtype="int64"),
                             "mean_predicted": pd.Series(dtype="float64"),
                             "observed_rate": pd.Series(dtype="float64")}, columns=columns)
    edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
    # Right-closed bins (a, b]; values at or below the second edge fall in the first bin.
    index = np.searchsorted(edges[1:-1], p, side="left")
    count = np.bincount(index, minlength=len(edges))
    total_p = np.bincount(index, weights=p, minlength=len(edges))
    total_y = np.bincount(index, weights=y, minlength=len(edges))
    used = count > 0
    return pd.DataFrame({"bin": np.arange(1, int(used.sum()) + 1, dtype="int64"),
                         "count": count[used].astype("int64"),
                         "mean_predicted": total_p[used] / count[used],
                         "observed_rate": total_y[used] / count[used]}, columns=columns)


def calibration_plot(y_true: np.ndarray, prob: np.ndarray, path: Path, *, n_bins: int = 10) -> Path:
    """Reliability diagram on quantile bins, with the number of businesses per bin underneath.

    Parameters
    ----------
    y_true : ndarray
        1 for a positive business, 0 otherwise.
    prob : ndarray
        Calibrated probability of each business.
    path : Path
        PNG to write; parent folders are created.
    n_bins : int
        Number of quantile bins asked for (see :func:`calibration_table`).

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Axes span 0 to a little above the largest mean or rate, not 0 to 1: with rare positives every point sits
    near the origin and a full square would hide them. A single class is still drawn (every observed rate is 0
    or 1, which is itself informative); no rows give a "not enough data" note.
    """
    table = calibration_table(y_true, prob, n_bins=n_bins)
    title = "Calibration (quantile bins)"
    if table.empty:
        return _note(path, title, "no rows with a probability and a label")
    predicted = table["mean_predicted"].to_numpy(dtype="float64")
    observed = table["observed_rate"].to_numpy(dtype="float64")
    counts = table["count"].to_numpy(dtype="int64")
    bins = table["bin"].to_numpy(dtype="int64")
    top = float(max(predicted.max(), observed.max()))
    limit = min(1.0, top * 1.1) if top > 0 else 1.0

    fig = _figure((7.0, 6.0))
    upper, lower = fig.subplots(2, 1, height_ratios=[3, 1])
    upper.plot([0.0, limit], [0.0, limit], linestyle="--", color="grey", label="perfectly calibrated")
    upper.plot(predicted, observed, marker="o", color="C0", label="model")
    upper.set_xlim(0.0, limit)
    upper.set_ylim(0.0, limit)
    upper.set_xlabel("mean predicted probability")
    upper.set_ylabel("observed positive rate")
    positives = round(float((observed * counts).sum()))
    upper.set_title(f"{title}: {int(counts.sum()):,} rows, {positives:,} positives, {len(bins)} bins")
    upper.legend(loc="upper left")
    upper.grid(alpha=0.3)
    lower.bar(bins, counts, color="C0", alpha=0.7)
    lower.set_xticks(bins)
    lower.set_xlabel("bin (lowest predicted probability first)")
    lower.set_ylabel("rows")
    return _save(fig, path)


def _percentile_colour(values: pd.Series) -> npt.NDArray[np.float64]:
    """Within-column rank of each value scaled to 0..1 (0.5 for a constant column), NaN where missing."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype="float64")
        numeric = pd.Series(np.where(codes < 0, np.nan, codes))
    elif pd.api.types.is_bool_dtype(values.dtype):
        numeric = pd.Series(values.astype("float64").to_numpy())
    else:
        numeric = pd.Series(pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan))
    numeric = numeric.where(np.isfinite(numeric))
    known = int(numeric.notna().sum())
    rank = numeric.rank(method="average").to_numpy(dtype="float64")
    if known <= 1:
        return np.where(np.isnan(rank), np.nan, 0.5)
    return np.asarray((rank - 1.0) / (known - 1.0), dtype="float64")


def _swarm_offsets(x: npt.NDArray[np.float64], rng: np.random.Generator, width: float = 0.4,
                   n_bins: int = 100) -> npt.NDArray[np.float64]:
    """Vertical offsets that spread points in proportion to how many share an x neighbourhood.

    Points are binned on x; within a bin they are taken in random order and stacked alternately above and below
    the centre line, and the tallest stack is scaled to ``width``.
    """
    n = len(x)
    if n == 0:
        return np.zeros(0)
    span = float(x.max() - x.min())
    scaled = (x - x.min()) / span * n_bins if span > 0 else np.zeros(n)
    bins = np.minimum(scaled.astype(int), n_bins - 1)
    perm = rng.permutation(n)
    order = perm[np.argsort(bins[perm], kind="stable")]
    sorted_bins = bins[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    position = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    layer = np.where(position % 2 == 1, (position + 1) // 2, -(position // 2)).astype("float64")
    offsets = np.empty(n)
    offsets[order] = layer
    tallest = float(np.abs(layer).max())
    return offsets * (width / tallest) if tallest > 0 else offsets


def shap_beeswarm(contrib: np.ndarray, X: pd.DataFrame, path: Path, *, max_display: int = 20,
                  seed: int = 0) -> Path:
    """Beeswarm summary of SHAP values: one row of points per feature, coloured by the feature's value.

    Parameters
    ----------
    contrib : ndarray
        Shape (n_rows, n_features): SHAP values in log-odds, without the bias column, columns in the order of
        ``X.columns``.
    X : DataFrame
        Feature values of the same rows, used for colour only.
    path : Path
        PNG to write; parent folders are created.
    max_display : int
        Features shown, the largest mean absolute SHAP value first.
    seed : int
        Seed of the row subsample (at most 5,000 rows) and of the point placement; same inputs, same figure.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``contrib`` and ``X`` disagree on shape (a bias column left in, or misaligned features).

    Notes
    -----
    Feature order is computed on all rows; only drawing is subsampled. Colour is the within-feature percentile
    rank of the value among the drawn rows (categorical columns by category order; text columns, and missing
    values, grey), so features on different scales share one colour bar. Missing SHAP values are not drawn.
    """
    values = np.asarray(contrib, dtype="float64")
    if values.ndim != 2 or values.shape != X.shape:
        raise ValueError(f"contrib has shape {values.shape} but X has shape {X.shape}; "
                         "pass SHAP values without the bias column, one column per column of X")
    title = "SHAP summary"
    n_rows, n_features = values.shape
    if n_rows == 0 or n_features == 0 or max_display < 1:
        return _note(path, title, f"{n_rows} rows x {n_features} features")
    finite = np.isfinite(values)
    seen = finite.sum(axis=0)
    if not seen.any():
        return _note(path, title, "no finite SHAP values")
    total = np.where(finite, np.abs(values), 0.0).sum(axis=0)
    importance = np.where(seen > 0, total / np.maximum(seen, 1), -np.inf)
    shown = [int(j) for j in np.argsort(-importance, kind="stable")[:max_display] if seen[j] > 0]

    rng = np.random.default_rng(seed)
    rows = np.arange(n_rows)
    if n_rows > _MAX_SWARM_ROWS:
        rows = np.sort(rng.choice(n_rows, size=_MAX_SWARM_ROWS, replace=False))
    sample = values[rows]
    frame = X.iloc[rows]

    fig = _figure((7.0, max(5.0, 0.3 * len(shown) + 1.5)))
    ax = fig.add_subplot()
    norm = Normalize(vmin=0.0, vmax=1.0)
    for position, j in enumerate(shown):
        y_line = len(shown) - 1 - position
        x = sample[:, j]
        colour = _percentile_colour(frame.iloc[:, j])
        drawn = np.isfinite(x)
        x, colour = x[drawn], colour[drawn]
        y = y_line + _swarm_offsets(x, rng)
        missing = np.isnan(colour)
        ax.scatter(x[missing], y[missing], s=8, color=_MISSING_COLOUR, alpha=0.8, linewidths=0, rasterized=True)
        ax.scatter(x[~missing], y[~missing], s=8, c=colour[~missing], cmap=_CMAP, norm=norm, alpha=0.8,
                   linewidths=0, rasterized=True)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([str(X.columns[j]) for j in reversed(shown)])
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlabel("SHAP value (log-odds contribution)")
    subsampled = f", {len(rows):,} of {n_rows:,} rows drawn" if len(rows) < n_rows else f", {n_rows:,} rows"
    ax.set_title(f"{title}: top {len(shown)} of {n_features} features{subsampled}")
    ax.grid(axis="x", alpha=0.3)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=_CMAP), ax=ax, ticks=[0.0, 1.0], aspect=40)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value (low → high)")
    return _save(fig, path)


def feature_importance(names: Sequence[str], importance: np.ndarray, path: Path, *, top: int = 25,
                       xlabel: str = "total gain") -> Path:
    """Horizontal bar chart of the most important features, the largest at the top.

    Parameters
    ----------
    names : sequence of str
        Feature names.
    importance : ndarray
        Importance of each feature, same order as ``names`` (e.g. LightGBM total gain, or mean |SHAP|).
    path : Path
        PNG to write; parent folders are created.
    top : int
        Features shown at most.
    xlabel : str
        What the importance measures.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``names`` and ``importance`` differ in length.

    Notes
    -----
    Missing importances are left out; ties keep the order of ``names``. Nothing to show gives a "not enough data"
    note.
    """
    labels = [str(name) for name in names]
    value = _as_float(importance)
    if len(labels) != len(value):
        raise ValueError(f"{len(labels)} names but {len(value)} importances")
    title = "Feature importance"
    keep = np.flatnonzero(np.isfinite(value))
    if len(keep) == 0 or top < 1:
        return _note(path, title, "no features with an importance")
    chosen = keep[np.argsort(-value[keep], kind="stable")][:top]
    fig = _figure((7.0, max(5.0, 0.25 * len(chosen) + 1.2)))
    ax = fig.add_subplot()
    ax.barh(np.arange(len(chosen))[::-1], value[chosen], color="C0")
    ax.set_yticks(np.arange(len(chosen))[::-1])
    ax.set_yticklabels([labels[i] for i in chosen])
    ax.set_ylim(-0.6, len(chosen) - 0.4)
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title}: top {len(chosen)} of {len(labels)} features")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
