"""Licence features on a hand-made register: exact values, missing values and point-in-time cuts."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from support import make_dataset

from features import CATALOGUE, build
from features import licences as lic
from features.pit import AsOf
from riskmodel.contract import Dataset

AS_OF = dt.date(2023, 6, 30)  # before the extract date (2025-06-30): statuses come from dated columns

COMPANIES = [
    {"company_number": "SC1", "date_of_creation": "2019-01-01"},
    {"company_number": "SC2", "date_of_creation": "2020-06-01"},
    {"company_number": "SC3", "date_of_creation": "2015-01-01"},
    {"company_number": "SC4", "date_of_creation": "2018-01-01"},
    {"company_number": "SC5", "date_of_creation": "2021-01-01"},
]

GLA_BOARD = "Glasgow Licensing Board"
GLA_COUNCIL = "Glasgow City Council"

LICENCES = [
    # SC1: four applications in three authorities.
    {"licence_id": "L1", "holder_company_number": "SC1", "licence_type": "premises-alcohol", "authority": GLA_BOARD,
     "premises_postcode": "G1 1AA", "applied_on": "2019-03-01", "decided_on": "2019-05-01", "status": "granted",
     "police_objection": "true", "objections": 2},
    {"licence_id": "L2", "holder_company_number": "SC1", "licence_type": "late-hours-catering",
     "authority": GLA_COUNCIL, "premises_postcode": "G1 1AA", "applied_on": "2020-01-01", "decided_on": "2020-03-01",
     "expires_on": "2023-03-01", "status": "expired", "status_date": "2023-03-01", "objections": 1},
    # Revoked only after as_of: still granted (and held) then.
    {"licence_id": "L3", "holder_company_number": "SC1", "licence_type": "taxi-operator",
     "authority": "City of Edinburgh Council", "applied_on": "2021-01-01", "decided_on": "2021-02-01",
     "expires_on": "2024-02-01", "status": "revoked", "status_date": "2024-01-01"},
    # Ten days old at as_of: objections not known yet.
    {"licence_id": "L4", "holder_company_number": "SC1", "licence_type": "metal-dealer",
     "authority": " glasgow city council", "applied_on": "2023-06-20", "status": "granted",
     "decided_on": "2023-08-01", "police_objection": "true", "objections": 3},
    # Applied for after as_of: invisible.
    {"licence_id": "L14", "holder_company_number": "SC1", "licence_type": "premises-alcohol", "authority": GLA_BOARD,
     "applied_on": "2023-08-01", "decided_on": "2023-09-01", "status": "refused", "police_objection": "true",
     "objections": 5},
    # SC2: takes over SC1's alcohol premises, applied before incorporation, one refusal, one suspension.
    {"licence_id": "L5", "holder_company_number": "SC2", "licence_type": "premises-alcohol", "authority": GLA_BOARD,
     "premises_postcode": "g1  1aa", "applied_on": "2021-09-01", "decided_on": "2021-10-15", "status": "granted"},
    {"licence_id": "L6", "holder_company_number": "SC2", "licence_type": "private-hire-operator",
     "authority": GLA_COUNCIL, "applied_on": "2020-05-20", "decided_on": "2020-07-01", "status": "refused",
     "police_objection": "true", "objections": 4},
    {"licence_id": "L7", "holder_company_number": "SC2", "licence_type": "second-hand-dealer",
     "authority": GLA_COUNCIL, "applied_on": "2022-01-01", "decided_on": "2022-02-01", "status": "suspended",
     "status_date": "2022-06-01"},
    # A second application by the same holder at its own premises is not a take-over.
    # Authority names are compared case- and space-insensitively.
    {"licence_id": "L8", "holder_company_number": "SC2", "licence_type": "premises-alcohol",
     "authority": "GLASGOW LICENSING BOARD ",
     "premises_postcode": "G1 1AA", "applied_on": "2023-01-01", "decided_on": "2023-02-01", "status": "granted"},
    # SC3: an old take-over (outside 36 months) and a pending application old enough for its objections to count.
    {"licence_id": "L13", "holder_name": "A Landlord", "licence_type": "hmo", "authority": "City of Edinburgh Council",
     "premises_postcode": "EH2 2BB", "applied_on": "2018-01-01", "decided_on": "2018-02-01", "status": "granted"},
    {"licence_id": "L12", "holder_company_number": "SC3", "licence_type": "hmo",
     "authority": "City of Edinburgh Council", "premises_postcode": "EH2 2BB", "applied_on": "2020-01-15",
     "decided_on": "2020-02-15", "expires_on": "2023-01-15", "status": "granted"},
    {"licence_id": "L15", "holder_company_number": "SC3", "licence_type": "other", "authority": GLA_COUNCIL,
     "applied_on": "2023-05-01", "decided_on": "2023-09-01", "status": "granted", "police_objection": "true",
     "objections": 2},
    # SC5: takes over a catering premises from a holder known only by name; that licence is then revoked.
    {"licence_id": "L9", "holder_name": "Joe's Kebabs", "licence_type": "late-hours-catering",
     "authority": "City of Edinburgh Council", "premises_postcode": "EH1 1AA", "applied_on": "2019-01-01",
     "decided_on": "2019-02-01", "status": "granted"},
    {"licence_id": "L10", "holder_company_number": "SC5", "licence_type": "late-hours-catering",
     "authority": "City of Edinburgh Council", "premises_postcode": "EH1 1AA", "applied_on": "2021-03-01",
     "decided_on": "2021-04-01", "status": "revoked", "status_date": "2022-05-01"},
    {"licence_id": "L11", "holder_company_number": "SC5", "licence_type": "premises-alcohol",
     "authority": "City of Edinburgh Licensing Board", "premises_postcode": "EH1 1AA", "applied_on": "2021-03-01",
     "decided_on": "2021-04-01", "status": "granted"},
]

NAN = math.nan
EXPECTED: dict[str, dict[str, float]] = {
    "licence_applications_count": {"SC1": 4, "SC2": 4, "SC3": 2, "SC4": 0, "SC5": 2},
    "premises_alcohol_licence_applications_count": {"SC1": 1, "SC2": 2, "SC3": 0, "SC4": 0, "SC5": 1},
    "late_hours_catering_licence_applications_count": {"SC1": 1, "SC2": 0, "SC3": 0, "SC4": 0, "SC5": 1},
    "taxi_or_private_hire_operator_licence_applications_count": {"SC1": 1, "SC2": 1, "SC3": 0, "SC4": 0, "SC5": 0},
    "metal_or_second_hand_dealer_licence_applications_count": {"SC1": 1, "SC2": 1, "SC3": 0, "SC4": 0, "SC5": 0},
    "licence_refusals_count": {"SC1": 0, "SC2": 1, "SC3": 0, "SC4": 0, "SC5": 0},
    "licence_revocations_count": {"SC1": 0, "SC2": 0, "SC3": 0, "SC4": 0, "SC5": 1},
    "licence_suspensions_count": {"SC1": 0, "SC2": 1, "SC3": 0, "SC4": 0, "SC5": 0},
    "licence_applications_with_police_objection_count": {"SC1": 1, "SC2": 1, "SC3": 1, "SC4": 0, "SC5": 0},
    "share_of_licence_applications_with_police_objection": {"SC1": 1 / 3, "SC2": 1 / 4, "SC3": 1 / 2, "SC4": NAN,
                                                            "SC5": 0},
    "licence_objections_total": {"SC1": 3, "SC2": 4, "SC3": 2, "SC4": 0, "SC5": 0},
    "licence_objections_mean_per_application": {"SC1": 1, "SC2": 1, "SC3": 1, "SC4": NAN, "SC5": 0},
    "premises_taken_over_from_other_holder_last_36m": {"SC1": 0, "SC2": 1, "SC3": 0, "SC4": 0, "SC5": 1},
    "days_from_incorporation_to_first_licence_application": {"SC1": 59, "SC2": 0, "SC3": 1840, "SC4": NAN,
                                                             "SC5": 59},
    "licensing_authorities_with_licence_held_count": {"SC1": 2, "SC2": 2, "SC3": 0, "SC4": 0, "SC5": 1},
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return make_dataset(companies=COMPANIES, licences=LICENCES)


@pytest.fixture(scope="module")
def frame(dataset: Dataset) -> pd.DataFrame:
    return build(dataset, AS_OF, names=list(EXPECTED))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_values(frame: pd.DataFrame, name: str) -> None:
    expected = pd.Series(EXPECTED[name], name=name, dtype="float64").rename_axis("company_number")
    pd.testing.assert_series_equal(frame[name].sort_index(), expected, check_exact=False, rtol=1e-12)


def test_every_licences_feature_is_tested() -> None:
    assert {n for n, s in CATALOGUE.items() if s.family == "licences"} == set(EXPECTED)


def test_functions_return_only_businesses_with_rows(dataset: Dataset) -> None:
    view = AsOf(dataset, AS_OF)
    counts = lic.licence_applications_count(view)
    assert set(counts.index) == {"SC1", "SC2", "SC3", "SC5"}
    assert counts.index.name == "company_number"


def test_at_the_extract_date_later_events_count(dataset: Dataset) -> None:
    """By the extract date SC1's taxi licence is revoked and its 2023 applications are known."""
    out = build(dataset, dt.date(2025, 6, 30), names=["licence_revocations_count", "licence_refusals_count",
                                                      "licence_applications_with_police_objection_count",
                                                      "licence_applications_count"])
    assert out.loc["SC1"].tolist() == [1.0, 1.0, 3.0, 5.0]


