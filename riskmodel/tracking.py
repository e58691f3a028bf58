"""Where experiments are tracked: MLflow, with a local sqlite store at a fixed absolute path by default.

Without ``MLFLOW_TRACKING_URI`` runs go to ``$RISKMODEL_HOME/mlflow.db`` (default ``~/.riskmodel/mlflow.db``) and
their artifacts to ``$RISKMODEL_HOME/mlartifacts``, wherever the command is run from. With ``MLFLOW_TRACKING_URI``
set (a tracking server, a database) MLflow uses that, and the server decides where artifacts live.

Several commands may use one sqlite store at once (two ``riskmodel train`` started together). MLflow creates and
migrates a store's tables when a process first opens it, without a lock between processes: two processes doing so
at once fail ("duplicate column name", "Online migration expected to match one row"). :func:`connect` therefore
opens the store under an exclusive lock on a file beside the database (``mlflow.db.lock``), and experiments are
created under the same lock. After that, sqlite's own locking serialises the writes (MLflow waits up to 20 s for a
busy database).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskmodel.contract import TABLES

__all__ = ["artifact_root", "connect", "data_sha256", "experiment_id", "git_commit", "home", "store_lock",
           "tracking_uri"]


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


def _sqlite_file(uri: str) -> Path | None:
    """Return the database file of a ``sqlite:///`` URI (None for any other store, or an in-memory database)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def store_lock(uri: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock, between processes, on a sqlite store (default: :func:`tracking_uri`).

    The lock is ``flock`` on ``<database>.lock`` beside the database; it is released when the block ends or the
    process dies. Stores other than a sqlite file (a tracking server, another database) are not locked: their
    server or database serialises what needs it.
    """
    db = _sqlite_file(uri or tracking_uri())
    if db is None or os.name == "nt":  # no flock on Windows; there, concurrent first use is not protected
        yield
        return
    import fcntl

    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


#: sqlite stores this process has opened (their tables created) under the lock.
_OPENED: set[str] = set()


def connect() -> str:
    """Point MLflow (tracking and registry) at :func:`tracking_uri`, with the store's tables created; return it.

    A sqlite store is opened under :func:`store_lock`, so that processes using a new store at once do not create
    or migrate its tables at the same time (see the module note).
    """
    import mlflow

    # MLflow's download progress bars would interleave with riskmodel's own terminal output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    db = _sqlite_file(uri)
    # Once per process and file: the tables then exist (unless the file was removed since).
    if db is not None and (uri not in _OPENED or not db.exists()):
        with store_lock(uri):
            # Opening each store creates or migrates its tables; two cheap reads open both.
            client = mlflow.MlflowClient(uri, uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        _OPENED.add(uri)
    return uri


def experiment_id(name: str) -> str:
    """Id of the MLflow experiment ``name``, created (with the fixed artifact root) when new."""
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = connect()
    with store_lock(uri):  # two processes creating the same new experiment: one creates it, the other finds it
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(mlflow.create_experiment(name, artifact_location=artifact_root()))
        except MlflowException:
            # Created meanwhile by a process of a store that is not locked here (a tracking server).
            found = mlflow.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)


def git_commit() -> str:
    """Commit of the code that runs (``+dirty`` when the tree has changes), or ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git")  # resolved once, so the runs below start this program and not a bare name
    if git is None:
        return "unknown"
    try:
        commit = subprocess.run(  # noqa: S603 -- fixed argv, no shell, git resolved above
            [git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 -- fixed argv, no shell, git resolved above
            [git, "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True,
            timeout=10, check=True).stdout.strip()
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
