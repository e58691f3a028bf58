"""Helpers shared by test modules (importable because pytest puts ``tests/`` on the path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def read_raw_csv(path: Path) -> pd.DataFrame:
    """A CSV as text exactly as written (no NA guessing), for tests that edit files."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)
