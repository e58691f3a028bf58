"""`riskmodel validate` on a copy of the example with every defect from the contract seeded at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import read_raw_csv


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskmodel", *args], capture_output=True, text=True, check=False,
                          env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})


def test_clean_example_exits_zero(example_dir: Path) -> None:
    done = _run("validate", str(example_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "meets the contract" in done.stdout


@pytest.fixture
def seeded(example_dir: Path) -> dict[str, set[int]]:
    """Seed each defect; return the data rows (1-based) that must be quarantined, per table."""
    d = example_dir
    (d / "contracts.csv").unlink()                                            # missing required table
    lic = read_raw_csv(d / "licences.csv").drop(columns=["objections"])       # missing column
    lic.to_csv(d / "licences.csv", index=False)
    (d / "watchlist.csv").write_bytes(b"")                                    # empty file
    (d / "transactions.csv").write_bytes(bytes(range(256)) * 40)              # binary garbage named .csv
    own = read_raw_csv(d / "ownership.csv")                                   # truncated parquet
    (d / "ownership.csv").unlink()
    pq.write_table(pa.Table.from_pandas(own), d / "ownership.parquet")
    data = (d / "ownership.parquet").read_bytes()
    (d / "ownership.parquet").write_bytes(data[: len(data) // 2])
    labels = read_raw_csv(d / "labels.csv")                                   # header-only file
    labels.iloc[0:0].to_csv(d / "labels.csv", index=False)

    comp = read_raw_csv(d / "companies.csv")
    comp.loc[2, "date_of_creation"] = "not-a-date"                            # wrong type (row 3)
    comp.loc[4, "company_status"] = "actve"                                   # unknown enumeration (row 5)
    twin = comp.iloc[[0]].assign(company_name="Someone Else Ltd")             # duplicate key (rows 1 and last)
    comp = pd.concat([comp, twin], ignore_index=True)
    comp.to_csv(d / "companies.csv", index=False)

    off = read_raw_csv(d / "officers.csv")
    off.loc[2, "resigned_on"] = "1999-01-01"                                  # resigned before appointed (row 3)
    off.loc[5, "officer_name"] = "Seán Ó Briain"
    off.to_csv(d / "officers.csv", index=False, encoding="latin-1")           # latin-1 CSV

    acc = read_raw_csv(d / "accounts.csv")
    acc.loc[1, "filed_on"] = "2000-01-01"                                     # filed before period end (row 2)
    acc.loc[3, "turnover"] = "-500"                                           # negative where impossible (row 4)
    acc.to_csv(d / "accounts.csv", index=False)
    return {"companies": {1, 3, 5, len(comp)}, "officers": {3}, "accounts": {2, 4}}


def test_every_seeded_defect_is_reported_in_one_run(example_dir: Path, seeded: dict[str, set[int]],
                                                    tmp_path: Path) -> None:
    qdir, problems_csv = tmp_path / "quarantine", tmp_path / "problems.csv"
    done = _run("validate", str(example_dir), "--quarantine-dir", str(qdir), "--problems-csv", str(problems_csv))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr

    problems = pd.read_csv(problems_csv, dtype={"row": "Int64"})
    found = set(zip(problems["table"], problems["rule"], strict=True))
    expected = {
        ("contracts", "missing-table"), ("licences", "missing-column"), ("watchlist", "empty-file"),
        ("transactions", "not-text"), ("ownership", "unreadable-file"), ("labels", "no-rows"),
        ("officers", "encoding"), ("companies", "type-date"), ("companies", "allowed-values"),
        ("companies", "duplicate-key"), ("officers", "resigned_on-not-before-appointed_on"),
        ("accounts", "filed_on-not-before-period_end"), ("accounts", "non-negative"),
    }
    assert expected <= found, expected - found
    row_level = problems[problems["level"] == "row"]
    assert set(zip(row_level["table"], row_level["row"], row_level["column"], strict=True)) == {
        ("companies", 3, "date_of_creation"), ("companies", 5, "company_status"),
        ("companies", 1, "company_number"), ("companies", 25, "company_number"),
        ("officers", 3, "resigned_on"), ("accounts", 2, "filed_on"), ("accounts", 4, "turnover")}
    assert (problems.loc[problems["rule"] == "missing-column", "column"] == "objections").all()

    # The quarantine files hold exactly the bad rows, each with its reasons.
    assert sorted(p.stem for p in qdir.iterdir()) == sorted(seeded)
    for table, rows in seeded.items():
        quarantined = pd.read_csv(qdir / f"{table}.csv", dtype=str, keep_default_na=False)
        assert set(quarantined["source_row"].astype(int)) == rows, table
        assert (quarantined["quarantine_reasons"] != "").all()

    # The officer with a latin-1 name was read, not lost.
    summary = done.stdout
    for table in ("contracts", "licences", "watchlist", "transactions", "ownership"):
        assert table in summary


def test_library_raises_one_error_naming_every_rejected_table(example_dir: Path, seeded: dict[str, set[int]]) -> None:
    from riskmodel import DataContractError, load_dataset

    with pytest.raises(DataContractError) as info:
        load_dataset(example_dir)
    assert sorted({p["table"] for p in info.value.problems}) == [
        "contracts", "licences", "ownership", "transactions", "watchlist"]


def test_usage_errors_exit_two_without_traceback(tmp_path: Path) -> None:
    for args in (("validate", str(tmp_path / "missing")), ("validate", "--no-such-option", "x"), ("frobnicate",)):
        done = _run(*args)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stdout + done.stderr


def test_help_lists_every_command_with_one_line() -> None:
    done = _run("--help")
    assert done.returncode == 0
    for command in ("validate", "contract", "demo", "synth"):
        assert any(line.strip().startswith(command) for line in done.stdout.splitlines()), command
