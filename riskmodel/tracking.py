"""Where experiments are tracked: MLflow, with a local sqlite store at a fixed absolute path by default.

Without ``MLFLOW_TRACKING_URI`` runs go to ``$RISKMODEL_HOME/mlflow.db`` (default ``~/.riskmodel/mlflow.db``) and
their artifacts to ``$RISKMODEL_HOME/mlartifacts``, wherever the command is run from. With ``MLFLOW_TRACKING_URI``
set (a tracking server, a database) MLflow uses that, and the server decides where artifacts live.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from riskmodel.contract import TABLES

__all__ = ["artifact_root", "data_sha256", "experiment_id", "git_commit", "home", "tracking_uri"]


def home() -> Path:
    """Return riskmodel's own folder: ``$RISKMODEL_HOME`` or ``~/.riskmodel`` (absolute)."""
    return Path(os.environ.get("RISKMODEL_HOME") or Path.home() / ".riskmodel").expanduser().resolve()


def _default_uri() -> str:
    return f"sqlite:///{home() / 'mlflow.db'}"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the sqlite store in :func:`home`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or _default_uri()


def artifact_root() -> str | None:
    """Artifact root for new experiments in the default store; None when a tracking server decides."""
    # MLflow's set_tracking_uri exports MLFLOW_TRACKING_URI, so compare with the default rather than test for it.
    if tracking_uri() != _default_uri():
        return None
    return (home() / "mlartifacts").as_uri()


def experiment_id(name: str) -> str:
    """Id of the MLflow experiment ``name``, created (with the fixed artifact root) when new."""
    import mlflow

    # MLflow's download progress bars would interleave with riskmodel's own terminal output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        home().mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(name, artifact_location=artifact_root()))


def git_commit() -> str:
    """Commit of the code that runs (``+dirty`` when the tree has changes), or ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def data_sha256(root: str | Path) -> str:
    """SHA-256 over every contract table file and ``dataset.json`` of a data folder (names and bytes).

    Unlike MLflow's dataset digest, which samples 10,000 rows, every byte counts.
    """
    root = Path(root)
    names = {f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")} | {"dataset.json"}
    digest = hashlib.sha256()
    for path in sorted(p for p in root.iterdir() if p.name in names and p.is_file()):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()
