"""Code layer: product code never loads or writes pickles (models are LightGBM text + JSON; spill files are JSON).

Scans every ``.py`` file under ``riskmodel/`` and ``features/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Modules that unpickle (or, like marshal and torch.load, run code from bytes) when they load.
_MODULES = frozenset({"pickle", "cPickle", "_pickle", "pickle5", "cloudpickle", "dill", "joblib", "jsonpickle",
                      "shelve", "marshal", "torch"})
_CALLS = frozenset({"read_pickle", "to_pickle"})  # pandas: pd.read_pickle, DataFrame.to_pickle


def pickle_uses(source: str) -> list[str]:
    """``line: what`` for every import, name or call in ``source`` that loads or writes a pickle.

    Parsed rather than matched line by line, so comments and docstrings about pickles are not offences, and an
    import inside a function, ``from pandas import read_pickle`` or ``np.load(..., allow_pickle=True)`` are.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if a.name.split(".")[0] in _MODULES]
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in _MODULES:
                found.append(f"{line}: from {node.module} import")
            found += [f"{line}: import {a.name}" for a in node.names if a.name in _MODULES | _CALLS]
        elif isinstance(node, ast.Attribute) and node.attr in _CALLS:
            found.append(f"{line}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in _MODULES | _CALLS:
            found.append(f"{line}: {node.value!r}")  # __import__("pickle"), getattr(pd, "read_pickle")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(f"{line}: allow_pickle=")
    return found


def _product_files() -> list[Path]:
    return sorted(p for folder in ("riskmodel", "features") for p in (ROOT / folder).rglob("*.py"))


def test_the_scan_covers_the_product_code() -> None:
    scanned = {str(p.relative_to(ROOT)) for p in _product_files()}
    # The modules that read models and data: if these moved, the scan would pass without looking at them.
    expected = {"riskmodel/registry.py", "riskmodel/artifact.py", "riskmodel/pyfunc.py", "riskmodel/_pyfunc_entry.py",
                "riskmodel/service.py", "riskmodel/scoring/scorer.py", "riskmodel/contract/io.py",
                "features/build.py", "features/peers.py"}
    assert expected <= scanned
    assert len(scanned) >= 70


def test_no_pickle_in_product_code() -> None:
    offenders = {str(p.relative_to(ROOT)): uses for p in _product_files()
                 if (uses := pickle_uses(p.read_text(encoding="utf-8")))}
    assert offenders == {}


@pytest.mark.parametrize("source", [
    "x = 1\nimport pickle\n", "from joblib import dump\n", "import cloudpickle as cp\n", "import dill\n",
    "import cPickle\n", "from _pickle import loads\n", "import shelve\n", "import marshal\n",
    "import torch\nm = torch.load(path)\n", "from torch.serialization import load\n", "import jsonpickle\n",
    "def f():\n    import pickle\n    return pickle.loads(b)\n",
    "frame = pd.read_pickle(path)\n", "from pandas import read_pickle\n", "frame.to_pickle(path)\n",
    "a = np.load(path, allow_pickle=True)\n", "a = numpy.load(path, allow_pickle=flag)\n",
    "m = __import__('pickle')\n", "m = importlib.import_module('joblib')\n", "f = getattr(pd, 'read_pickle')\n",
])
def test_the_scan_flags_a_planted_pickle(source: str) -> None:
    assert pickle_uses(source)


@pytest.mark.parametrize("source", [
    "# we never import pickle here\n", '"""Never a pickle: LightGBM text and JSON."""\n',
    "a = np.load(path)\n", "a = np.load(path, allow_pickle=False)\n", "data = json.load(fh)\n",
    "booster = lightgbm.Booster(model_file=path)\n", "pickle_free = True\n", "import pickletools_alike\n",
])
def test_the_scan_passes_clean_code(source: str) -> None:
    assert pickle_uses(source) == []
