"""The model folder: save/load round trip, checksums refusing any change, fitted sector statistics as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.peers import SectorRelative
from riskmodel.artifact import (
    CHECKSUM_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FILE,
    ModelBundle,
    ModelIntegrityError,
    load_bundle,
    peers_from_dict,
    peers_to_dict,
    sha256_file,
)
from riskmodel.errors import RiskmodelError

FEATURES = ["a", "b", "c"]
BANDS = [{"name": "high", "min_log_odds": 0.5, "min_score": 0.3},
         {"name": "low", "min_log_odds": float("-inf"), "min_score": 0.0}]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "c": rng.choice([10.0, 47.0, 56.0, np.nan], size=n)},
                        index=pd.Index([f"B{i}" for i in range(n)], name="company_number"))


def _target(X: pd.DataFrame, seed: int, column: str = "a") -> np.ndarray:
    rng = np.random.default_rng(seed)
    signal = np.nan_to_num(X[column].to_numpy(dtype="float64"))
    return (rng.random(len(X)) < 1 / (1 + np.exp(-2 * (signal - np.median(signal))))).astype(int)


def _train(X: pd.DataFrame, y: np.ndarray) -> lgb.Booster:
    clf = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, min_child_samples=5, deterministic=True,
                             force_row_wise=True, verbose=-1, n_jobs=1, random_state=0)
    return clf.fit(X, y).booster_


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    X = _frame(200, seed=0)
    booster = _train(X, _target(X, 1))
    metadata = {"feature_names": FEATURES,
                "calibration": {"method": "isotonic", "x": [-1.0, 0.0, 1.0], "y": [0.05, 0.2, 0.6]},
                "bands": BANDS, "sector_relative": None}
    return ModelBundle(booster, metadata)


@pytest.fixture
def saved(tmp_path: Path, bundle: ModelBundle) -> Path:
    return bundle.save(tmp_path / "model")


def test_save_writes_three_files_and_no_temporary_folder(saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == sorted([MODEL_FILE, METADATA_FILE, CHECKSUM_FILE])
    assert not list(saved.glob(".writing-*"))
    sums = (saved / CHECKSUM_FILE).read_text(encoding="utf-8").splitlines()
    assert sums == [f"{sha256_file(saved / MODEL_FILE)}  {MODEL_FILE}",
                    f"{sha256_file(saved / METADATA_FILE)}  {METADATA_FILE}"]
    meta = json.loads((saved / METADATA_FILE).read_text(encoding="utf-8"))
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["files"] == {MODEL_FILE: sha256_file(saved / MODEL_FILE)}
    assert meta["bands"][1]["min_log_odds"] == "-inf"  # JSON has no infinity


def test_save_twice_into_the_same_folder(saved: Path, bundle: ModelBundle) -> None:
    bundle.save(saved)
    assert not list(saved.glob(".writing-*"))
    load_bundle(saved)


def test_round_trip_identical_predictions_and_contributions(saved: Path, bundle: ModelBundle) -> None:
    loaded = load_bundle(saved)
    X = _frame(60, seed=7)
    before, after = bundle.predict(X), loaded.predict(X)
    pd.testing.assert_frame_equal(after, before)
    assert list(after.columns) == ["log_odds", "risk_score", "risk_band"]
    assert after.index.equals(X.index)
    contrib = loaded.contributions(X)
    pd.testing.assert_frame_equal(contrib, bundle.contributions(X))
    assert list(contrib.columns) == [*FEATURES, "bias"]
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), after["log_odds"].to_numpy(), rtol=0, atol=1e-9)
    assert loaded.bands == [("high", 0.5, 0.3), ("low", float("-inf"), 0.0)]
    assert loaded.feature_names == FEATURES
    assert loaded.peers is None


def test_scores_bands_and_calibration_follow_metadata(bundle: ModelBundle) -> None:
    X = _frame(300, seed=8)
    out = bundle.predict(X)
    raw = out["log_odds"].to_numpy()
    assert raw.min() < 0.5 <= raw.max()  # both bands occur
    np.testing.assert_array_equal(out["risk_band"].to_numpy(), np.where(raw >= 0.5, "high", "low"))
    np.testing.assert_array_equal(out["risk_score"].to_numpy(), np.interp(raw, [-1.0, 0.0, 1.0], [0.05, 0.2, 0.6]))
    # Column order of the input does not matter; extra columns are ignored.
    shuffled = X[["c", "a", "b"]].assign(extra=1.0)
    pd.testing.assert_frame_equal(bundle.predict(shuffled), out)


def test_missing_feature_is_named(bundle: ModelBundle) -> None:
    with pytest.raises(RiskmodelError, match="lacks 1 feature") as info:
        bundle.predict(_frame(5, seed=1).drop(columns=["b"]))
    assert "b" in str(info.value).split(":")[-1]
    assert info.value.evidence["missing"] == ["b"]


def _append_byte(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\n")


def _change_one_char(path: Path) -> None:
    data = bytearray(path.read_bytes())
    pos = data.index(b"tree")
    data[pos] = ord("T")
    path.write_bytes(bytes(data))


def _edit_metadata(path: Path) -> None:
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["bands"][0]["min_log_odds"] = 99.0
    path.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")


@pytest.mark.parametrize(("name", "tamper"), [
    (MODEL_FILE, _append_byte),
    (MODEL_FILE, _change_one_char),
    (METADATA_FILE, _append_byte),
    (METADATA_FILE, _edit_metadata),
])
def test_tampered_file_is_refused(saved: Path, name: str, tamper: Any) -> None:
    tamper(saved / name)
    with pytest.raises(ModelIntegrityError, match="does not match its recorded SHA-256") as info:
        load_bundle(saved)
    assert info.value.evidence["file"] == str(saved / name)
    assert isinstance(info.value, RiskmodelError)


@pytest.mark.parametrize("name", [CHECKSUM_FILE, MODEL_FILE, METADATA_FILE])
def test_missing_file_is_refused(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(ModelIntegrityError, match="missing") as info:
        load_bundle(saved)
    assert info.value.evidence["missing"] == [name]


def test_consistently_rewritten_checksums_still_catch_a_changed_model(saved: Path) -> None:
    # Someone edits model.txt and recomputes checksums.sha256: metadata.json still records the trained model.
    _append_byte(saved / MODEL_FILE)
    (saved / CHECKSUM_FILE).write_text(f"{sha256_file(saved / MODEL_FILE)}  {MODEL_FILE}\n"
                                       f"{sha256_file(saved / METADATA_FILE)}  {METADATA_FILE}\n", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="disagree"):
        load_bundle(saved)


def test_unsupported_format_version_is_refused(saved: Path) -> None:
    meta = json.loads((saved / METADATA_FILE).read_text(encoding="utf-8"))
    meta["format_version"] = FORMAT_VERSION + 1
    (saved / METADATA_FILE).write_text(json.dumps(meta), encoding="utf-8")
    (saved / CHECKSUM_FILE).write_text(f"{sha256_file(saved / MODEL_FILE)}  {MODEL_FILE}\n"
                                       f"{sha256_file(saved / METADATA_FILE)}  {METADATA_FILE}\n", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="not supported"):
        load_bundle(saved)


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="not a riskmodel model folder") as info:
        load_bundle(tmp_path)
    assert info.value.evidence["missing"] == [MODEL_FILE, METADATA_FILE, CHECKSUM_FILE]


# --- sector statistics ----------------------------------------------------------------------------------------------


def _peer_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cash = rng.lognormal(size=n)
    cash[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"cash": cash, "age": rng.integers(0, 40, size=n).astype("float64"),
                         "sic_division": rng.choice([10.0, 47.0, 56.0, 99.0], size=n, p=[0.4, 0.4, 0.15, 0.05])},
                        index=pd.Index([f"P{i}" for i in range(n)], name="company_number"))


@pytest.fixture(scope="module")
def peers() -> SectorRelative:
    return SectorRelative(columns=["cash", "age"], min_group_size=15, n_quantiles=10).fit(_peer_frame(200, seed=3))


def test_peers_json_round_trip_transforms_identically(peers: SectorRelative) -> None:
    state = json.loads(json.dumps(peers_to_dict(peers)))
    restored = peers_from_dict(state)
    X = _peer_frame(80, seed=4)
    X.loc[X.index[:3], "sic_division"] = [np.nan, 71.0, 56.0]  # missing and unseen groups too
    expected = peers.transform(X)
    assert expected["cash_sector_percentile"].notna().any()
    pd.testing.assert_frame_equal(restored.transform(X), expected)
    assert peers_to_dict(restored) == state


def test_peers_state_holds_only_large_groups(peers: SectorRelative) -> None:
    state = peers_to_dict(peers)
    assert state["params"] == {"columns": ["cash", "age"], "group_column": "sic_division", "min_group_size": 15,
                               "n_quantiles": 10}
    assert sorted(g for g, _ in state["group_medians"]) == [10.0, 47.0, 56.0]  # 99 has fewer than 15 rows
    assert {g for g, _ in state["group_sizes"]} == {10.0, 47.0, 56.0, 99.0}


def test_bundle_with_sector_relative_round_trip(tmp_path: Path, peers: SectorRelative) -> None:
    train = _peer_frame(200, seed=3)
    booster = _train(peers.transform(train), _target(train, 2, column="cash"))
    metadata = {"feature_names": ["cash", "age", "sic_division"],
                "calibration": {"method": "none"}, "bands": BANDS, "sector_relative": peers_to_dict(peers)}
    bundle = ModelBundle(booster, metadata)
    assert bundle.model_features == ["cash", "age", "sic_division", "cash_to_sector_median",
                                     "cash_sector_percentile", "age_to_sector_median", "age_sector_percentile"]
    loaded = load_bundle(bundle.save(tmp_path / "m"))
    X = _peer_frame(50, seed=9)
    pd.testing.assert_frame_equal(loaded.transform(X), peers.transform(X))
    pd.testing.assert_frame_equal(loaded.predict(X), bundle.predict(X))
    raw = loaded.predict(X)["log_odds"].to_numpy()
    np.testing.assert_array_equal(loaded.predict(X)["risk_score"].to_numpy(), 1 / (1 + np.exp(-raw)))
    contrib = loaded.contributions(X)
    assert list(contrib.columns) == [*bundle.model_features, "bias"]
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), raw, rtol=0, atol=1e-9)
