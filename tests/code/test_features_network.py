"""Network features on a tiny hand-drawn graph: exact values, links that did not hold at as_of, own label unused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from features import build
from features.network import DISTANCE_NONE_WITHIN_REACH, MAX_ADDRESS_BUSINESSES, MAX_SHARED_BUSINESSES

AS_OF = dt.date(2024, 6, 30)
NAN = np.nan
NONE = DISTANCE_NONE_WITHIN_REACH
NAMES = ["network_degree", "network_component_size", "linked_businesses_dissolved",
         "linked_businesses_with_refused_or_revoked_licence", "linked_businesses_labelled_positive",
         "distance_to_labelled_positive"]

# The graph at as_of:  A -officer P1- B -owner O1- C -D owns C- D -owner O3- Q ;  E -address- F ;  U -P9- V ;
# W1 -X1 (officer of W1, owner of W2)- W2 ; everything else is isolated.
COMPANIES = [
    {"company_number": c} for c in ["A", "B", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "Q", "U", "V",
                                    "W1", "W2"]
] + [
    {"company_number": "C", "date_of_cessation": "2022-12-31", "company_status": "dissolved"},
    {"company_number": "T", "date_of_creation": "2024-08-01"},  # created after as_of
] + [
    {"company_number": f"Z{i}", "registered_office_postcode": "EH1 1AA", "registered_office_address": "1 Hub St"}
    for i in range(MAX_ADDRESS_BUSINESSES + 1)
] + [{"company_number": f"S{i}"} for i in range(MAX_SHARED_BUSINESSES + 1)]
for row in COMPANIES:
    if row["company_number"] in ("E", "F"):
        row.update(registered_office_postcode="G1 2BB", registered_office_address="5 Rose Lane")
    if row["company_number"] == "F":
        row.update(date_of_cessation="2024-12-01", company_status="dissolved")  # ceased after as_of
    if row["company_number"] == "T":
        row.update(registered_office_postcode="G1 2BB", registered_office_address="5 Rose Lane")

OFFICERS = [
    {"company_number": "A", "officer_id": "P1"},
    {"company_number": "B", "officer_id": "P1", "officer_role": "secretary"},
    {"company_number": "H", "officer_id": "P2", "resigned_on": "2023-01-01"},  # left before as_of: no link
    {"company_number": "I", "officer_id": "P2"},
    {"company_number": "H", "officer_id": "P3", "appointed_on": "2016-01-01"},
    {"company_number": "J", "officer_id": "P3", "appointed_on": "2024-08-01"},  # appointed after as_of: no link
    {"company_number": "U", "officer_id": "P9"},
    {"company_number": "V", "officer_id": "P9"},
    {"company_number": "W1", "officer_id": "X1"},
    {"company_number": "T", "officer_id": "P1", "appointed_on": "2024-08-01"},
] + [{"company_number": f"S{i}", "officer_id": "SERIAL"} for i in range(MAX_SHARED_BUSINESSES + 1)]

OWNERSHIP = [
    {"company_number": "B", "owner_id": "O1"},
    {"company_number": "C", "owner_id": "O1"},
    {"company_number": "C", "owner_id": "D", "owner_kind": "corporate"},
    {"company_number": "D", "owner_id": "O3"},
    {"company_number": "Q", "owner_id": "O3"},
    {"company_number": "K", "owner_id": "O2", "ceased_on": "2023-01-01"},  # ceased before as_of: no link
    {"company_number": "L", "owner_id": "O2"},
    {"company_number": "M", "owner_id": "NOPSC", "owner_kind": "unknown"},
    {"company_number": "N", "owner_id": "NOPSC", "owner_kind": "unknown"},
    {"company_number": "W2", "owner_id": "X1"},
]

LICENCES = [
    {"licence_id": "L1", "holder_company_number": "D", "decided_on": "2020-02-01", "status": "revoked",
     "status_date": "2023-05-01"},
    # Refused only after as_of: still pending then.
    {"licence_id": "L2", "holder_company_number": "A", "decided_on": "2024-09-01", "status": "refused"},
    {"licence_id": "L3", "holder_company_number": "G", "decided_on": "2020-02-01", "status": "refused"},
]

LABELS = [
    {"company_number": "A", "labelled_on": "2023-05-01"},
    {"company_number": "D", "labelled_on": "2024-08-01"},  # known only after as_of
    {"company_number": "G", "labelled_on": "2023-01-01"},  # positive with no links
    {"company_number": "E", "labelled_on": "2022-01-01"},
    {"company_number": "E", "label": "0", "labelled_on": "2024-01-01"},  # later cleared
    {"company_number": "U", "labelled_on": "2023-01-01"},
    {"company_number": "V", "labelled_on": "2023-01-01"},
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP, licences=LICENCES, labels=LABELS)
    return build(ds, AS_OF, names=NAMES)


def _check(frame: pd.DataFrame, name: str, expected: dict[str, float]) -> None:
    got = frame.loc[list(expected), name]
    want = pd.Series(expected, dtype="float64", name=name)
    want.index.name = "company_number"
    pd.testing.assert_series_equal(got, want, check_names=False, rtol=0, atol=0)


def test_network_degree(frame: pd.DataFrame) -> None:
    assert "T" not in frame.index
    _check(frame, "network_degree", {
        "A": 1, "B": 2, "C": 2, "D": 2, "Q": 1, "E": 1, "F": 1, "G": 0, "H": 0, "I": 0, "J": 0, "K": 0, "L": 0,
        "M": 0, "N": 0, "U": 1, "V": 1, "W1": 1, "W2": 1, "Z0": 0, "Z20": 0, "S0": 0, "S50": 0,
    })


def test_network_component_size(frame: pd.DataFrame) -> None:
    _check(frame, "network_component_size",
           {"A": 5, "C": 5, "Q": 5, "E": 2, "F": 2, "G": 1, "H": 1, "U": 2, "W2": 2, "Z3": 1, "S7": 1})


def test_linked_businesses_dissolved(frame: pd.DataFrame) -> None:
    # C ceased before as_of; F only after it.
    _check(frame, "linked_businesses_dissolved", {"A": 0, "B": 1, "C": 0, "D": 1, "Q": 0, "E": 0, "F": 0})


def test_linked_businesses_with_refused_or_revoked_licence(frame: pd.DataFrame) -> None:
    # D's licence was revoked by as_of; A's refusal came after it; G's refusal has no one linked to G.
    _check(frame, "linked_businesses_with_refused_or_revoked_licence",
           {"A": 0, "B": 0, "C": 1, "D": 0, "Q": 1, "G": 0})


def test_linked_businesses_labelled_positive(frame: pd.DataFrame) -> None:
    # Positives at as_of: A, G, U, V (D's label is later, E was cleared). Own labels never count.
    _check(frame, "linked_businesses_labelled_positive",
           {"A": 0, "B": 1, "C": 0, "D": 0, "Q": 0, "E": 0, "F": 0, "G": 0, "U": 1, "V": 1})


def test_distance_to_labelled_positive(frame: pd.DataFrame) -> None:
    _check(frame, "distance_to_labelled_positive", {
        "A": NONE,  # its own label does not count, and no other positive is within 3 links
        "B": 1, "C": 2, "D": 3,
        "Q": NONE,  # 4 links from A
        "E": NONE, "F": NONE,
        "G": NONE,  # a positive with no links
        "U": 1, "V": 1,  # each other's positive neighbour
        "H": NONE,
    })


def test_own_label_never_changes_own_features() -> None:
    base = dict(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP, licences=LICENCES)
    with_g = build(make_dataset(**base, labels=LABELS), AS_OF, names=NAMES)
    without_g = build(make_dataset(**base, labels=[r for r in LABELS if r["company_number"] != "G"]), AS_OF,
                      names=NAMES)
    pd.testing.assert_series_equal(with_g.loc["G"], without_g.loc["G"])
    pd.testing.assert_series_equal(with_g.loc["A"], without_g.loc["A"])


def test_absent_optional_tables_give_missing_not_zero() -> None:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS, ownership=OWNERSHIP)
    frame = build(ds, AS_OF, names=NAMES)
    assert frame["linked_businesses_labelled_positive"].isna().all()
    assert frame["distance_to_labelled_positive"].isna().all()
    assert frame["linked_businesses_with_refused_or_revoked_licence"].isna().all()
    assert frame.loc["B", "network_degree"] == 2
