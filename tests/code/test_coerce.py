"""Typing single columns: exact expectations on tiny inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.contract import ColumnSpec, DType, coerce_column


def _col(dtype: DType, nullable: bool = True) -> ColumnSpec:
    return ColumnSpec("c", dtype, nullable=nullable)


def test_dates_parse_iso_and_flag_everything_else() -> None:
    raw = pd.Series(["2024-02-29", "2023-02-29", "29/02/2024", None, "  ", "9999-12-31", "1799-12-31"])
    typed, bad = coerce_column(raw, _col(DType.DATE))
    assert typed.iloc[0] == pd.Timestamp("2024-02-29")
    assert typed.iloc[1:].isna().tolist() == [True, True, True, True, True, False]
    # 1799 parses; it is the pandera range check that rejects it, with its own message.
    assert typed.iloc[6] == pd.Timestamp("1799-12-31")
    assert bad.tolist() == [False, True, True, False, False, True, False]


def test_native_dates_outside_nanosecond_range_are_flagged_not_wrapped() -> None:
    raw = pd.Series(np.array(["2020-01-01", "9999-12-31", "NaT"], dtype="datetime64[s]"))
    typed, bad = coerce_column(raw, _col(DType.DATE))
    assert str(typed.dtype) == "datetime64[ns]"
    assert typed.iloc[0] == pd.Timestamp("2020-01-01")
    assert bad.tolist() == [False, True, False]


def test_datetimes_with_offsets_are_converted_to_utc() -> None:
    raw = pd.Series(["2024-03-05T14:22:00", "2024-03-05T14:22:00+01:00", "yesterday"])
    typed, bad = coerce_column(raw, _col(DType.DATETIME))
    assert typed.tolist()[:2] == [pd.Timestamp("2024-03-05 14:22"), pd.Timestamp("2024-03-05 13:22")]
    assert bad.tolist() == [False, False, True]


def test_ints_accept_whole_numbers_only() -> None:
    raw = pd.Series(["3", "3.0", "3.5", "x", None, "-2"])
    typed, bad = coerce_column(raw, _col(DType.INT))
    assert str(typed.dtype) == "Int64"
    assert typed.tolist()[:2] == [3, 3] and typed.iloc[5] == -2
    assert bad.tolist() == [False, False, True, True, False, False]


def test_floats_reject_text_and_literal_nan_but_keep_inf_for_the_finite_check() -> None:
    raw = pd.Series(["1.5", "£10", "nan", "inf", ""])
    typed, bad = coerce_column(raw, _col(DType.FLOAT))
    assert typed.iloc[0] == 1.5 and np.isinf(typed.iloc[3])
    assert bad.tolist() == [False, True, True, False, False]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("FALSE", False), ("Yes", True), ("0", False)])
def test_bools_accept_common_spellings(text: str, value: bool) -> None:
    typed, bad = coerce_column(pd.Series([text]), _col(DType.BOOL))
    assert typed.iloc[0] is np.bool_(value) or typed.iloc[0] == value
    assert not bad.iloc[0]


def test_bools_reject_other_words() -> None:
    _, bad = coerce_column(pd.Series(["maybe"]), _col(DType.BOOL))
    assert bad.tolist() == [True]


def test_identifiers_stored_as_numbers_become_text_without_decimal_point() -> None:
    typed, bad = coerce_column(pd.Series([1234567.0, np.nan]), _col(DType.STR))
    assert typed.tolist()[0] == "1234567" and pd.isna(typed.iloc[1])
    assert not bad.any()


def test_blank_text_is_missing() -> None:
    typed, _ = coerce_column(pd.Series(["A", " ", "\t", None]), _col(DType.STR))
    assert typed.iloc[0] == "A"
    assert typed.iloc[1:].isna().all()


def test_dates_must_be_zero_padded_iso() -> None:
    _, bad = coerce_column(pd.Series(["2022-5-7", "2022-05-07", "20220507"]), _col(DType.DATE))
    assert bad.tolist() == [True, False, True]
