"""Exceptions raised by riskmodel.

Every error the library raises on purpose derives from :class:`RiskmodelError` and carries its evidence as
structured fields, so that the CLI, the HTTP service and callers can report it without parsing messages.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["DataContractError", "OutputWriteError", "RiskmodelError", "writing"]


class RiskmodelError(Exception):
    """Base class of every error riskmodel raises on purpose.

    Parameters
    ----------
    message : str
        A sentence a user can act on.
    **evidence : Any
        Structured facts behind the message (paths, counts, offending values).
    """

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.message = message
        self.evidence: dict[str, Any] = dict(evidence)

    def __str__(self) -> str:
        return self.message


class DataContractError(RiskmodelError):
    """A data set cannot be used because whole tables break the data contract.

    Row-level problems never raise: the rows are quarantined instead. This error is for problems that make a
    table unusable (missing required table or column, unreadable file).

    Parameters
    ----------
    message : str
        Summary sentence.
    problems : sequence of mapping
        One mapping per table-level problem with the keys ``table``, ``column``, ``rule`` and ``message``.
    """

    def __init__(self, message: str, problems: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(message, problems=[dict(p) for p in problems])
        self.problems: list[dict[str, Any]] = [dict(p) for p in problems]

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  - {p['table']}: {p['message']}" for p in self.problems)
        return "\n".join(lines)


#: What a user is told for the system errors an output write usually meets.
_CAUSES: dict[int, str] = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file would pass the largest size allowed (a file size limit of the process or file system)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.EEXIST: "a file is where a folder should be",
    errno.EIO: "input/output error (the device may be failing)",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
}


class OutputWriteError(RiskmodelError):
    """An output could not be written: no space left, no permission, a path that is not a folder.

    Build one with :meth:`of`. The evidence holds ``path`` (what was being written), ``errno`` and ``errno_name``
    (the system's error, e.g. ``ENOSPC``; None when the system gave none), ``cause`` (the words of the message)
    and ``detail`` (the system's own message).
    """

    @classmethod
    def of(cls, path: str | os.PathLike[str], error: OSError) -> OutputWriteError:
        """Describe ``error``, met while writing ``path``.

        Parameters
        ----------
        path : str or path-like
            The file or folder being written (its final name, not a temporary one).
        error : OSError
            What the system raised.

        Returns
        -------
        OutputWriteError
        """
        code = error.errno
        cause = _CAUSES.get(code) if code is not None else None
        cause = cause or (error.strerror or str(error) or type(error).__name__)
        where = f" ({error.filename})" if error.filename and os.fspath(error.filename) != os.fspath(path) else ""
        return cls(f"cannot write {os.fspath(path)}: {cause}{where}", path=os.fspath(path), errno=code,
                   errno_name=errno.errorcode.get(code) if code is not None else None, cause=cause,
                   detail=str(error))

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its evidence (it may cross from a Dask worker to the client).
        return (_rebuild, (type(self), self.message, self.evidence))


def _rebuild(kind: type[RiskmodelError], message: str, evidence: dict[str, Any]) -> RiskmodelError:
    return kind(message, **evidence)


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an :class:`OSError` raised in the block into an :class:`OutputWriteError` naming ``path``.

    Parameters
    ----------
    path : str or path-like
        The output the block writes.

    Raises
    ------
    OutputWriteError
        Instead of the OSError (chained to it).
    """
    try:
        yield
    except OSError as exc:
        raise OutputWriteError.of(path, exc) from exc
