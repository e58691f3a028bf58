"""Register features on tiny hand-computed data sets: exact values, missing cases and point in time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from features import CATALOGUE, build
from features.register import (
    MASS_REGISTRATION_MIN_BUSINESSES,
    NOMINEE_MIN_APPOINTMENTS,
)

AS_OF = dt.date(2024, 6, 30)
NAN = np.nan


def _check(frame: pd.DataFrame, name: str, expected: dict[str, float]) -> None:
    got = frame.loc[list(expected), name]
    want = pd.Series(expected, dtype="float64", name=name)
    want.index.name = "company_number"
    pd.testing.assert_series_equal(got, want, check_names=False, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------------- accounts

ACCOUNTS_NAMES = ["company_age_years", "dormant_accounts_switches", "accounts_filed_late",
                  "share_of_accounts_filed_late", "years_since_last_accounts_filing"]


@pytest.fixture(scope="module")
def accounts_frame() -> pd.DataFrame:
    companies = [
        {"company_number": "SC1", "date_of_creation": "2015-01-01"},
        {"company_number": "SC2", "date_of_creation": "2021-01-15"},
        {"company_number": "SC3", "date_of_creation": "2010-05-01", "company_type": "unincorporated"},
        {"company_number": "SC4", "date_of_creation": "2022-03-01", "company_type": "plc"},
        {"company_number": "SC6", "date_of_creation": "2010-01-01", "company_type": "plc"},
        {"company_number": "SC7", "date_of_creation": "2012-01-01", "date_of_cessation": "2023-01-31",
         "company_status": "dissolved"},
        {"company_number": "SC8", "date_of_creation": "2023-01-01", "date_of_cessation": "2024-12-01",
         "company_status": "dissolved"},
        # Created after the as-of date: no row at all.
        {"company_number": "SC9", "date_of_creation": "2024-09-01"},
    ]
    accounts = [
        # SC1: trading, dormant (late; its later amendment is ignored), trading, dormant (late); one after as_of.
        {"company_number": "SC1", "period_start": "2019-01-01", "period_end": "2019-12-31", "filed_on": "2020-09-30",
         "accounts_type": "micro-entity"},
        {"company_number": "SC1", "period_start": "2020-01-01", "period_end": "2020-12-31", "filed_on": "2021-10-15",
         "accounts_type": "dormant"},
        {"company_number": "SC1", "period_start": "2020-01-01", "period_end": "2020-12-31", "filed_on": "2022-01-10",
         "accounts_type": "micro-entity"},
        {"company_number": "SC1", "period_start": "2021-01-01", "period_end": "2021-12-31", "filed_on": "2022-09-30",
         "accounts_type": "micro-entity"},
        {"company_number": "SC1", "period_start": "2022-01-01", "period_end": "2022-12-31", "filed_on": "2023-12-01",
         "accounts_type": "dormant"},
        {"company_number": "SC1", "period_start": "2023-01-01", "period_end": "2023-12-31", "filed_on": "2024-11-01",
         "accounts_type": "micro-entity"},
        # SC2: a first period over 12 months is due 21 months after incorporation (2022-10-15), not 2022-10-31.
        {"company_number": "SC2", "period_start": "2021-01-15", "period_end": "2022-01-31", "filed_on": "2022-10-20",
         "accounts_type": "small"},
        # Period ending on a month end: due on the month end 9 months later (2023-10-31), filed on the day.
        {"company_number": "SC2", "period_start": "2022-02-01", "period_end": "2023-01-31", "filed_on": "2023-10-31",
         "accounts_type": "small"},
        # SC6 is a plc: 6 months (due 2023-06-30), so late although a private company would be on time.
        {"company_number": "SC6", "period_start": "2022-01-01", "period_end": "2022-12-31", "filed_on": "2023-08-15",
         "accounts_type": "full"},
        # SC7 stopped filing 945 days before it was dissolved.
        {"company_number": "SC7", "period_start": "2019-01-01", "period_end": "2019-12-31", "filed_on": "2020-06-30",
         "accounts_type": "micro-entity"},
        {"company_number": "SC9", "period_start": "2024-09-01", "period_end": "2024-10-31", "filed_on": "2024-11-30",
         "accounts_type": "dormant"},
    ]
    return build(make_dataset(companies=companies, accounts=accounts), AS_OF, names=ACCOUNTS_NAMES)


def test_only_businesses_existing_at_as_of(accounts_frame: pd.DataFrame) -> None:
    assert sorted(accounts_frame.index) == ["SC1", "SC2", "SC3", "SC4", "SC6", "SC7", "SC8"]


def test_company_age_years(accounts_frame: pd.DataFrame) -> None:
    _check(accounts_frame, "company_age_years", {"SC1": 3468 / 365.25, "SC4": 852 / 365.25, "SC8": 546 / 365.25})


def test_dormant_accounts_switches(accounts_frame: pd.DataFrame) -> None:
    # SC1: micro -> dormant -> micro -> dormant (the 2024-11 filing is after as_of; the amendment is ignored).
    _check(accounts_frame, "dormant_accounts_switches",
           {"SC1": 3, "SC2": 0, "SC3": NAN, "SC4": NAN, "SC6": 0, "SC7": 0})


def test_accounts_filed_late(accounts_frame: pd.DataFrame) -> None:
    _check(accounts_frame, "accounts_filed_late", {"SC1": 2, "SC2": 1, "SC3": 0, "SC4": 0, "SC6": 1, "SC7": 0})


def test_share_of_accounts_filed_late(accounts_frame: pd.DataFrame) -> None:
    _check(accounts_frame, "share_of_accounts_filed_late",
           {"SC1": 0.5, "SC2": 0.5, "SC3": NAN, "SC4": NAN, "SC6": 1.0, "SC7": 0.0})


def test_years_since_last_accounts_filing(accounts_frame: pd.DataFrame) -> None:
    _check(accounts_frame, "years_since_last_accounts_filing", {
        "SC1": 212 / 365.25,  # 2023-12-01 -> 2024-06-30 (the 2024-11 filing is not known yet)
        "SC2": 243 / 365.25,  # 2023-10-31 -> 2024-06-30
        "SC3": NAN,  # an unincorporated business does not file
        "SC4": 852 / 365.25,  # never filed, created 2022-03-01, overdue since 21 months
        "SC6": 320 / 365.25,  # 2023-08-15 -> 2024-06-30
        "SC7": 945 / 365.25,  # 2020-06-30 -> cessation 2023-01-31
        "SC8": NAN,  # 18 months old: nothing due yet (its cessation after as_of is unknown)
    })


def test_accounts_features_missing_without_accounts_table() -> None:
    ds = make_dataset(companies=[{"company_number": "SC1", "date_of_creation": "2015-01-01"}])
    frame = build(ds, AS_OF, names=ACCOUNTS_NAMES)
    assert np.isnan(frame.loc["SC1", "years_since_last_accounts_filing"])
    assert np.isnan(frame.loc["SC1", "share_of_accounts_filed_late"])


# --------------------------------------------------------------------------------------------------- officers

OFFICER_NAMES = ["director_appointments_last_12m", "director_appointments_last_36m",
                 "director_resignations_last_12m", "director_resignations_last_36m", "current_directors",
                 "share_of_current_directors_with_tenure_under_1y",
                 "officers_appointed_within_90_days_of_incorporation",
                 "max_other_directorships_of_current_directors", "mean_other_directorships_of_current_directors",
                 "formation_agent_nominee_among_officers", "officer_rows_with_implausible_data"]


@pytest.fixture(scope="module")
def officer_frame() -> pd.DataFrame:
    companies = [
        {"company_number": "A", "date_of_creation": "2020-01-01"},
        {"company_number": "B", "date_of_creation": "2024-03-01"},
        {"company_number": "C", "date_of_creation": "2015-01-01"},
        {"company_number": "D", "date_of_creation": "2018-01-01", "date_of_cessation": "2023-06-01",
         "company_status": "dissolved"},
    ] + [{"company_number": f"X{i}", "date_of_creation": "2019-01-01"} for i in range(NOMINEE_MIN_APPOINTMENTS)]
    officers = [
        # A
        {"company_number": "A", "officer_id": "P1", "appointed_on": "2020-01-01", "birth_year": "1980"},
        {"company_number": "A", "officer_id": "NOM", "appointed_on": "2020-01-01", "resigned_on": "2020-01-10"},
        {"company_number": "A", "officer_id": "P2", "appointed_on": "2020-02-15", "resigned_on": "2023-09-01"},
        {"company_number": "A", "officer_id": "P3", "appointed_on": "2023-10-01", "birth_year": "2015"},
        {"company_number": "A", "officer_id": "P4", "officer_role": "secretary", "appointed_on": "2022-01-01",
         "birth_year": "1890"},
        {"company_number": "A", "officer_id": "P5", "appointed_on": "2021-12-01", "resigned_on": "2022-03-01",
         "birth_year": "2007"},
        {"company_number": "A", "officer_id": "P6", "appointed_on": "2024-08-01"},
        {"company_number": "A", "officer_id": "P7", "appointed_on": "2019-06-01", "resigned_on": "2024-09-01"},
        # B: P1 founds it, P8 joins 45 days later
        {"company_number": "B", "officer_id": "P1", "appointed_on": "2024-03-01"},
        {"company_number": "B", "officer_id": "P8", "appointed_on": "2024-04-15"},
        # D (dissolved, P1 never formally resigned)
        {"company_number": "D", "officer_id": "P1", "appointed_on": "2018-01-01"},
    ] + [
        # The nominee: 51 appointments, all but one (X0) resigned within 19 days.
        {"company_number": f"X{i}", "officer_id": "NOM", "appointed_on": "2019-01-01",
         "resigned_on": None if i == 0 else "2019-01-20"} for i in range(NOMINEE_MIN_APPOINTMENTS)
    ]
    return build(make_dataset(companies=companies, officers=officers), AS_OF, names=OFFICER_NAMES)


def test_director_churn(officer_frame: pd.DataFrame) -> None:
    # A: P3 (2023-10) in 12 months, P3 and P5 (2021-12) in 36; founders, nominees and P6 (after as_of) not counted.
    _check(officer_frame, "director_appointments_last_12m", {"A": 1, "B": 1, "C": 0, "D": 0, "X0": 0})
    _check(officer_frame, "director_appointments_last_36m", {"A": 2, "B": 1, "C": 0, "D": 0, "X0": 0})
    # A: P2 resigned 2023-09, P5 2022-03; P7's resignation after as_of is unknown; the nominee's is not churn.
    _check(officer_frame, "director_resignations_last_12m", {"A": 1, "B": 0, "C": 0, "D": 0, "X1": 0})
    _check(officer_frame, "director_resignations_last_36m", {"A": 2, "B": 0, "C": 0, "D": 0, "X1": 0})


def test_current_directors_and_tenure(officer_frame: pd.DataFrame) -> None:
    # A: P1, P3, P7 (P7 still in office at as_of); X0: the nominee holds the seat; X1: nobody.
    _check(officer_frame, "current_directors", {"A": 3, "B": 2, "C": NAN, "D": 1, "X0": 1, "X1": 0})
    _check(officer_frame, "share_of_current_directors_with_tenure_under_1y",
           {"A": 1 / 3, "B": 1.0, "C": NAN, "D": 0.0, "X0": 0.0, "X1": NAN})


def test_officers_appointed_within_90_days_of_incorporation(officer_frame: pd.DataFrame) -> None:
    _check(officer_frame, "officers_appointed_within_90_days_of_incorporation",
           {"A": 1, "B": 1, "C": 0, "D": 0, "X0": 0})


def test_other_directorships_exclude_nominees_and_dissolved_businesses(officer_frame: pd.DataFrame) -> None:
    # P1 sits on A, B (live) and D (dissolved): 1 other live board seen from A or B, 2 seen from D.
    _check(officer_frame, "max_other_directorships_of_current_directors",
           {"A": 1, "B": 1, "C": NAN, "D": 2, "X0": NAN})
    _check(officer_frame, "mean_other_directorships_of_current_directors",
           {"A": 1 / 3, "B": 0.5, "C": NAN, "D": 2, "X0": NAN})


def test_formation_agent_nominee_among_officers(officer_frame: pd.DataFrame) -> None:
    _check(officer_frame, "formation_agent_nominee_among_officers",
           {"A": 1, "B": 0, "C": NAN, "D": 0, "X0": 1, "X49": 1})


def test_implausible_officer_data_is_a_data_quality_flag(officer_frame: pd.DataFrame) -> None:
    # A: P3 born 2015 (after 2008), P4 born 1890, P5 appointed at 14, P7 appointed before incorporation.
    _check(officer_frame, "officer_rows_with_implausible_data", {"A": 4, "B": 0, "C": 0, "D": 0})
    assert CATALOGUE["officer_rows_with_implausible_data"].data_quality
    assert "officer_rows_with_implausible_data" not in build(
        make_dataset(companies=[{"company_number": "A"}]), AS_OF).columns


def test_fifty_appointments_are_not_a_nominee() -> None:
    companies = [{"company_number": f"X{i}", "date_of_creation": "2019-01-01"}
                 for i in range(NOMINEE_MIN_APPOINTMENTS)]
    officers = [{"company_number": f"X{i}", "officer_id": "S", "appointed_on": "2019-01-01",
                 "resigned_on": "2019-01-20"} for i in range(NOMINEE_MIN_APPOINTMENTS)]
    frame = build(make_dataset(companies=companies, officers=officers), AS_OF,
                  names=["formation_agent_nominee_among_officers", "director_resignations_last_36m"])
    assert (frame["formation_agent_nominee_among_officers"] == 0).all()


# --------------------------------------------------------------------------------------------------- address

ADDRESS_NAMES = ["businesses_sharing_registered_office", "registered_office_at_mass_registration_address"]


@pytest.fixture(scope="module")
def address_frame() -> pd.DataFrame:
    hub = MASS_REGISTRATION_MIN_BUSINESSES + 1
    companies = [
        {"company_number": f"H{i}", "registered_office_postcode": "EH1 1AA" if i % 2 else "eh11aa",
         "registered_office_address": "1 Hub Street" if i % 2 else "1, HUB STREET"} for i in range(hub)
    ] + [
        {"company_number": "R1", "registered_office_postcode": "G1 2BB", "registered_office_address": "5 Rose Lane"},
        {"company_number": "R2", "registered_office_postcode": "g1 2bb", "registered_office_address": "5 rose lane."},
        {"company_number": "R3", "registered_office_postcode": "G1 2BB", "registered_office_address": "5 Rose Lane",
         "date_of_cessation": "2023-01-01", "company_status": "dissolved"},
        {"company_number": "R4", "registered_office_postcode": "G1 2BB", "registered_office_address": "5 Rose Lane",
         "date_of_creation": "2024-08-01"},
        {"company_number": "R5", "registered_office_postcode": "G1 2BB", "registered_office_address": "7 Rose Lane"},
        {"company_number": "S1", "registered_office_postcode": "AB1 1AA", "registered_office_address": "2 Main St"},
        {"company_number": "M1", "registered_office_postcode": "AB1 1AA"},
    ]
    return build(make_dataset(companies=companies), AS_OF, names=ADDRESS_NAMES)


def test_businesses_sharing_registered_office(address_frame: pd.DataFrame) -> None:
    # R1/R2 share one normalised address; R3 (dissolved) does not count for them but sees both; R4 is future.
    _check(address_frame, "businesses_sharing_registered_office",
           {"R1": 1, "R2": 1, "R3": 2, "R5": 0, "S1": 0, "M1": NAN, "H0": NAN, "H7": NAN})


def test_mass_registration_address_flag(address_frame: pd.DataFrame) -> None:
    _check(address_frame, "registered_office_at_mass_registration_address",
           {"R1": 0, "R3": 0, "S1": 0, "M1": NAN, "H0": 1, "H100": 1})
