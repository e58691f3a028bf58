"""Watchlist features and the name matcher on tiny hand-built data sets with exact values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

import features
from features.catalogue import CATALOGUE
from features.watchlist import normalise_company_names, normalise_person_names, screen

AS_OF = dt.date(2023, 6, 30)
NAMES = [n for n, s in CATALOGUE.items() if s.family == "watchlist"]

COMPANIES = [
    {"company_number": "SC100001", "company_name": "Acme Trading Ltd"},
    {"company_number": "SC100002", "company_name": "Blue Harbour Logistics Limited"},
    {"company_number": "SC100003", "company_name": "Glen Motors Ltd"},
    {"company_number": "SC100004", "company_name": "Nothing Special Ltd"},
]
OFFICERS = [
    {"company_number": "SC100001", "officer_id": "P1", "officer_name": "SMITH, John Andrew",
     "country_of_residence": "Scotland"},
    {"company_number": "SC100002", "officer_id": "P2", "officer_name": "Jon Andrew Smith",  # fuzzy: typo
     "country_of_residence": "United Kingdom"},
    {"company_number": "SC100002", "officer_id": "P3", "officer_name": "Olga Petrova",  # namesake of a RU entry
     "country_of_residence": "United Kingdom"},
    {"company_number": "SC100003", "officer_id": "P4", "officer_name": "Maria Gonzalez"},  # entry delisted
    {"company_number": "SC100003", "officer_id": "P5", "officer_name": "Peter Black",
     "resigned_on": "2022-01-01"},  # resigned before as_of
    {"company_number": "SC100003", "officer_id": "P6", "officer_name": "Anna White",
     "resigned_on": "2024-06-01"},  # resigned after as_of: in office then
]
OWNERSHIP = [
    {"company_number": "SC100001", "owner_id": "P1", "owner_name": "Mr John Andrew Smith", "owner_kind": "individual",
     "owner_jurisdiction": "GB"},
    {"company_number": "SC100003", "owner_id": "C1", "owner_name": "Northern Star Holdings Limited",
     "owner_kind": "corporate", "owner_jurisdiction": "VG"},
    {"company_number": "SC100003", "owner_id": "P7", "owner_name": "Ivan Sidorov", "owner_kind": "individual",
     "owner_jurisdiction": "GB"},  # entry listed after as_of
]
WATCHLIST = [
    {"entry_id": "E1", "name": "ACME TRADING LIMITED", "entity_kind": "company", "country": "United Kingdom",
     "listed_on": "2020-01-01"},
    {"entry_id": "E2", "name": "Glen Motors LLC", "entity_kind": "company", "country": "RU"},  # country differs
    {"entry_id": "E3", "name": "SMITH, John Andrew", "entity_kind": "person", "country": "GB"},
    {"entry_id": "E5", "name": "Olga Petrova", "entity_kind": "person", "country": "RU"},
    {"entry_id": "E6", "name": "Ivan Sidorov", "entity_kind": "person", "listed_on": "2024-01-01"},
    {"entry_id": "E7", "name": "Maria Gonzalez", "entity_kind": "person", "country": "ES",
     "listed_on": "2015-01-01", "delisted_on": "2022-01-01"},
    {"entry_id": "E8", "name": "Northern Star Holdings Ltd", "entity_kind": "company", "country": "VG"},
    {"entry_id": "E9", "name": "Peter Black", "entity_kind": "person", "country": "GB"},
    {"entry_id": "E10", "name": "WHITE, Anna", "entity_kind": "person", "country": "GB"},
    {"entry_id": "E11", "name": "Blue Harbour Logistics", "entity_kind": "person"},  # wrong kind for a business
]
ORDER = ["SC100001", "SC100002", "SC100003", "SC100004"]
EXPECTED = {
    "watchlist_match_business_name": [1, 0, 0, 0],
    "watchlist_match_officer": [1, 1, 1, 0],
    "watchlist_match_owner": [1, 0, 1, 0],
    "watchlist_unconfirmed_name_matches": [0, 1, 0, 0],
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = make_dataset(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP, watchlist=WATCHLIST)
    return features.build(data, AS_OF, names=NAMES)


def test_every_feature_is_tested() -> None:
    assert sorted(EXPECTED) == sorted(NAMES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_values(frame: pd.DataFrame, name: str) -> None:
    got = frame.loc[ORDER, name].to_numpy()
    np.testing.assert_array_equal(got, np.array(EXPECTED[name], dtype=float), err_msg=name)


def test_later_listing_counts_later() -> None:
    """As of 2024-02-01 Ivan Sidorov's entry (2024-01-01) is listed; Anna White is still in office."""
    data = make_dataset(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP, watchlist=WATCHLIST)
    got = features.build(data, dt.date(2024, 2, 1), names=["watchlist_match_owner", "watchlist_match_officer"])
    assert got.loc["SC100003"].tolist() == [2.0, 1.0]


