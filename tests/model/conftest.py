"""Model-layer fixtures: one synthetic world, a private MLflow store and one trained model for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support_model import FAST

from riskmodel.config import load_config
from riskmodel.synth import SynthConfig, generate
from riskmodel.training.track import TrainResult, train


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world") / "synth"
    generate(folder, SynthConfig(businesses=10_000, seed=5))
    return folder


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("riskmodel-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RISKMODEL_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        yield home


@pytest.fixture(scope="session")
def trained(world: Path, store: Path) -> TrainResult:
    return train(world, load_config(overrides=[*FAST, "name=test"]))


@pytest.fixture(scope="session")
def model_dir(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model exported to a folder (what batch jobs and workers load)."""
    from riskmodel.registry import export_model

    return export_model(str(trained.model_version), tmp_path_factory.mktemp("models"))
