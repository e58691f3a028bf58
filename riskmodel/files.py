"""Output files written whole or not at all: a temporary name beside the output, renamed into place when complete.

A file under its final name is therefore always complete, whenever the writer stops (killed, or unable to write).
A write that fails with a system error (disk full, no permission, a path under a file) raises
:class:`~riskmodel.errors.OutputWriteError` naming the output, not the temporary file, and leaves no temporary
file behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from riskmodel.errors import OutputWriteError

__all__ = ["AtomicFile", "atomic_write"]


class AtomicFile:
    """A temporary path next to ``path``, renamed to ``path`` when the block ends without an error.

    Parameters
    ----------
    path : Path
        The output.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # A name of this writer's own: on a cluster, a task may be run twice at once (a worker thought lost).
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind: object, error: object, _: object) -> None:
        if kind is None:
            try:
                os.replace(self.tmp, self.path)
            except OSError as exc:
                error = exc
        if isinstance(error, OSError) or kind is not None:
            with contextlib.suppress(OSError):  # a failed clean-up must not hide why the write failed
                self.tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):  # disk full, no permission: name the output, not the temporary file
            raise OutputWriteError.of(self.path, error) from error


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` with a temporary path beside ``path``, then rename it to ``path`` (see :class:`AtomicFile`).

    Raises
    ------
    riskmodel.errors.OutputWriteError
        If the file cannot be written or renamed (nothing is left under either name).
    """
    with AtomicFile(path) as tmp:
        write(tmp)
