"""The small example data set bundled with the package (fictional businesses, contract-conformant)."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

__all__ = ["copy_example_dataset", "example_dataset_path"]


def example_dataset_path() -> Path:
    """Return the folder of the bundled example data set.

    Returns
    -------
    Path
        A folder holding one CSV per contract table and ``dataset.json``.
    """
    return Path(str(files("riskmodel") / "data" / "example"))


def copy_example_dataset(destination: Path) -> Path:
    """Copy the bundled example data set into ``destination`` (created; existing files are replaced).

    Parameters
    ----------
    destination : Path
        Target folder.

    Returns
    -------
    Path
        ``destination``.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for path in example_dataset_path().iterdir():
        if path.suffix in (".csv", ".json"):
            shutil.copy2(path, destination / path.name)
    return destination
