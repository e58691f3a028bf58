"""Shared fixtures: the bundled example data set and helpers to write contract tables as files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.examples import example_dataset_path


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled example data set."""
    target = tmp_path / "example"
    shutil.copytree(example_dataset_path(), target)
    return target


@pytest.fixture
def write_csv() -> Callable[[Path, str, pd.DataFrame], Path]:
    """Write a text frame as TABLE.csv (empty string = missing)."""

    def _write(folder: Path, table: str, frame: pd.DataFrame) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{table}.csv"
        frame.to_csv(path, index=False)
        return path

    return _write