def test_absent_watchlist_gives_nan() -> None:
    data = make_dataset(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP)
    got = features.build(data, AS_OF, names=NAMES)
    assert got.shape == (4, len(NAMES))
    assert got.isna().all().all()


def test_empty_watchlist_at_as_of_gives_zero() -> None:
    data = make_dataset(companies=COMPANIES, officers=OFFICERS, watchlist=[
        {"entry_id": "E1", "name": "Acme Trading", "entity_kind": "company", "listed_on": "2024-01-01"}])
    got = features.build(data, AS_OF, names=NAMES)
    assert (got == 0).all().all()


def test_normalisers() -> None:
    people = normalise_person_names(pd.Series(["SMITH, John A.", "Dr. Jane  O'Neill OBE", "Zoë Brontë", None]))
    assert people.tolist() == ["john a smith", "jane oneill", "zoe bronte", None]
    firms = normalise_company_names(pd.Series(["The Acme & Co. Trading LTD", "LLC NORDRESURS",
                                               "Kemuning Management Sdn Bhd (123456-X)", "Limited",
                                               "BRIGHTSOLVE UK LIMITED", "UK Power Networks"]))
    assert firms.tolist() == ["acme and co trading", "nordresurs", "kemuning management", "limited", "brightsolve",
                              "uk power networks"]


def _screen(subject_names: list[str], entry_names: list[str], kind: str = "person") -> pd.DataFrame:
    subjects = pd.DataFrame({"subject": range(len(subject_names)), "name": subject_names, "kind": kind,
                             "country": None})
    entries = pd.DataFrame({"entry_id": [f"E{i}" for i in range(len(entry_names))], "name": entry_names,
                            "entity_kind": kind, "country": None})
    return screen(subjects, entries)


def test_screen_tolerates_a_missing_middle_name_only_with_exact_first_and_last_names() -> None:
    hits = _screen(["Derek Logan", "Sanjay Waddell", "Derek Peter Logan"], ["LOGAN, Derek Louise",
                                                                            "Sana Alexander Waddell"])
    assert hits[["subject", "entry_id", "score", "exact"]].values.tolist() == [[0, "E0", 100.0, False]]


def test_screen_matches_reordered_names_and_ignores_single_words() -> None:
    hits = _screen(["Volkov Tatiana", "Tatiana"], ["Tatiana Volkov", "Tatiana"])
    assert hits[["subject", "entry_id", "exact"]].values.tolist() == [[0, "E0", True]]


def test_country_corroboration() -> None:
    subjects = pd.DataFrame({"subject": [1, 2, 3], "name": ["Olga Petrova"] * 3, "kind": "person",
                             "country": ["United Kingdom", "RU", None]})
    entries = pd.DataFrame({"entry_id": ["E1"], "name": ["PETROVA, Olga"], "entity_kind": ["person"],
                            "country": ["ru;by"]})
    hits = screen(subjects, entries).sort_values("subject")
    assert hits["country_ok"].tolist() == [False, True, True]


def test_screen_accepts_an_initial_only_when_the_rest_agrees_exactly() -> None:
    hits = _screen(["James Marie Dunlop", "James Dunlop", "Jane Anne Dunlop"], ["J Marie Dunlop", "J Dunlop"])
    assert hits[["subject", "entry_id", "score", "exact"]].values.tolist() == [[0, "E0", 100.0, False]]
