"""Experiment configuration: the default file, --set overrides, every kind of invalid input, TOML round trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from riskmodel.config import (
    DEFAULT_CONFIG,
    Band,
    CalibrationConfig,
    ConfigError,
    DataConfig,
    ExperimentConfig,
    FeatureConfig,
    PUConfig,
    SplitConfig,
    load_config,
)
from riskmodel.errors import RiskmodelError

SPLIT_KEYS = ["tuning_share", "evaluation_share", "early_stopping_share", "max_link_degree"]
TOP_KEYS = ["name", "seed", "data", "features", "split", "pu", "calibration", "search", "model", "bands"]


def _write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def _to_toml(data: dict[str, Any]) -> str:
    """A TOML writer for the known shape of ExperimentConfig.to_dict() (None = key left out)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None]
    for band in data["bands"]:
        lines.append("[[bands]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in band.items() if v is not None]
    return "\n".join(lines) + "\n"


# --- the default file ---------------------------------------------------------------------------------------------


def test_default_file_loads_with_the_documented_values() -> None:
    config = load_config()
    assert config == load_config(DEFAULT_CONFIG)
    assert config.name == "riskmodel"
    assert config.seed == 42
    assert config.data == DataConfig(as_of=None, horizon_months=12, validation_end=None, history_snapshots=3)
    assert config.features == FeatureConfig(set="all", sector_relative=(), categorical=("sic_division",))
    assert config.split == SplitConfig(tuning_share=0.3, evaluation_share=0.3, early_stopping_share=0.2,
                                       max_link_degree=50)
    assert config.pu.strategy == "weighted-negative"
    assert (config.pu.unlabelled_weight, config.pu.known_negative_weight, config.pu.positive_weight) == (1.0, 1.0, 5.0)
    assert config.calibration == CalibrationConfig("isotonic")
    assert [b.name for b in config.bands] == ["high", "medium", "low"]
    assert config.bands == (Band("high", top_share=0.01), Band("medium", top_share=0.05), Band("low"))
    assert dict(config.model) == {"n_estimators": 400, "learning_rate": 0.03, "num_leaves": 7, "max_depth": 3,
                                  "min_child_samples": 100, "colsample_bytree": 0.5, "reg_lambda": 10.0,
                                  "early_stopping_rounds": 50}


def test_default_file_types_are_exact() -> None:
    config = load_config()
    assert type(config.seed) is int
    assert type(config.split.max_link_degree) is int
    assert type(config.pu.unlabelled_weight) is float
    assert isinstance(config.features.categorical, tuple)
    assert isinstance(config.bands, tuple)


# --- overrides ------------------------------------------------------------------------------------------------------


def test_overrides_give_typed_values() -> None:
    config = load_config(overrides=["model.num_leaves=15", "pu.strategy=spy", "data.as_of=2024-01-31",
                                    "features.set=without:network"])
    assert config.model["num_leaves"] == 15
    assert type(config.model["num_leaves"]) is int
    assert config.pu.strategy == "spy"
    assert config.data.as_of == dt.date(2024, 1, 31)
    assert type(config.data.as_of) is dt.date
    assert config.features.set == "without:network"
    # Untouched values stay as in the file.
    assert config.model["learning_rate"] == 0.03
    assert config.pu.unlabelled_weight == 1.0


def test_quoted_and_unquoted_strings_are_equal() -> None:
    assert load_config(overrides=['pu.strategy="elkan-noto"']).pu.strategy == "elkan-noto"
    assert load_config(overrides=["pu.strategy=elkan-noto"]).pu.strategy == "elkan-noto"
    assert load_config(overrides=["name=my experiment"]).name == "my experiment"


def test_overrides_apply_in_order_and_convert_numbers() -> None:
    config = load_config(overrides=["seed=1", "seed=7", "split.max_link_degree=20.0", "pu.unlabelled_weight=2",
                                    "features.sector_relative=['a', 'b']", "data.validation_end=2025-03-31T10:00:00"])
    assert config.seed == 7
    assert config.split.max_link_degree == 20 and type(config.split.max_link_degree) is int
    assert config.pu.unlabelled_weight == 2.0 and type(config.pu.unlabelled_weight) is float
    assert config.features.sector_relative == ("a", "b")
    assert config.data.validation_end == dt.date(2025, 3, 31)


def test_empty_date_override_means_unset(tmp_path: Path) -> None:
    path = _write(tmp_path, "[data]\nas_of = 2024-06-30\n")
    assert load_config(path).data.as_of == dt.date(2024, 6, 30)
    assert load_config(path, overrides=["data.as_of="]).data.as_of is None


def test_override_without_equals_sign_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        load_config(overrides=["model.num_leaves"])
    with pytest.raises(ConfigError):
        load_config(overrides=["=3"])


def test_override_below_a_plain_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match="does not name a setting"):
        load_config(overrides=["seed.x=1"])


