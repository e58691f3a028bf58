"""Generated bad input through ``riskmodel validate`` and ``riskmodel features`` (issue 9, "Bad input, generated").

Coherent data sets built from the contract specs are broken in the ways real files break (wrong types,
out-of-range dates, unknown enumerations, duplicate keys, NaN and infinity in money, empty, very long and unicode
strings, missing columns) and each command is run on them through :func:`riskmodel.cli.main`, whose error handling
is what a user meets: it must succeed with the bad rows quarantined or stop with a clear message, never crash and
never drop a row silently (see :mod:`support_fuzz`). The examples are derandomized, so CI tries the same ones on
every run; ``RISKMODEL_FUZZ_EXAMPLES`` raises their number for a campaign.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import KINDS, GeneratedDataset, datasets, mutated_datasets, tables, write_dataset
from support_fuzz import Tally, check_features, check_validate, fuzz_settings, run_main, run_subprocess

from riskmodel.contract import TABLES, table_schema, validate_dataset


@pytest.mark.parametrize("name", list(TABLES))
def test_generated_tables_pass_the_pandera_schemas(name: str) -> None:
    # The strategies are derived from the same specs as the pandera schemas: what they build, the schemas accept.
    schema = table_schema(TABLES[name])

    @fuzz_settings(5, share=0)
    @given(frame=tables(TABLES[name], max_rows=6))
    def check(frame: pd.DataFrame) -> None:
        schema.validate(frame, lazy=True)

    check()


@fuzz_settings(10, share=0)
@given(data=datasets(max_businesses=8))
def test_generated_data_sets_meet_the_contract(data: GeneratedDataset) -> None:
    # The generator's promise: before any mutation, nothing is quarantined or rejected.
    with TemporaryDirectory() as tmp:
        dataset = validate_dataset(write_dataset(Path(tmp), data))
    assert dataset.is_clean, dataset.problems.to_dict("records")
    assert {"companies", "officers", "accounts", "contracts"} <= set(dataset.tables)
    assert len(dataset["accounts"]) and len(dataset["contracts"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_mutation_kind_applies_to_every_generated_data_set(kind: str) -> None:
    @fuzz_settings(5, share=0)
    @given(data=mutated_datasets(datasets(max_businesses=3), max_size=1, kinds=(kind,)))
    def check(data: GeneratedDataset) -> None:
        assert [m.kind for m in data.mutations] == [kind]
        mutation = data.mutations[0]
        frame = data.tables[mutation.table]
        if kind == "missing-column":
            assert mutation.column not in frame.columns and mutation.expect == "reject"
        elif kind == "duplicate-key":
            assert mutation.rows[-1] == len(frame) and mutation.expect == "quarantine"
        else:
            assert mutation.column in frame.columns and set(mutation.rows) <= set(frame.index)

    check()


@pytest.mark.parametrize("kind", KINDS)
def test_validate_quarantines_every_bad_row(kind: str) -> None:
    tally = Tally(f"validate [{kind}]")

    @fuzz_settings(2, share=1 / len(KINDS))
    @given(data=mutated_datasets(include=kind))
    def check(data: GeneratedDataset) -> None:
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            quarantine = Path(tmp) / "quarantine"
            run = run_main(["validate", str(folder), "--quarantine-dir", str(quarantine), "--max-problems", "5"])
            tally.add(data, run)
            check_validate(data, folder, run, quarantine)

    with tally:
        check()


@pytest.mark.parametrize("kind", KINDS)
def test_features_has_one_row_per_kept_business(kind: str) -> None:
    tally = Tally(f"features [{kind}]")

    @fuzz_settings(2, share=1 / len(KINDS))
    @given(data=mutated_datasets(include=kind), back=st.integers(0, 800), suffix=st.sampled_from([".parquet", ".csv"]))
    def check(data: GeneratedDataset, back: int, suffix: str) -> None:
        as_of = data.extract_date - dt.timedelta(days=back)
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            out = Path(tmp) / f"features{suffix}"
            run = run_main(["features", str(folder), "--as-of", as_of.isoformat(), "--out", str(out)])
            tally.add(data, run)
            check_features(data, folder, run, out, as_of)

    with tally:
        check()


@pytest.mark.parametrize("command", ["validate", "features"])
def test_the_installed_entry_point_handles_generated_bad_input(command: str) -> None:
    # The same judgement on a real process: what a user's shell sees, exit code and output.
    tally = Tally(f"{command} (subprocess)")

    @fuzz_settings(1, share=0.02)
    @given(data=mutated_datasets(min_size=2))
    def check(data: GeneratedDataset) -> None:
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            if command == "validate":
                quarantine = Path(tmp) / "quarantine"
                run = run_subprocess(["validate", str(folder), "--quarantine-dir", str(quarantine)])
                tally.add(data, run)
                check_validate(data, folder, run, quarantine)
            else:
                out = Path(tmp) / "features.parquet"
                run = run_subprocess(["features", str(folder), "--as-of", data.extract_date.isoformat(),
                                      "--out", str(out)])
                tally.add(data, run)
                check_features(data, folder, run, out, data.extract_date)

    with tally:
        check()
