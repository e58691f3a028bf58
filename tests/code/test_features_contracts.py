"""Procurement features on a hand-made award table with hand-computed values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from features import CATALOGUE, build
from features import contracts as con
from riskmodel.contract import Dataset

AS_OF = dt.date(2023, 6, 30)
NAMES = [
    "awards_won",
    "award_value_won_gbp",
    "share_of_awards_single_bid",
    "share_of_awards_direct_or_limited_procedure",
    "share_of_awards_submission_period_under_10_days",
    "max_final_to_award_value_ratio",
    "max_share_of_a_buyers_award_value",
    "company_age_years_at_first_award_over_500k",
    "distinct_cpv_divisions_won",
]


def _award(ocid: str, supplier: str | None, buyer: str, method: str, award_date: str, value: float,
           **extra: object) -> dict[str, object]:
    return {"ocid": ocid, "award_id": f"{ocid}-a", "supplier_company_number": supplier, "buyer_id": buyer,
            "procurement_method": method, "award_date": award_date, "award_value": value, **extra}


def _dataset() -> Dataset:
    companies = [
        {"company_number": "SC1", "date_of_creation": "2020-02-01"},
        {"company_number": "SC2", "date_of_creation": "2010-01-01"},
        {"company_number": "SC3", "date_of_creation": "2010-01-01"},
    ]
    contracts = [
        # SC1: open, single bid, 5-day submission period, ended and inflated to 1.5x; first award above 500k.
        _award("o1", "SC1", "B1", "open", "2021-02-01", 600_000, number_of_tenderers=1,
               tender_published_on="2021-01-01", tender_deadline="2021-01-06", final_value=900_000,
               contract_start="2021-03-01", contract_end="2022-12-31", cpv="45000000-7"),
        # SC1: selective, 3 bids, 31 days; final value tripled but the contract runs past as_of (hidden).
        _award("o2", "SC1", "B1", "selective", "2021-05-01", 100_000, number_of_tenderers=3,
               tender_published_on="2021-03-01", tender_deadline="2021-04-01", final_value=300_000,
               contract_start="2021-06-01", contract_end="2024-01-01", cpv="90910000"),
        # SC1: direct award, listed twice under two supplier names (counts once).
        _award("o3", "SC1", "B2", "direct", "2022-01-01", 50_000, cpv="45111000"),
        _award("o3", "SC1", "B2", "direct", "2022-01-01", 50_000, cpv="45111000", supplier_name="A Ltd Trading"),
        # SC1: awarded after as_of: must not count anywhere (it would be a large award and a single bid).
        _award("o4", "SC1", "B1", "open", "2023-08-01", 1_000_000, number_of_tenderers=1, cpv="33000000"),
        # SC2: open, 4 bids, 31 days, no CPV.
        _award("o5", "SC2", "B1", "open", "2022-03-01", 300_000, number_of_tenderers=4,
               tender_published_on="2022-01-01", tender_deadline="2022-02-01"),
        # SC2: limited tendering with a 4-day period (not an open/selective process), ended at its award value.
        _award("o6", "SC2", "B3", "limited", "2022-02-01", 20_000, number_of_tenderers=2,
               tender_published_on="2022-01-01", tender_deadline="2022-01-05", final_value=20_000,
               contract_start="2022-02-01", contract_end="2022-06-01", cpv="X1234"),
        # Joint award to SC1 and SC2 (unknown bidder count): counts once in B2's total.
        _award("o8", "SC1", "B2", "open", "2022-07-01", 200_000, cpv="50100000"),
        _award("o8", "SC2", "B2", "open", "2022-07-01", 200_000, cpv="50100000", supplier_name="B Ltd"),
        # Awards to suppliers outside the register still count in buyers' totals.
        _award("o7", None, "B1", "open", "2022-06-01", 100_000, supplier_name="Outsider Ltd"),
        _award("o9", None, "B2", "open", "2022-08-01", 150_000, supplier_name="Outsider Ltd"),
    ]
    return make_dataset(companies=companies, contracts=contracts)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return build(_dataset(), AS_OF, names=NAMES)


def test_counts_and_values(frame: pd.DataFrame) -> None:
    assert frame.loc["SC1", "awards_won"] == 4  # o1, o2, o3 (once), o8; not o4 (after as_of)
    assert frame.loc["SC2", "awards_won"] == 3
    assert frame.loc["SC3", "awards_won"] == 0  # no awards: zero, not missing
    assert frame.loc["SC1", "award_value_won_gbp"] == 950_000
    assert frame.loc["SC2", "award_value_won_gbp"] == 520_000
    assert frame.loc["SC3", "award_value_won_gbp"] == 0


def test_procedure_shares(frame: pd.DataFrame) -> None:
    # Single bid over open/selective awards with a known bidder count: SC1 o1 (1 bid) and o2 (3); SC2 o5 (4).
    assert frame.loc["SC1", "share_of_awards_single_bid"] == 0.5
    assert frame.loc["SC2", "share_of_awards_single_bid"] == 0.0
    assert np.isnan(frame.loc["SC3", "share_of_awards_single_bid"])
    assert frame.loc["SC1", "share_of_awards_direct_or_limited_procedure"] == 0.25
    assert frame.loc["SC2", "share_of_awards_direct_or_limited_procedure"] == pytest.approx(1 / 3, abs=1e-15)
    assert np.isnan(frame.loc["SC3", "share_of_awards_direct_or_limited_procedure"])
    # Short periods over open/selective awards with both dates: SC1 o1 (5 days) and o2 (31); SC2 o5 (31) only.
    assert frame.loc["SC1", "share_of_awards_submission_period_under_10_days"] == 0.5
    assert frame.loc["SC2", "share_of_awards_submission_period_under_10_days"] == 0.0
    assert np.isnan(frame.loc["SC3", "share_of_awards_submission_period_under_10_days"])


def test_final_value_ratio_only_for_ended_contracts(frame: pd.DataFrame) -> None:
    assert frame.loc["SC1", "max_final_to_award_value_ratio"] == 1.5  # o2's 3.0 is hidden at as_of
    assert frame.loc["SC2", "max_final_to_award_value_ratio"] == 1.0
    assert np.isnan(frame.loc["SC3", "max_final_to_award_value_ratio"])
    later = build(_dataset(), dt.date(2024, 6, 30), names=["max_final_to_award_value_ratio"])
    assert later.loc["SC1", "max_final_to_award_value_ratio"] == 3.0


def test_buyer_share(frame: pd.DataFrame) -> None:
    # B1 (4 awards by as_of): o1 600k + o2 100k + o5 300k + o7 100k = 1.1m. B2 (3): o3 50k + o8 200k + o9 150k.
    # B3 has one award and is left out.
    assert frame.loc["SC1", "max_share_of_a_buyers_award_value"] == pytest.approx(700_000 / 1_100_000, rel=1e-15)
    assert frame.loc["SC2", "max_share_of_a_buyers_award_value"] == pytest.approx(200_000 / 400_000, rel=1e-15)
    assert np.isnan(frame.loc["SC3", "max_share_of_a_buyers_award_value"])


def test_young_company_and_cpv(frame: pd.DataFrame) -> None:
    assert frame.loc["SC1", "company_age_years_at_first_award_over_500k"] == pytest.approx(366 / 365.25, rel=1e-15)
    assert np.isnan(frame.loc["SC2", "company_age_years_at_first_award_over_500k"])  # no award above 500k
    assert frame.loc["SC1", "distinct_cpv_divisions_won"] == 3  # 45, 90, 50 (o4's 33 is after as_of)
    assert frame.loc["SC2", "distinct_cpv_divisions_won"] == 1  # 50; no CPV and 'X1234' ignored
    assert np.isnan(frame.loc["SC3", "distinct_cpv_divisions_won"])


def test_no_awards_at_all() -> None:
    ds = make_dataset(companies=[{"company_number": "SC1"}], contracts=[])
    frame = build(ds, AS_OF, names=NAMES)
    assert frame.loc["SC1", "awards_won"] == 0
    assert frame.loc["SC1", "award_value_won_gbp"] == 0
    assert frame.drop(columns=["awards_won", "award_value_won_gbp"]).isna().all(axis=None)


def test_inputs_not_mutated_and_catalogued() -> None:
    ds = _dataset()
    before = ds.tables["contracts"].copy()
    build(ds, AS_OF, names=NAMES)
    pd.testing.assert_frame_equal(ds.tables["contracts"], before)
    assert [n for n, s in CATALOGUE.items() if s.family == "contracts"] == NAMES
    assert sorted(NAMES) == sorted(con.__all__)
    for name in NAMES:
        assert CATALOGUE[name].sources[0] == "contracts"
        assert CATALOGUE[name].zero_when_absent == (name in {"awards_won", "award_value_won_gbp"})
