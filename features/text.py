r"""Text rules on a few values, in Python, with exactly the results of the Arrow string kernels.

Arrow's regex kernels (RE2) compile their pattern on every call: on one supplier's handful of names that fixed cost
(about 0.3 ms a pattern) is most of the work of a name normalisation. On ASCII text, Python's :mod:`re` gives the
same results once two differences are written out: RE2's ``\s`` is ``[\t\n\f\r ]`` (Python's adds ``\v``) and
RE2's ``$`` is the end of the text (Python's also matches before a final newline). ``str.lower``, ``str.upper`` and
``str.strip`` agree with Arrow's ``utf8_lower``, ``utf8_upper`` and ``utf8_trim_whitespace`` on ASCII, and Unicode
normalisation leaves ASCII unchanged. Modules keep their Arrow rule for everything else and test the two against
each other.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import pandas as pd
import pyarrow as pa

__all__ = ["SMALL", "few_ascii", "is_missing", "python_pattern"]

#: Values up to which a rule runs in Python (above it, Arrow's per-value speed wins).
SMALL = 64

_RE2_SPACE_CHARS = "\\t\\n\\f\\r "


def python_pattern(pattern: str) -> re.Pattern[str]:
    r"""Compile an RE2 pattern written for Arrow so that Python's :mod:`re` matches the same on ASCII text.

    Only the two constructs that differ are rewritten (``\s``, also inside a character class, and ``$``); patterns
    with others whose meanings may differ (``\S``, ``\b``, flags) are refused. Each module using one tests its
    Python rule against its Arrow rule.
    """
    if "\\S" in pattern or "\\b" in pattern or "(?" in pattern.replace("(?:", ""):
        raise ValueError(f"pattern {pattern!r} uses a construct whose RE2 and Python meanings may differ")
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escape = pattern[i:i + 2]
            out.append(escape if escape != "\\s" else _RE2_SPACE_CHARS if in_class else f"[{_RE2_SPACE_CHARS}]")
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            end = i + 1
            if pattern[end:end + 1] == "^":
                end += 1
            if pattern[end:end + 1] == "]":  # a "]" first in a class is a literal, not its end
                end += 1
            out.append(pattern[i:end])
            i = end
            continue
        if char == "]" and in_class:
            in_class = False
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return re.compile("".join(out))


def few_ascii(values: pd.Series | pa.Array | Collection[object]) -> list[object] | None:
    """Return ``values`` as a list when they are few and each is missing or an ASCII string, else None.

    The Python rules apply to such a list. The length is checked before any conversion, so a whole table's column
    costs nothing here.
    """
    if len(values) > SMALL:
        return None
    listed = values.to_pylist() if isinstance(values, pa.Array) else (
        values.tolist() if isinstance(values, pd.Series) else list(values))
    return listed if all((isinstance(v, str) and v.isascii()) or is_missing(v) for v in listed) else None


def is_missing(value: object) -> bool:
    """Whether a scalar is a missing value (None, NaN, NA, NaT)."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
