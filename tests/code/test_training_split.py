"""Point-in-time labels, validation positives, network components and the component-respecting split."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import make_dataset

from riskmodel.training.split import (
    NEGATIVE,
    POSITIVE,
    UNLABELLED,
    label_status,
    network_components,
    new_positives,
    split_components,
)

AS_OF = dt.date(2024, 6, 30)


def _labels(*rows: tuple[str, int, str]) -> list[dict[str, object]]:
    return [{"company_number": c, "label": label, "labelled_on": on, "source": f"s{i}"}
            for i, (c, label, on) in enumerate(rows)]


# --- label_status ---------------------------------------------------------------------------------------------------


def test_label_status_point_in_time() -> None:
    dataset = make_dataset(labels=_labels(
        ("A", 1, "2023-01-01"),
        ("A", 0, "2022-01-01"),  # clean earlier, positive later: positive
        ("B", 0, "2024-01-01"),
        ("B", 1, "2023-01-01"),  # positive earlier, clean later: still positive
        ("C", 0, "2024-06-30"),  # on as_of: counts
        ("D", 1, "2024-07-01"),  # after as_of: ignored
        ("E", 0, "2020-01-01"),
        ("E", 1, "2024-12-01"),  # positive only after as_of: negative at as_of
        ("X", 1, "2020-01-01"),  # not in the index
    ))
    index = pd.Index(["A", "B", "C", "D", "E", "F"], name="company_number")
    status = label_status(dataset, index, AS_OF)
    assert status.index.equals(index)
    assert status.dtype == np.int8
    assert status.name == "label_status"
    assert status.tolist() == [POSITIVE, POSITIVE, NEGATIVE, UNLABELLED, NEGATIVE, UNLABELLED]


def test_label_status_without_labels_table_is_all_unlabelled() -> None:
    dataset = make_dataset(companies=[{"company_number": "A"}])
    index = pd.Index(["A", "B"])
    assert label_status(dataset, index, AS_OF).tolist() == [UNLABELLED, UNLABELLED]


def test_label_status_values() -> None:
    assert (POSITIVE, NEGATIVE, UNLABELLED) == (1, 0, -1)


# --- new_positives --------------------------------------------------------------------------------------------------


def test_new_positives_window_bounds() -> None:
    start, end = dt.date(2024, 6, 30), dt.date(2025, 6, 30)
    dataset = make_dataset(labels=_labels(
        ("A", 1, "2024-06-30"),  # on start: not in (start, end]
        ("B", 1, "2024-07-01"),  # first day after start
        ("C", 1, "2025-06-30"),  # on end: in
        ("D", 1, "2025-07-01"),  # after end
        ("E", 1, "2023-01-01"),
        ("E", 1, "2025-01-01"),  # labelled before start, again inside: not new
        ("F", 0, "2025-01-01"),  # clean finding inside: not a positive
        ("G", 0, "2024-01-01"),
        ("G", 1, "2025-01-01"),  # clean before, first positive inside: new
    ))
    index = pd.Index(list("ABCDEFGH"))
    out = new_positives(dataset, index, start, end)
    assert out.dtype == np.int8
    assert out.name == "new_positive"
    assert dict(zip(index, out.tolist(), strict=True)) == {"A": 0, "B": 1, "C": 1, "D": 0, "E": 0, "F": 0, "G": 1,
                                                           "H": 0}


def test_new_positives_without_labels_table() -> None:
    dataset = make_dataset(companies=[{"company_number": "A"}])
    assert new_positives(dataset, pd.Index(["A"]), AS_OF, dt.date(2025, 6, 30)).tolist() == [0]


# --- network_components ---------------------------------------------------------------------------------------------


def _components(index: list[str], max_link_degree: int = 50, **tables: list[dict[str, object]]) -> dict[str, int]:
    dataset = make_dataset(**tables)
    out = network_components(dataset, pd.Index(index), AS_OF, max_link_degree=max_link_degree)
    assert out.dtype == np.int64
    assert out.name == "component"
    return dict(zip(index, out.tolist(), strict=True))


def test_components_without_links_are_singletons() -> None:
    assert _components(["A", "B", "C"], companies=[{"company_number": "A"}]) == {"A": 0, "B": 1, "C": 2}


def test_shared_officer_links_businesses() -> None:
    got = _components(["A", "B", "C", "D"], officers=[
        {"company_number": "B", "officer_id": "P1"},
        {"company_number": "D", "officer_id": "P1"},
        {"company_number": "C", "officer_id": "P2"},
    ])
    assert got == {"A": 0, "B": 1, "C": 2, "D": 1}


def test_shared_owner_links_businesses_and_chains_with_officers() -> None:
    got = _components(["A", "B", "C", "D", "E"], officers=[
        {"company_number": "A", "officer_id": "P1"},
        {"company_number": "C", "officer_id": "P1"},
    ], ownership=[
        {"company_number": "C", "owner_id": "O1"},
        {"company_number": "E", "owner_id": "O1"},
        {"company_number": "B", "owner_id": "O2"},
    ])
    assert got == {"A": 0, "B": 1, "C": 0, "D": 3, "E": 0}


def test_corporate_owner_in_the_index_links_to_itself() -> None:
    got = _components(["A", "B", "C"], ownership=[
        {"company_number": "C", "owner_id": "A", "owner_kind": "corporate"},
    ])
    assert got == {"A": 0, "B": 1, "C": 0}


def test_corporate_owner_outside_the_index_does_not_link() -> None:
    got = _components(["A", "B"], ownership=[
        {"company_number": "B", "owner_id": "Z", "owner_kind": "corporate"},
    ])
    assert got == {"A": 0, "B": 1}


def test_links_made_after_as_of_do_not_count() -> None:
    got = _components(["A", "B", "C", "D"], officers=[
        {"company_number": "A", "officer_id": "P1", "appointed_on": "2020-01-01"},
        {"company_number": "B", "officer_id": "P1", "appointed_on": "2024-07-01"},  # after as_of
        {"company_number": "C", "officer_id": "P2", "appointed_on": "2024-06-30"},  # on as_of: links
        {"company_number": "D", "officer_id": "P2", "appointed_on": "2020-01-01"},
    ], ownership=[
        {"company_number": "A", "owner_id": "O1"},
        {"company_number": "B", "owner_id": "O1", "notified_on": "2024-07-01"},  # after as_of
    ])
    assert got == {"A": 0, "B": 1, "C": 2, "D": 2}


def test_unknown_owner_rows_do_not_link() -> None:
    got = _components(["A", "B"], ownership=[
        {"company_number": "A", "owner_id": "NOPSC", "owner_kind": "unknown"},
        {"company_number": "B", "owner_id": "NOPSC", "owner_kind": "unknown"},
    ])
    assert got == {"A": 0, "B": 1}


def test_max_link_degree_is_inclusive() -> None:
    index = ["A", "B", "C", "D", "E"]
    officers = [{"company_number": c, "officer_id": "AGENT"} for c in ["A", "B", "C"]]
    officers += [{"company_number": c, "officer_id": "P"} for c in ["D", "E"]]
    # AGENT has 3 businesses: links at max 3, not at max 2; P (2 businesses) links in both.
    assert _components(index, max_link_degree=3, officers=officers) == {"A": 0, "B": 0, "C": 0, "D": 3, "E": 3}
    assert _components(index, max_link_degree=2, officers=officers) == {"A": 0, "B": 1, "C": 2, "D": 3, "E": 3}


def test_degree_counts_distinct_businesses_in_the_index() -> None:
    # Two roles in one business count once; a business outside the index does not count.
    officers = [
        {"company_number": "A", "officer_id": "P", "officer_role": "director"},
        {"company_number": "A", "officer_id": "P", "officer_role": "secretary"},
        {"company_number": "B", "officer_id": "P"},
        {"company_number": "OUT", "officer_id": "P"},
    ]
    assert _components(["A", "B"], max_link_degree=2, officers=officers) == {"A": 0, "B": 0}


def test_component_ids_are_positions_of_first_business() -> None:
    # Same links, businesses listed in another order: ids follow the index, not the entities.
    officers = [{"company_number": "C", "officer_id": "P1"}, {"company_number": "A", "officer_id": "P1"},
                {"company_number": "D", "officer_id": "P2"}, {"company_number": "B", "officer_id": "P2"}]
    assert _components(["D", "C", "B", "A"], officers=officers) == {"D": 0, "C": 1, "B": 0, "A": 1}
    assert _components(["A", "B", "C", "D"], officers=officers) == {"A": 0, "B": 1, "C": 0, "D": 1}


def test_components_with_no_link_tables() -> None:
    dataset = make_dataset(companies=[{"company_number": "A"}])
    out = network_components(dataset, pd.Index(["A", "B"]), AS_OF)
    assert out.tolist() == [0, 1]


# --- split_components -----------------------------------------------------------------------------------------------


def _split(components: list[int], status: list[int], tuning: float = 0.3, evaluation: float = 0.3, seed: int = 0):
    index = pd.RangeIndex(len(components))
    return split_components(pd.Series(components, index=index), pd.Series(status, index=index, dtype="int8"),
                            tuning, evaluation, seed)


def test_labelled_components_always_train() -> None:
    components = [0, 0, 2, 3, 3, 5, 6, 7, 8, 9]
    status = [UNLABELLED, POSITIVE, UNLABELLED, UNLABELLED, NEGATIVE, UNLABELLED, UNLABELLED, UNLABELLED,
              UNLABELLED, UNLABELLED]
    for seed in range(20):
        split = _split(components, status, seed=seed)
        assert split.train[[0, 1, 3, 4]].all()  # the unlabelled rows of labelled components too
        assert not (split.tuning[[0, 1, 3, 4]] | split.evaluation[[0, 1, 3, 4]]).any()


def test_split_of_equal_singletons_is_exact() -> None:
    # 10 free singletons: cumulative shares 0.1..1.0; 3 tuning (<= 0.3), 3 evaluation (<= 0.6), 4 train.
    split = _split(list(range(10)), [UNLABELLED] * 10, seed=1)
    assert (split.tuning.sum(), split.evaluation.sum(), split.train.sum()) == (3, 3, 4)
    order = np.random.default_rng(1).permutation(10)
    assert set(np.flatnonzero(split.tuning)) == set(order[:3].tolist())
    assert set(np.flatnonzero(split.evaluation)) == set(order[3:6].tolist())


def test_same_seed_same_split_other_seed_other_split() -> None:
    components = np.repeat(np.arange(40), 3).tolist()
    status = [UNLABELLED] * len(components)
    a, b, c = _split(components, status, seed=5), _split(components, status, seed=5), _split(components, status, seed=6)
    for side in ("train", "tuning", "evaluation"):
        np.testing.assert_array_equal(getattr(a, side), getattr(b, side))
    assert not np.array_equal(a.tuning, c.tuning)


def test_all_labelled_means_all_train() -> None:
    split = _split([0, 1, 2], [POSITIVE, NEGATIVE, POSITIVE])
    assert split.train.tolist() == [True, True, True]
    assert not split.tuning.any() and not split.evaluation.any()


@st.composite
def _components_and_status(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    n = draw(st.integers(1, 60))
    components = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    status = draw(st.lists(st.sampled_from([POSITIVE, NEGATIVE, UNLABELLED, UNLABELLED]), min_size=n, max_size=n))
    return components, status


@settings(max_examples=150, deadline=None)
@given(data=_components_and_status(), tuning=st.floats(0.05, 0.45), evaluation=st.floats(0.05, 0.45),
       seed=st.integers(0, 2**32 - 1))
def test_split_properties(data: tuple[list[int], list[int]], tuning: float, evaluation: float, seed: int) -> None:
    components, status = data
    split = _split(components, status, tuning, evaluation, seed)
    sides = np.vstack([split.train, split.tuning, split.evaluation])
    assert sides.dtype == bool
    assert (sides.sum(axis=0) == 1).all()  # disjoint and covering
    comp = np.asarray(components)
    for cid in np.unique(comp):
        rows = comp == cid
        assert (sides[:, rows].all(axis=1) | ~sides[:, rows].any(axis=1)).all()  # whole component on one side
    labelled = np.isin(comp, comp[np.asarray(status) != UNLABELLED])
    assert split.train[labelled].all()
    again = _split(components, status, tuning, evaluation, seed)
    np.testing.assert_array_equal(again.tuning, split.tuning)
    np.testing.assert_array_equal(again.evaluation, split.evaluation)


@settings(max_examples=50, deadline=None)
@given(m=st.integers(20, 300), size=st.integers(1, 4), tuning=st.floats(0.05, 0.45), evaluation=st.floats(0.05, 0.45),
       seed=st.integers(0, 2**32 - 1))
def test_shares_respected_for_equal_components(m: int, size: int, tuning: float, evaluation: float,
                                               seed: int) -> None:
    components = np.repeat(np.arange(m) * 7, size).tolist()
    split = _split(components, [UNLABELLED] * len(components), tuning, evaluation, seed)
    n = len(components)
    assert split.tuning.sum() / n == pytest.approx(tuning, abs=1 / m + 1e-9)
    assert split.evaluation.sum() / n == pytest.approx(evaluation, abs=1 / m + 1e-9)
    assert split.tuning.sum() / n <= tuning + 1e-12  # shares are never exceeded
    assert (split.tuning.sum() + split.evaluation.sum()) / n <= tuning + evaluation + 1e-12
