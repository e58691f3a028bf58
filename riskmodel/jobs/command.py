"""``riskmodel jobs-worker``: run scoring jobs of the job service (what ``riskmodel serve --jobs-dir`` starts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["jobs_worker"]


def jobs_worker(
    jobs_dir: Annotated[Path, typer.Option(file_okay=False, help="Jobs folder (database and job files).")],
    jobs_config: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Jobs TOML file (limits, models, key scopes).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then exit.")] = False,
    parent_pid: Annotated[int | None, typer.Option(hidden=True, help="Stop when this process is gone.")] = None,
) -> None:
    """Run queued scoring jobs of the job service (riskmodel serve --jobs-dir starts these itself)."""
    import threading

    from riskmodel.jobs.settings import JobSettings
    from riskmodel.jobs.worker import Worker, die_with_parent, install_signal_handlers

    if parent_pid is not None:
        die_with_parent()
    settings = JobSettings.load(jobs_dir, jobs_config)
    settings.root.mkdir(parents=True, exist_ok=True)
    worker = Worker(settings, parent_pid=parent_pid)
    stop = threading.Event()
    install_signal_handlers(worker, stop)
    worker.run(stop, once=once)
