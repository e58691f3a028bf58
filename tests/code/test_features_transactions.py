"""Bank transaction features on hand-made accounts with hand-computed values."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from support import make_dataset

from features import CATALOGUE, build
from features import transactions as txf
from riskmodel.contract import Dataset

AS_OF = dt.date(2025, 6, 30)  # window: 2024-07-01 00:00 to the end of 2025-06-30
NAMES = [
    "cash_share_of_inflows_last_12m",
    "round_amount_share_of_inflows_over_1000_last_12m",
    "cash_deposits_9000_to_10000_last_12m",
    "max_distinct_payers_in_7_days_last_12m",
    "share_of_inflows_paid_out_within_3_days_last_12m",
    "share_of_value_with_high_risk_jurisdictions_last_12m",
    "transactions_last_12m",
    "inflow_value_last_12m",
    "outflow_to_inflow_value_ratio_last_12m",
]
COUNTS = ["cash_deposits_9000_to_10000_last_12m", "max_distinct_payers_in_7_days_last_12m", "transactions_last_12m",
          "inflow_value_last_12m"]
_ids = itertools.count()


def _tx(company: str, booked_at: str, amount: float, channel: str = "transfer", payer: str | None = None,
        country: str | None = None) -> dict[str, object]:
    return {"transaction_id": f"t{next(_ids)}", "company_number": company, "booked_at": booked_at,
            "amount": amount, "channel": channel, "counterparty_id": payer, "counterparty_country": country}


def _companies() -> list[dict[str, object]]:
    return [{"company_number": c} for c in ("T1", "T2", "T3", "T4")]


def _dataset() -> Dataset:
    rows = [
        # T1: structured cash, round sums, a payment to Iran.
        _tx("T1", "2024-06-15T10:00:00", 9_500, "cash"),  # before the window
        _tx("T1", "2024-08-01T10:00:00", 9_500, "cash"),
        _tx("T1", "2024-08-02T10:00:00", 9_999.99, "cash"),
        _tx("T1", "2024-08-03T10:00:00", 10_000, "cash"),
        _tx("T1", "2024-09-01T10:00:00", 500, "card"),
        _tx("T1", "2024-09-02T12:00:00", 1_234.56, payer="P1", country="GB"),
        _tx("T1", "2024-09-03T12:00:00", -5_000, payer="X1", country="IR"),
        _tx("T1", "2025-07-01T09:00:00", 9_200, "cash"),  # after as_of: invisible
        # T2: pass-through and fan-in.
        _tx("T2", "2024-07-10T12:00:00", -1_000),  # paid from the unseen opening balance
        _tx("T2", "2024-08-01T12:00:00", 35_000, payer="P1"),
        _tx("T2", "2024-08-03T12:00:00", -30_000, payer="Q1"),  # 2 days later: 30,000 of the 35,000 passed on
        _tx("T2", "2024-08-10T12:00:00", 10_000, payer="P2"),
        _tx("T2", "2024-08-20T12:00:00", -4_000, payer="Q1"),  # 10 days later: too late
        _tx("T2", "2024-10-01T09:00:00", 450, payer="P3"),
        _tx("T2", "2024-10-02T09:00:00", 450, payer="P3"),
        _tx("T2", "2024-10-04T09:00:00", 450, payer="P4"),
        _tx("T2", "2024-10-07T09:00:00", 450, payer="P5"),
        _tx("T2", "2024-10-08T09:00:00", 450, payer="P6"),
        # T4: covered by bank data, but nothing in the last 12 months.
        _tx("T4", "2024-01-01T12:00:00", 100, "card"),
    ]
    return make_dataset(companies=_companies(), transactions=rows)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return build(_dataset(), AS_OF, names=NAMES)


def test_cash_and_round_shares(frame: pd.DataFrame) -> None:
    # T1 credits in the window: 9,500 + 9,999.99 + 10,000 (cash) + 500 (card) + 1,234.56 (transfer).
    assert frame.loc["T1", "cash_share_of_inflows_last_12m"] == pytest.approx(29_499.99 / 31_234.55, rel=1e-12)
    assert frame.loc["T2", "cash_share_of_inflows_last_12m"] == 0.0
    # Credits of 1,000 or more: 9,500 and 10,000 are round hundreds, 9,999.99 and 1,234.56 are not.
    assert frame.loc["T1", "round_amount_share_of_inflows_over_1000_last_12m"] == 0.5
    assert frame.loc["T2", "round_amount_share_of_inflows_over_1000_last_12m"] == 1.0  # 35,000 and 10,000


def test_structuring_count(frame: pd.DataFrame) -> None:
    # 9,500 and 9,999.99 in the window; not 10,000, not the June 2024 deposit, not the one after as_of.
    assert frame.loc["T1", "cash_deposits_9000_to_10000_last_12m"] == 2
    assert frame.loc["T2", "cash_deposits_9000_to_10000_last_12m"] == 0


def test_fan_in(frame: pd.DataFrame) -> None:
    # 2 Oct - 8 Oct holds P3 (its second payment), P4, P5, P6: 4 distinct payers.
    assert frame.loc["T2", "max_distinct_payers_in_7_days_last_12m"] == 4
    assert frame.loc["T1", "max_distinct_payers_in_7_days_last_12m"] == 1  # P1; cash and card have no payer id


def test_pass_through(frame: pd.DataFrame) -> None:
    # T2 inflows 35,000 + 10,000 + 5 x 450 = 47,250, of which 30,000 left within 3 days (first in, first out).
    assert frame.loc["T2", "share_of_inflows_paid_out_within_3_days_last_12m"] == pytest.approx(30_000 / 47_250,
                                                                                                 rel=1e-12)
    # T1's only outflow (5,000) pays the oldest inflow (1 August), which had been in the account for a month.
    assert frame.loc["T1", "share_of_inflows_paid_out_within_3_days_last_12m"] == 0.0


def test_high_risk_share_and_count(frame: pd.DataFrame) -> None:
    assert frame.loc["T1", "share_of_value_with_high_risk_jurisdictions_last_12m"] == pytest.approx(
        5_000 / 36_234.55, rel=1e-12)
    assert frame.loc["T2", "share_of_value_with_high_risk_jurisdictions_last_12m"] == 0.0
    assert frame.loc["T1", "transactions_last_12m"] == 6
    assert frame.loc["T2", "transactions_last_12m"] == 10


def test_money_in_and_money_out_over_money_in(frame: pd.DataFrame) -> None:
    assert frame.loc["T1", "inflow_value_last_12m"] == pytest.approx(31_234.55, rel=1e-12)
    assert frame.loc["T2", "inflow_value_last_12m"] == pytest.approx(47_250, rel=1e-12)
    assert frame.loc["T1", "outflow_to_inflow_value_ratio_last_12m"] == pytest.approx(5_000 / 31_234.55, rel=1e-12)
    # T2 paid out 1,000 (from the opening balance) + 30,000 + 4,000 in the window.
    assert frame.loc["T2", "outflow_to_inflow_value_ratio_last_12m"] == pytest.approx(35_000 / 47_250, rel=1e-12)


def test_missing_coverage(frame: pd.DataFrame) -> None:
    # T3 has no bank data: everything missing. T4 is covered but quiet: counts 0, shares missing.
    assert frame.loc["T3"].isna().all()
    assert (frame.loc["T4", COUNTS] == 0).all()
    assert frame.loc["T4", [n for n in NAMES if n not in COUNTS]].isna().all()


def test_absent_table_gives_nan_everywhere() -> None:
    ds = make_dataset(companies=_companies())
    frame = build(ds, AS_OF, names=NAMES)
    assert frame.shape == (4, len(NAMES))
    assert frame.isna().all(axis=None)


def test_point_in_time_before_any_transaction() -> None:
    frame = build(_dataset(), dt.date(2023, 12, 31), names=NAMES)
    assert frame.isna().all(axis=None)


def test_pass_through_same_day_and_opening_balance() -> None:
    rows = [
        _tx("T1", "2024-09-01", -20_000),  # from the opening balance: matches nothing later
        _tx("T1", "2024-09-02", 8_000),
        _tx("T1", "2024-09-02", -6_000),  # same (date-only) booking: credits first
        _tx("T1", "2024-09-05", -1_000),  # exactly 3 days later: within
        _tx("T1", "2024-09-06", -1_000),  # after 3 days
    ]
    frame = build(make_dataset(companies=_companies(), transactions=rows), AS_OF,
                  names=["share_of_inflows_paid_out_within_3_days_last_12m"])
    assert frame.loc["T1", "share_of_inflows_paid_out_within_3_days_last_12m"] == 7_000 / 8_000


def test_inputs_not_mutated_and_catalogued() -> None:
    ds = _dataset()
    before = ds.tables["transactions"].copy()
    build(ds, AS_OF, names=NAMES)
    pd.testing.assert_frame_equal(ds.tables["transactions"], before)
    assert [n for n, s in CATALOGUE.items() if s.family == "transactions"] == NAMES
    assert sorted(NAMES) == sorted(txf.__all__)
    for name in NAMES:
        assert CATALOGUE[name].sources == ("transactions",)
        assert not CATALOGUE[name].zero_when_absent
    assert np.isfinite(build(ds, AS_OF, names=NAMES).loc[["T1", "T2"]].to_numpy()).all()


def test_window_with_only_outflows_has_no_pass_through_share() -> None:
    # No credit in the window: bincount gives int64 zeros, and the share is undefined (missing), not a crash.
    rows = [_tx("T1", "2024-09-01", -2_000), _tx("T1", "2024-09-02", -500)]
    frame = build(make_dataset(companies=_companies(), transactions=rows), AS_OF,
                  names=["share_of_inflows_paid_out_within_3_days_last_12m", "transactions_last_12m"])
    assert np.isnan(frame.loc["T1", "share_of_inflows_paid_out_within_3_days_last_12m"])
    assert frame.loc["T1", "transactions_last_12m"] == 2
