"""The model registry: load a model by URI or folder, promote a challenger, export a version for offline use.

A model is named by an MLflow URI (``models:/riskmodel@champion``, ``models:/riskmodel/3``, ``runs:/<id>/model``)
or by an exported folder (``models/riskmodel-3``). Either way, :func:`load_model` verifies the checksums of the
model folder before use.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from riskmodel.artifact import ModelBundle, load_bundle
from riskmodel.errors import RiskmodelError, writing
from riskmodel.tracking import connect, tracking_uri

__all__ = ["MODEL_NAME", "PromotionResult", "RegistryError", "export_model", "load_model", "promote",
           "resolve_version"]

log = logging.getLogger(__name__)

MODEL_NAME = "riskmodel"


class RegistryError(RiskmodelError):
    """A model cannot be found in the registry, or a registry operation is refused."""


def _mlflow() -> Any:
    import mlflow

    connect()  # the store's tables created under a lock (another process may be opening a new store too)
    return mlflow


def _download(uri: str, target: Path) -> Path:
    mlflow = _mlflow()
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target))
    except Exception as exc:  # MLflow raises several types for a missing model or alias
        raise RegistryError(f"cannot fetch {uri} from {tracking_uri()}: {exc}", uri=uri) from None
    bundle = Path(local) / "artifacts" / "bundle"
    if not bundle.is_dir():
        raise RegistryError(f"{uri} is not a riskmodel model (no artifacts/bundle folder)", uri=uri)
    return bundle


def load_model(model: str | Path) -> ModelBundle:
    """Load a verified model from an MLflow URI or an exported folder.

    Raises
    ------
    RegistryError
        If the URI does not resolve.
    riskmodel.artifact.ModelIntegrityError
        If a file of the model does not match its checksum.
    """
    text = str(model)
    if "://" not in text and not text.startswith("models:/"):
        return load_bundle(Path(text))
    with tempfile.TemporaryDirectory() as tmp:
        return load_bundle(_download(text, Path(tmp)))


def resolve_version(model: str | Path) -> str:
    """Return the version a model reference names: its registry version, or the folder name."""
    text = str(model)
    if text.startswith(f"models:/{MODEL_NAME}"):
        return str(_registered(text).version)
    return Path(text).name if "://" not in text else text


def _registered(model: str) -> Any:
    """Return the model version an alias, a version number or a ``models:/riskmodel...`` URI names."""
    ref = model.removeprefix(f"models:/{MODEL_NAME}").lstrip("@/") if model.startswith("models:/") else model
    version = _version_of(ref)
    if version is None:
        raise RegistryError(f"no version of {MODEL_NAME} is called {ref!r}", model=model)
    return version


def _version_of(alias_or_version: str) -> Any:
    client = _mlflow().MlflowClient()
    try:
        if alias_or_version.isdigit():
            return client.get_model_version(MODEL_NAME, alias_or_version)
        return client.get_model_version_by_alias(MODEL_NAME, alias_or_version)
    except Exception:
        return None


def export_model(model: str, out: str | Path = "models") -> Path:
    """Write a registered version to ``<out>/riskmodel-<version>/`` (verified before and after copying).

    Parameters
    ----------
    model : str
        Alias (``champion``), version number or ``models:/`` URI.
    out : str or Path
        Parent folder (default ``models``).

    Returns
    -------
    Path
        The exported folder.

    Raises
    ------
    riskmodel.errors.OutputWriteError
        If the folder cannot be written (no space left, no permission); no folder with the target's name is left
        half-written.
    """
    version = _registered(model)
    target = Path(out) / f"{MODEL_NAME}-{version.version}"
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = _download(f"models:/{MODEL_NAME}/{version.version}", Path(tmp))
        load_bundle(bundle_dir)
        with writing(target):  # disk full, no permission: an error naming the folder, not a crash
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copied beside the target and renamed into place: a folder with the target's name is a whole export.
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
            try:
                for item in bundle_dir.iterdir():
                    copy = shutil.copytree if item.is_dir() else shutil.copy2
                    copy(item, staging / item.name)
                if target.exists():
                    shutil.rmtree(target)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    load_bundle(target)
    return target


@dataclass(frozen=True)
class PromotionResult:
    """The outcome of a promotion: both models' measures on the same businesses and the decision."""

    challenger_version: str
    champion_version: str | None
    challenger_pr_auc: float
    champion_pr_auc: float | None
    promoted: bool
    forced: bool
    as_of: str
    businesses: int
    positives: int


def promote(data_dir: str | Path, *, force: bool = False, as_of: dt.date | None = None) -> PromotionResult:
    """Move ``champion`` to the challenger when it ranks at least as well on the same validation data.

    Both models score the businesses unlabelled at ``as_of`` (default: the later of the two training dates), and
    PR-AUC is measured against the positives labelled after it. With ``force`` the challenger is promoted anyway
    and the override is recorded on the model version.

    Raises
    ------
    RegistryError
        If there is no challenger, or no positive label after ``as_of`` to compare on (unless ``force``).
    """
    import features
    from riskmodel.contract import load_dataset
    from riskmodel.training.split import UNLABELLED, label_status, new_positives

    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    challenger = _version_of("challenger")
    if challenger is None:
        raise RegistryError("there is no challenger to promote: train a model first")
    champion = _version_of("champion")
    models = {"challenger": load_model(f"models:/{MODEL_NAME}/{challenger.version}")}
    if champion is not None:
        models["champion"] = load_model(f"models:/{MODEL_NAME}/{champion.version}")
    dataset = load_dataset(data_dir)
    dates = [dt.date.fromisoformat(m.metadata["train_as_of"]) for m in models.values()]
    when = as_of or max(dates)
    end = dataset.extract_date or when
    names = sorted({n for m in models.values() for n in m.feature_names})
    X = features.build(dataset, when, names)
    X = X[(label_status(dataset, X.index, when) == UNLABELLED).to_numpy()]
    y = new_positives(dataset, X.index, when, end).to_numpy()
    scores: dict[str, float] = {}
    if 0 < y.sum() < len(y):
        scores = {k: float(average_precision_score(y, m.log_odds(X))) for k, m in models.items()}
    elif not force:
        raise RegistryError(f"no positive label after {when} to compare the models on; use --force to promote "
                            "anyway", as_of=when.isoformat())
    better = champion is None or (bool(scores) and scores["challenger"] >= scores["champion"])
    promoted = better or force
    if promoted:
        client.set_registered_model_alias(MODEL_NAME, "champion", challenger.version)
        tags = {"promoted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "promotion_forced": str(force and not better).lower(), "promotion_as_of": when.isoformat(),
                "promotion_pr_auc": f"{scores.get('challenger', np.nan):.4f}",
                "replaced_version": champion.version if champion is not None else ""}
        for key, value in tags.items():
            client.set_model_version_tag(MODEL_NAME, challenger.version, key, value)
    return PromotionResult(str(challenger.version), str(champion.version) if champion is not None else None,
                           scores.get("challenger", float("nan")), scores.get("champion"), promoted,
                           force and not better, when.isoformat(), len(y), int(y.sum()))
