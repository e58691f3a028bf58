"""The licence-register importer end to end: hand-written registers and mappings in, licences and quarantine out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from riskmodel.errors import RiskmodelError
from riskmodel.importers import ImportResult, import_sources

FORMAT = "licence-register"
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "uk_gambling_premises_register"

HEADER = "Premises No,Kind,Licensee,Company,Postcode,Received,Decided,Expires,Status,Status Date,Police,Objections"

#: A custom mapping using every table: columns, compose, constants, value lists, month-first dates.
MAPPING = """
[mapping]
name = "test-council"
day_first = false

[columns]
holder_name = "Licensee"
holder_company_number = "Company"
premises_postcode = "Postcode"
applied_on = "Received"
decided_on = "Decided"
expires_on = "Expires"
status = "Status"
status_date = "Status Date"
police_objection = "Police"
objections = "Objections"
licence_type = "Kind"

[compose]
licence_id = ["Premises No", "Kind"]

[constants]
authority = "Test Council"

[values.status]
"Granted" = "granted"
"Awaiting decision" = "pending"
"Refused" = "refused"

[values.licence_type]
"Alcohol" = "premises-alcohol"
"Taxi" = "taxi-operator"

[values.police_objection]
"Y" = true
"N" = false
"""


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _mapping(tmp_path: Path, text: str = MAPPING) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _import(tmp_path: Path, source: Path, mapping: str | Path) -> ImportResult:
    return import_sources(FORMAT, [source], tmp_path / "out", {"mapping": mapping})


def _licences(result: ImportResult) -> pd.DataFrame:
    return pd.read_parquet(result.tables["licences"]).set_index("licence_id")


def _quarantine(result: ImportResult) -> dict[str, str]:
    frame = pd.read_csv(result.out / "imports" / FORMAT / "quarantine.csv", dtype=str, keep_default_na=False)
    return dict(zip(frame["record"], frame["reasons"], strict=True))


def _assert_identity(manifest: dict[str, Any]) -> None:
    assert manifest["records_in"] == manifest["records_mapped"] + manifest["records_quarantined"]
    for counts in manifest["tables"].values():
        assert counts["rows_mapped"] == counts["rows_written"] + counts["rows_quarantined"]
    for counts in manifest["sources"].values():
        assert counts["records_in"] == counts["records_mapped"] + counts["records_quarantined"]


def test_custom_mapping_fills_every_column(tmp_path: Path) -> None:
    source = _write(tmp_path / "register.csv", [
        HEADER,
        "P1,Alcohol,Anchor Bar Ltd,SC000001,G1 1AA,03/04/2021,05/20/2021,05/20/2024,Granted,05/20/2021,Y,2",
        "P1,taxi,Anchor Bar Ltd,,G1 1AA,2022-01-10,,,awaiting decision,,n,0",
        "P2,Alcohol,Kelpie Ltd,SC000002,,12/31/2020,02/01/2021,,REFUSED,02/01/2021,N,5",
    ])
    result = _import(tmp_path, source, _mapping(tmp_path))
    got = _licences(result)
    expected = pd.DataFrame({
        "authority": ["Test Council"] * 3,
        "licence_type": ["premises-alcohol", "taxi-operator", "premises-alcohol"],
        "holder_company_number": ["SC000001", None, "SC000002"],
        "holder_name": ["Anchor Bar Ltd", "Anchor Bar Ltd", "Kelpie Ltd"],
        "premises_postcode": ["G1 1AA", "G1 1AA", None],
        "applied_on": [dt.date(2021, 3, 4), dt.date(2022, 1, 10), dt.date(2020, 12, 31)],
        "decided_on": [dt.date(2021, 5, 20), None, dt.date(2021, 2, 1)],
        "expires_on": [dt.date(2024, 5, 20), None, None],
        "status": ["granted", "pending", "refused"],
        "status_date": [dt.date(2021, 5, 20), None, dt.date(2021, 2, 1)],
        "police_objection": [True, False, False],
        "objections": [2, 0, 5],
    }, index=pd.Index(["P1-Alcohol", "P1-taxi", "P2-Alcohol"], name="licence_id"))
    pd.testing.assert_frame_equal(got.sort_index(), expected)
    assert result.manifest["records_quarantined"] == 0
    assert result.manifest["warnings"] == []  # UTF-8, and nothing declared under [unknown] or [assumed]


def test_cp1252_register_is_decoded_and_noted(tmp_path: Path) -> None:
    source = _write(tmp_path / "register.csv", [
        HEADER,
        "P1,Alcohol,Café Royal Ltd,,EH2 2AA,01/02/2021,,,Granted,,N,0",
        "P2,Alcohol,Pound £ Shop Ltd,,EH2 2AB,01/03/2021,,,Granted,,N,1",
    ], encoding="cp1252")
    result = _import(tmp_path, source, _mapping(tmp_path))
    assert _licences(result)["holder_name"].to_dict() == {"P1-Alcohol": "Café Royal Ltd",
                                                          "P2-Alcohol": "Pound £ Shop Ltd"}
    assert result.manifest["warnings"] == ["register.csv is not UTF-8; it was read as cp1252"]


def test_bad_rows_are_quarantined_with_their_reasons(tmp_path: Path) -> None:
    good = "P1,Alcohol,Anchor Bar Ltd,,G1 1AA,03/04/2021,,,Granted,,N,0"
    source = _write(tmp_path / "register.csv", [
        HEADER,
        good,                                                              # line 2
        "P2,Alcohol,Kelpie Ltd,,G1 1AB,03/04/2021,,,Granted,,N,0,extra",   # line 3: ragged
        "P3,Alcohol,,,G1 1AC,03/04/2021,,,Granted,,N,0",                   # line 4: blank required cell
        "P4,Alcohol,Lomond Ltd,,G1 1AD,03/04/2021,,,Variation,,N,0",       # line 5: unmapped status
        "P5,Alcohol,Ness Ltd,,G1 1AE,02/30/2021,,,Granted,,N,0",           # line 6: no 30 February
        "P6,Alcohol,Oban Ltd,,G1 1AF,03/04/2021,soon,,Granted,,N,0",       # line 7: not a date (optional column)
        "P7,Pub,Perth Ltd,,G1 1AG,,,,Granted,,maybe,0",                    # line 8: three problems at once
        ",,Quay Ltd,,G1 1AH,03/04/2021,,,Granted,,N,0",                    # line 9: no id parts
    ])
    result = _import(tmp_path, source, _mapping(tmp_path))
    assert list(_licences(result).index) == ["P1-Alcohol"]
    statuses = "pending, granted, refused, revoked, suspended, surrendered, expired"
    assert _quarantine(result) == {
        "line 3": "the row has 13 fields where the header has 12",
        "line 4": "Licensee is blank; holder_name is required",
        "line 5": "Status 'Variation' has no mapping to status (the mapping maps awaiting decision, granted, "
                  f"refused; status allows {statuses})",
        "line 6": "Received: '02/30/2021' is not a valid date (day is out of range for month)",
        "line 7": "Decided: 'soon' is not a date in a known form (YYYY-MM-DD, DD/MM/YYYY, YYYYMMDD, 4 March 2021)",
        "line 8": "Kind 'Pub' has no mapping to licence_type (the mapping maps alcohol, taxi; licence_type allows "
                  "premises-alcohol, late-hours-catering, taxi-operator, private-hire-operator, second-hand-dealer, "
                  "metal-dealer, public-entertainment, street-trader, hmo, gambling-premises, waste-carrier, "
                  "security-contractor, other) | Received is blank; applied_on is required | Police 'maybe' has no "
                  "mapping to police_objection (the mapping maps n, y)",
        "line 9": "Premises No, Kind are all blank; licence_id is composed from them | Kind is blank; licence_type is "
                  "required",
    }
    manifest = result.manifest
    assert (manifest["records_in"], manifest["records_mapped"], manifest["records_quarantined"]) == (8, 1, 7)
    assert manifest["tables"]["licences"] == {"rows_mapped": 1, "rows_written": 1, "rows_quarantined": 0,
                                              "rows_rejected": 0}
    _assert_identity(manifest)


def test_contract_quarantines_composed_duplicates_and_the_counts_add_up(tmp_path: Path) -> None:
    source = _write(tmp_path / "register.csv", [
        HEADER,
        "P1,Alcohol,Anchor Bar Ltd,,G1 1AA,03/04/2021,,,Granted,,N,0",
        "P1,Alcohol,Anchor Bar Ltd,,G1 1AA,03/04/2021,,,Refused,,N,0",  # same composed id, conflicting status
        "P2,Alcohol,Kelpie Ltd,,G1 1AB,03/04/2021,02/01/2021,,Granted,,N,0",  # decided before applied
        "P3,Alcohol,Lomond Ltd,,G1 1AC,03/04/2021,,,Granted,,N,-1",  # negative count
        "P4,Alcohol,Ness Ltd,,G1 1AD,03/04/2021,,,Granted,,N,0",
        "P5,,Oban Ltd,,G1 1AE,03/04/2021,,,Granted,,N,0",  # blank licence_type cell
    ])
    result = _import(tmp_path, source, _mapping(tmp_path))
    assert list(_licences(result).index) == ["P4-Alcohol"]
    manifest = result.manifest
    assert (manifest["records_in"], manifest["records_mapped"], manifest["records_quarantined"]) == (6, 5, 1)
    assert manifest["tables"]["licences"] == {"rows_mapped": 5, "rows_written": 1, "rows_quarantined": 4,
                                              "rows_rejected": 0}
    assert manifest["sources"]["register.csv"]["rows_quarantined:licences"] == 4
    reasons = _quarantine(result)
    assert reasons["line 7"] == "Kind is blank; licence_type is required"
    assert {r for r in reasons if r != "line 7"} == {"line 2", "line 3", "line 4", "line 5"}
    _assert_identity(manifest)


def test_a_mapping_naming_a_column_the_file_lacks_stops_the_import(tmp_path: Path) -> None:
    source = _write(tmp_path / "register.csv", [
        HEADER.replace("Status Date", "StatusDate").replace(",Police", ",PoliceView"),
        "P1,Alcohol,Anchor Bar Ltd,,G1 1AA,03/04/2021,,,Granted,,N,0",
    ])
    with pytest.raises(RiskmodelError, match=r"register.csv lacks the columns mapping 'test-council' reads: "
                                             r"Status Date, Police \(its header: "):
        _import(tmp_path, source, _mapping(tmp_path))
    assert not (tmp_path / "out" / "licences.parquet").exists()


def test_the_mapping_option_is_required(tmp_path: Path) -> None:
    source = _write(tmp_path / "register.csv", [HEADER])
    with pytest.raises(RiskmodelError, match=r"needs the mapping option.*gambling-commission"):
        import_sources(FORMAT, [source], tmp_path / "out")
    with pytest.raises(RiskmodelError, match=r"'no-such' is neither a mapping file nor a built-in mapping "
                                             r"\(built-in: gambling-commission\)"):
        _import(tmp_path, source, "no-such")


@pytest.mark.parametrize(("change", "message"), [
    (("[constants]\n", "[constants]\nregion = \"x\"\n"), r"\[constants\] names 'region', which is not a licences"),
    (("authority = \"Test Council\"\n", ""), r"fills no value for the required columns authority"),
    (("authority = \"Test Council\"\n", "authority = \"Test Council\"\n[unknown]\nobjections = 0\n"),
     r"fills objections twice \(\[columns\] and \[unknown\]\)"),
    (("objections = \"Objections\"\nlicence_type = \"Kind\"\n",
      "licence_type = \"Kind\"\n[unknown]\nobjections = 0\n"),
     r"declares objections under \[unknown\] or \[assumed\] without a \[notes\] entry"),
    (("\"Refused\" = \"refused\"", "\"Refused\" = \"declined\""),
     r"\[values.status\] 'Refused': 'declined' is not a status"),
    (("[values.status]", "[valeus.status]"), r"has unknown tables valeus"),
    (("authority = \"Test Council\"", "authority = 5"), r"\[constants\] authority: 5 is not text"),
])
def test_a_bad_mapping_is_refused(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in MAPPING
    source = _write(tmp_path / "register.csv", [HEADER])
    with pytest.raises(RiskmodelError, match=message):
        _import(tmp_path, source, _mapping(tmp_path, MAPPING.replace(*change, 1)))


GC_HEADER = ("Account_Number,Account_Name,Trading_Names,Applicant_Property_name,Applicant_Address21,Applicant_City,"
             "Applicant_Postcode,premises_Address1,premises_Address2,premises_City,premises_Postcode,StatusDate,"
             "Activity,Local_Authority_Name,LicenceStatus")


def test_builtin_gambling_commission_mapping(tmp_path: Path) -> None:
    source = _write(tmp_path / "premises.csv", [
        GC_HEADER,
        "101,Seaside Amusements Limited,Seaside,Seaside House,1 Front St,HOVE,BN1 1AA,Seaside,2-4 Pier Road,"
        "HOVE,BN3 2BB,29/12/17,Adult Gaming Centre,Brighton and Hove City Council,Application",
        "102,Corner Bets Limited,Corner Bets,,9 Bank St,LEEDS,LS1 1AA,Corner Bets,7 Market Street,LEEDS,LS2 7AA,"
        "5/1/09,Betting Shop,Leeds City Council,Grant",
        "102,Corner Bets Limited,Corner Bets,,9 Bank St,LEEDS,LS1 1AA,Corner Bets,\"12 Kirkgate, Unit 3\",LEEDS,"
        "LS2 7AB,13/12/11,Betting Shop,Leeds City Council,Variation",
        "103,Bingo Halls Limited,,,,YORK,YO1 1AA,Bingo Hall,1 Station Rd,YORK,YO1 2CC,,Bingo,City of York Council,"
        "Active",
    ])
    result = _import(tmp_path, source, "gambling-commission")
    got = _licences(result)
    ids = ["101-BN3 2BB-Seaside-2-4 Pier Road-Adult Gaming Centre",
           "102-LS2 7AA-Corner Bets-7 Market Street-Betting Shop",
           "102-LS2 7AB-Corner Bets-12 Kirkgate, Unit 3-Betting Shop"]
    dates = [dt.date(2017, 12, 29), dt.date(2009, 1, 5), dt.date(2011, 12, 13)]
    expected = pd.DataFrame({
        "authority": ["Brighton and Hove City Council", "Leeds City Council", "Leeds City Council"],
        "licence_type": ["gambling-premises"] * 3,
        "holder_company_number": [None] * 3,  # not published; never derived from the name
        "holder_name": ["Seaside Amusements Limited", "Corner Bets Limited", "Corner Bets Limited"],
        "premises_postcode": ["BN3 2BB", "LS2 7AA", "LS2 7AB"],
        "applied_on": dates,  # [assumed] from StatusDate
        "decided_on": [None] * 3,
        "expires_on": [None] * 3,
        "status": ["pending", "granted", "granted"],
        "status_date": dates,
        "police_objection": [False] * 3,  # [unknown]
        "objections": [0] * 3,  # [unknown]
    }, index=pd.Index(ids, name="licence_id"))
    pd.testing.assert_frame_equal(got.sort_index(), expected)
    assert _quarantine(result) == {"line 5": "StatusDate is blank; applied_on is required"}
    warnings = result.manifest["warnings"]
    assert len(warnings) == 3
    assert warnings[0].startswith("mapping 'gambling-commission' declares police_objection = false for every row")
    assert warnings[1].startswith("mapping 'gambling-commission' declares objections = 0 for every row")
    assert warnings[2].startswith("mapping 'gambling-commission' fills applied_on from StatusDate ([assumed]")
    assert "latest possible application date" in warnings[2]
    _assert_identity(result.manifest)


@pytest.mark.realdata
def test_gambling_commission_register(tmp_path: Path) -> None:
    register = REAL / "premises_licence_database.csv"
    if not register.is_file():
        pytest.skip(f"real data not found at {register}")
    result = _import(tmp_path, register, "gambling-commission")
    manifest = result.manifest
    _assert_identity(manifest)
    assert manifest["records_in"] == 12_167
    assert manifest["records_mapped"] > 0.7 * manifest["records_in"]  # StatusDate is 73 % filled
    assert manifest["tables"]["licences"]["rows_written"] > 0.99 * manifest["records_mapped"]
    assert any("read as cp1252" in w for w in manifest["warnings"])
