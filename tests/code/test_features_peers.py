"""SectorRelative: the scikit-learn estimator contract and exact fitted statistics on tiny frames."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

from features.peers import SectorRelative

NAN = math.nan


def _train() -> pd.DataFrame:
    """Division 56 has 4 rows (its own statistics with min_group_size=3); division 68 has 2 (too small)."""
    return pd.DataFrame(
        {"sic_division": [56.0, 56, 56, 56, 68, 68, NAN],
         "cash_share": [1.0, 2, 2, 4, 10, 20, 5],
         "late_days": [0.0, 0, 1, NAN, 3, 3, 3]},
        index=pd.Index(["A", "B", "C", "D", "E", "F", "G"], name="company_number"),
    )


def _fitted() -> SectorRelative:
    return SectorRelative(columns=["cash_share", "late_days"], min_group_size=3).fit(_train())


def test_clone_and_params() -> None:
    est = SectorRelative(columns=["cash_share"], group_column="division", min_group_size=5)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy.get_params()["min_group_size"] == 5
    assert SectorRelative().get_params() == {"columns": None, "group_column": "sic_division", "min_group_size": 20,
                                             "n_quantiles": 100}


def test_fit_returns_self_and_learned_attributes_end_with_underscore() -> None:
    est = SectorRelative(columns=["cash_share"], min_group_size=3)
    before = set(vars(est))
    assert est.fit(_train()) is est
    learned = set(vars(est)) - before
    assert learned and all(name.endswith("_") for name in learned)
    assert est.n_features_in_ == 3
    assert list(est.feature_names_in_) == ["sic_division", "cash_share", "late_days"]
    assert vars(clone(est)).keys() == before  # clone drops the fitted state


def test_not_fitted_error_before_fit() -> None:
    est = SectorRelative(columns=["cash_share"])
    with pytest.raises(NotFittedError):
        est.transform(_train())
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()


def test_fit_and_transform_do_not_mutate_input() -> None:
    train = _train()
    copy = train.copy()
    est = SectorRelative(columns=["cash_share", "late_days"], min_group_size=3).fit(train)
    out = est.transform(train)
    pd.testing.assert_frame_equal(train, copy)
    assert out is not train
    assert list(train.columns) == ["sic_division", "cash_share", "late_days"]


def test_exact_medians() -> None:
    est = _fitted()
    assert list(est.group_medians_.index) == [56.0]  # 68 (2 rows) is too small
    assert est.group_medians_.loc[56.0].tolist() == [2.0, 0.0]
    assert est.global_medians_.tolist() == [4.0, 2.0]
    assert est.group_sizes_.to_dict() == {56.0: 4, 68.0: 2}


def test_exact_transform_values() -> None:
    out = _fitted().transform(_train())
    # cash_share: division 56 -> median 2 and values {1, 2, 2, 4}; 68 and missing -> global median 4 and
    # values {1, 2, 2, 4, 5, 10, 20}.
    assert out["cash_share_to_sector_median"].tolist() == [0.5, 1.0, 1.0, 2.0, 2.5, 5.0, 1.25]
    np.testing.assert_allclose(out["cash_share_sector_percentile"].to_numpy(),
                               [0.0, 0.25, 0.25, 0.75, 5 / 7, 6 / 7, 4 / 7])
    # late_days: division 56 median is 0, so no ratio there; global median 2 (values {0, 0, 1, 3, 3, 3}).
    np.testing.assert_array_equal(out["late_days_to_sector_median"].to_numpy(), [NAN, NAN, NAN, NAN, 1.5, 1.5, 1.5])
    np.testing.assert_allclose(out["late_days_sector_percentile"].to_numpy(), [0, 0, 2 / 3, NAN, 0.5, 0.5, 0.5])
    assert list(out.columns) == list(_fitted().get_feature_names_out())
    assert list(out.index) == list(_train().index)


def test_unseen_group_uses_global_statistics() -> None:
    new = pd.DataFrame({"sic_division": [99.0, 56.0], "cash_share": [3.0, 3.0], "late_days": [0.0, 0.0]},
                       index=["X", "Y"])
    out = _fitted().transform(new)
    # Unseen division 99: global median 4, 3 of 7 global values below 3. Division 56: median 2, 3 of 4 below 3.
    assert out["cash_share_to_sector_median"].tolist() == [0.75, 1.5]
    np.testing.assert_allclose(out["cash_share_sector_percentile"].to_numpy(), [3 / 7, 0.75])
    assert out["late_days_sector_percentile"].tolist() == [0.0, 0.0]


def test_transform_uses_only_the_fitted_frame() -> None:
    """Statistics come from the frame given to fit, never from the frame being transformed."""
    est = _fitted()
    other = pd.DataFrame({"sic_division": [56.0] * 30, "cash_share": np.arange(100.0, 130.0),
                          "late_days": np.zeros(30)})
    out = est.transform(other)
    assert est.group_medians_.loc[56.0, "cash_share"] == 2.0  # unchanged by transform
    assert (out["cash_share_to_sector_median"] == other["cash_share"] / 2.0).all()
    assert (out["cash_share_sector_percentile"] == 1.0).all()
    # Fitting on the other frame instead gives its own statistics.
    refit = SectorRelative(columns=["cash_share", "late_days"], min_group_size=3).fit(other).transform(other)
    assert refit["cash_share_sector_percentile"].iloc[0] == 0.0
    assert refit["cash_share_to_sector_median"].iloc[0] == pytest.approx(100 / 114.5)


def test_values_between_quantiles_interpolate() -> None:
    """A large group keeps n_quantiles + 1 grid points; shares between them are interpolated and monotone."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"sic_division": 1.0, "x": rng.normal(size=5000)})
    est = SectorRelative(columns=["x"], min_group_size=20, n_quantiles=50).fit(train)
    assert len(est.group_quantiles_["x"][1.0].values) == 51
    probe = pd.DataFrame({"sic_division": 1.0, "x": np.linspace(-5, 5, 201)})
    share = est.transform(probe)["x_sector_percentile"].to_numpy()
    assert share[0] == 0.0 and share[-1] == 1.0
    assert np.all(np.diff(share) >= 0)
    exact = (train["x"].to_numpy()[:, None] < probe["x"].to_numpy()[None, :]).mean(axis=0)
    assert np.abs(share - exact).max() < 0.01


