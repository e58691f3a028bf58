"""A 10^6-row table loads, with its few bad rows quarantined and nothing lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.contract import TABLES, read_table_file, validate_table

N = 1_000_000


@pytest.mark.slow
def test_million_row_companies_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    created = pd.Timestamp("1990-01-01") + pd.to_timedelta(rng.integers(0, 12_000, N), unit="D")
    frame = pd.DataFrame({
        "company_number": np.char.add("SC", np.char.zfill(np.arange(N).astype(str), 6)),
        "company_name": np.char.add("Business ", np.arange(N).astype(str)),
        "company_type": rng.choice(["ltd", "llp", "unincorporated"], N),
        "company_status": rng.choice(["active", "dormant", "dissolved"], N),
        "date_of_creation": created.strftime("%Y-%m-%d"),
        "date_of_cessation": "",
        "sic_codes": rng.choice(["56101", "56302;56101", ""], N),
        "registered_office_postcode": rng.choice(["G1 1AA", "EH1 1YZ", ""], N),
        "registered_office_address": "",
    })
    bad = np.arange(0, N, 10_007)  # about 100 rows, spread through the file
    frame.loc[bad, "company_status"] = "trading"
    path = tmp_path / "companies.csv"
    frame.to_csv(path, index=False)

    result = validate_table(TABLES["companies"], read_table_file(path, "companies"))

    assert result.rows_read == N
    assert result.rows_kept + result.rows_quarantined == N
    assert result.quarantine["source_row"].tolist() == (bad + 1).tolist()
    assert result.valid.index[-1] == N
