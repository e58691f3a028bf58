"""Peer comparison: each business's features set against its sector, as fitted state.

A ratio is only unusual against what is normal for the trade: cash of half the current assets is ordinary for a
pub and odd for a consultancy. :class:`SectorRelative` learns, on the training frame only, the median and the
distribution of each feature per sector group (by default the SIC 2007 division, feature ``sic_division`` of
:mod:`features.accounts`) and adds to any frame, for each compared feature ``<col>``:

``<col>_to_sector_median``
    The value divided by the fitted median of the business's group (NaN unless that median is positive).
``<col>_sector_percentile``
    The share, in [0, 1], of the group's fitted values strictly lower than the value: the ``{peer_share}`` of the
    catalogue's reason texts ("share of similar businesses with a lower value").

Groups seen in fit with fewer than ``min_group_size`` non-missing values of a feature, unseen groups and a missing
group use the statistics of the whole training frame instead.

Statistics are fitted state, never computed over all data up front: computing sector medians on the data a model
is evaluated on would leak the evaluation period's distribution into the features (scikit-learn's
fit/transform contract; Kaufman et al., "Leakage in data mining", ACM TKDD 2012). Peer comparison itself follows
Transcrime's MORE project (Savona & Riccardi 2018), which compares the financial ratios of infiltrated companies
with those of their sector, and the peer-group analysis of Bolton & Hand, "Statistical fraud detection: a
review", Statistical Science 17(3), 2002.

Features
--------
``<col>_to_sector_median`` and ``<col>_sector_percentile`` for every ``col`` in ``columns`` (see above); this
module registers no catalogue features, because the values depend on the fitted training frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["QuantileGrid", "SectorRelative", "fit_grid", "share_below"]

RATIO_SUFFIX = "_to_sector_median"
PERCENTILE_SUFFIX = "_sector_percentile"


class QuantileGrid(NamedTuple):
    """A fitted distribution: grid values and the exact shares of fitted values below and at-or-below each.

    Attributes
    ----------
    values : ndarray
        Increasing grid values (every distinct value when there are few, otherwise quantiles that are data values).
    share_below : ndarray
        Share of fitted values strictly lower than each grid value.
    share_at_or_below : ndarray
        Share of fitted values lower than or equal to each grid value.
    """

    values: np.ndarray
    share_below: np.ndarray
    share_at_or_below: np.ndarray


def _grid(values: np.ndarray, n_quantiles: int) -> QuantileGrid:
    """Fit a grid on the non-missing ``values``."""
    data = np.sort(values[~np.isnan(values)])
    points = np.unique(data)
    if len(points) > n_quantiles + 1:
        points = np.unique(np.quantile(data, np.linspace(0.0, 1.0, n_quantiles + 1), method="inverted_cdf"))
    n = len(data)
    return QuantileGrid(points, np.searchsorted(data, points, "left") / n, np.searchsorted(data, points, "right") / n)


def _share_below(grid: QuantileGrid, x: np.ndarray) -> np.ndarray:
    """Share of the grid's fitted values strictly lower than each ``x``, interpolated between grid values."""
    points = grid.values
    if len(points) == 0:
        return np.full(len(x), np.nan)
    pos = np.searchsorted(points, x, "left")  # grid values lower than x
    inside = np.clip(pos, 1, len(points) - 1)
    lo, hi = points[inside - 1], points[inside]
    width = np.where(hi > lo, hi - lo, 1.0)
    frac = np.clip((x - lo) / width, 0.0, 1.0)
    start = grid.share_at_or_below[inside - 1]
    between = start + frac * (grid.share_below[inside] - start)
    exact = points[np.minimum(pos, len(points) - 1)] == x
    out = np.where(pos == 0, 0.0, np.where(pos == len(points), 1.0, between))
    out = np.where(exact, grid.share_below[np.minimum(pos, len(points) - 1)], out)
    return np.where(np.isnan(x), np.nan, out)


def fit_grid(values: np.ndarray, n_quantiles: int = 100) -> QuantileGrid:
    """Fit a :class:`QuantileGrid` on the non-missing ``values`` (a reference distribution)."""
    return _grid(np.asarray(values, dtype="float64"), n_quantiles)


def share_below(grid: QuantileGrid, x: np.ndarray) -> np.ndarray:
    """Share of a grid's fitted values strictly lower than each ``x`` (NaN for a missing ``x``)."""
    return _share_below(grid, np.asarray(x, dtype="float64"))


