"""The model artifact: LightGBM's text model, JSON metadata and SHA-256 checksums; never a pickle.

A model folder holds::

    model.txt          LightGBM's native text model
    metadata.json      features, categories, fitted sector statistics, calibration, bands, versions, metrics
    checksums.sha256   SHA-256 of both files (``sha256sum -c`` format)

:func:`load_bundle` verifies every checksum before it reads a byte of model, and refuses a folder that was changed.
:class:`ModelBundle` is the inference core every adapter (CLI, pyfunc, HTTP) goes through: log-odds, calibrated
risk score, risk band and exact SHAP contributions from LightGBM's own ``pred_contrib``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.peers import QuantileGrid, SectorRelative
from riskmodel.errors import RiskmodelError

__all__ = ["FORMAT_VERSION", "ModelBundle", "ModelIntegrityError", "load_bundle", "peers_from_dict", "peers_to_dict",
           "sha256_file"]

FORMAT_VERSION = 1
MODEL_FILE, METADATA_FILE, CHECKSUM_FILE = "model.txt", "metadata.json", "checksums.sha256"
CARD_FILE = "model_card.md"  # documentation, not part of the verified model


class ModelIntegrityError(RiskmodelError):
    """A model folder is incomplete, or a file in it does not match its recorded SHA-256."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _key(value: Any) -> Any:
    """Return a group key as JSON can hold it (numpy scalars to Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def peers_to_dict(peers: SectorRelative) -> dict[str, Any]:
    """Return the fitted state of a :class:`SectorRelative` as plain JSON data."""

    def grid(g: QuantileGrid) -> list[list[float]]:
        return [g.values.tolist(), g.share_below.tolist(), g.share_at_or_below.tolist()]

    return {
        "params": {"columns": list(peers.columns_), "group_column": peers.group_column,
                   "min_group_size": int(peers.min_group_size), "n_quantiles": int(peers.n_quantiles)},
        "feature_names_in": [str(c) for c in peers.feature_names_in_],
        "global_medians": {c: float(v) for c, v in peers.global_medians_.items()},
        "group_medians": [[_key(g), {c: (None if pd.isna(v) else float(v)) for c, v in row.items()}]
                          for g, row in peers.group_medians_.iterrows()],
        "group_sizes": [[_key(g), int(n)] for g, n in peers.group_sizes_.items()],
        "global_quantiles": {c: grid(q) for c, q in peers.global_quantiles_.items()},
        "group_quantiles": {c: [[_key(g), grid(q)] for g, q in by_group.items()]
                            for c, by_group in peers.group_quantiles_.items()},
    }


def peers_from_dict(state: Mapping[str, Any]) -> SectorRelative:
    """Rebuild a fitted :class:`SectorRelative` from :func:`peers_to_dict` output (no refitting)."""

    def grid(g: list[list[float]]) -> QuantileGrid:
        return QuantileGrid(*(np.asarray(part, dtype="float64") for part in g))

    peers = SectorRelative(**state["params"])
    columns = list(state["params"]["columns"])
    peers.columns_ = columns
    peers.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    peers.n_features_in_ = len(peers.feature_names_in_)
    peers.global_medians_ = pd.Series(state["global_medians"], dtype="float64").reindex(columns)
    rows = {g: values for g, values in state["group_medians"]}
    peers.group_medians_ = pd.DataFrame.from_dict(rows, orient="index", dtype="float64").reindex(columns=columns)
    peers.group_sizes_ = pd.Series({g: n for g, n in state["group_sizes"]}, dtype="int64")
    peers.global_quantiles_ = {c: grid(q) for c, q in state["global_quantiles"].items()}
    peers.group_quantiles_ = {c: {g: grid(q) for g, q in pairs} for c, pairs in state["group_quantiles"].items()}
    return peers


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _finite(value: Any) -> Any:
    """JSON has no infinity: write it as a string that :func:`_unfinite` reads back."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class ModelBundle:
    """A trained model ready to score: booster, fitted transformers, calibration and bands.

    Parameters
    ----------
    booster : lightgbm.Booster
        The trained trees.
    metadata : dict
        See :meth:`save`; must hold ``feature_names``, ``calibration`` and ``bands``.
    model_card : str, optional
        The model card (Markdown) written at training time, shipped beside the model files.
    """

    def __init__(self, booster: lgb.Booster, metadata: Mapping[str, Any], model_card: str | None = None) -> None:
        self.booster = booster
        self.metadata = dict(metadata)
        self.model_card = model_card
        peers = self.metadata.get("sector_relative")
        self.peers = peers_from_dict(peers) if peers else None

    @property
    def feature_names(self) -> list[str]:
        """Input features, in order (names from the feature catalogue)."""
        return list(self.metadata["feature_names"])

    @property
    def model_features(self) -> list[str]:
        """Columns the trees see: the input features plus fitted sector comparisons."""
        return list(self.booster.feature_name())

    @property
    def bands(self) -> list[tuple[str, float, float]]:
        """``(name, min_log_odds, min_score)`` from the highest band down."""
        return [(b["name"], float(b["min_log_odds"]), float(b["min_score"])) for b in self.metadata["bands"]]

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the frame the trees see: features in the trained order plus the fitted sector comparisons.

        Raises
        ------
        RiskmodelError
            If a feature the model needs is missing from ``X``.
        """
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise RiskmodelError(f"the feature frame lacks {len(missing)} feature(s) the model needs: "
                                 f"{', '.join(missing[:5])}", missing=missing)
        frame = X[self.feature_names].astype("float64")
        return self.peers.transform(frame) if self.peers is not None else frame

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """Raw model output in log-odds; the ranking order."""
        return np.asarray(self.booster.predict(self.transform(X), raw_score=True), dtype="float64")

    def calibrate(self, log_odds: np.ndarray) -> np.ndarray:
        """Calibrated probability of each log-odds (isotonic map fitted on held-out data)."""
        cal = self.metadata["calibration"]
        if cal["method"] == "none":
            return 1.0 / (1.0 + np.exp(-log_odds))
        return np.interp(log_odds, np.asarray(cal["x"], dtype="float64"), np.asarray(cal["y"], dtype="float64"))

    def band(self, log_odds: np.ndarray) -> np.ndarray:
        """Risk band name of each log-odds."""
        out = np.full(len(log_odds), self.bands[-1][0], dtype=object)
        for name, threshold, _ in reversed(self.bands[:-1]):
            out[log_odds >= threshold] = name
        return out

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Score a feature frame.

        Returns
        -------
        DataFrame
            ``log_odds``, ``risk_score`` (calibrated probability) and ``risk_band``, indexed like ``X``.
        """
        raw = self.log_odds(X)
        return pd.DataFrame({"log_odds": raw, "risk_score": self.calibrate(raw), "risk_band": self.band(raw)},
                            index=X.index)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP values in log-odds from LightGBM's ``pred_contrib``; columns = model features + ``bias``.

        Each row sums to the business's log-odds.
        """
        values = self.booster.predict(self.transform(X), pred_contrib=True)
        return pd.DataFrame(np.asarray(values), index=X.index, columns=[*self.model_features, "bias"])

    def save(self, folder: str | Path) -> Path:
        """Write ``model.txt``, ``metadata.json`` and ``checksums.sha256`` atomically into ``folder``.

        Returns
        -------
        Path
            The folder.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".writing-"))
        model_path = tmp / MODEL_FILE
        self.booster.save_model(model_path, num_iteration=-1)
        meta = {**self.metadata, "format_version": FORMAT_VERSION, "files": {MODEL_FILE: sha256_file(model_path)}}
        (tmp / METADATA_FILE).write_text(json.dumps(_finite(meta), indent=1, sort_keys=True, default=_json_default),
                                         encoding="utf-8")
        sums = "".join(f"{sha256_file(tmp / name)}  {name}\n" for name in (MODEL_FILE, METADATA_FILE))
        (tmp / CHECKSUM_FILE).write_text(sums, encoding="utf-8")
        names = [MODEL_FILE, METADATA_FILE, CHECKSUM_FILE]
        if self.model_card:
            (tmp / CARD_FILE).write_text(self.model_card, encoding="utf-8")
            names.append(CARD_FILE)
        for name in names:
            os.replace(tmp / name, folder / name)
        tmp.rmdir()
        return folder


