"""PU strategies with a stub first-stage model whose score is a column, so every weight is exact."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from riskmodel.config import PUConfig
from riskmodel.training.pu import pu_training_set
from riskmodel.training.split import NEGATIVE, POSITIVE, UNLABELLED

P, N, U = POSITIVE, NEGATIVE, UNLABELLED


class ColumnScore:
    """A 'classifier' whose P(y=1) is the column ``s``; it checks it never scores a row it was fitted on."""

    fits: ClassVar[list[set[Any]]] = []

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ColumnScore:
        assert set(np.unique(y)) == {0, 1}
        self.seen = set(X.index)
        ColumnScore.fits.append(self.seen)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        assert not self.seen & set(X.index), "a row was scored by a model that saw it"
        s = X["s"].to_numpy(dtype="float64")
        return np.column_stack([1 - s, s])


@pytest.fixture(autouse=True)
def _reset_fits() -> None:
    ColumnScore.fits = []


def _frame(rows: list[tuple[int, float, int]]) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Rows of (status, score, group) -> X (columns s, f), status, groups; index r0, r1, ..."""
    index = pd.Index([f"r{i}" for i in range(len(rows))], name="company_number")
    X = pd.DataFrame({"s": [r[1] for r in rows], "f": np.arange(len(rows), dtype="float64")}, index=index)
    status = pd.Series([r[0] for r in rows], index=index, dtype="int8")
    groups = pd.Series([r[2] for r in rows], index=index, dtype="int64")
    return X, status, groups


# Six groups, each with a positive and unlabelled rows, so every first-stage fold fits on both classes.
ROWS = [
    (P, 0.8, 0), (U, 0.3, 0), (U, 0.9, 0),
    (P, 0.6, 1), (U, 0.5, 1), (N, 0.2, 1),
    (P, 0.7, 2), (U, 0.0, 2), (U, 0.1, 2),
    (P, 0.9, 3), (U, 0.4, 3),
    (P, 0.5, 4), (U, 1.0, 4), (N, 0.05, 4),
    (P, 0.7, 5), (U, 0.2, 5),
]


def test_weighted_negative_weights_exactly() -> None:
    X, status, groups = _frame(ROWS)
    config = PUConfig(strategy="weighted-negative", unlabelled_weight=0.25, known_negative_weight=4.0,
                      positive_weight=2.0)
    out = pu_training_set(X, status, groups, config, ColumnScore, seed=0)
    s = status.to_numpy()
    pd.testing.assert_frame_equal(out.X, X)
    np.testing.assert_array_equal(out.y, (s == P).astype(np.int8))
    assert out.y.dtype == np.int8
    np.testing.assert_array_equal(out.weight, np.select([s == P, s == N], [2.0, 4.0], 0.25))
    np.testing.assert_array_equal(out.groups, groups.to_numpy())
    assert out.info == {"positives": 6, "known_negatives": 2, "unlabelled": 8}
    assert ColumnScore.fits == []  # no first stage


def test_elkan_noto_weights_exactly() -> None:
    X, status, groups = _frame(ROWS)
    config = PUConfig(strategy="elkan-noto", unlabelled_weight=2.0, known_negative_weight=3.0, positive_weight=1.5,
                      folds=3)
    out = pu_training_set(X, status, groups, config, ColumnScore, seed=0)
    assert len(ColumnScore.fits) == 3

    s = status.to_numpy()
    score = np.clip(X["s"].to_numpy(), 1e-6, 1 - 1e-6)
    c = score[s == P].mean()
    assert c == pytest.approx(0.7)
    assert out.info["labelling_frequency_c"] == pytest.approx(c, abs=1e-15)
    w = np.clip((1 - c) / c * score / (1 - score), 0, 1)
    # Hand values: s=0.3 -> 3/7 * 3/7; s=0.5 -> 3/7; s=0.9 and s=1.0 -> clipped to 1.
    assert w[1] == pytest.approx(9 / 49) and w[4] == pytest.approx(3 / 7) and w[2] == 1.0 and w[12] == 1.0
    unl = np.flatnonzero(s == U)
    assert out.info["mean_unlabelled_positive_weight"] == pytest.approx(w[unl].mean())

    # Expected rows: originals (unlabelled as negatives weighted 2*(1-w), dropped when 0), then positive copies.
    exp_weight = np.select([s == P, s == N], [1.5, 3.0], 2.0 * (1 - w))
    exp_index = list(X.index) + [X.index[i] for i in unl]
    exp_y = np.concatenate([(s == P).astype(int), np.ones(len(unl), dtype=int)])
    exp_w = np.concatenate([exp_weight, 2.0 * w[unl]])
    exp_g = np.concatenate([groups.to_numpy(), groups.to_numpy()[unl]])
    keep = exp_w > 0
    assert not keep[2] and not keep[12]  # w = 1: the negative copy has weight 0 and is left out
    assert keep.sum() == 16 + 8 - 2

    assert list(out.X.index) == [i for i, k in zip(exp_index, keep, strict=True) if k]
    np.testing.assert_array_equal(out.X["f"].to_numpy(), X["f"].to_numpy()[np.r_[np.arange(16), unl]][keep])
    np.testing.assert_array_equal(out.y, exp_y[keep])
    np.testing.assert_allclose(out.weight, exp_w[keep], rtol=1e-13, atol=0)
    np.testing.assert_array_equal(out.groups, exp_g[keep])
    assert len(out.X) == len(out.y) == len(out.weight) == len(out.groups)

    # Each unlabelled business keeps its total weight, split between the positive and the negative copy.
    total = pd.Series(out.weight, index=out.X.index).groupby(level=0).sum()
    np.testing.assert_allclose(total[X.index[unl]].to_numpy(), 2.0, rtol=1e-13)
    # Positive copies of row r1 carry w, the negative copy 1 - w.
    r1 = (out.X.index == "r1")
    assert sorted(out.weight[r1].tolist()) == pytest.approx(sorted([2.0 * 9 / 49, 2.0 * (1 - 9 / 49)]))
    assert sorted(out.y[r1].tolist()) == [0, 1]


