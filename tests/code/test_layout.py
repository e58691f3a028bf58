"""The package layout the rest of the project relies on."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_features_resolves_inside_this_project() -> None:
    import features

    assert Path(features.__file__).resolve() == REPO / "features" / "__init__.py"
    assert features.PROJECT == "riskmodel"


def test_riskmodel_resolves_inside_this_project() -> None:
    import riskmodel

    assert Path(riskmodel.__file__).resolve() == REPO / "riskmodel" / "__init__.py"


@pytest.mark.parametrize("module", ["riskmodel", "riskmodel.contract", "riskmodel.errors", "riskmodel.examples",
                                    "riskmodel.cli", "features"])
def test_public_modules_declare_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert isinstance(mod.__all__, list)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert missing == []


def test_project_folders_exist() -> None:
    for folder in ("riskmodel", "features", "experiments", "models", "tests", "benchmarks", "docs"):
        assert (REPO / folder).is_dir(), folder
    assert (REPO / "models" / "README.md").is_file()


def test_no_model_files_are_tracked() -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run([git, "ls-files", "models"], cwd=REPO, capture_output=True, text=True, check=True)
    assert listed.stdout.split() in ([], ["models/README.md"])
    ignored = subprocess.run([git, "check-ignore", "-q", "models/champion/model.txt"], cwd=REPO, check=False)
    assert ignored.returncode == 0, "model files under models/ must be git-ignored"
