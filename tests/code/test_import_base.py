"""The shared import pipeline: parsing helpers, staging, validation through the contract and the accounting."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from riskmodel.contract import load_dataset
from riskmodel.errors import RiskmodelError
from riskmodel.importers import FORMATS, import_sources
from riskmodel.importers.base import Record, csv_rows, json_records, parse_date, parse_number, run_import, text_encoding


@pytest.mark.parametrize(("text", "expected"), [
    ("2021-03-04", dt.date(2021, 3, 4)),
    ("2022-09-12T08:30:15Z", dt.date(2022, 9, 12)),
    ("04/03/2021", dt.date(2021, 3, 4)),
    ("4.3.2021", dt.date(2021, 3, 4)),
    ("20210304", dt.date(2021, 3, 4)),
    ("4 March 2021", dt.date(2021, 3, 4)),
    ("4th Mar 2021", dt.date(2021, 3, 4)),
    ("4-Mar-2021", dt.date(2021, 3, 4)),
    ("Aug 07, 2023", dt.date(2023, 8, 7)),
    ("44000", dt.date(2020, 6, 18)),  # an Excel serial day number
    ("", None),
    (None, None),
])
def test_parse_date_forms(text: str | None, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_parse_date_day_first_and_two_digit_years() -> None:
    assert parse_date("04/03/21") == dt.date(2021, 3, 4)
    assert parse_date("04/03/99") == dt.date(1999, 3, 4)
    assert parse_date("04/03/2021", day_first=False) == dt.date(2021, 4, 3)


@pytest.mark.parametrize("text", ["31/02/2020", "Ongoing", "2021-13-01", "March 2021", "1/2"])
def test_parse_date_never_guesses(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        parse_date(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("£1,234.50", 1234.5), ("1 234", 1234.0), ("(120)", -120.0), ("-3.5", -3.5), ("2e3", 2000.0), (7, 7.0),
    ("", None), (None, None), (float("nan"), None),
])
def test_parse_number(text: object, expected: float | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["12abc", "1.2.3", "N/A", True])
def test_parse_number_refuses(text: object) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_number(text)


def test_text_encoding_and_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    # Windows-1252 only late in the file: the whole file is checked, not its first block.
    path.write_bytes("name,town\nA,Ayr\nB,Perth\n,\nCafé £,Oban\nC,Troon,extra\n".encode("cp1252"))
    assert text_encoding(path) == "cp1252"
    warnings: list[str] = []
    rows = list(csv_rows(path, warnings))
    assert rows == [("line 2", {"name": "A", "town": "Ayr"}, None), ("line 3", {"name": "B", "town": "Perth"}, None),
                    ("line 5", {"name": "Café £", "town": "Oban"}, None),
                    ("line 6", None, "has 3 fields where the header has 2")]
    assert warnings == ["register.csv is not UTF-8; it was read as cp1252"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffname\nA\n".encode())
    assert list(csv_rows(bom)) == [("line 2", {"name": "A"}, None)]


def test_json_records(tmp_path: Path) -> None:
    lines = tmp_path / "a.jsonl"
    lines.write_text('{"x": 1}\n\nnot json\n{"x": 2}\n', encoding="utf-8")
    got = list(json_records(lines))
    assert [(loc, value) for loc, value, _ in got] == [("line 1", {"x": 1}), ("line 3", None), ("line 4", {"x": 2})]
    assert got[1][2] is not None and "not valid JSON" in got[1][2]
    listed = tmp_path / "b.json"
    listed.write_text('[{"x": 1}, {"x": 2}]', encoding="utf-8")
    assert [v for _, v, _ in json_records(listed)] == [{"x": 1}, {"x": 2}]
    truncated = tmp_path / "c.json"
    truncated.write_text('{"releases": [{"ocid": "a"', encoding="utf-8")
    (loc, value, problem), = json_records(truncated)
    assert (loc, value) == ("file", None) and problem is not None and problem.startswith("is not valid JSON")
    lines_in_json = tmp_path / "d.json"
    lines_in_json.write_text('{"x": 1}\n{"x": 2}\n', encoding="utf-8")
    assert [v for _, v, _ in json_records(lines_in_json)] == [{"x": 1}, {"x": 2}]


def _labels_reader(rows: list[tuple[str, dict[str, Any] | str]]):  # type: ignore[no-untyped-def]
    def read(sources: list[Path], options: Mapping[str, Any]) -> Iterator[Record]:
        for i, row in enumerate(rows, 1):
            if isinstance(row[1], str):
                yield Record(sources[0].name, f"row {i}", reason=row[1])
            else:
                yield Record(sources[0].name, f"row {i}", rows=((row[0], row[1]),))
    return read


def _label(number: str, label: object = 1, on: object = dt.date(2020, 1, 1)) -> dict[str, Any]:
    return {"company_number": number, "label": label, "labelled_on": on, "source": "investigation"}


def test_run_import_accounts_for_every_record_and_row(tmp_path: Path) -> None:
    source = tmp_path / "src.txt"
    source.write_text("anything", encoding="utf-8")
    reader = _labels_reader([
        ("labels", _label("SC000001")),
        ("labels", "no company number in the source"),
        ("labels", _label("SC000002", label=2)),  # not 0 or 1: the contract quarantines it
        ("labels", _label("SC000003", on=dt.date(2021, 5, 6))),
        ("labels", _label("SC000003", on=dt.date(2021, 5, 6))),  # an exact copy
    ])
    result = run_import("test", reader, [source], tmp_path / "out", extract_date=dt.date(2022, 1, 1))
    m = result.manifest
    assert m["sources"]["src.txt"] == {"records_in": 5, "records_mapped": 4, "records_quarantined": 1,
                                       "rows_mapped:labels": 4, "rows_quarantined:labels": 2}
    assert m["tables"]["labels"] == {"rows_mapped": 4, "rows_written": 2, "rows_quarantined": 2, "rows_rejected": 0}
    assert (m["records_in"], m["records_mapped"], m["records_quarantined"]) == (5, 4, 1)
    written = pd.read_parquet(result.tables["labels"])
    assert written["company_number"].tolist() == ["SC000001", "SC000003"]
    assert list(written.columns) == ["company_number", "label", "labelled_on", "source"]  # no trace columns
    quarantine = pd.read_csv(tmp_path / "out" / "imports" / "test" / "quarantine.csv")
    assert quarantine[["record", "stage"]].values.tolist() == [["row 2", "map"], ["row 3", "contract"],
                                                               ["row 5", "contract"]]
    assert "label" in quarantine["reasons"][1] and "exact copy" in quarantine["reasons"][2]
    assert json.loads((tmp_path / "out" / "dataset.json").read_text())["extract_date"] == "2022-01-01"
    # What was written is a data set the loader reads as clean.
    assert load_dataset(tmp_path / "out", ["labels"]).is_clean
    assert not (tmp_path / "out" / "imports" / "test" / ".staging").exists()


def test_run_import_refuses_to_replace_tables_unless_asked(tmp_path: Path) -> None:
    source = tmp_path / "src.txt"
    source.write_text("x", encoding="utf-8")
    reader = _labels_reader([("labels", _label("SC000001"))])
    run_import("test", reader, [source], tmp_path / "out")
    with pytest.raises(RiskmodelError, match="already holds labels") as info:
        run_import("test", reader, [source], tmp_path / "out")
    assert info.value.evidence["tables"] == ["labels"]
    run_import("test", _labels_reader([("labels", _label("SC000009"))]), [source], tmp_path / "out", overwrite=True)
    assert pd.read_parquet(tmp_path / "out" / "labels.parquet")["company_number"].tolist() == ["SC000009"]


def test_run_import_errors_name_what_is_wrong(tmp_path: Path) -> None:
    source = tmp_path / "src.txt"
    source.write_text("x", encoding="utf-8")
    with pytest.raises(RiskmodelError, match="no such source file"):
        run_import("test", _labels_reader([]), [tmp_path / "missing.csv"], tmp_path / "out")
    with pytest.raises(ValueError, match="does not have"):
        run_import("test", _labels_reader([("labels", {**_label("SC1"), "colour": "red"})]), [source],
                   tmp_path / "out2")
    with pytest.raises(ValueError, match="needs a reason"):
        Record("a", "b")
    with pytest.raises(RiskmodelError, match="unknown import format 'xml'"):
        import_sources("xml", [source], tmp_path / "out3")


def test_every_format_has_a_reader() -> None:
    for name, spec in FORMATS.items():
        try:
            spec.load()
        except ModuleNotFoundError:
            pytest.fail(f"format {name}: reader module {spec.reader} is missing")


def test_cli_import(tmp_path: Path) -> None:
    source = tmp_path / "wb.csv"
    source.write_text("firm_name,additional_firm_info,address,country,ineligible_from,ineligible_to,grounds\n"
                      "ACME LTD,*1,1 High St,United Kingdom,2024-01-02,2026-01-01,Fraudulent Practices\n",
                      encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "riskmodel", "import", "watchlist", str(source), "--out",
                           str(tmp_path / "out"), "--extract-date", "2025-01-07"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "wb.csv" in done.stdout and "watchlist" in done.stdout
    assert pd.read_parquet(tmp_path / "out" / "watchlist.parquet")["name"].tolist() == ["ACME LTD"]
    again = subprocess.run([sys.executable, "-m", "riskmodel", "import", "watchlist", str(source), "--out",
                            str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "--overwrite" in again.stderr
