"""Accounts features on a hand-made data set: exact values, missing values and point-in-time cuts."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from features import CATALOGUE, build
from features import accounts as acc
from features.pit import AsOf

AS_OF = dt.date(2023, 6, 30)

COMPANIES = [
    {"company_number": "SC1", "date_of_creation": "2015-01-01", "sic_codes": "56302;56101"},
    # A plc (6-month deadline) whose SIC code lost its leading zero in a spreadsheet.
    {"company_number": "SC2", "company_type": "plc", "date_of_creation": "2010-01-01", "sic_codes": "1110"},
    # First accounting period longer than 12 months: due 21 months after incorporation (s.442(3)).
    {"company_number": "SC3", "date_of_creation": "2021-03-15", "sic_codes": "68100 - Buying and selling"},
    {"company_number": "SC4", "date_of_creation": "2018-01-01"},
]

ACCOUNTS = [
    # SC1: two periods; the second amended (figures from the amendment, lateness from the first filing).
    {"company_number": "SC1", "period_start": "2020-04-01", "period_end": "2021-03-31", "filed_on": "2021-12-01",
     "accounts_type": "small", "employees": 4, "turnover": 400000, "cash": 50000, "current_assets": 100000,
     "net_assets": 80000},
    {"company_number": "SC1", "period_start": "2021-04-01", "period_end": "2022-03-31", "filed_on": "2023-02-15",
     "accounts_type": "small", "employees": 5, "turnover": 900000, "cash": 1, "current_assets": 1,
     "net_assets": 1},
    {"company_number": "SC1", "period_start": "2021-04-01", "period_end": "2022-03-31", "filed_on": "2023-03-01",
     "accounts_type": "small", "employees": 5, "turnover": 1000000, "cash": 300000, "current_assets": 400000,
     "net_assets": 45000},
    # Filed after as_of: must not count.
    {"company_number": "SC1", "period_start": "2022-04-01", "period_end": "2023-03-31", "filed_on": "2023-07-15",
     "accounts_type": "dormant", "employees": 0, "turnover": 5, "cash": 7, "current_assets": 9, "net_assets": 1},
    # SC2: dormant plc accounts, 46 days after the 6-month deadline (2022-06-30).
    {"company_number": "SC2", "period_start": "2021-01-01", "period_end": "2021-12-31", "filed_on": "2022-08-15",
     "accounts_type": "dormant", "employees": 0, "current_assets": 0, "net_assets": 100},
    # SC3: micro-entity accounts (no profit and loss); first period due 2022-12-15, filed 15 days late.
    {"company_number": "SC3", "period_start": "2021-03-15", "period_end": "2022-03-31", "filed_on": "2022-12-30",
     "accounts_type": "micro-entity", "employees": 2, "current_assets": 5000, "net_assets": 1000},
    {"company_number": "SC3", "period_start": "2022-04-01", "period_end": "2023-03-31", "filed_on": "2023-06-30",
     "accounts_type": "micro-entity", "current_assets": 2000, "net_assets": -500},
]

NAN = math.nan
EXPECTED: dict[str, dict[str, float]] = {
    "employees_latest": {"SC1": 5, "SC2": 0, "SC3": NAN, "SC4": NAN},
    "turnover_per_employee_latest": {"SC1": 200000, "SC2": NAN, "SC3": NAN, "SC4": NAN},
    "cash_share_of_current_assets_latest": {"SC1": 0.75, "SC2": NAN, "SC3": NAN, "SC4": NAN},
    "cash_to_turnover_latest": {"SC1": 0.3, "SC2": NAN, "SC3": NAN, "SC4": NAN},
    "net_assets_latest": {"SC1": 45000, "SC2": 100, "SC3": -500, "SC4": NAN},
    "turnover_log_growth_since_previous_accounts": {"SC1": np.log1p(1e6) - np.log1p(4e5), "SC2": NAN, "SC3": NAN,
                                                    "SC4": NAN},
    "current_assets_log_growth_since_previous_accounts": {"SC1": np.log1p(4e5) - np.log1p(1e5), "SC2": NAN,
                                                          "SC3": np.log1p(2000) - np.log1p(5000), "SC4": NAN},
    "net_assets_collapse_since_previous_accounts": {"SC1": 0, "SC2": NAN, "SC3": 1, "SC4": NAN},
    "days_late_latest_accounts": {"SC1": 46, "SC2": 46, "SC3": 0, "SC4": NAN},
    "latest_accounts_dormant": {"SC1": 0, "SC2": 1, "SC3": 0, "SC4": NAN},
    "accounts_filed_count": {"SC1": 2, "SC2": 1, "SC3": 2, "SC4": 0},
    "sic_division": {"SC1": 56, "SC2": 1, "SC3": 68, "SC4": NAN},
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    ds = make_dataset(companies=COMPANIES, accounts=ACCOUNTS)
    return build(ds, AS_OF, names=list(EXPECTED))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_values(frame: pd.DataFrame, name: str) -> None:
    expected = pd.Series(EXPECTED[name], name=name, dtype="float64").rename_axis("company_number")
    pd.testing.assert_series_equal(frame[name].sort_index(), expected, check_exact=False, rtol=1e-12)


def test_every_accounts_feature_is_tested() -> None:
    family = {n for n, s in CATALOGUE.items() if s.family == "accounts"}
    assert family == set(EXPECTED)


def test_functions_return_only_businesses_with_data() -> None:
    view = AsOf(make_dataset(companies=COMPANIES, accounts=ACCOUNTS), AS_OF)
    assert set(acc.employees_latest(view).index) == {"SC1", "SC2", "SC3"}
    assert acc.employees_latest(view).index.name == "company_number"


def test_later_filing_counts_once_known() -> None:
    """At the end of July 2023 SC1's 2023 dormant accounts are known and become the latest."""
    ds = make_dataset(companies=COMPANIES, accounts=ACCOUNTS)
    names = ["latest_accounts_dormant", "accounts_filed_count", "days_late_latest_accounts",
             "net_assets_collapse_since_previous_accounts"]
    later = build(ds, dt.date(2023, 7, 31), names=names)
    assert later.loc["SC1"].tolist() == [1.0, 3.0, 0.0, 1.0]


