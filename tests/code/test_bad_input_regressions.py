"""Bugs found by generated bad input (issue 9), each pinned where it lived.

The generated runs are in ``tests/data/test_fuzz_commands.py`` and ``tests/model/test_fuzz_model_commands.py``; the
examples here are the smallest inputs that showed each bug, so that a regression names its cause.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import make_dataset
from support_model import FAST

from riskmodel.config import load_config
from riskmodel.contract import TABLES, validate_dataset
from riskmodel.contract import io as contract_io
from riskmodel.contract.staged import stage_dataset
from riskmodel.contract.stream import StreamedTable
from riskmodel.training.fit import TrainingError, fit_model


def _accounts_with_nan(folder: Path) -> Path:
    """accounts.parquet with a NaN turnover (row 1), an infinite one (row 2) and a missing one (row 3)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 3
    columns: dict[str, pa.Array] = {}
    for col in TABLES["accounts"].columns:
        if col.name == "company_number":
            columns[col.name] = pa.array(["SC1", "SC2", "SC3"])
        elif col.name in ("period_start", "period_end", "filed_on"):
            columns[col.name] = pa.array(pd.to_datetime(["2020-01-01"] * n).date, pa.date32())
        elif col.name == "accounts_type":
            columns[col.name] = pa.array(["small"] * n)
        elif col.name == "turnover":
            columns[col.name] = pa.array([math.nan, math.inf, None], pa.float64())  # NaN kept apart from null
        else:
            columns[col.name] = pa.array([1.0] * n, pa.float64())
    path = folder / "accounts.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_nan_in_a_parquet_number_column_is_quarantined_not_read_as_missing(tmp_path: Path) -> None:
    # pandas reads a parquet NaN as missing: a nullable money column took NaN silently, where a CSV "NaN" is
    # quarantined. Whole read and batches alike.
    path = _accounts_with_nan(tmp_path / "data")
    whole = validate_dataset(tmp_path / "data", ["accounts"])
    assert whole.quarantine["accounts"]["source_row"].tolist() == [1, 2]
    problems = whole.problems.set_index("row")
    assert problems.loc[1, "message"] == "'NaN' is not a number"
    assert problems.loc[2, "message"] == "inf is not a finite number"
    assert whole["accounts"].index.tolist() == [3] and np.isnan(whole["accounts"].loc[3, "turnover"])
    streamed = StreamedTable(TABLES["accounts"], path, batch_rows=1)
    kept = pd.concat(list(streamed.batches()))
    assert streamed.result is not None
    assert streamed.result.quarantine["source_row"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(kept, whole["accounts"])


def test_a_csv_record_longer_than_a_read_block_is_read_whole(tmp_path: Path) -> None:
    # pyarrow needs each record in one block of bytes: a multi-megabyte cell rejected the whole table with
    # "straddling object straddles two block boundaries". It is valid CSV: the table is read with larger blocks.
    long_name = "\u03a9mega " * 400_000  # 2.8 MB of UTF-8, longer than the 1 MB blocks
    frame = pd.DataFrame({c: [None] * 3 for c in TABLES["companies"].column_names})
    frame["company_number"] = ["SC1", "SC2", "SC3"]
    frame["company_name"] = [long_name, long_name + "2", "x"]
    frame["company_type"], frame["company_status"] = "ltd", "active"
    frame["date_of_creation"] = "2020-01-01"
    frame.to_csv(tmp_path / "companies.csv", index=False)
    whole = validate_dataset(tmp_path, ["companies"])
    assert whole.is_clean, whole.problems.to_dict("records")
    assert whole["companies"]["company_name"].tolist() == [long_name, long_name + "2", "x"]
    staged = stage_dataset(tmp_path, tmp_path / "staged", ["companies"])
    assert staged.dataset.is_clean
    names = staged.take("companies", np.arange(3), columns=["company_name"])["company_name"]
    assert names.tolist() == [long_name, long_name + "2", "x"]


def test_a_small_block_of_the_batch_reader_grows_to_the_longest_record(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_io, "_BLOCK_BYTES", 256)
    frame = pd.DataFrame({c: [f"v{i}" for i in range(6)] for c in TABLES["watchlist"].column_names})
    frame["entity_kind"], frame["listed_on"], frame["delisted_on"] = "person", None, None
    frame.loc[3, "name"] = "n" * 5_000
    path = tmp_path / "watchlist.csv"
    frame.to_csv(path, index=False)
    streamed = StreamedTable(TABLES["watchlist"], path, batch_rows=2)
    kept = pd.concat(list(streamed.batches()))
    assert streamed.result is not None and streamed.result.rows_read == 6
    assert kept.index.tolist() == [1, 2, 3, 4, 5, 6] and kept.loc[4, "name"] == "n" * 5_000


def test_a_table_whose_every_row_is_quarantined_keeps_its_typed_columns_in_batches(tmp_path: Path) -> None:
    # companies needs one row: typing the empty remainder went through that check, was rejected and came out with
    # no columns, and scoring crashed on the staged file (KeyError: company_number).
    frame = pd.DataFrame({c: [None] for c in TABLES["companies"].column_names})
    frame.loc[0, ["company_number", "company_name", "company_type", "company_status", "date_of_creation"]] = [
        "SC1", "A Ltd", "ltd", "active", "31/12/2020"]
    frame.to_csv(tmp_path / "companies.csv", index=False)
    whole = validate_dataset(tmp_path, ["companies"])
    streamed = StreamedTable(TABLES["companies"], tmp_path / "companies.csv")
    (empty,) = list(streamed.batches())
    assert streamed.result is not None and streamed.result.rows_quarantined == 1
    assert list(empty.columns) == list(TABLES["companies"].column_names) and empty.empty
    pd.testing.assert_series_equal(empty.dtypes, whole["companies"].dtypes)


@pytest.mark.parametrize(("unlabelled", "free"), [(0, 0), (1, 1)])
def test_training_stops_clearly_when_no_business_is_left_to_calibrate_on(unlabelled: int, free: int) -> None:
    # Every business labelled (or one left over, too big for the tuning share): the tuning set was empty and
    # calibration crashed inside scikit-learn ("Found array with 0 sample(s)").
    numbers = [f"SC{i}" for i in range(8 + unlabelled)]
    dataset = make_dataset(companies=[{"company_number": n} for n in numbers],
                           labels=[{"company_number": n, "source": "audit"} for n in numbers[:8]])
    with pytest.raises(TrainingError, match="no business left to calibrate the scores on") as caught:
        fit_model(dataset, load_config(overrides=FAST))
    assert caught.value.evidence == {"free_businesses": free, "free_components": free, "tuning": 0,
                                     "evaluation": 0}
    assert f"{free} business(es) in {free} network component(s)" in str(caught.value)
