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
    return build_view(AsOf(dataset, as_of), names)


def build_view(view: AsOf, names: list[str] | str = "all") -> pd.DataFrame:
    """Compute features on a point-in-time view (see :func:`build`); the view keeps its shared work for reuse."""
    load_families()
    wanted = feature_set(names) if isinstance(names, str) else list(names)
    index = view.index
    columns: dict[str, pd.Series] = {}
    for name in wanted:
        spec = CATALOGUE[name]
        values = spec.func(view)
        values = values[~values.index.duplicated()].reindex(index)
        # A count over a table the data set holds: no row means no event. An absent table stays missing.
        if spec.zero_when_absent and all(view.has(t) for t in spec.sources):
            values = values.fillna(0)
        columns[name] = values.astype("float64")
    frame = pd.DataFrame(columns, index=index)
    frame.replace([np.inf, -np.inf], np.nan, inplace=True)
    log.debug("built %d features for %d businesses as of %s", frame.shape[1], len(frame), view.as_of)
    return frame
