"""Code layer: product code never loads or writes pickles (models are LightGBM text + JSON; spill files are JSON)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PICKLE = re.compile(r"^\s*(?:import|from)\s+(?:c?pickle|joblib|cloudpickle|dill)\b", re.MULTILINE)


def test_no_pickle_in_product_code() -> None:
    offenders = [str(p.relative_to(ROOT)) for folder in ("riskmodel", "features") for p in (ROOT / folder).rglob("*.py")
                 if _PICKLE.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_scan_finds_a_pickle_import() -> None:
    assert _PICKLE.search("x = 1\nimport pickle\n") and _PICKLE.search("    from joblib import dump\n")
    assert not _PICKLE.search("# we never import pickle here\n")
