"""Exceptions raised by riskmodel.

Every error the library raises on purpose derives from :class:`RiskmodelError` and carries its evidence as
structured fields, so that the CLI, the HTTP service and callers can report it without parsing messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DataContractError", "RiskmodelError"]


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
