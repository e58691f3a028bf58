"""The batch job's final merge: rank-ordered parts streamed into one ranked file, chunk by chunk."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.errors import OutputWriteError, RiskmodelError
from riskmodel.scoring.batch import _PART_ROW_GROUP, _rank_order, _write_ranked


def _part(path: Path, numbers: list[str], log_odds: list[float], reasons: list[str | None]) -> Path:
    frame = pd.DataFrame({"company_number": numbers, "company_name": [f"name {n}" for n in numbers],
                          "risk_score": 1 / (1 + np.exp(-np.asarray(log_odds))),
                          "risk_band": ["high" if v > 0 else "low" for v in log_odds], "log_odds": log_odds,
                          "reason_1_feature": pd.Series(reasons, dtype=object), "as_of": "2024-01-01"})
    frame = frame.iloc[_rank_order(frame["company_number"].to_numpy(), frame["log_odds"].to_numpy())]
    frame.to_parquet(path, index=False, row_group_size=_PART_ROW_GROUP)
    return path


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 100])
def test_parts_merge_into_one_ranked_file_whatever_the_chunk_size(tmp_path: Path, chunk_size: int) -> None:
    parts = [
        _part(tmp_path / "a.parquet", ["A1", "A2", "A3"], [0.5, -1.0, 2.0], ["x", None, "y"]),
        # All reasons missing: this part types the column as null, the others as text.
        _part(tmp_path / "b.parquet", ["B1", "B2"], [0.5, 3.0], [None, None]),
        _part(tmp_path / "c.parquet", ["C1"], [-2.0], ["z"]),
    ]
    ranked, top = _write_ranked(parts, tmp_path, chunk_size, top_n=2)
    got = pd.read_parquet(tmp_path / "scores.parquet")
    # Highest log-odds first; the tie at 0.5 goes to the smaller company number.
    assert got["company_number"].tolist() == ["B2", "A3", "A1", "B1", "A2", "C1"]
    assert got["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert list(got.columns[:3]) == ["company_number", "company_name", "rank"]
    assert got["reason_1_feature"].tolist() == [None, "y", "x", None, None, "z"]
    csv = pd.read_csv(tmp_path / "scores.csv")
    assert csv["company_number"].tolist() == got["company_number"].tolist()
    assert ranked["company_number"].tolist() == got["company_number"].tolist()
    assert ranked["risk_band"].tolist() == got["risk_band"].tolist()
    assert top["company_number"].tolist() == ["B2", "A3"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_merge_failing_midway_leaves_no_final_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    part = _part(tmp_path / "a.parquet", ["A1", "A2", "A3"], [0.5, 1.0, 2.0], ["x", "y", "z"])
    calls = []
    write = pq.ParquetWriter.write_table

    def failing(self: pq.ParquetWriter, table: object, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:  # the first chunk is written, the second fails
            raise OSError("disk full")
        write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
    # The failure names the output being written (a user's error, exit 1), not the temporary file.
    with pytest.raises(OutputWriteError, match=r"cannot write .*scores\.\w+: disk full"):
        _write_ranked([part], tmp_path, 1, top_n=1)
    assert not (tmp_path / "scores.parquet").exists()
    assert not (tmp_path / "scores.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_part_that_cannot_be_read_is_named_not_reported_as_an_output_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _part(tmp_path / "a.parquet", ["A1", "A2"], [0.5, 1.0], ["x", "y"])
    broken = tmp_path / "b.parquet"
    broken.write_bytes(_part(tmp_path / "b0.parquet", ["B1"], [0.0], ["z"]).read_bytes()[:40])  # cut short
    with pytest.raises(RiskmodelError, match=r"cannot read the scored part .*b\.parquet: .*rerun with --resume") as got:
        _write_ranked([good, broken], tmp_path, 1, top_n=1)
    assert not isinstance(got.value, OutputWriteError) and got.value.evidence["path"] == str(broken)
    # A read failing midway (an I/O error while the outputs are being written) names the part too, and leaves
    # no output behind.
    import pyarrow.parquet as pq

    batches = pq.ParquetFile.iter_batches

    def failing(self: pq.ParquetFile, *args: object, **kwargs: object) -> Iterator[object]:
        yield from itertools.islice(batches(self, *args, **kwargs), 1)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", failing)
    big = _part(tmp_path / "a.parquet", [f"A{i:05d}" for i in range(3 * _PART_ROW_GROUP)],
                list(np.linspace(-1, 1, 3 * _PART_ROW_GROUP)), ["x"] * 3 * _PART_ROW_GROUP)
    with pytest.raises(RiskmodelError, match=r"cannot read the scored part .*a\.parquet: OSError") as got:
        _write_ranked([big], tmp_path, _PART_ROW_GROUP, top_n=1)
    assert not isinstance(got.value, OutputWriteError) and "Input/output error" in got.value.evidence["cause"]
    assert not (tmp_path / "scores.parquet").exists() and not list(tmp_path.glob(".*.tmp"))
