"""The rows a Dask partition gathers by joins: exactly the neighbourhood a hand-drawn world says, nothing missed.

The world, for the partition holding A (the partitions are run on Dask's synchronous scheduler, in process):

- B shares officer P1 with A: B is linked (its register row, labels and licences come too);
- C owns A (a corporate owner of the register) and D owns C, and a person O9 owns D: the chain above A;
- E shares A's registered office: linked; X has no office (a missing office joins nobody);
- F holds a licence at A's premises (written differently): its licence row only, never its labels;
- G won a contract from A's buyer B1, as did a supplier not on the register: their contract rows only;
- H is unrelated.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import datasets, write_dataset
from support import make_dataset

import features
from features.catalogue import feature_set
from riskmodel.contract import load_dataset
from riskmodel.contract.staged import _write, stage_dataset

dd = pytest.importorskip("dask.dataframe")

from riskmodel.distributed_rows import ROW_TABLES, gather_rows, read_rows  # noqa: E402 -- needs dask

OFFICE = {"registered_office_postcode": "EH1 1AA", "registered_office_address": "1 Main St"}


def _world() -> dict[str, list[dict[str, object]]]:
    companies = [{"company_number": n} for n in ("A", "B", "C", "D", "E", "F", "G", "H", "X")]
    for row in companies:
        if row["company_number"] in ("A", "E"):
            row.update(OFFICE)
        elif row["company_number"] != "X":
            row.update(registered_office_postcode="G2 9ZZ", registered_office_address=f"{row['company_number']} Rd")
    tables = {
        "companies": companies,
        "officers": [{"company_number": "A", "officer_id": "P1"}, {"company_number": "B", "officer_id": "P1"},
                     {"company_number": "H", "officer_id": "P7"}],
        "ownership": [{"company_number": "A", "owner_id": "C", "owner_kind": "corporate"},
                      {"company_number": "C", "owner_id": "D", "owner_kind": "corporate"},
                      {"company_number": "D", "owner_id": "O9"}, {"company_number": "H", "owner_id": "O8"}],
        "licences": [{"holder_company_number": "A", "premises_postcode": "G1 1AA"},
                     {"holder_company_number": "F", "premises_postcode": "g11aa"},
                     {"holder_company_number": "H", "premises_postcode": "G2 2BB"}],
        "contracts": [{"supplier_company_number": "A", "buyer_id": "B1"},
                      {"supplier_company_number": "G", "buyer_id": "B1"},
                      {"supplier_company_number": None, "buyer_id": "B1"},
                      {"supplier_company_number": "H", "buyer_id": "B2"}],
        "labels": [{"company_number": "B"}, {"company_number": "F"}, {"company_number": "H", "label": "0"}],
        "accounts": [{"company_number": "A"}, {"company_number": "B"}],
        "transactions": [{"company_number": "A"}, {"company_number": "B"}],
    }
    # Each row its own key.
    for table, column in (("licences", "licence_id"), ("contracts", "ocid"), ("contracts", "award_id"),
                          ("transactions", "transaction_id")):
        for i, row in enumerate(tables[table]):
            row[column] = f"{table[0].upper()}{i}"
    for i, row in enumerate(tables["contracts"]):
        row["supplier_name"] = f"Supplier {i}"
    return tables


def _stage(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        _write(iter([frame]), folder / f"{name}.arrow")


def _gathered(tmp_path: Path, numbers: list[str], chunk_size: int) -> dict[int, dict[str, list[object]]]:
    """Gather on the hand-drawn world; return, per partition and table, the businesses of the rows found."""
    dataset = make_dataset(**_world())
    _stage(dataset.tables, tmp_path / "staged")
    parts = list(range(-(-len(numbers) // chunk_size)))
    written = gather_rows(None, tmp_path / "staged", list(dataset.tables), pd.Index(numbers), chunk_size, parts,
                          tmp_path / "rows")
    assert written["part"].tolist() == parts
    out = {}
    for part in parts:
        rows = read_rows(tmp_path / "rows", part)
        out[part] = {t: dataset.tables[t].iloc[rows[t]][key].tolist() for t, key in ROW_TABLES.items()}
    return out


def test_a_partition_gathers_its_own_rows_its_key_groups_its_linked_businesses_and_its_owners(tmp_path: Path) -> None:
    got = _gathered(tmp_path, ["A", "H"], chunk_size=1)
    a, h = got[0], got[1]
    assert a["companies"] == ["A", "B", "C", "D", "E"]
    assert a["officers"] == ["A", "B"]
    assert a["ownership"] == ["A", "C", "D"]
    assert a["licences"] == ["A", "F"]
    assert a["contracts"] == ["A", "G", None]
    assert a["labels"] == ["B"]
    assert a["accounts"] == ["A"] and a["transactions"] == ["A"]
    # H shares nothing with anyone: its own rows only.
    assert h == {"companies": ["H"], "officers": ["H"], "ownership": ["H"], "accounts": [], "licences": ["H"],
                 "contracts": ["H"], "transactions": [], "labels": ["H"]}


def test_businesses_in_one_partition_gather_the_union_of_their_neighbourhoods(tmp_path: Path) -> None:
    got = _gathered(tmp_path, ["A", "H"], chunk_size=2)
    assert got[0]["companies"] == ["A", "B", "C", "D", "E", "H"]
    assert got[0]["contracts"] == ["A", "G", None, "H"]


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=datasets(min_businesses=2, max_businesses=6))
def test_features_on_gathered_rows_equal_the_full_build(data: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Any data set written to the contract: every partition's features, built on its gathered rows alone, equal
    # the full build (the graph-wide two are not the partition's to compute and are left out).
    from features.pit import AsOf
    from riskmodel.contract.staged import StagedDataset
    from riskmodel.distributed import PartsJob, _Context, _Partition
    from riskmodel.scoring.neighbourhood import GRAPH_FEATURES

    folder = tmp_path_factory.mktemp("gen")
    world = write_dataset(folder / "world", data)  # type: ignore[arg-type]
    dataset = load_dataset(world)
    staged: StagedDataset = stage_dataset(world, folder / "staged")
    as_of = dataset.extract_date or dt.date(2025, 6, 30)
    numbers = AsOf(dataset, as_of).index
    if not len(numbers):
        return
    names = [n for n in feature_set("all") if n not in GRAPH_FEATURES]
    full = features.build(dataset, as_of, names)
    chunk = 2
    parts = list(range(-(-len(numbers) // chunk)))
    job = PartsJob.of(staged, as_of, names, rows=str(folder / "rows"))
    gather_rows(None, job.staged, job.tables, numbers, chunk, parts, job.rows)
    context = _Context(job)
    for part in parts:
        mine = list(numbers[part * chunk:(part + 1) * chunk])
        X = _Partition(context, job, part, pd.DataFrame(index=pd.Index(mine))).features(mine, names)
        pd.testing.assert_frame_equal(X.loc[mine], full.loc[mine], check_exact=True)