# --- unknown keys ---------------------------------------------------------------------------------------------------


def test_unknown_top_level_key_names_it_and_lists_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["sead=1"])
    assert info.value.evidence["key"] == "sead"
    assert info.value.evidence["allowed"] == TOP_KEYS
    assert "sead" in str(info.value) and "seed" in str(info.value)


def test_unknown_key_in_a_section_names_it_and_lists_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["split.tunning_share=0.2"])
    assert info.value.evidence["key"] == "split.tunning_share"
    assert info.value.evidence["allowed"] == SPLIT_KEYS
    assert "split.tunning_share" in str(info.value)
    assert "tuning_share" in str(info.value).split("allowed:")[1]


def test_unknown_key_in_a_file_section(tmp_path: Path) -> None:
    path = _write(tmp_path, '[pu]\nstrategy = "spy"\nspy_shares = 0.2\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.evidence["key"] == "pu.spy_shares"
    assert "spy_share" in info.value.evidence["allowed"]


def test_unknown_key_in_a_band(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[bands]]\nname = "high"\ntop_shares = 0.01\n[[bands]]\nname = "low"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.evidence["key"] == "bands[0].top_shares"
    assert info.value.evidence["allowed"] == ["name", "top_share", "min_score"]


def test_model_table_accepts_any_lightgbm_parameter() -> None:
    config = load_config(overrides=["model.min_split_gain=0.5"])
    assert config.model["min_split_gain"] == 0.5


# --- wrong types and values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "key"), [
    ("split.max_link_degree=many", "split.max_link_degree"),
    ("split.max_link_degree=2.5", "split.max_link_degree"),
    ("split.tuning_share=true", "split.tuning_share"),
    ("seed=forty", "seed"),
    ("pu.strategy=3", "pu.strategy"),
    ("data.as_of=yesterday", "data.as_of"),
    ("features.categorical=sic_division", "features.categorical"),
])
def test_wrong_types_are_rejected(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[override])
    assert info.value.evidence["key"] == key


@pytest.mark.parametrize("override", [
    "split.tuning_share=0", "split.tuning_share=1", "split.evaluation_share=-0.1", "split.early_stopping_share=1.5",
    "pu.spy_share=0", "pu.spy_quantile=1.0", "split.tuning_share=nan",
])
def test_shares_out_of_range_are_rejected(override: str) -> None:
    with pytest.raises(ConfigError, match=r"between 0 and 1|finite number"):
        load_config(overrides=[override])


def test_shares_must_leave_room_for_training() -> None:
    with pytest.raises(ConfigError, match="leave a share for training"):
        load_config(overrides=["split.tuning_share=0.5", "split.evaluation_share=0.5"])
    assert load_config(overrides=["split.tuning_share=0.5", "split.evaluation_share=0.4"]).split.tuning_share == 0.5


def test_invalid_pu_strategy_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["pu.strategy=elkan_noto"])
    assert info.value.evidence["key"] == "pu.strategy"
    assert info.value.evidence["allowed"] == ["weighted-negative", "elkan-noto", "spy"]


@pytest.mark.parametrize(("override", "match"), [
    ("calibration.method=platt", "calibration.method"),
    ("pu.folds=1", "pu.folds"),
    ("data.history_snapshots=-1", "history_snapshots"),
    ("data.horizon_months=0", "horizon_months"),
])
def test_other_invalid_values_are_rejected(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(overrides=[override])


def test_invalid_toml_file_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "[pu\nstrategy = spy\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path)
    assert info.value.evidence["path"] == str(path)
    assert isinstance(info.value, RiskmodelError)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(path)
    assert info.value.evidence["path"] == str(path)


def test_section_that_is_not_a_table_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[pu\] must be a table"):
        load_config(_write(tmp_path, 'pu = "spy"\n'))
    with pytest.raises(ConfigError, match="model"):
        load_config(_write(tmp_path, "model = 3\n", "m.toml"))
    with pytest.raises(ConfigError, match="bands"):
        load_config(_write(tmp_path, 'bands = "high"\n', "b.toml"))


def test_minimal_file_gives_dataclass_defaults(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "")) == ExperimentConfig()


