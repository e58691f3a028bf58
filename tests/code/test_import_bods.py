"""The BODS 0.2 importer: ownership rows from ownership or control statements, through the shared pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from riskmodel.importers import import_sources

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
#: A nationality no other field of the fixtures uses: it must appear nowhere in the output.
NATIONALITY = {"name": "Ruritania", "code": "RU"}


def _entity(sid: str, name: str, number: str | None, jurisdiction: str = "GB", **extra: Any) -> dict[str, Any]:
    identifiers = [{"schemeName": "OpenOwnership Register", "id": f"http://register.openownership.org/entities/{sid}"}]
    if number is not None:
        identifiers.insert(0, {"scheme": "GB-COH", "schemeName": "Companies House", "id": number})
    return {"statementID": sid, "statementType": "entityStatement", "entityType": "registeredEntity", "name": name,
            "incorporatedInJurisdiction": {"name": "x", "code": jurisdiction}, "identifiers": identifiers,
            "foundingDate": "2001-02-03", **extra}


def _person(sid: str, name: str, country: str | None = None, *, register: bool = True) -> dict[str, Any]:
    address: dict[str, Any] = {"address": "1 High Street, Anytown"}
    if country:
        address["country"] = country
    identifiers = [{"schemeName": "OpenOwnership Register", "id": f"http://register.openownership.org/entities/{sid}"}]
    return {"statementID": sid, "statementType": "personStatement", "personType": "knownPerson",
            "names": [{"type": "individual", "fullName": name}], "nationalities": [NATIONALITY],
            "birthDate": "1970-01-01", "addresses": [address], "identifiers": identifiers if register else []}


def _ooc(sid: str, subject: str, party: dict[str, Any], interests: list[dict[str, Any]],
         date: str = "2019-01-01") -> dict[str, Any]:
    return {"statementID": sid, "statementType": "ownershipOrControlStatement", "statementDate": date,
            "subject": {"describedByEntityStatement": subject}, "interestedParty": party, "interests": interests}


def _shares(low: float, high: float, start: str, end: str | None = None) -> dict[str, Any]:
    interest: dict[str, Any] = {"type": "shareholding", "startDate": start,
                                "share": {"minimum": low, "maximum": high, "exclusiveMinimum": True,
                                          "exclusiveMaximum": False}}
    if end:
        interest["endDate"] = end
    return interest


def _write(path: Path, statements: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("\n".join([*(json.dumps(s) for s in statements), *extra_lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def imported(tmp_path: Path) -> tuple[pd.DataFrame, dict[str, Any], Path]:
    # The entities and persons are in the first file, most ownership statements in the second: the index spans both.
    first = _write(tmp_path / "a.jsonl", [
        _entity("e-acme", "ACME LIMITED", "1234"),
        _entity("e-parent", "PARENT HOLDINGS LIMITED", "sc000123"),
        _entity("e-foreign", "FOREIGN AG", None, jurisdiction="DE"),
        _person("p-ann", "Ann Example", country="gb"),
        _person("p-bob", "Bob Example", register=False),
        _ooc("o-unspecified", "e-acme", {"unspecified": {"reason": "no-beneficial-owners", "description": "No person"}},
             [], date="2018-05-01"),
    ])
    second = _write(tmp_path / "b.jsonl", [
        _ooc("o-ann", "e-acme", {"describedByPersonStatement": "p-ann"},
             [_shares(25, 50, "2017-03-01"), {"type": "voting-rights", "startDate": "2016-06-01"}]),
        _ooc("o-parent", "e-acme", {"describedByEntityStatement": "e-parent"},
             [{"type": "shareholding", "share": {"exact": 60}, "startDate": "2016-04-06", "endDate": "2018-01-01"},
              {"type": "appointment-of-board", "startDate": "2016-04-06", "endDate": "2019-02-01"}]),
        _ooc("o-bob", "e-parent", {"describedByPersonStatement": "p-bob"}, [_shares(75, 100, "2016-04-06")]),
        _ooc("o-foreign", "e-foreign", {"describedByPersonStatement": "p-ann"}, [_shares(75, 100, "2016-04-06")]),
        {"statementID": "r-1", "recordId": "x", "recordDetails": {}, "statementDate": "2024-01-01"},
    ], extra_lines=("{not json",))
    result = import_sources("bods", [first, second], tmp_path / "out")
    frame = pd.read_parquet(result.tables["ownership"])
    return frame.set_index("owner_id"), result.manifest, tmp_path / "out"


def test_person_owner_with_share_band(imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, _, _ = imported
    # The person carries an OpenOwnership Register id, which is used as the stable owner id.
    ann = frame.loc["oo-register:p-ann"]
    assert ann["company_number"] == "00001234"
    assert ann["owner_name"] == "Ann Example"
    assert ann["owner_kind"] == "individual"
    assert ann["ownership_band"] == "25-50"
    assert ann["owner_jurisdiction"] == "GB"  # from the address, never the nationality
    assert str(ann["notified_on"])[:10] == "2016-06-01"  # earliest interest start
    assert pd.isna(ann["ceased_on"])


def test_person_without_register_id_is_its_statement(imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, _, _ = imported
    bob = frame.loc["bods-person:p-bob"]
    assert (bob["company_number"], bob["ownership_band"]) == ("SC000123", "75-100")
    assert pd.isna(bob["owner_jurisdiction"])  # no address country; the nationality is never used


def test_corporate_owner_is_its_company_number_and_ended_interest_ceases(
        imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, _, _ = imported
    parent = frame.loc["SC000123"]
    assert parent["owner_kind"] == "corporate"
    assert parent["owner_name"] == "PARENT HOLDINGS LIMITED"
    assert parent["ownership_band"] == "50-75"  # exact 60
    assert parent["owner_jurisdiction"] == "GB"
    assert str(parent["ceased_on"])[:10] == "2019-02-01"  # all ended: the latest end


def test_unspecified_owner(imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, _, _ = imported
    row = frame.loc["bods-unspecified:o-unspecified"]
    assert row["owner_kind"] == "unknown"
    assert row["owner_name"] == "No person"
    assert pd.isna(row["ownership_band"])
    assert str(row["notified_on"])[:10] == "2018-05-01"  # no interests: the statement date


def test_quarantine_reasons_and_accounting(imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, manifest, out = imported
    assert len(frame) == 4
    quarantine = pd.read_csv(out / "imports" / "bods" / "quarantine.csv")
    reasons = " || ".join(quarantine["reasons"].astype(str))
    assert "subject entity 'FOREIGN AG' has no GB-COH identifier" in reasons
    assert "BODS 0.3 not supported yet" in reasons
    assert "is not valid JSON" in reasons
    assert reasons.count("entity statement (indexed for ownership") == 3
    assert reasons.count("person statement (used as the owner") == 2
    assert manifest["records_in"] == 12
    assert manifest["records_in"] == manifest["records_mapped"] + manifest["records_quarantined"]
    assert manifest["records_mapped"] == 4
    table = manifest["tables"]["ownership"]
    assert table["rows_mapped"] == table["rows_written"] + table["rows_quarantined"] == 4
    assert "companies" not in manifest["tables"]
    for source in manifest["sources"].values():
        assert source["records_in"] == source["records_mapped"] + source["records_quarantined"]


def test_no_nationality_in_the_output(imported: tuple[pd.DataFrame, dict[str, Any], Path]) -> None:
    frame, _, out = imported
    values = {str(v) for v in frame.reset_index().to_numpy().ravel()}
    assert not values & {NATIONALITY["code"], NATIONALITY["name"]}
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json"):
            assert NATIONALITY["name"] not in path.read_text(encoding="utf-8")


@pytest.mark.realdata
def test_real_bods_statements(tmp_path: Path) -> None:
    source = REAL / "uk_contracts_finder_ocds" / "bods_statements_uk_suppliers_bluetail.jsonl"
    if not source.is_file():
        pytest.skip(f"real data not found at {source}")
    result = import_sources("bods", [source], tmp_path / "out")
    manifest = result.manifest
    assert manifest["records_in"] == manifest["records_mapped"] + manifest["records_quarantined"]
    table = manifest["tables"]["ownership"]
    assert table["rows_mapped"] == table["rows_written"] + table["rows_quarantined"]
    assert table["rows_written"] > 100
    frame = pd.read_parquet(result.tables["ownership"])
    assert frame["company_number"].str.fullmatch(r"[A-Z0-9]{8}").all()