def test_elkan_noto_fold_without_positives_uses_the_fold_rate() -> None:
    # Two groups, all positives in group 0: the fold fitted on group 1 alone has no positive and scores group 0
    # with its target mean (0), clipped to 1e-6; the other fold is fitted normally.
    X, status, groups = _frame([(P, 0.8, 0), (U, 0.4, 0), (U, 0.5, 1), (U, 0.25, 1)])
    config = PUConfig(strategy="elkan-noto", folds=2)
    out = pu_training_set(X, status, groups, config, ColumnScore, seed=0)
    assert len(ColumnScore.fits) == 1
    c = 1e-6
    assert out.info["labelling_frequency_c"] == c
    w = np.clip((1 - c) / c * np.array([1e-6, 0.5, 0.25]) / (1 - np.array([1e-6, 0.5, 0.25])), 0, 1)
    assert w.tolist() == [1.0, 1.0, 1.0]
    # All unlabelled become weight-1 positives only.
    assert list(out.X.index) == ["r0", "r1", "r2", "r3"]
    assert out.y.tolist() == [1, 1, 1, 1]


def test_spy_reliable_negatives_exactly() -> None:
    rows = [
        (P, 0.9, 0), (P, 0.35, 0), (U, 0.3, 0), (U, 0.5, 0), (N, 0.6, 0),
        (P, 0.8, 1), (P, 0.45, 1), (U, 0.05, 1), (U, 0.4, 1),
        (P, 0.7, 2), (P, 0.25, 2), (U, 0.2, 2), (U, 0.95, 2), (N, 0.01, 2),
    ]
    seed, share, quantile = 10, 0.5, 0.25
    draw = np.random.default_rng(seed).random(len(rows) + 1)  # the last row added below is unlabelled
    spy_scores = [r[1] for r, u in zip(rows, draw, strict=False) if r[0] == P and u < share]
    rows.append((U, float(np.quantile(spy_scores, quantile)), 1))  # exactly at the threshold: not reliable
    X, status, groups = _frame(rows)
    s = status.to_numpy()
    spies = (s == P) & (draw < share)
    # Preconditions of exact scores: some spies, and a non-spy positive in every group.
    assert 1 <= spies.sum() < (s == P).sum()
    for g in range(3):
        assert ((s == P) & ~spies & (groups.to_numpy() == g)).any()

    config = PUConfig(strategy="spy", spy_share=share, spy_quantile=quantile, folds=3, unlabelled_weight=0.5,
                      known_negative_weight=5.0, positive_weight=1.0)
    out = pu_training_set(X, status, groups, config, ColumnScore, seed=seed)
    assert len(ColumnScore.fits) == 3

    threshold = float(np.quantile(X["s"].to_numpy()[spies], quantile))
    assert out.info["spy_threshold"] == threshold
    assert out.info["spies"] == int(spies.sum())
    assert X["s"].iloc[-1] == threshold
    reliable = (s == U) & (X["s"].to_numpy() < threshold)
    assert not reliable[-1]
    assert out.info["reliable_negatives"] == int(reliable.sum())
    assert 0 < reliable.sum() < (s == U).sum()  # the test exercises both kept and removed unlabelled rows
    keep = (s != U) | reliable
    assert list(out.X.index) == list(X.index[keep])
    # Spies are positives again in the final set; reliable negatives keep the unlabelled weight.
    np.testing.assert_array_equal(out.y, (s == P)[keep].astype(np.int8))
    np.testing.assert_array_equal(out.weight, np.select([s == P, s == N], [1.0, 5.0], 0.5)[keep])
    np.testing.assert_array_equal(out.groups, groups.to_numpy()[keep])


def test_spy_is_reproducible_with_the_seed() -> None:
    X, status, groups = _frame(ROWS + [(P, 0.85, g) for g in range(6)])
    config = PUConfig(strategy="spy", spy_share=0.4)
    a = pu_training_set(X, status, groups, config, ColumnScore, seed=11)
    b = pu_training_set(X, status, groups, config, ColumnScore, seed=11)
    assert a.info == b.info
    assert list(a.X.index) == list(b.X.index)
