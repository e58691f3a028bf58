"""Settings of the job service: where jobs live, their limits, the models offered and the key scopes.

Read, in order of precedence, from ``RISKMODEL_JOBS_*`` environment variables, then a TOML file (``riskmodel serve
--jobs-config``), then the defaults below. The file holds the same names as the fields of :class:`JobSettings` at
its top level, plus two tables::

    max_upload_mb = 200
    workers = 2
    retention_days = 14
    allowed_roots = ["/srv/licensing/exports"]

    [models]            # name shown in the form = MLflow model URI or exported model folder
    champion = "models:/riskmodel@champion"
    "v3 (2024)" = "/srv/models/riskmodel-3"

    [scopes]            # API key id = deployment scope; a key not listed sees only its own jobs
    alice = "glasgow"
    bob = "glasgow"
    carol = "edinburgh"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from riskmodel.errors import RiskmodelError

__all__ = ["ENV_PREFIX", "JobSettings", "JobSettingsError"]

#: Prefix of the environment variables that override the settings (``RISKMODEL_JOBS_MAX_UPLOAD_MB=50``).
ENV_PREFIX = "RISKMODEL_JOBS_"

_MB = 1024 * 1024


class JobSettingsError(RiskmodelError):
    """A setting of the job service has an unusable value."""


@dataclass(frozen=True)
class JobSettings:
    """Configuration of the job service and its workers.

    Attributes
    ----------
    root : Path
        Folder of the job database (sqlite default) and of one sub-folder per job (inputs and outputs).
    db_url : str
        SQLAlchemy URL of the job database; default ``sqlite:///ROOT/jobs.db``. A PostgreSQL URL
        (``postgresql+psycopg://user@host/db``) needs its driver installed.
    models : dict of str to str
        Models an officer may choose, name to model URI or exported folder; the first is the default.
    max_upload_mb : float
        Largest upload (the whole request body) in MiB; larger ones get 413 before they are read.
    max_extracted_mb : float
        Most bytes a zip may expand to (zip bombs).
    max_files : int
        Most files in one upload or zip.
    workers : int
        Worker processes ``riskmodel serve`` starts, hence jobs running at once (0: run ``riskmodel
        jobs-worker`` separately).
    max_pending : int
        Jobs a scope may have queued or running at once; more get 429.
    retention_days : float
        Finished (done, failed, cancelled) jobs older than this are deleted with their files.
    allowed_roots : tuple of Path
        Server folders (and their sub-folders) a job may read data from instead of an upload; none by default.
    scopes : dict of str to str
        API key id to deployment scope. Keys of one scope see each other's jobs; a key not listed is a scope of
        its own.
    chunk_size : int
        Businesses per chunk of a job (the unit of progress and of resuming).
    heartbeat_seconds : float
        How often a running job's worker marks it alive.
    stale_seconds : float
        A job whose worker has not marked it alive for this long is taken as abandoned (sooner when the worker's
        process is known to be gone on this host).
    max_attempts : int
        Runs a job gets when its worker dies under it; then it is marked failed with the reason.
    poll_seconds : float
        How often an idle worker looks for queued jobs.
    session_hours : float
        Lifetime of an officer's login session.
    refresh_seconds : int
        Page refresh interval while a job is queued or running (no JavaScript needed).
    cookie_secure : bool or None
        Mark session cookies ``Secure``; None: when the request came over HTTPS.
    engine : str
        ``local`` (scored in the worker process) or ``dask``.
    scheduler : str or None
        Dask scheduler address with ``engine="dask"`` (default ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster).
    """

    root: Path
    db_url: str = ""
    models: dict[str, str] = field(default_factory=dict)
    max_upload_mb: float = 100.0
    max_extracted_mb: float = 1024.0
    max_files: int = 50
    workers: int = 1
    max_pending: int = 20
    retention_days: float = 30.0
    allowed_roots: tuple[Path, ...] = ()
    scopes: dict[str, str] = field(default_factory=dict)
    chunk_size: int = 1000
    heartbeat_seconds: float = 5.0
    stale_seconds: float = 60.0
    max_attempts: int = 3
    poll_seconds: float = 2.0
    session_hours: float = 8.0
    refresh_seconds: int = 5
    cookie_secure: bool | None = None
    engine: str = "local"
    scheduler: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.root.resolve() / 'jobs.db'}")
        object.__setattr__(self, "allowed_roots", tuple(Path(p).resolve() for p in self.allowed_roots))
        for name in ("max_upload_mb", "max_extracted_mb", "retention_days", "heartbeat_seconds", "stale_seconds",
                     "poll_seconds", "session_hours"):
            if not float(getattr(self, name)) > 0:
                raise JobSettingsError(f"jobs setting {name} must be above 0, got {getattr(self, name)!r}",
                                       setting=name)
        for name in ("max_files", "max_pending", "max_attempts", "chunk_size", "refresh_seconds"):
            if int(getattr(self, name)) < 1:
                raise JobSettingsError(f"jobs setting {name} must be at least 1, got {getattr(self, name)!r}",
                                       setting=name)
        if self.workers < 0:
            raise JobSettingsError(f"jobs setting workers must be 0 or more, got {self.workers}", setting="workers")
        if self.engine not in ("local", "dask"):
            raise JobSettingsError(f"jobs setting engine must be local or dask, got {self.engine!r}",
                                   setting="engine")
        if self.stale_seconds <= 2 * self.heartbeat_seconds:
            raise JobSettingsError("jobs setting stale_seconds must be more than twice heartbeat_seconds",
                                   setting="stale_seconds")

    @property
    def max_upload_bytes(self) -> int:
        """Largest request body of an upload, in bytes."""
        return int(self.max_upload_mb * _MB)

    @property
    def max_extracted_bytes(self) -> int:
        """Most bytes an upload may expand to, in bytes."""
        return int(self.max_extracted_mb * _MB)

    def job_dir(self, job_id: str) -> Path:
        """Folder of one job: ``input/`` (uploaded tables), ``out/`` (the scoring job's files), ``problems.csv``."""
        return self.root / "jobs" / job_id

    def scope_of(self, key_id: str) -> str:
        """Return the deployment scope of an API key id (the key id itself when it has none)."""
        return self.scopes.get(key_id, f"key:{key_id}")

    @classmethod
    def load(cls, root: str | Path, config: str | Path | None = None, *, env: Mapping[str, str] | None = None,
             served_model: str | None = None) -> JobSettings:
        """Read the settings: environment over ``config`` over the defaults.

        Parameters
        ----------
        root : str or Path
            The jobs folder.
        config : str or Path, optional
            TOML file (see the module's documentation).
        env : mapping, optional
            Environment to read ``RISKMODEL_JOBS_*`` from (default ``os.environ``).
        served_model : str, optional
            The model ``riskmodel serve`` loaded: offered as ``served`` when no model is configured.

        Returns
        -------
        JobSettings

        Raises
        ------
        JobSettingsError
            If the file cannot be read or a value has the wrong type.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if config is not None:
            try:
                values.update(tomllib.loads(Path(config).read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise JobSettingsError(f"cannot read the jobs config {config}: {exc}", path=str(config)) from None
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise JobSettingsError(f"unknown jobs setting(s) in {config}: {', '.join(unknown)}", unknown=unknown)
        for name in known:
            text = env.get(ENV_PREFIX + name.upper())
            if text is not None and name not in ("root", "models", "scopes"):
                values[name] = _parse_env(name, text)
        values.pop("root", None)
        if not values.get("models") and served_model is not None:
            values["models"] = {"served": served_model}
        settings = cls(root=Path(root), **_typed(values))
        return settings

    def with_models(self, models: Mapping[str, str]) -> JobSettings:
        """Return a copy offering ``models`` (for tests and embedding)."""
        return replace(self, models=dict(models))


def _parse_env(name: str, text: str) -> Any:
    if name == "allowed_roots":
        return [p for p in text.split(os.pathsep) if p]
    if name == "cookie_secure":
        return None if text.lower() in ("", "auto") else text.lower() in ("1", "true", "yes")
    return text


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """Coerce values read from TOML or the environment to the fields' types."""
    out: dict[str, Any] = {}
    ints = {"max_files", "workers", "max_pending", "chunk_size", "max_attempts", "refresh_seconds"}
    floats = {"max_upload_mb", "max_extracted_mb", "retention_days", "heartbeat_seconds", "stale_seconds",
              "poll_seconds", "session_hours"}
    for name, value in values.items():
        try:
            if name in ints:
                out[name] = int(value)
            elif name in floats:
                out[name] = float(value)
            elif name in ("models", "scopes"):
                if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                    raise ValueError("a table of names to text")
                out[name] = {str(k): v for k, v in value.items()}
            elif name == "allowed_roots":
                out[name] = tuple(Path(str(p)) for p in (value if isinstance(value, list) else [value]))
            elif name == "cookie_secure":
                out[name] = None if value is None else bool(value)
            else:
                out[name] = None if value is None else str(value)
        except (TypeError, ValueError) as exc:
            raise JobSettingsError(f"jobs setting {name} has an unusable value {value!r}: {exc}",
                                   setting=name) from None
    return out