def test_long_first_period_is_due_21_months_after_incorporation() -> None:
    """Before its second filing, SC3's latest accounts are its first: due 2022-12-15, filed 15 days late."""
    ds = make_dataset(companies=COMPANIES, accounts=ACCOUNTS)
    assert acc.days_late_latest_accounts(AsOf(ds, dt.date(2023, 1, 31))).loc["SC3"] == 15.0


def test_contract_nine_month_rule_is_the_private_company_case() -> None:
    """A private company's ordinary period: due 9 months after the period end, month end to month end."""
    ds = make_dataset(companies=[{"company_number": "SC9", "date_of_creation": "2000-01-01"}],
                      accounts=[{"company_number": "SC9", "period_start": "2021-07-01", "period_end": "2022-06-30",
                                 "filed_on": "2023-04-02"}])
    assert acc.days_late_latest_accounts(AsOf(ds, AS_OF)).loc["SC9"] == 2.0  # due 2023-03-31


def test_no_accounts_table_rows_gives_missing_values() -> None:
    ds = make_dataset(companies=COMPANIES, accounts=[])
    names = ["employees_latest", "accounts_filed_count", "net_assets_collapse_since_previous_accounts"]
    out = build(ds, AS_OF, names=names)
    assert out["employees_latest"].isna().all()
    assert out["net_assets_collapse_since_previous_accounts"].isna().all()
    assert (out["accounts_filed_count"] == 0).all()


def test_inputs_not_mutated() -> None:
    ds = make_dataset(companies=COMPANIES, accounts=ACCOUNTS)
    before = {n: t.copy() for n, t in ds.tables.items()}
    build(ds, AS_OF, names=list(EXPECTED))
    for name, table in ds.tables.items():
        pd.testing.assert_frame_equal(table, before[name])


def test_reasons_render() -> None:
    for name in EXPECTED:
        text = CATALOGUE[name].render(3.0, "30 June 2023", 0.9, "pubs")
        assert "{" not in text
