"""Validation in batches gives exactly what a whole read gives: valid rows, quarantine, problems, counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import read_raw_csv

from riskmodel.contract import TABLES
from riskmodel.contract import io as contract_io
from riskmodel.contract.io import read_table_file
from riskmodel.contract.stream import StreamedTable
from riskmodel.contract.validate import validate_dataset, validate_table

_PROBLEM_ORDER = ["table", "row", "column", "rule", "message"]


@pytest.fixture
def dirty(example_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example with defects spread over many small batches, in CSV and parquet."""
    monkeypatch.setattr(contract_io, "_BLOCK_BYTES", 512)  # CSV batches of a few records
    d = example_dir
    comp = read_raw_csv(d / "companies.csv")
    comp.loc[2, "date_of_creation"] = "not-a-date"
    comp.loc[4, "company_status"] = "actve"
    comp.loc[6, "company_name"] = "   "  # blank: missing
    # An exact copy of row 1 and a conflicting twin of row 2, far from them (other batches).
    comp = pd.concat([comp, comp.iloc[[0]], comp.iloc[[1]].assign(company_name="Someone Else Ltd")],
                     ignore_index=True)
    comp.loc[len(comp) - 5, "company_name"] = "Caf\u00e9 S\u00e9an Ltd"  # latin-1 only late in the file
    text = comp.to_csv(index=False).splitlines(keepends=True)
    text.insert(12, "too,few\n")  # a ragged record between batches
    text.append("also,ragged,at,the,end\n")  # and one after the last good record
    (d / "companies.csv").write_bytes("".join(text).encode("latin-1"))

    off = read_raw_csv(d / "officers.csv")
    off.loc[2, "resigned_on"] = "1999-01-01"
    off = pd.concat([off, off.iloc[[3, 3]]], ignore_index=True)  # two more copies of one row
    (d / "officers.csv").unlink()
    pq.write_table(pa.Table.from_pandas(off, preserve_index=False), d / "officers.parquet", row_group_size=7)
    return d


def _streamed(spec_name: str, path: Path, batch_rows: int) -> tuple[pd.DataFrame, StreamedTable]:
    streamed = StreamedTable(TABLES[spec_name], path, None, batch_rows=batch_rows)
    batches = list(streamed.batches())
    assert all(len(b) for b in batches[:-1])
    return pd.concat(batches), streamed


@pytest.mark.parametrize(("table", "file"), [("companies", "companies.csv"), ("officers", "officers.parquet"),
                                             ("accounts", "accounts.csv")])
@pytest.mark.parametrize("batch_rows", [1, 5, 10_000])
def test_batches_equal_the_whole_read(dirty: Path, table: str, file: str, batch_rows: int) -> None:
    whole = validate_table(TABLES[table], read_table_file(dirty / file, table))
    valid, streamed = _streamed(table, dirty / file, batch_rows)
    result = streamed.result
    assert result is not None and not result.rejected
    pd.testing.assert_frame_equal(valid, whole.valid, check_index_type=False)
    assert list(valid.index) == list(whole.valid.index)
    pd.testing.assert_frame_equal(result.quarantine, whole.quarantine)
    pd.testing.assert_frame_equal(
        result.problems.sort_values(_PROBLEM_ORDER, na_position="first", ignore_index=True),
        whole.problems.sort_values(_PROBLEM_ORDER, na_position="first", ignore_index=True), check_dtype=False)
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (
        whole.rows_read, whole.rows_kept, whole.rows_quarantined)


def test_the_seeded_defects_are_found_across_batches(dirty: Path) -> None:
    _, streamed = _streamed("companies", dirty / "companies.csv", 3)
    result = streamed.result
    assert result is not None
    rules = set(result.problems["rule"])
    assert {"type-date", "allowed-values", "duplicate-row", "duplicate-key", "field-count", "encoding"} <= rules
    # Rows 1 and 2 are far from their copy and twin: the copy is quarantined, the twins both are, row 1 kept.
    quarantined = set(result.quarantine["source_row"])
    assert 2 in quarantined and 1 not in quarantined
    _, officers = _streamed("officers", dirty / "officers.parquet", 4)
    assert officers.result is not None
    assert (officers.result.problems["rule"] == "duplicate-row").sum() == 2


def test_a_data_set_validated_in_batches_equals_the_whole_validation(dirty: Path) -> None:
    held: dict[str, pd.DataFrame] = {}

    def sink(name: str, batches: Iterator[pd.DataFrame]) -> pd.DataFrame:
        held[name] = pd.concat(list(batches))
        return held[name].iloc[:0]

    whole = validate_dataset(dirty)
    streamed = validate_dataset(dirty, sink=sink)
    pd.testing.assert_frame_equal(streamed.summary, whole.summary)
    assert streamed.extract_date == whole.extract_date
    for name, frame in whole.tables.items():
        pd.testing.assert_frame_equal(held[name], frame, check_index_type=False)
        pd.testing.assert_frame_equal(streamed.quarantine[name], whole.quarantine[name])


def test_a_file_unreadable_part_way_is_rejected_before_any_row_goes_out(tmp_path: Path) -> None:
    good = pd.DataFrame({"company_number": [f"SC{i:06d}" for i in range(50)]})
    pq.write_table(pa.Table.from_pandas(good), tmp_path / "companies.parquet", row_group_size=10)
    data = (tmp_path / "companies.parquet").read_bytes()
    (tmp_path / "companies.parquet").write_bytes(data[: len(data) // 2])
    streamed = StreamedTable(TABLES["companies"], tmp_path / "companies.parquet")
    assert list(streamed.batches()) == []
    assert streamed.result is not None and streamed.result.rejected
