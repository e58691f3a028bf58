"""The watchlist importer: four list layouts, aliases, person or company, open-ended debarments, bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.contract import load_dataset
from riskmodel.importers import import_sources

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "debarment_sanctions_labels"

OPENSANCTIONS = (
    "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,dataset,first_seen,"
    "last_seen,last_change\n"
    'NK-1,Company,ACME Trading Ltd,"Acme;ACME TRADING LTD;Acme Holdings",,gb;ie,,,Debarred 2020,,,'
    "US SAM Procurement Exclusions,2021-02-03T10:00:00,2025-01-07T00:00:00,2024-01-01T00:00:00\n"
    "NK-2,Person,John Smith,,1970-01-01,gb,,,Sanctioned,,,UK Sanctions List,2019-05-06T00:00:00,,\n"
    "NK-3,Vessel,Sea Star,,,pa,,,Sanctioned,,,OFAC SDN,2020-01-01T00:00:00,,\n"
)
WORLD_BANK = (
    "firm_name,additional_firm_info,address,country,ineligible_from,ineligible_to,grounds\n"
    "MR. ANAR EXAMPLOV,*901,1 EXAMPLE ROAD,Azerbaijan,2023-03-14,2028-02-20,Obstructive Practices\n"
    "SAMPLE MOTORS LLC,*902,1 EXAMPLE ROAD,Azerbaijan,2023-03-14,2999-12-31,Fraud\n"
    "BAD DATE LTD,*903,X,Chad,not a date,,Fraud\n"
)
IDB = (
    "Title,Entity,Nationality,Country,From,To,Grounds,Source,IDB Sanction Type,IDB Sanction Source,Other Name\n"
    '“Tamarisk” LLP,Firm,Armenia,Georgia,"Mar 21, 2022","Oct 04, 2027", Fraud,WBG cross debarment,,,Tamarisk\n'
    'Jane Roe,Individual,Peru,Peru,"Jan 02, 2023",Ongoing,Collusion,IDB,,,\n'
    'Nobody,,Peru,Peru,"Jan 02, 2023",,Collusion,IDB,,,\n'
)
EBRD = (
    "Firm Name,Address,Nationality,Ineligible From, Ineligible Until,Notice Effective At EBRD,"
    "Originating Institution,Prohibited Practice\n"
    '" Example Cement Works Co., Ltd.",Sampleton,China,2022-09-12T08:30:15Z,2026-09-11T08:30:15Z,'
    "2022-09-12T08:30:15Z,EBRD,Fraudulent Practice\n"
    "Mr. Firstname Surname,Karachi,Pakistan,2023-01-05,2026-01-05,2023-01-05,EBRD,Corrupt Practice\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_opensanctions_layout_with_aliases_and_schemata(tmp_path: Path) -> None:
    source = _write(tmp_path, "targets.simple.csv", OPENSANCTIONS)
    result = import_sources("watchlist", [source], tmp_path / "out")
    rows = pd.read_parquet(result.tables["watchlist"])
    # ACME TRADING LTD only differs from the name by case, so it is not a second entry.
    assert rows["entry_id"].tolist() == ["NK-1", "NK-1#alias-1", "NK-1#alias-3", "NK-2"]
    assert rows["name"].tolist() == ["ACME Trading Ltd", "Acme", "Acme Holdings", "John Smith"]
    assert rows["entity_kind"].tolist() == ["company", "company", "company", "person"]
    assert rows["country"].tolist() == ["GB", "GB", "GB", "GB"]
    assert rows["list_name"].tolist()[::3] == ["us-sam-procurement-exclusions", "uk-sanctions-list"]
    assert rows["listed_on"].tolist()[::3] == [dt.date(2021, 2, 3), dt.date(2019, 5, 6)]
    assert rows["delisted_on"].isna().all()
    m = result.manifest
    assert m["sources"]["targets.simple.csv"]["records_quarantined"] == 1  # the vessel
    assert m["top_reasons"][0]["reason"].startswith("schema … is neither a person nor a company")


def test_bank_layouts(tmp_path: Path) -> None:
    sources = [_write(tmp_path, "wb.csv", WORLD_BANK), _write(tmp_path, "idb.csv", IDB),
               _write(tmp_path, "ebrd.csv", EBRD)]
    result = import_sources("watchlist", sources, tmp_path / "out")
    rows = pd.read_parquet(result.tables["watchlist"]).set_index("name")
    assert rows.loc["MR. ANAR EXAMPLOV", "entity_kind"] == "person"  # the World Bank writes people with honorifics
    assert rows.loc["SAMPLE MOTORS LLC", "entity_kind"] == "company"
    assert pd.isna(rows.loc["SAMPLE MOTORS LLC", "delisted_on"])  # 2999-12-31 means permanent
    assert rows.loc["MR. ANAR EXAMPLOV", "delisted_on"] == dt.date(2028, 2, 20)
    assert rows.loc["“Tamarisk” LLP", "listed_on"] == dt.date(2022, 3, 21)
    assert rows.loc["Tamarisk", "entity_kind"] == "company"  # IDB "Other Name" is an alias entry
    assert rows.loc["Jane Roe", "entity_kind"] == "person" and pd.isna(rows.loc["Jane Roe", "delisted_on"])
    assert rows.loc["Example Cement Works Co., Ltd.", "country"] == "China"
    assert rows.loc["Example Cement Works Co., Ltd.", "list_name"] == "ebrd-ineligible"
    assert rows.loc["Example Cement Works Co., Ltd.", "entity_kind"] == "company"
    assert rows.loc["Mr. Firstname Surname", "entity_kind"] == "person"
    assert rows["entry_id"].str.match(r"^(world-bank-debarment|idb-sanctions|ebrd-ineligible):[0-9a-f]{16}").all()
    m = result.manifest
    assert m["sources"]["wb.csv"] == {"records_in": 3, "records_mapped": 2, "records_quarantined": 1,
                                      "rows_mapped:watchlist": 2}
    assert m["sources"]["idb.csv"]["records_quarantined"] == 1
    quarantine = pd.read_csv(tmp_path / "out" / "imports" / "watchlist" / "quarantine.csv")
    assert sorted(quarantine["reasons"]) == ["'not a date' is not a date in a known form (YYYY-MM-DD, DD/MM/YYYY, "
                                             "YYYYMMDD, 4 March 2021)", "Entity is blank (Firm or Individual expected)"]
    assert load_dataset(tmp_path / "out", ["watchlist"]).is_clean


def test_entry_ids_are_stable_and_copies_are_set_aside(tmp_path: Path) -> None:
    first = import_sources("watchlist", [_write(tmp_path, "wb.csv", WORLD_BANK)], tmp_path / "a")
    second = import_sources("watchlist", [_write(tmp_path, "wb.csv", WORLD_BANK)] * 2, tmp_path / "b")
    ids = pd.read_parquet(first.tables["watchlist"])["entry_id"].tolist()
    assert pd.read_parquet(second.tables["watchlist"])["entry_id"].tolist() == ids
    assert second.manifest["tables"]["watchlist"] == {"rows_mapped": 4, "rows_written": 2, "rows_quarantined": 2,
                                                      "rows_rejected": 0}


def test_encodings_and_unknown_layouts(tmp_path: Path) -> None:
    accented = EBRD.replace("Sampleton", "Sampleton Café").replace("Example Cement", "Exämple Cement")
    latin = _write(tmp_path, "ebrd.csv", accented, encoding="cp1252")
    odd = _write(tmp_path, "odd.csv", "who,when\nA,2020-01-01\n")
    result = import_sources("watchlist", [latin, odd], tmp_path / "out")
    assert pd.read_parquet(result.tables["watchlist"])["name"].tolist() == ["Exämple Cement Works Co., Ltd.",
                                                                            "Mr. Firstname Surname"]
    assert result.manifest["warnings"] == ["ebrd.csv is not UTF-8; it was read as cp1252"]
    assert result.manifest["sources"]["odd.csv"] == {"records_in": 1, "records_quarantined": 1}
    assert "header matches no known list layout" in result.manifest["top_reasons"][0]["reason"]


@pytest.mark.realdata
def test_real_lists_import(tmp_path: Path) -> None:
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL}")
    sources = sorted(REAL.glob("*.csv"))
    result = import_sources("watchlist", sources, tmp_path / "out")
    m = result.manifest
    assert m["records_in"] == m["records_mapped"] + m["records_quarantined"] > 8000
    table = m["tables"]["watchlist"]
    assert table["rows_mapped"] == table["rows_written"] + table["rows_quarantined"]
    assert table["rows_written"] > 5000
    assert load_dataset(tmp_path / "out", ["watchlist"]).is_clean