def test_feature_name_checks() -> None:
    est = _fitted()
    with pytest.raises(ValueError, match="feature names"):
        est.transform(_train()[["late_days", "cash_share", "sic_division"]])
    with pytest.raises(ValueError, match="input_features"):
        est.get_feature_names_out(["a", "b", "c"])


def test_invalid_inputs() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        SectorRelative(columns=["cash_share"]).fit(_train().to_numpy())
    with pytest.raises(ValueError, match="group column"):
        SectorRelative(columns=["cash_share"], group_column="nope").fit(_train())
    with pytest.raises(ValueError, match="not in the frame"):
        SectorRelative(columns=["nope"]).fit(_train())
    with pytest.raises(ValueError, match="empty"):
        SectorRelative(columns=["cash_share"]).fit(_train().iloc[:0])


def test_default_columns_are_the_numeric_ones() -> None:
    est = SectorRelative(min_group_size=3).fit(_train())
    assert est.columns_ == ["cash_share", "late_days"]
    assert est.columns is None  # parameters are never changed by fit


def test_pickle_and_pipeline() -> None:
    # scikit-learn estimators must pickle (Dask ships them to workers); the bytes are made on this very line.
    est = pickle.loads(pickle.dumps(_fitted()))  # noqa: S301 -- round-trips its own object, nothing untrusted
    pd.testing.assert_frame_equal(est.transform(_train()), _fitted().transform(_train()))
    pipe = make_pipeline(SectorRelative(columns=["cash_share"], min_group_size=3)).fit(_train())
    assert "cash_share_sector_percentile" in pipe.transform(_train()).columns


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_sklearn_api_checks_that_do_not_need_arrays() -> None:
    """The generic checks that do not feed NumPy arrays pass (the transformer takes DataFrames only)."""
    results = check_estimator(SectorRelative(), on_fail=None)
    status = {r["check_name"]: r["status"] for r in results}
    for name in ("check_estimator_cloneable", "check_no_attributes_set_in_init", "check_estimators_unfitted",
                 "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params",
                 "check_transformers_unfitted", "check_mixin_order", "check_estimator_repr"):
        assert status.get(name) == "passed", name
