"""The Companies House importers end to end: hand-written bulk, profile and iXBRL accounts CSVs in, tables out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from support import assert_import_balanced

from riskmodel.errors import RiskmodelError
from riskmodel.importers import ImportResult, import_sources

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "ch_accounts_financials"

#: The bulk file's header as Companies House writes it (note the leading spaces), cut to the columns read.
BULK_HEADER = ("CompanyName, CompanyNumber,RegAddress.CareOf,RegAddress.POBox,RegAddress.AddressLine1,"
               " RegAddress.AddressLine2,RegAddress.PostTown,RegAddress.County,RegAddress.Country,"
               "RegAddress.PostCode,CompanyCategory,CompanyStatus,CountryOfOrigin,DissolutionDate,IncorporationDate,"
               "SICCode.SicText_1,SICCode.SicText_2,SICCode.SicText_3,SICCode.SicText_4")
PROFILE_HEADER = ("companies_house_registered_number,company_name,company_status,company_type,date_of_creation,"
                  "sic_codes,registered_office_address_postcode,registered_office_address_locality,"
                  "registered_office_address_country,has_insolvency_history")
ACCOUNTS_HEADER = ("run_code,company_id,date,file_type,balance_sheet_date,companies_house_registered_number,"
                   "company_dormant,average_number_employees_during_period,period_start,period_end,"
                   "cash_bank_in_hand,net_assets_liabilities_including_pension_asset_liability,"
                   "turnover_gross_operating_revenue,zip_url")
DAILY = "https://download.companieshouse.gov.uk/Accounts_Bulk_Data-2024-06-12.zip"


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _table(result: ImportResult, table: str) -> pd.DataFrame:
    return pd.read_parquet(result.tables[table]).set_index("company_number")


def _quarantine(result: ImportResult, fmt: str) -> dict[str, str]:
    frame = pd.read_csv(result.out / "imports" / fmt / "quarantine.csv", dtype=str).fillna("")
    return dict(zip(frame["record"], frame["reasons"], strict=True))


# ---------------------------------------------------------------------------------------------------- companies


def test_bulk_csv_maps_categories_statuses_sic_and_day_first_dates(tmp_path: Path) -> None:
    source = _write(tmp_path / "BasicCompanyData-part1.csv", [
        BULK_HEADER,
        '"THE RED LION LIMITED","SC612345","","","1 HIGH STREET","FLAT 2","GLASGOW","","SCOTLAND","g1  1aa",'
        '"Private Limited Company","Active - Proposal to Strike off","United Kingdom","","04/03/2019",'
        '"56302 - Public houses and bars","56101 - Licensed restaurants","",""',
        '"HELPING HANDS","1234567","","","","","LEEDS","","","LS1 4AB",'
        '"PRI/LTD BY GUAR/NSC (Private, limited by guarantee, no share capital)","In Administration",'
        '"United Kingdom","","31/12/1999","None Supplied","","",""',
        '"OLD TRADERS LLP","OC900001","","","9 MARKET ROW","","YORK","","","YO1 7HH",'
        '"Limited Liability Partnership","Dissolved","United Kingdom","15/06/2021","01/02/2005",'
        '"7499 - Non-trading company","","",""',
    ])
    result = import_sources("ch-companies", [source], tmp_path / "out")
    companies = _table(result, "companies")
    assert companies.index.tolist() == ["SC612345", "01234567", "OC900001"]
    assert companies["company_name"].tolist() == ["THE RED LION LIMITED", "HELPING HANDS", "OLD TRADERS LLP"]
    assert companies["company_type"].tolist() == ["ltd", "other", "llp"]
    assert companies["company_status"].tolist() == ["active", "administration", "dissolved"]
    assert companies["date_of_creation"].tolist() == [dt.date(2019, 3, 4), dt.date(1999, 12, 31),
                                                      dt.date(2005, 2, 1)]
    assert companies["date_of_cessation"].isna().tolist() == [True, True, False]
    assert companies.loc["OC900001", "date_of_cessation"] == dt.date(2021, 6, 15)
    # Two codes joined; "None Supplied" is no code; a four-digit SIC 2003 code is left out (and warned about).
    assert companies["sic_codes"].tolist() == ["56302;56101", None, None]
    assert companies["registered_office_postcode"].tolist() == ["G1 1AA", "LS1 4AB", "YO1 7HH"]
    assert companies["registered_office_address"].tolist() == ["1 HIGH STREET, FLAT 2", None, "9 MARKET ROW"]
    manifest = result.manifest
    assert_import_balanced(manifest)
    assert manifest["sources"]["BasicCompanyData-part1.csv"] == {
        "records_in": 3, "records_mapped": 3, "rows_mapped:companies": 3}
    warnings = manifest["warnings"]
    assert any("company_type 'other' for 1 rows" in w and "PRI/LTD BY GUAR/NSC" in w for w in warnings)
    assert any("1 SIC entries" in w and "7499 - Non-trading company" in w for w in warnings)
    assert not any("company_status 'other'" in w for w in warnings)


def test_profile_csv_pads_numbers_parses_sic_lists_and_quarantines_a_missing_creation_date(tmp_path: Path) -> None:
    source = _write(tmp_path / "company_metadata.csv", [
        PROFILE_HEADER,
        "7000123,HARBOUR & PARTNERS LTD,active,ltd,2019-01-04,\"['56302', '56101']\",WA1 1AA,Warrington,England,False",
        'SC123456,GUARANTEE CO,voluntary-arrangement,private-limited-guarant-nsc,2015-05-05,"68100,68310",'
        "EH1 1AA,Edinburgh,,True",
        "NI000001,NO DATE LTD,active,ltd,,47990,BT1 1AA,Belfast,,False",  # no date_of_creation
        "12345678,RAGGED LTD,active,ltd,2020-01-01,47990,AB1 2CD,Aberdeen,,False,extra",  # one field too many
        "09999999,BAD DATE LTD,liquidation,ltd,2020-02-31,,AB1 2CD,Aberdeen,,False",
    ])
    result = import_sources("ch-companies", [source], tmp_path / "out")
    companies = _table(result, "companies")
    assert companies.index.tolist() == ["07000123", "SC123456"]
    assert companies["company_type"].tolist() == ["ltd", "other"]
    assert companies["company_status"].tolist() == ["active", "other"]
    assert companies["sic_codes"].tolist() == ["56302;56101", "68100;68310"]
    assert companies["date_of_creation"].tolist() == [dt.date(2019, 1, 4), dt.date(2015, 5, 5)]
    # The locality is a town, not an address line: the address stays empty.
    assert companies["registered_office_address"].isna().all()
    assert companies["registered_office_postcode"].tolist() == ["WA1 1AA", "EH1 1AA"]
    assert _quarantine(result, "ch-companies") == {
        "line 4": "no date of creation (date_of_creation is empty): the contract requires it",
        "line 5": "has 11 fields where the header has 10",
        "line 6": "date_of_creation: '2020-02-31' is not a valid date (day is out of range for month)",
    }
    manifest = result.manifest
    assert_import_balanced(manifest)
    assert (manifest["records_in"], manifest["records_mapped"], manifest["records_quarantined"]) == (5, 2, 3)
    assert manifest["tables"]["companies"] == {"rows_mapped": 2, "rows_written": 2, "rows_quarantined": 0,
                                               "rows_rejected": 0}
    assert any("company_status 'other' for 1 rows" in w and "voluntary-arrangement" in w
               for w in manifest["warnings"])


def test_a_cp1252_file_is_decoded_and_warned_about(tmp_path: Path) -> None:
    source = _write(tmp_path / "bulk_cp1252.csv", [
        BULK_HEADER,
        '"CAFÉ ROYAL LIMITED","00045678","","","2 RUE ST","","LONDON","","","W1 1AA","Public Limited Company",'
        '"Liquidation","United Kingdom","","07/11/1988","56101 - Licensed restaurants","","",""',
    ], encoding="cp1252")
    result = import_sources("ch-companies", [source], tmp_path / "out")
    companies = _table(result, "companies")
    assert companies.loc["00045678", "company_name"] == "CAFÉ ROYAL LIMITED"
    assert companies.loc["00045678", "company_type"] == "plc"
    assert companies.loc["00045678", "company_status"] == "liquidation"
    assert "bulk_cp1252.csv is not UTF-8; it was read as cp1252" in result.manifest["warnings"]
    assert_import_balanced(result.manifest)


def test_duplicate_companies_are_quarantined_by_the_contract(tmp_path: Path) -> None:
    source = _write(tmp_path / "profiles.csv", [
        PROFILE_HEADER,
        "01234567,ONE LTD,active,ltd,2019-01-04,47990,AB1 2CD,Aberdeen,,False",
        "1234567,ONE LIMITED,active,ltd,2019-01-04,47990,AB1 2CD,Aberdeen,,False",  # the same number, zeros lost
        "07654321,TWO LTD,active,ltd,2019-01-04,47990,AB1 2CD,Aberdeen,,False",
    ])
    result = import_sources("ch-companies", [source], tmp_path / "out")
    manifest = result.manifest
    assert_import_balanced(manifest)
    assert manifest["tables"]["companies"] == {"rows_mapped": 3, "rows_written": 1, "rows_quarantined": 2,
                                               "rows_rejected": 0}
    assert manifest["sources"]["profiles.csv"]["rows_quarantined:companies"] == 2


def test_an_unknown_header_is_refused(tmp_path: Path) -> None:
    source = _write(tmp_path / "other.csv", ["name,number", "A,1"])
    with pytest.raises(RiskmodelError, match="neither a Companies House bulk company CSV"):
        import_sources("ch-companies", [source], tmp_path / "out")
    with pytest.raises(RiskmodelError, match="is not iXBRL accounts data"):
        import_sources("ch-accounts", [source], tmp_path / "out2")


# ----------------------------------------------------------------------------------------------------- accounts


def test_accounts_map_dormancy_numbers_and_filing_dates(tmp_path: Path) -> None:
    source = _write(tmp_path / "accounts_daily.csv", [
        ACCOUNTS_HEADER,
        # dormant, filed with the daily bulk file of 12 June 2024
        f"Prod900_0001,12000001,2024-03-31,html,2024-03-31,12000001,True,0,2023-04-01,2024-03-31,2,2,,{DAILY}",
        # trading; lost its leading zero; bracketed negative cash
        f"Prod900_0001,09000002,2023-12-31,html,2023-12-31,9000002,False,3,2023-01-01,2023-12-31,\"(1,200)\","
        f"5000,125000,{DAILY}",
        # an unparseable number
        f"Prod900_0001,11111111,2023-12-31,html,2023-12-31,11111111,False,1,2023-01-01,2023-12-31,n/a,1,,{DAILY}",
        # no period_end: the balance sheet date is the period end
        f"Prod900_0001,22222222,2023-10-31,html,2023-10-31,22222222,,2,2022-11-01,,10,20,,{DAILY}",
        # no period_end and no balance sheet date
        f"Prod900_0001,33333333,2023-10-31,html,,33333333,False,2,2022-11-01,,10,20,,{DAILY}",
        # the comparative (previous-year) figures of a filing
        f"Prod900_0001,44444444,2023-12-31,html,2023-12-31,44444444,False,2,2022-01-01,2022-12-31,10,20,,{DAILY}",
        # a balance-sheet instant: no period start
        f"Prod900_0001,55555555,2023-12-31,html,2023-12-31,55555555,False,2,2023-12-31,2023-12-31,10,20,,{DAILY}",
        # a monthly bulk file gives only the month
        "Prod224_0078,66666666,2023-12-31,html,2023-12-31,66666666,False,2,2023-01-01,2023-12-31,10,20,,"
        "https://download.companieshouse.gov.uk/Accounts_Monthly_Data-June2024.zip",
        # negative employees: mapped, then quarantined by the contract
        f"Prod900_0001,77777777,2023-12-31,html,2023-12-31,77777777,False,-2,2023-01-01,2023-12-31,10,20,,{DAILY}",
    ])
    result = import_sources("ch-accounts", [source], tmp_path / "out")
    accounts = _table(result, "accounts")
    assert accounts.index.tolist() == ["12000001", "09000002", "22222222"]
    assert accounts["accounts_type"].tolist() == ["dormant", "other", "other"]
    assert accounts["filed_on"].tolist() == [dt.date(2024, 6, 12)] * 3
    assert accounts["period_start"].tolist() == [dt.date(2023, 4, 1), dt.date(2023, 1, 1),
                                                 dt.date(2022, 11, 1)]
    assert accounts["period_end"].tolist() == [dt.date(2024, 3, 31), dt.date(2023, 12, 31),
                                               dt.date(2023, 10, 31)]
    trading = accounts.loc["09000002"]
    assert (trading["employees"], trading["cash"], trading["net_assets"], trading["turnover"]) == (
        3.0, -1200.0, 5000.0, 125000.0)
    assert pd.isna(trading["debtors"]) and pd.isna(accounts.loc["12000001", "turnover"])
    reasons = _quarantine(result, "ch-accounts")
    assert reasons["line 4"] == "cash_bank_in_hand: 'n/a' is not a number"
    assert reasons["line 6"] == "no period end (period_end / balance_sheet_date is empty): the contract requires it"
    assert reasons["line 7"] == ("the period ends 2022-12-31, before the balance sheet date 2023-12-31 of its "
                                 "accounts: comparative (previous-year) figures, not a filing of their own")
    assert reasons["line 8"] == ("period_start equals period_end (2023-12-31): a balance-sheet instant, not an "
                                 "accounting period, so the period's start is not given")
    assert reasons["line 9"].startswith("no filing date: zip_url names a monthly bulk file")
    assert "employees" in reasons["line 10"]
    manifest = result.manifest
    assert_import_balanced(manifest)
    assert (manifest["records_in"], manifest["records_mapped"], manifest["records_quarantined"]) == (9, 4, 5)
    assert manifest["tables"]["accounts"] == {"rows_mapped": 4, "rows_written": 3, "rows_quarantined": 1,
                                              "rows_rejected": 0}
    assert any("no accounts type" in w and "3 non-dormant filings is typed 'other'" in w
               for w in manifest["warnings"])


def test_accounts_take_a_filed_on_column_and_never_the_file_name_date(tmp_path: Path) -> None:
    header = ACCOUNTS_HEADER.replace(",zip_url", ",filed_on")
    source = _write(tmp_path / "accounts_2024.csv", [
        header,
        "Prod900_0001,12000001,2024-03-31,html,2024-03-31,12000001,False,1,2023-04-01,2024-03-31,1,1,,2024-11-02",
        "Prod900_0001,12000002,2024-03-31,html,2024-03-31,12000002,False,1,2023-04-01,2024-03-31,1,1,,",
        "Prod900_0001,12000003,2024-03-31,html,2024-03-31,12000003,maybe,1,2023-04-01,2024-03-31,1,1,,2024-11-02",
    ])
    result = import_sources("ch-accounts", [source], tmp_path / "out")
    accounts = _table(result, "accounts")
    assert accounts.index.tolist() == ["12000001"]
    assert accounts.loc["12000001", "filed_on"] == dt.date(2024, 11, 2)
    reasons = _quarantine(result, "ch-accounts")
    assert reasons["line 3"].startswith("no filing date: no filed_on and no daily bulk-file zip_url")
    assert reasons["line 4"] == "company_dormant: 'maybe' is not true or false"
    assert_import_balanced(result.manifest)
    assert any("1 rows have no filing date" in w for w in result.manifest["warnings"])


# --------------------------------------------------------------------------------------------------- real data


def _real(name: str) -> list[str | Path]:
    paths: list[str | Path] = sorted(REAL.glob(name))
    if not paths:
        pytest.skip(f"real data not found at {REAL}")
    return paths


@pytest.mark.realdata
def test_real_company_metadata_imports(tmp_path: Path) -> None:
    result = import_sources("ch-companies", _real("company_metadata.csv"), tmp_path / "out",
                            extract_date=dt.date(2025, 8, 13))
    manifest = json.loads((tmp_path / "out" / "imports" / "ch-companies" / "manifest.json").read_text())
    assert_import_balanced(manifest)
    assert manifest["records_in"] == 8902
    companies = _table(result, "companies")
    assert len(companies) == manifest["tables"]["companies"]["rows_written"] > 8800
    assert companies.index.str.fullmatch(r"[A-Z0-9]{8}").all()
    assert companies["registered_office_address"].isna().all()


@pytest.mark.realdata
def test_real_accounts_import_and_show_that_the_extract_has_no_filing_date(tmp_path: Path) -> None:
    import_sources("ch-accounts", _real("accounts_*.csv"), tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "imports" / "ch-accounts" / "manifest.json").read_text())
    assert_import_balanced(manifest)
    assert manifest["records_in"] == 30748
    # The extract's `date` is the balance sheet date, so no row has the filing date the contract requires.
    assert manifest["records_mapped"] == 0
    assert manifest["top_reasons"][0]["reason"].startswith("no filing date")
    assert manifest["top_reasons"][0]["count"] == 30748
