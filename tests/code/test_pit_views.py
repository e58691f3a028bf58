"""Point-in-time views: later events blanked, the data set untouched, and no copy when nothing is cut."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from support import make_dataset

import features
from features import AsOf

OFFICERS = [
    {"company_number": "SC1", "officer_id": "P1", "appointed_on": "2018-01-01", "resigned_on": "2021-03-01"},
    {"company_number": "SC1", "officer_id": "P2", "appointed_on": "2019-01-01"},
    {"company_number": "SC2", "officer_id": "P3", "appointed_on": "2022-05-01"},
]
COMPANIES = [{"company_number": "SC1"}, {"company_number": "SC2"}]


def test_a_resignation_after_as_of_is_blanked_in_the_view_only() -> None:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS)
    before = ds["officers"].copy()
    view = AsOf(ds, dt.date(2020, 6, 30))
    assert view.officers["officer_id"].tolist() == ["P1", "P2"]  # P3 was appointed later
    assert view.officers["resigned_on"].isna().all()  # P1 was still in office then
    pd.testing.assert_frame_equal(ds["officers"], before)


def test_a_view_at_the_extract_date_shares_the_data_sets_frames() -> None:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS,
                      transactions=[{"company_number": "SC1", "transaction_id": "T1"}])
    view = AsOf(ds, dt.date(2025, 6, 30))
    # Nothing is cut or blanked on the extract date: the view is the data set's own frame, not a copy of it.
    assert view.officers is ds["officers"]
    assert view.transactions is ds["transactions"]


def test_blanking_one_column_leaves_the_others_shared() -> None:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS[:2])
    view = AsOf(ds, dt.date(2020, 12, 31))  # both appointed by then; P1's resignation is later
    officers = view.officers
    assert officers is not ds["officers"]
    assert officers["resigned_on"].isna().all()
    assert np.shares_memory(officers["appointed_on"].to_numpy(), ds["officers"]["appointed_on"].to_numpy())
    assert ds["officers"]["resigned_on"].tolist()[0] == pd.Timestamp("2021-03-01")


def test_build_lets_each_familys_work_go_and_gives_the_same_frame() -> None:
    ds = make_dataset(companies=COMPANIES, officers=OFFICERS)
    kept = AsOf(ds, dt.date(2025, 6, 30))
    want = features.build_view(kept)
    assert kept.memo_keys()  # the default keeps the shared work for later calls
    dropped = AsOf(ds, dt.date(2025, 6, 30))
    got = features.build_view(dropped, keep_work=False)
    assert dropped.memo_keys() == []
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(features.build(ds, dt.date(2025, 6, 30)), want)
