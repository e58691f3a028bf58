"""Experiment configurations: the TOML files in ``experiments/`` that data scientists copy and edit.

A configuration is read from TOML into frozen dataclasses; every key is checked, so a typo is an error that names
the key and the keys allowed, never a silently ignored setting. Values can be overridden from the command line in
one way only, ``--set section.key=value``, where ``value`` is read as a TOML value (``--set model.num_leaves=15``,
``--set pu.strategy=elkan-noto``, ``--set data.as_of=2024-06-30``); a value that is not valid TOML is taken as a
string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from riskmodel.errors import RiskmodelError

__all__ = [
    "DEFAULT_CONFIG",
    "Band",
    "CalibrationConfig",
    "ConfigError",
    "DataConfig",
    "ExperimentConfig",
    "FeatureConfig",
    "PUConfig",
    "SearchConfig",
    "SplitConfig",
    "load_config",
]

#: The default experiment, used when no ``--config`` is given.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "experiments" / "default.toml"

PU_STRATEGIES = ("weighted-negative", "elkan-noto", "spy")


class ConfigError(RiskmodelError):
    """An experiment configuration is invalid (unknown key, wrong type, value out of range)."""


@dataclass(frozen=True)
class DataConfig:
    """Dates of training and validation.

    Parameters
    ----------
    as_of : date or None
        Training date: features and labels use only rows dated on or before it. None: the extract date minus
        ``horizon_months``.
    horizon_months : int
        Length of the validation window after ``as_of`` in which newly labelled businesses are the positives.
    validation_end : date or None
        End of the validation window; None: ``as_of`` plus the horizon, capped at the extract date.
    history_snapshots : int
        Earlier snapshots added to training, each ``horizon_months`` apart before ``as_of``: features as of the
        snapshot, target = first positive label within the following horizon, businesses unlabelled at the
        snapshot only. They teach what businesses looked like *before* they were detected, which is how the model
        is used; 0 trains on the training date alone.
    """

    as_of: dt.date | None = None
    horizon_months: int = 12
    validation_end: dt.date | None = None
    history_snapshots: int = 3


@dataclass(frozen=True)
class FeatureConfig:
    """Features and their fitted transformers.

    Parameters
    ----------
    set : str
        Named feature set of :func:`features.feature_set` (``all``, ``family:x``, ``without:x``).
    sector_relative : list of str
        Features also compared with their sector (ratio to the sector median and percentile within the sector),
        learnt on the training frame by :class:`features.peers.SectorRelative`.
    categorical : list of str
        Features LightGBM treats as categories (codes, not quantities).
    """

    set: str = "all"
    sector_relative: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ("sic_division",)


@dataclass(frozen=True)
class SplitConfig:
    """How unlabelled network components are shared between training, tuning and evaluation.

    Parameters
    ----------
    tuning_share, evaluation_share : float
        Shares of the network components with no label at the training date that go to the tuning set (early
        stopping, calibration, band thresholds) and to the evaluation set (reported metrics only). The rest, and
        every component holding a label known at the training date, is training data.
    early_stopping_share : float
        Share of the training components held out (from training labels) to stop boosting early.
    max_link_degree : int
        Officers and owners linked to more businesses than this (formation agents, nominee services) do not join
        components; they would otherwise chain unrelated businesses into one.
    """

    tuning_share: float = 0.3
    evaluation_share: float = 0.3
    early_stopping_share: float = 0.2
    max_link_degree: int = 50


@dataclass(frozen=True)
class PUConfig:
    """Positive-unlabelled strategy.

    Parameters
    ----------
    strategy : str
        ``weighted-negative`` (unlabelled as negative, weighted), ``elkan-noto`` (Elkan & Noto 2008 weighting from
        an estimated labelling frequency) or ``spy`` (reliable negatives below the scores of spy positives).
    unlabelled_weight : float
        Weight of an unlabelled business used as a negative.
    known_negative_weight : float
        Weight of a business investigated and found clean (label 0): a reliable negative.
    positive_weight : float
        Weight of a known positive.
    spy_share : float
        ``spy``: share of positives hidden among the unlabelled.
    spy_quantile : float
        ``spy``: unlabelled businesses scoring below this quantile of the spies' scores are reliable negatives.
    folds : int
        Out-of-fold folds for the first-stage classifier of ``elkan-noto`` and ``spy``.
    """

    strategy: str = "weighted-negative"
    unlabelled_weight: float = 1.0
    known_negative_weight: float = 1.0
    positive_weight: float = 5.0
    spy_share: float = 0.15
    spy_quantile: float = 0.1
    folds: int = 3


@dataclass(frozen=True)
class CalibrationConfig:
    """Calibration of scores into probabilities.

    Parameters
    ----------
    method : str
        ``isotonic`` (fitted on the tuning set) or ``none`` (the model's own probability; for experiments only).
    """

    method: str = "isotonic"


@dataclass(frozen=True)
class SearchConfig:
    """Optional hyper-parameter search (optuna, ``pip install 'riskmodel[search]'``).

    Parameters
    ----------
    trials : int
        Number of optuna trials; 0 turns the search off. Each trial is an MLflow run nested in the training run,
        scored on the early-stopping hold-out; the best parameters replace those of ``[model]``.
    """

    trials: int = 0


@dataclass(frozen=True)
class Band:
    """A risk band: the businesses whose calibrated score reaches a threshold.

    Exactly one of ``top_share`` and ``min_score`` is set. ``top_share`` fixes the threshold at training time to
    the score above which that share of tuning-set businesses lies (review capacity); ``min_score`` fixes it as a
    calibrated probability. Bands are listed from highest to lowest; the last band takes everything else.
    """

    name: str
    top_share: float | None = None
    min_score: float | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: what ``riskmodel train`` reads from ``experiments/<name>.toml``.

    Parameters
    ----------
    name : str
        MLflow experiment name.
    seed : int
        Seed of every random choice (splits, subsampling, LightGBM); same data, config and seed give the same model.
    data, features, split, pu, calibration, search : sections
        See their classes.
    model : dict
        LightGBM parameters (scikit-learn API names), plus ``early_stopping_rounds``.
    bands : list of Band
        Risk bands, highest first.
    """

    name: str = "riskmodel"
    seed: int = 42
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    pu: PUConfig = field(default_factory=PUConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    model: Mapping[str, Any] = field(default_factory=dict)
    bands: tuple[Band, ...] = (Band("high", top_share=0.01), Band("medium", top_share=0.05), Band("low"))

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as plain data (dates as ISO strings), e.g. to log or to write as TOML."""

        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, Mapping):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if isinstance(value, dt.date):
                return value.isoformat()
            return value

        out: dict[str, Any] = plain(self)
        return out

    def flat(self) -> dict[str, Any]:
        """Return ``section.key -> value`` pairs (MLflow parameters)."""
        out: dict[str, Any] = {}
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                out.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                out[key] = value
        return out


_SECTIONS: dict[str, type] = {"data": DataConfig, "features": FeatureConfig, "split": SplitConfig, "pu": PUConfig,
                              "calibration": CalibrationConfig, "search": SearchConfig}


def _convert(value: Any, annotation: Any, where: str) -> Any:
    text = getattr(annotation, "__name__", str(annotation))
    kind = next((k for k in ("date", "tuple", "float", "int", "str") if k in text), "any")
    if isinstance(value, dt.datetime):
        value = value.date()
    if kind == "date":
        if value in ("", None):
            return None
        try:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{where} must be a date YYYY-MM-DD or empty, got {value!r}", key=where,
                              value=value) from None
    if kind == "tuple":
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}", key=where, value=value)
        return tuple(str(v) for v in value)
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}", key=where, value=value)
        if kind == "int" and float(value) != int(value):
            raise ConfigError(f"{where} must be a whole number, got {value!r}", key=where, value=value)
        return int(value) if kind == "int" else float(value)
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"{where} must be text, got {value!r}", key=where, value=value)
    return value


def _section(cls: type, raw: Mapping[str, Any], where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{where}] must be a table", key=where, value=raw)
    hints = get_type_hints(cls)
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key {where}.{unknown[0]}; allowed: {', '.join(allowed)}",
                          key=f"{where}.{unknown[0]}", allowed=allowed)
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    absent = [name for name in required if name not in raw]
    if absent:
        raise ConfigError(f"{where}.{absent[0]} is required", key=f"{where}.{absent[0]}", allowed=allowed)
    return cls(**{k: _convert(v, hints[k], f"{where}.{k}") for k, v in raw.items()})


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"an override must look like section.key=value, got {item!r}", override=item)
    parts = key.strip().split(".")
    target = raw
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{key} does not name a setting", override=item)
    target[parts[-1]] = _parse_value(value.strip())


def _check(config: ExperimentConfig) -> ExperimentConfig:
    pu, split = config.pu, config.split
    if pu.strategy not in PU_STRATEGIES:
        raise ConfigError(f"pu.strategy must be one of {', '.join(PU_STRATEGIES)}, got {pu.strategy!r}",
                          key="pu.strategy", value=pu.strategy, allowed=list(PU_STRATEGIES))
    if config.calibration.method not in ("isotonic", "none"):
        raise ConfigError(f"calibration.method must be isotonic or none, got {config.calibration.method!r}",
                          key="calibration.method", value=config.calibration.method)
    for key, value in (("split.tuning_share", split.tuning_share), ("split.evaluation_share", split.evaluation_share),
                       ("split.early_stopping_share", split.early_stopping_share),
                       ("pu.spy_share", pu.spy_share), ("pu.spy_quantile", pu.spy_quantile)):
        if not 0 < value < 1:
            raise ConfigError(f"{key} must be between 0 and 1, got {value}", key=key, value=value)
    for key, value in (("pu.unlabelled_weight", pu.unlabelled_weight),
                       ("pu.known_negative_weight", pu.known_negative_weight),
                       ("pu.positive_weight", pu.positive_weight)):
        if value <= 0:
            raise ConfigError(f"{key} must be positive, got {value}", key=key, value=value)
    if split.tuning_share + split.evaluation_share >= 1:
        raise ConfigError("split.tuning_share + split.evaluation_share must leave a share for training",
                          key="split", value=[split.tuning_share, split.evaluation_share])
    if pu.folds < 2:
        raise ConfigError(f"pu.folds must be at least 2, got {pu.folds}", key="pu.folds", value=pu.folds)
    if config.search.trials < 0:
        raise ConfigError("search.trials cannot be negative", key="search.trials", value=config.search.trials)
    if config.data.history_snapshots < 0:
        raise ConfigError("data.history_snapshots cannot be negative", key="data.history_snapshots",
                          value=config.data.history_snapshots)
    if config.data.horizon_months < 1:
        raise ConfigError("data.horizon_months must be at least 1", key="data.horizon_months",
                          value=config.data.horizon_months)
    if not config.bands or any((b.top_share is None) == (b.min_score is None) for b in config.bands[:-1]):
        raise ConfigError("every band but the last needs exactly one of top_share or min_score", key="bands")
    limits = [b.top_share if b.top_share is not None else b.min_score for b in config.bands[:-1]]
    shares = [b.top_share for b in config.bands[:-1] if b.top_share is not None]
    if shares != sorted(shares) or any(not 0 < float(x) <= 1 for x in limits if x is not None):
        raise ConfigError("band limits must lie in (0, 1] and top_share grow from the highest band down",
                          key="bands", value=limits)
    return config


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment configuration and apply ``section.key=value`` overrides.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file; default :data:`DEFAULT_CONFIG`.
    overrides : sequence of str
        ``section.key=value`` items, applied in order after the file (``value`` is a TOML value or plain text).

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        If the file cannot be read, a key is unknown or a value is invalid.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the experiment config {path}: {exc.strerror}", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", path=str(path)) from None
    for item in overrides:
        _apply_override(raw, item)
    allowed = [f.name for f in dataclasses.fields(ExperimentConfig)]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]}; allowed: {', '.join(allowed)}", key=unknown[0], allowed=allowed)
    kwargs: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        if name in raw:
            kwargs[name] = _section(cls, raw[name], name)
    if "model" in raw:
        if not isinstance(raw["model"], Mapping):
            raise ConfigError("[model] must be a table of LightGBM parameters", key="model")
        kwargs["model"] = dict(raw["model"])
    if "bands" in raw:
        if not isinstance(raw["bands"], list):
            raise ConfigError("bands must be an array of tables ([[bands]])", key="bands")
        kwargs["bands"] = tuple(_section(Band, b, f"bands[{i}]") for i, b in enumerate(raw["bands"]))
    for key in ("name", "seed"):
        if key in raw:
            kwargs[key] = _convert(raw[key], str if key == "name" else int, key)
    return _check(ExperimentConfig(**kwargs))
