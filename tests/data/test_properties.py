"""Property tests on tables generated from the contract specs: round trips through CSV and parquet, row comparison."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.contract import TABLES, DType, TableSpec, read_table_file, validate_table, write_table
from riskmodel.contract.schemas import PANDAS_DTYPES
from riskmodel.contract.spec import MAX_DATE, MIN_DATE, ColumnSpec

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda s: s.strip() != "")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value(col: ColumnSpec) -> st.SearchStrategy[Any]:
    if col.allowed is not None:
        base: st.SearchStrategy[Any] = st.sampled_from(
            [int(v) for v in col.allowed] if col.dtype is DType.INT else list(col.allowed))
    elif col.dtype is DType.STR:
        base = TEXT
    elif col.dtype is DType.INT:
        base = st.integers(0 if col.non_negative else -(10**12), 10**12)
    elif col.dtype is DType.FLOAT:
        base = st.floats(0 if col.non_negative else -1e12, 1e12, allow_nan=False, allow_infinity=False)
    elif col.dtype is DType.BOOL:
        base = st.booleans()
    elif col.dtype is DType.DATE:
        base = st.dates(MIN_DATE, MAX_DATE).map(pd.Timestamp)
    else:
        base = st.datetimes(dt.datetime(1800, 1, 1), dt.datetime(2261, 12, 31)).map(pd.Timestamp)
    return st.one_of(st.none(), base) if col.nullable else base


def _key(spec: TableSpec) -> Any:
    return lambda row: tuple(row[k] for k in spec.key)


def tables(spec: TableSpec, max_rows: int = 12) -> st.SearchStrategy[pd.DataFrame]:
    """Valid typed tables of ``spec``: keys unique, date orders respected by construction."""
    row = st.fixed_dictionaries({c.name: _value(c) for c in spec.columns})

    def build(rows: list[dict[str, Any]]) -> pd.DataFrame:
        for r in rows:
            for rule in spec.date_orders:  # rules are listed so that fixing them in order never breaks an earlier one
                if r[rule.earlier] is not None and r[rule.later] is not None and r[rule.later] < r[rule.earlier]:
                    r[rule.later] = r[rule.earlier]
        frame = pd.DataFrame(rows, columns=list(spec.column_names))
        for c in spec.columns:
            frame[c.name] = frame[c.name].astype(PANDAS_DTYPES[c.dtype]) if len(frame) else pd.Series(
                [], dtype=PANDAS_DTYPES[c.dtype])
            if c.dtype is DType.STR:
                frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), None)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
        return frame

    return st.lists(row, min_size=spec.min_rows, max_size=max_rows, unique_by=_key(spec)).map(build)


def _load(path: Path, spec: TableSpec) -> Any:
    return validate_table(spec, read_table_file(path, spec.name))


@pytest.mark.parametrize("name", list(TABLES))
def test_valid_tables_round_trip_identically_through_csv_and_parquet(name: str) -> None:
    spec = TABLES[name]

    @SETTINGS
    @given(frame=tables(spec))
    def check(frame: pd.DataFrame) -> None:
        with TemporaryDirectory() as tmp:
            from_csv = _load(write_table(frame, Path(tmp) / f"{name}.csv", spec), spec)
            from_parquet = _load(write_table(frame, Path(tmp) / f"{name}.parquet", spec), spec)
        assert from_csv.problems[from_csv.problems["level"] != "warning"].empty, from_csv.problems.to_dict("records")
        assert from_parquet.problems[from_parquet.problems["level"] != "warning"].empty
        pd.testing.assert_frame_equal(from_csv.valid, from_parquet.valid)
        pd.testing.assert_frame_equal(from_csv.valid, frame, check_index_type=False)

    check()


_BAD = {DType.STR: "zz-not-allowed", DType.INT: "1.5", DType.FLOAT: "12abc", DType.BOOL: "perhaps",
        DType.DATE: "31/12/2020", DType.DATETIME: "noon"}


@pytest.mark.parametrize("name", list(TABLES))
def test_a_corrupted_cell_quarantines_exactly_its_row_in_both_formats(name: str) -> None:
    spec = TABLES[name]
    corruptible = [c for c in spec.columns if c.dtype is not DType.STR or c.allowed is not None]

    @SETTINGS
    @given(frame=tables(spec, max_rows=8).filter(lambda f: len(f) > 0), data=st.data())
    def check(frame: pd.DataFrame, data: st.DataObject) -> None:
        row = data.draw(st.integers(1, len(frame)))
        col = data.draw(st.sampled_from(corruptible))
        text = frame.astype(object).astype(str).where(frame.notna(), None)
        for c in spec.columns:
            if c.dtype is DType.DATE:
                text[c.name] = frame[c.name].dt.strftime("%Y-%m-%d").where(frame[c.name].notna(), None)
            elif c.dtype is DType.DATETIME:
                text[c.name] = frame[c.name].map(lambda t: None if pd.isna(t) else t.isoformat())
        text.loc[row, col.name] = _BAD[col.dtype]
        text_spec = TableSpec(spec.name, tuple(ColumnSpec(c.name, DType.STR, nullable=True) for c in spec.columns),
                              spec.key)
        with TemporaryDirectory() as tmp:
            results = [_load(write_table(text, Path(tmp) / f"{name}.{ext}", text_spec), spec)
                       for ext in ("csv", "parquet")]
        for result in results:
            assert result.rows_kept + result.rows_quarantined == len(frame)
            assert row in set(result.quarantine["source_row"])
        assert results[0].quarantine["source_row"].tolist() == results[1].quarantine["source_row"].tolist()
        pd.testing.assert_frame_equal(results[0].valid, results[1].valid)

    check()


@pytest.mark.parametrize("name", ["companies", "officers", "ownership", "accounts", "licences", "contracts"])
def test_same_rows_ignores_order_and_sees_any_changed_cell(name: str) -> None:
    # score_record keeps reference feature values when a table's rows are "the same": a change it missed would
    # leave a supplier with stale features.
    from riskmodel.scoring.neighbourhood import _same_rows

    spec = TABLES[name]

    @given(frame=tables(spec, max_rows=8).filter(lambda f: len(f) > 0), data=st.data())
    @SETTINGS
    def check(frame: pd.DataFrame, data: st.DataObject) -> None:
        order = data.draw(st.permutations(range(len(frame))))
        assert _same_rows(frame, frame.iloc[list(order)].reset_index(drop=True))
        row = data.draw(st.integers(0, len(frame) - 1))
        col = data.draw(st.sampled_from(list(spec.column_names)))
        new = data.draw(_value(spec.column(col)))
        old = frame[col].iloc[row]
        changed = frame.copy()
        values = changed[col].astype(object)
        values.iloc[row] = new
        changed[col] = values.astype(frame[col].dtype)
        same = bool(pd.isna(old) and pd.isna(new)) or (not pd.isna(old) and not pd.isna(new) and old == new)
        assert _same_rows(frame, changed) == same

    check()
