"""Batch scoring jobs for licensing officers: submitted, followed and collected over HTTP and in a web page.

The job service runs inside ``riskmodel serve --jobs-dir DIR``: :mod:`riskmodel.jobs.web` adds the ``/v1/jobs`` API
and the officers' pages to the service's app, :mod:`riskmodel.jobs.store` records jobs and login sessions in a
database (sqlite by default, any SQLAlchemy URL), and :mod:`riskmodel.jobs.worker` runs each job in a worker process
through the one batch scoring job, :func:`riskmodel.scoring.batch.run_score_job`. See ``docs/officers.md``.

The names below are imported on first use: the command line imports this package, and the job service's
dependencies (SQLAlchemy, Jinja2, python-multipart) come with the ``service`` extra only.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Job", "JobInputError", "JobSettings", "JobSettingsError", "JobStore", "Worker"]

_WHERE = {"Job": "store", "JobStore": "store", "JobInputError": "uploads", "JobSettings": "settings",
          "JobSettingsError": "settings", "Worker": "worker"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
