"""Reading table files: encodings, broken files and folder-level problems."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.contract import TABLES, read_table_file, validate_dataset, validate_table

HEADER = ",".join(TABLES["labels"].column_names)


def _labels_file(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "labels.csv"
    path.write_bytes(body.encode(encoding))
    return path


def test_empty_file_is_a_table_problem(tmp_path: Path) -> None:
    raw = read_table_file(_labels_file(tmp_path, ""), "labels")
    assert raw.frame is None
    assert [p["rule"] for p in raw.problems] == ["empty-file"]


def test_binary_garbage_named_csv_is_a_table_problem(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(bytes(range(256)) * 64)
    raw = read_table_file(path, "labels")
    assert raw.frame is None
    assert [p["rule"] for p in raw.problems] == ["not-text"]


def test_latin1_file_is_read_with_a_warning_and_loses_nothing(tmp_path: Path) -> None:
    path = _labels_file(tmp_path, f"{HEADER}\nSC1,1,2024-01-01,investigación\n", "latin-1")
    raw = read_table_file(path, "labels")
    assert raw.encoding == "cp1252"
    assert [p["rule"] for p in raw.problems] == ["encoding"]
    result = validate_table(TABLES["labels"], raw)
    assert result.valid["source"].tolist() == ["investigación"]


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = _labels_file(tmp_path, f"\ufeff{HEADER}\nSC1,1,2024-01-01,audit\n")
    result = validate_table(TABLES["labels"], read_table_file(path, "labels"))
    assert result.rows_kept == 1 and result.problems.empty


def test_quoted_commas_newlines_and_na_words_round_trip(tmp_path: Path) -> None:
    path = _labels_file(tmp_path, f'{HEADER}\nNA,1,2024-01-01,"audit, phase 2\nsecond line"\n')
    result = validate_table(TABLES["labels"], read_table_file(path, "labels"))
    assert result.valid["company_number"].tolist() == ["NA"]
    assert result.valid["source"].tolist() == ["audit, phase 2\nsecond line"]


def test_ragged_records_are_quarantined_with_their_row_numbers(tmp_path: Path) -> None:
    body = f"{HEADER}\nSC1,1,2024-01-01,audit\nSC2,1\nSC3,0,2024-02-01,audit\nSC4,0,2024-02-01,audit,extra\n"
    raw = read_table_file(_labels_file(tmp_path, body), "labels")
    result = validate_table(TABLES["labels"], raw)
    assert result.valid.index.tolist() == [1, 3]
    assert result.quarantine["source_row"].tolist() == [2, 4]
    assert result.quarantine["raw_record"].tolist() == ["SC2,1", "SC4,0,2024-02-01,audit,extra"]
    assert result.rows_read == 4


def test_duplicate_header_names_are_a_table_problem(tmp_path: Path) -> None:
    raw = read_table_file(_labels_file(tmp_path, f"{HEADER},label\nSC1,1,2024-01-01,audit,1\n"), "labels")
    assert raw.frame is None and [p["rule"] for p in raw.problems] == ["duplicate-columns"]


def test_truncated_parquet_is_a_table_problem(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    frame = pd.DataFrame({"company_number": ["SC1"] * 100, "label": [1] * 100,
                          "labelled_on": [pd.Timestamp("2024-01-01")] * 100, "source": ["audit"] * 100})
    pq.write_table(pa.Table.from_pandas(frame), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    raw = read_table_file(path, "labels")
    assert raw.frame is None and [p["rule"] for p in raw.problems] == ["unreadable-file"]


def test_folder_level_problems_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(f"{HEADER}\n")
    (tmp_path / "labels.parquet").write_bytes(b"")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    dataset = validate_dataset(tmp_path)
    rules = dataset.problems.groupby("table")["rule"].apply(sorted).to_dict()
    for table in ("companies", "officers", "ownership", "accounts", "licences", "contracts"):
        assert rules[table] == ["missing-table"]
    assert rules["labels"] == ["ambiguous-table"]
    assert rules["notes"] == ["unknown-table"]
    assert "transactions" not in rules  # optional tables may be absent