def test_rows_after_as_of_do_not_count(dataset: Dataset) -> None:
    """Dropping the application made after as_of (L14) changes nothing."""
    kept = [row for row in LICENCES if row["licence_id"] != "L14"]
    without = build(make_dataset(companies=COMPANIES, licences=kept), AS_OF, names=list(EXPECTED))
    pd.testing.assert_frame_equal(build(dataset, AS_OF, names=list(EXPECTED)), without)


def test_objections_of_recent_applications_are_not_known_yet(dataset: Dataset) -> None:
    """L4 (10 days old, undecided) joins the objection features once 28 days have passed."""
    out = build(dataset, dt.date(2023, 7, 18), names=["licence_objections_total",
                                                      "licence_applications_with_police_objection_count"])
    assert out.loc["SC1"].tolist() == [6.0, 2.0]


def test_inputs_not_mutated(dataset: Dataset) -> None:
    before = {n: t.copy() for n, t in dataset.tables.items()}
    build(dataset, AS_OF, names=list(EXPECTED))
    for name, table in dataset.tables.items():
        pd.testing.assert_frame_equal(table, before[name])


def test_empty_licences_table() -> None:
    out = build(make_dataset(companies=COMPANIES, licences=[]), AS_OF, names=list(EXPECTED))
    for name in EXPECTED:
        expected_zero = CATALOGUE[name].zero_when_absent
        assert (out[name] == 0).all() if expected_zero else out[name].isna().all(), name
