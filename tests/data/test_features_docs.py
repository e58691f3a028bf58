"""docs/features.md lists every catalogued feature (regenerate the catalogue section when adding one)."""

from __future__ import annotations

import re
from pathlib import Path

from features import CATALOGUE, load_families

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_every_feature_is_documented_and_nothing_else() -> None:
    load_families()
    documented = set(re.findall(r"^\| `([a-z0-9_]+)", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert documented == set(CATALOGUE)
