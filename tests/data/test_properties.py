"""Property tests on tables generated from the contract specs: round trips through CSV and parquet, row comparison."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import column_values as _value
from strategies import tables

from riskmodel.contract import TABLES, DType, TableSpec, read_table_file, validate_table, write_table
from riskmodel.contract.spec import ColumnSpec

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
