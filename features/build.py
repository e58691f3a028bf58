"""Build the feature frame of a data set as of a date."""

from __future__ import annotations

import datetime as dt
import importlib
import logging

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, feature_set
from features.pit import AsOf
from riskmodel.contract import Dataset

__all__ = ["FAMILIES", "build", "build_view"]

log = logging.getLogger(__name__)

#: Feature modules, one per data source; importing one registers its features.
FAMILIES: tuple[str, ...] = ("register", "ownership", "accounts", "licences", "contracts", "transactions",
                             "watchlist", "network")


def load_families() -> None:
    """Import every available family module so that its features are registered."""
    for family in FAMILIES:
        try:
            importlib.import_module(f"features.{family}")
        except ModuleNotFoundError as exc:
            if exc.name != f"features.{family}":
                raise


def build(dataset: Dataset, as_of: dt.date, names: list[str] | str = "all") -> pd.DataFrame:
    """Compute features for every business that existed at ``as_of``, using only what was known then.

    Parameters
    ----------
    dataset : Dataset
        A loaded data set (not modified).
    as_of : date
        Point in time of the features.
    names : list of str or str
        Feature names, or the name of a feature set (default ``all``; ``family:<module>``, ``without:<module>``).

    Returns
    -------
    DataFrame
        One row per business, indexed by ``company_number``, one float column per feature (NaN = missing).
    """
    # The view is this call's own: each family's shared work is let go once the family is done.
    return build_view(AsOf(dataset, as_of), names, keep_work=False)


def build_view(view: AsOf, names: list[str] | str = "all", *, keep_work: bool = True) -> pd.DataFrame:
    """Compute features on a point-in-time view (see :func:`build`).

    When the view has ``targets`` (see :class:`~features.pit.AsOf`), the frame holds only those businesses.

    Parameters
    ----------
    view : AsOf
        The view.
    names : list of str or str
        Feature names or the name of a feature set.
    keep_work : bool
        Keep each family's shared work in the view for later calls (default). With False, the families are
        computed one after another and each one's shared work is dropped when it is done, so the memory held at
        once is that of one family rather than of all of them (on the whole data set, several times the data).
    """
    load_families()
    wanted = feature_set(names) if isinstance(names, str) else list(names)
    index = view.index if view.targets is None else view.index[view.index.isin(view.targets)]
    # One float block filled column by column: assembling Series one by one costs more than most features on
    # small views (score_record builds features of a few dozen businesses per call).
    out = np.empty((len(index), len(wanted)), dtype="float64")
    column = {name: j for j, name in enumerate(wanted)}
    families: dict[str, list[str]] = {}
    for name in wanted:
        families.setdefault(CATALOGUE[name].func.__module__, []).append(name)
    for members in families.values():
        held = None if keep_work else set(view.memo_keys())
        for name in members:
            spec = CATALOGUE[name]
            values = out[:, column[name]]
            values[:] = _aligned(spec.func(view), index)
            # A count over a table the data set holds: no row means no event. An absent table stays missing.
            if spec.zero_when_absent and all(view.has(t) for t in spec.sources):
                values[np.isnan(values)] = 0.0
        if held is not None:
            view.forget(set(view.memo_keys()) - held)
    out[np.isinf(out)] = np.nan
    frame = pd.DataFrame(out, index=index, columns=pd.Index(wanted))
    log.debug("built %d features for %d businesses as of %s", frame.shape[1], len(frame), view.as_of)
    return frame


def _aligned(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Values of a feature in the order of ``index`` as float64 (NaN where a business has none; first of repeats)."""
    if values.index is index or values.index.equals(index):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if not values.index.is_unique:
        values = values[~values.index.duplicated()]
    where = values.index.get_indexer(index)
    data = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.where(where >= 0, data[where] if len(data) else np.nan, np.nan)
