"""Ownership features (and the jurisdiction lists they use) on tiny hand-built data sets with exact values."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

import features
from features import ownership as own_features
from features.catalogue import CATALOGUE
from features.jurisdictions import (
    EU_NON_COOPERATIVE_TAX,
    FATF_CALL_FOR_ACTION,
    FATF_INCREASED_MONITORING,
    HIGH_RISK_JURISDICTIONS,
    is_high_risk,
    to_iso2,
)

AS_OF = dt.date(2023, 6, 30)
NAMES = [n for n, s in CATALOGUE.items() if s.family == "ownership"]
NAN = math.nan


def _row(company: str, owner: str, kind: str = "individual", jurisdiction: str | None = "GB",
         notified: str = "2016-04-06", ceased: str | None = None) -> dict[str, object]:
    return {"company_number": company, "owner_id": owner, "owner_name": owner, "owner_kind": kind,
            "owner_jurisdiction": jurisdiction, "notified_on": notified, "ceased_on": ceased}


COMPANIES = [
    {"company_number": "SC000001", "date_of_creation": "2010-01-01"},  # A: mixed owners, changes
    {"company_number": "SC000002", "date_of_creation": "2012-01-01"},  # B: owned by C
    {"company_number": "SC000003", "date_of_creation": "2012-01-01"},  # C: owned by a person
    {"company_number": "SC000004", "date_of_creation": "2012-01-01"},  # D: D and E own each other
    {"company_number": "SC000005", "date_of_creation": "2012-01-01"},  # E
    {"company_number": "SC000006", "date_of_creation": "2020-01-01"},  # F: no PSC at all
    {"company_number": "SC000007", "date_of_creation": "2023-03-01"},  # G: too young to judge
    {"company_number": "ST000008", "date_of_creation": "2015-01-01", "company_type": "unincorporated"},
    {"company_number": "SC000009", "date_of_creation": "2015-01-01"},  # U: no registrable person
    {"company_number": "SC000010", "date_of_creation": "2015-01-01", "company_type": "llp"},  # L
    {"company_number": "SC000011", "date_of_creation": "2024-01-01"},  # created after as_of
    {"company_number": "SC000012", "date_of_creation": "2010-01-01", "date_of_cessation": "2020-01-01",
     "company_status": "dissolved"},
]
OWNERSHIP = [
    _row("SC000001", "I1", ceased="2024-01-01"),  # cessation after as_of: still current then
    _row("SC000001", "SC000002", "corporate"),
    _row("SC000001", "FX1", "corporate", "VG", notified="2022-09-01"),
    _row("SC000001", "I2", ceased="2022-09-01"),
    _row("SC000001", "I3", notified="2021-01-01", ceased="2021-06-01"),
    _row("SC000001", "FX2", "corporate", "KY", notified="2024-01-01"),  # notified after as_of
    _row("SC000002", "SC000003", "corporate"),
    _row("SC000003", "I4"),
    _row("SC000004", "SC000005", "corporate"),
    _row("SC000005", "SC000004", "corporate"),
    _row("SC000009", "U9", "unknown", None),
    _row("SC000010", "LP1", "legal-person"),
    _row("SC000010", "I10", "individual", "Iran"),
]
ORDER = ["SC000001", "SC000002", "SC000003", "SC000004", "SC000005", "SC000006", "SC000007", "ST000008",
         "SC000009", "SC000010", "SC000012"]
EXPECTED = {
    "no_person_with_significant_control_declared": [0, 0, 0, 0, 0, 1, NAN, NAN, 0, 0, NAN],
    "current_owner_not_identified": [0, 0, 0, 0, 0, 0, 0, NAN, 1, 0, 0],
    "current_corporate_owners": [2, 1, 0, 1, 1, 0, 0, NAN, 0, 0, 0],
    "share_of_corporate_owners_among_current_owners": [2 / 3, 1, 0, 1, 1, NAN, NAN, NAN, NAN, 0, NAN],
    "current_legal_person_owners": [0, 0, 0, 0, 0, 0, 0, NAN, 0, 1, 0],
    "current_owners_in_high_risk_jurisdictions": [1, 0, 0, 0, 0, 0, 0, NAN, 0, 1, 0],
    "has_current_foreign_corporate_owner": [1, 0, 0, 0, 0, 0, 0, NAN, 0, 0, 0],
    "corporate_ownership_chain_depth": [2, 1, 0, 5, 5, 0, 0, NAN, 0, 0, 0],
    "circular_ownership_within_5_steps": [0, 0, 0, 1, 1, 0, 0, NAN, 0, 0, 0],
    "ownership_changes_last_12m": [2, 0, 0, 0, 0, 0, 0, NAN, 0, 0, 0],
    "ownership_changes_last_36m": [4, 0, 0, 0, 0, 0, 0, NAN, 0, 0, 0],
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = make_dataset(companies=COMPANIES, ownership=OWNERSHIP)
    return features.build(data, AS_OF, names=NAMES)


def test_every_feature_is_tested() -> None:
    assert sorted(EXPECTED) == sorted(NAMES)


def test_index_is_the_businesses_existing_at_as_of(frame: pd.DataFrame) -> None:
    assert sorted(frame.index) == sorted(ORDER)  # SC000011 did not exist yet


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_values(frame: pd.DataFrame, name: str) -> None:
    got = frame.loc[ORDER, name].to_numpy()
    np.testing.assert_allclose(got, np.array(EXPECTED[name], dtype=float), equal_nan=True, err_msg=name)


def test_before_the_register_everything_is_missing() -> None:
    data = make_dataset(companies=COMPANIES, ownership=OWNERSHIP)
    early = features.build(data, dt.date(2015, 12, 31), names=NAMES)
    assert early.isna().all().all()


def test_changes_respect_the_window_end() -> None:
    """As of 2022-08-31 the VG owner (2022-09-01) and I2's cessation are in the future; I3's two events count."""
    data = make_dataset(companies=COMPANIES, ownership=OWNERSHIP)
    got = features.build(data, dt.date(2022, 8, 31), names=["ownership_changes_last_12m",
                                                             "ownership_changes_last_36m",
                                                             "current_corporate_owners"])
    assert got.loc["SC000001"].tolist() == [0.0, 2.0, 1.0]


def test_absent_ownership_table_gives_nan() -> None:
    data = make_dataset(companies=COMPANIES[:3])
    got = features.build(data, AS_OF, names=NAMES)
    assert got.shape == (3, len(NAMES))
    assert got.isna().all().all()


def test_inputs_are_not_mutated() -> None:
    data = make_dataset(companies=COMPANIES, ownership=OWNERSHIP)
    before = data.tables["ownership"].copy()
    features.build(data, AS_OF, names=NAMES)
    pd.testing.assert_frame_equal(data.tables["ownership"], before)


def test_chain_depth_caps_at_five() -> None:
    chain = [f"SC9{i:05d}" for i in range(8)]  # each owned by the next one
    companies = [{"company_number": c, "date_of_creation": "2012-01-01"} for c in chain]
    rows = [_row(child, parent, "corporate") for child, parent in itertools.pairwise(chain)]
    got = own_features.corporate_ownership_chain_depth(
        features.AsOf(make_dataset(companies=companies, ownership=rows), AS_OF))
    assert got.loc[chain].tolist() == [5, 5, 5, 4, 3, 2, 1, 0]


def test_loop_longer_than_five_is_not_circular() -> None:
    loop = [f"SC8{i:05d}" for i in range(6)]
    companies = [{"company_number": c, "date_of_creation": "2012-01-01"} for c in loop]
    rows = [_row(child, loop[(i + 1) % 6], "corporate") for i, child in enumerate(loop)]
    view = features.AsOf(make_dataset(companies=companies, ownership=rows), AS_OF)
    assert own_features.circular_ownership_within_5_steps(view).sum() == 0
    rows5 = [_row(child, loop[(i + 1) % 5], "corporate") for i, child in enumerate(loop[:5])]
    view5 = features.AsOf(make_dataset(companies=companies, ownership=rows5), AS_OF)
    assert own_features.circular_ownership_within_5_steps(view5).loc[loop].tolist() == [1, 1, 1, 1, 1, 0]


def test_jurisdiction_lists() -> None:
    assert {"KP", "IR", "MM"} == FATF_CALL_FOR_ACTION
    assert len(FATF_INCREASED_MONITORING) == 20 and "VG" in FATF_INCREASED_MONITORING
    assert "NG" not in FATF_INCREASED_MONITORING and "ZA" not in FATF_INCREASED_MONITORING
    assert len(EU_NON_COOPERATIVE_TAX) == 11 and "RU" in EU_NON_COOPERATIVE_TAX
    assert "GB" not in HIGH_RISK_JURISDICTIONS and "US" not in HIGH_RISK_JURISDICTIONS
    assert {"KY", "JE", "PA"} <= HIGH_RISK_JURISDICTIONS


def test_is_high_risk_shapes_and_names() -> None:
    assert is_high_risk("vg") is True
    assert is_high_risk(None) is False
    assert is_high_risk(["KY", "GB", None, "Iran, Islamic Republic of"]).tolist() == [True, False, False, True]
    series = pd.Series(["Cayman Islands", "United Kingdom"], index=["a", "b"])
    assert is_high_risk(series).to_dict() == {"a": True, "b": False}


def test_to_iso2() -> None:
    raw = pd.Series(["United Kingdom", "Scotland", "UK", "gb", "Russian Federation", "People's Republic of China",
                     "Virgin Islands, British", "Côte d'Ivoire", "Atlantis", None, ""])
    assert to_iso2(raw).tolist() == ["GB", "GB", "GB", "GB", "RU", "CN", "VG", "CI", None, None, None]