def _unfinite(value: Any) -> Any:
    if value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, dict):
        return {k: _unfinite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unfinite(v) for v in value]
    return value


def load_bundle(folder: str | Path) -> ModelBundle:
    """Load a model folder after verifying every checksum.

    Raises
    ------
    ModelIntegrityError
        If a file is missing or its SHA-256 differs from the recorded one.
    """
    folder = Path(folder)
    missing = [n for n in (MODEL_FILE, METADATA_FILE, CHECKSUM_FILE) if not (folder / n).is_file()]
    if missing:
        raise ModelIntegrityError(f"{folder} is not a riskmodel model folder: missing {', '.join(missing)}",
                                  folder=str(folder), missing=missing)
    expected: dict[str, str] = {}
    for line in (folder / CHECKSUM_FILE).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            expected[name.strip()] = digest.strip()
    for name in (MODEL_FILE, METADATA_FILE):
        actual = sha256_file(folder / name)
        if expected.get(name) != actual:
            raise ModelIntegrityError(f"{folder / name} does not match its recorded SHA-256: the model was changed "
                                      "after training and will not be used", file=str(folder / name),
                                      expected=expected.get(name), actual=actual)
    metadata = _unfinite(json.loads((folder / METADATA_FILE).read_text(encoding="utf-8")))
    if metadata.get("files", {}).get(MODEL_FILE) != expected[MODEL_FILE]:
        raise ModelIntegrityError("metadata.json and checksums.sha256 disagree on the model file",
                                  folder=str(folder))
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelIntegrityError(f"model format {metadata.get('format_version')} is not supported (expected "
                                  f"{FORMAT_VERSION})", folder=str(folder))
    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    card = folder / CARD_FILE
    return ModelBundle(booster, metadata, card.read_text(encoding="utf-8") if card.is_file() else None)