class SectorRelative(TransformerMixin, BaseEstimator):
    """Add each feature's ratio to its sector median and its percentile within the sector, fitted on training data.

    Parameters
    ----------
    columns : list of str, optional
        Features to compare. Default: every numeric column of the fitted frame except ``group_column``.
    group_column : str
        Column holding the peer group (default ``sic_division``).
    min_group_size : int
        Fewest non-missing values of a feature a group needs to get its own statistics; smaller groups use the
        global ones.
    n_quantiles : int
        Resolution of each fitted distribution: a group with more distinct values than ``n_quantiles + 1`` keeps
        that many quantiles and interpolates between them; smaller groups are kept exactly.

    Attributes
    ----------
    columns_ : list of str
        Features compared.
    group_medians_ : DataFrame
        Fitted median per group (rows) and feature (columns); NaN where the group is too small for that feature.
    global_medians_ : Series
        Fitted median of each feature over the whole training frame.
    group_sizes_ : Series
        Rows per group in the training frame.
    group_quantiles_ : dict
        ``{feature: {group: QuantileGrid}}`` for groups with at least ``min_group_size`` values of the feature.
    global_quantiles_ : dict
        ``{feature: QuantileGrid}`` over the whole training frame.
    n_features_in_ : int
        Number of columns of the fitted frame.
    feature_names_in_ : ndarray of str
        Columns of the fitted frame.

    Examples
    --------
    >>> peers = SectorRelative(columns=["cash_share_of_current_assets_latest"], min_group_size=20)
    >>> train_out = peers.fit(train).transform(train)  # doctest: +SKIP
    >>> score_out = peers.transform(score)  # statistics of ``train`` only  # doctest: +SKIP
    """

    def __init__(self, columns: Sequence[str] | None = None, group_column: str = "sic_division",
                 min_group_size: int = 20, n_quantiles: int = 100) -> None:
        self.columns = columns
        self.group_column = group_column
        self.min_group_size = min_group_size
        self.n_quantiles = n_quantiles

    def _check_frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame, got {type(X).__name__}")
        if self.group_column not in X.columns:
            raise ValueError(f"group column {self.group_column!r} is not in the frame")
        return X

    def fit(self, X: pd.DataFrame, y: Any = None) -> SectorRelative:
        """Learn per-group and global medians and distributions of ``columns`` from ``X``.

        Parameters
        ----------
        X : DataFrame
            Training frame with ``group_column`` and the compared columns.
        y : None
            Ignored.

        Returns
        -------
        SectorRelative
            The fitted transformer.
        """
        X = self._check_frame(X)
        if len(X) == 0:
            raise ValueError(f"{type(self).__name__} cannot be fitted on an empty frame")
        if int(self.min_group_size) < 1 or int(self.n_quantiles) < 1:
            raise ValueError("min_group_size and n_quantiles must be at least 1")
        validate_data(self, X=X, reset=True, skip_check_array=True)
        if self.columns is None:
            numeric = X.drop(columns=[self.group_column]).select_dtypes("number")
            columns = [str(c) for c in numeric.columns]
        else:
            columns = list(self.columns)
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValueError(f"columns not in the frame: {missing}")
        if self.group_column in columns:
            raise ValueError("the group column cannot be compared with itself")
        added = {c + suffix for c in columns for suffix in (RATIO_SUFFIX, PERCENTILE_SUFFIX)}
        if added & {str(c) for c in X.columns}:
            raise ValueError(f"the frame already has output columns: {sorted(added & set(map(str, X.columns)))}")
        values = X[columns].astype("float64")
        groups = X[self.group_column]
        counts = values.notna().groupby(groups).sum()
        medians = values.groupby(groups).median()
        self.columns_ = columns
        self.global_medians_ = values.median()
        self.group_medians_ = medians.where(counts >= self.min_group_size).dropna(how="all")
        self.group_sizes_ = groups.value_counts()
        self.global_quantiles_ = {c: _grid(values[c].to_numpy(), self.n_quantiles) for c in columns}
        positions = pd.Series(np.arange(len(X))).groupby(groups.to_numpy()).indices
        self.group_quantiles_: dict[str, dict[Any, QuantileGrid]] = {}
        for c in columns:
            column = values[c].to_numpy()
            large = counts.index[counts[c] >= self.min_group_size]
            self.group_quantiles_[c] = {g: _grid(column[positions[g]], self.n_quantiles) for g in large}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return a copy of ``X`` with the ratio and percentile columns added, from the fitted statistics only.

        Parameters
        ----------
        X : DataFrame
            Frame with the fitted columns, in the fitted order.

        Returns
        -------
        DataFrame
            ``X``'s columns followed by ``<col>_to_sector_median`` and ``<col>_sector_percentile`` per column.
        """
        check_is_fitted(self)
        X = self._check_frame(X)
        validate_data(self, X=X, reset=False, skip_check_array=True)
        groups = X[self.group_column]
        positions = pd.Series(np.arange(len(X))).groupby(groups.to_numpy()).indices
        added: dict[str, np.ndarray] = {}
        for c in self.columns_:
            x = X[c].to_numpy(dtype="float64", na_value=np.nan)
            group_median = groups.map(self.group_medians_[c].dropna()).to_numpy(dtype="float64", na_value=np.nan)
            median = np.where(np.isnan(group_median), self.global_medians_[c], group_median)
            added[c + RATIO_SUFFIX] = np.where(median > 0, x / np.where(median > 0, median, 1.0), np.nan)
            share = np.full(len(X), np.nan)
            done = np.zeros(len(X), dtype=bool)
            fitted = self.group_quantiles_[c]
            for g, pos in positions.items():
                if g in fitted:
                    share[pos] = _share_below(fitted[g], x[pos])
                    done[pos] = True
            share[~done] = _share_below(self.global_quantiles_[c], x[~done])
            added[c + PERCENTILE_SUFFIX] = share
        return pd.concat([X, pd.DataFrame(added, index=X.index)], axis=1)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the output columns: the input columns, then the ratio and percentile of each compared column.

        Parameters
        ----------
        input_features : list of str, optional
            Must equal ``feature_names_in_`` when given.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        names = [str(c) for c in self.feature_names_in_]
        if input_features is not None and list(input_features) != names:
            raise ValueError("input_features differ from the columns seen in fit")
        out = names + [c + suffix for c in self.columns_ for suffix in (RATIO_SUFFIX, PERCENTILE_SUFFIX)]
        return np.asarray(out, dtype=object)
