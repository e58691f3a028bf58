"""``_same_rows``: whether a supplier's records are exactly its reference rows (the network check is then skipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.scoring.neighbourhood import _same_rows


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"officer_id": pd.array(["P1", "P2", None], dtype="string[pyarrow]"),
                         "appointed_on": pd.to_datetime(["2020-01-01", "2021-05-06", "2019-02-03"]),
                         "resigned_on": pd.to_datetime([None, "2022-01-01", None]),
                         "share": [0.5, np.nan, 0.25]})


def test_the_same_rows_in_another_order_are_the_same() -> None:
    a = _frame()
    assert _same_rows(a, a.iloc[[2, 0, 1]].reset_index(drop=True))
    assert _same_rows(a.iloc[:0], a.iloc[:0])


def test_any_changed_value_count_or_dtype_is_not_the_same() -> None:
    a = _frame()
    resigned = a.assign(resigned_on=pd.to_datetime(["2024-01-01", "2022-01-01", None]))
    assert not _same_rows(a, resigned)  # a director who resigned changes who links
    assert not _same_rows(a, pd.concat([a, a.iloc[[0]]], ignore_index=True))  # one more appointment
    assert not _same_rows(a, a.iloc[[0, 1, 1]].reset_index(drop=True))  # same count, a row swapped for a copy
    assert not _same_rows(a, a.assign(share=[0.5, 0.0, 0.25]))  # NaN is not 0
    assert not _same_rows(a, a.astype({"share": "float32"}))
    assert not _same_rows(a, a[["appointed_on", "officer_id", "resigned_on", "share"]])