# --- bands ----------------------------------------------------------------------------------------------------------


def test_band_without_top_share_or_min_score_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[bands]]\nname = "high"\n[[bands]]\nname = "low"\n')
    with pytest.raises(ConfigError, match="exactly one of top_share or min_score") as info:
        load_config(path)
    assert info.value.evidence["key"] == "bands"


def test_band_with_both_limits_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[bands]]\nname = "high"\ntop_share = 0.01\nmin_score = 0.5\n[[bands]]\nname = "low"\n')
    with pytest.raises(ConfigError, match="exactly one"):
        load_config(path)


def test_bands_with_min_score_and_top_share_mix(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[bands]]\nname = "high"\nmin_score = 0.5\n[[bands]]\nname = "medium"\n'
                            'top_share = 0.1\n[[bands]]\nname = "low"\n')
    assert load_config(path).bands == (Band("high", min_score=0.5), Band("medium", top_share=0.1), Band("low"))


def test_band_shares_must_grow_and_lie_in_range(tmp_path: Path) -> None:
    shrinking = _write(tmp_path, '[[bands]]\nname = "a"\ntop_share = 0.05\n[[bands]]\nname = "b"\ntop_share = 0.01\n'
                                 '[[bands]]\nname = "c"\n', "shrink.toml")
    with pytest.raises(ConfigError, match="band limits"):
        load_config(shrinking)
    too_big = _write(tmp_path, '[[bands]]\nname = "a"\nmin_score = 1.5\n[[bands]]\nname = "c"\n', "big.toml")
    with pytest.raises(ConfigError, match="band limits"):
        load_config(too_big)
    zero = _write(tmp_path, '[[bands]]\nname = "a"\ntop_share = 0.0\n[[bands]]\nname = "c"\n', "zero.toml")
    with pytest.raises(ConfigError, match="band limits"):
        load_config(zero)


def test_empty_band_list_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="band"):
        load_config(_write(tmp_path, "bands = []\n"))


def test_band_without_name_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[bands]]\ntop_share = 0.01\n[[bands]]\nname = "low"\n')
    with pytest.raises(ConfigError):
        load_config(path)


def test_infinite_int_setting_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_config(overrides=["split.max_link_degree=inf"])


# --- plain data and round trip ----------------------------------------------------------------------------------------


def test_to_dict_and_flat() -> None:
    config = load_config(overrides=["data.as_of=2024-01-31", "features.sector_relative=['cash']"])
    data = config.to_dict()
    assert data["data"] == {"as_of": "2024-01-31", "horizon_months": 12, "validation_end": None,
                            "history_snapshots": 3}
    assert data["features"]["sector_relative"] == ["cash"]
    assert data["bands"] == [{"name": "high", "top_share": 0.01, "min_score": None},
                             {"name": "medium", "top_share": 0.05, "min_score": None},
                             {"name": "low", "top_share": None, "min_score": None}]
    flat = config.flat()
    assert flat["data.as_of"] == "2024-01-31"
    assert flat["pu.strategy"] == "weighted-negative"
    assert flat["model.num_leaves"] == 7
    assert flat["seed"] == 42
    assert flat["bands"] == data["bands"]
    assert "data" not in flat
    assert len(flat) == 2 + 4 + 3 + 4 + 7 + 1 + 1 + len(config.model) + 1


@pytest.mark.parametrize("overrides", [
    [],
    ["data.as_of=2024-01-31", "data.validation_end=2024-12-31", "pu.strategy=spy", "pu.spy_share=0.25",
     "features.sector_relative=['cash', 'turnover']", "features.set=without:network", "model.num_leaves=15",
     "name=round trip", "seed=3", "calibration.method=none"],
])
def test_to_dict_written_as_toml_reloads_equal(tmp_path: Path, overrides: list[str]) -> None:
    config = load_config(overrides=overrides)
    path = _write(tmp_path, _to_toml(config.to_dict()))
    again = load_config(path)
    assert again == config
    assert again.to_dict() == config.to_dict()


def test_round_trip_keeps_min_score_bands(tmp_path: Path) -> None:
    config = ExperimentConfig(bands=(Band("high", min_score=0.4), Band("medium", top_share=0.2), Band("low")),
                              pu=PUConfig(strategy="elkan-noto", folds=5))
    again = load_config(_write(tmp_path, _to_toml(config.to_dict())))
    assert again == config
