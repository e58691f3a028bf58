"""Code layer: the dependency audit (.ci/audit, run by ``make audit`` and ``make test``) with a stand-in pip-audit.

The real pip-audit needs PyPI; these tests pin down what the script does with each of its answers, above all that a
run which could not audit never looks like a clean one: it says NOT AUDITED, and fails where the audit is required.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the audit script is a bash script")

# Stands in for `python -m pip list --format=freeze --exclude-editable`: riskmodel is listed as if installed
# non-editable, so the script must drop it by name.
_PYTHON = """#!/usr/bin/env bash
printf 'numpy==2.2.6\\npip==26.3\\nriskmodel==0.1.0\\nsetuptools==84.2.1\\n'
"""
# Stands in for pip-audit: records its argv and the requirements it was given, answers as FAKE_MODE says.
_PIP_AUDIT = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_DIR/calls.txt"
while [ $# -gt 0 ]; do
  case "$1" in
    --requirement) cp "$2" "$FAKE_DIR/requirements.txt"; shift ;;
    --output) out=$2; shift ;;
  esac
  shift
done
case "$FAKE_MODE" in
  clean) echo "No known vulnerabilities found" >&2; exit 0 ;;
  vulnerable) printf 'Name  Version ID           Fix Versions\\nnumpy 2.2.6   PYSEC-2099-7 2.2.7\\n' > "$out"
              echo "Found 1 known vulnerability in 1 package" >&2; exit 1 ;;
  notfound) echo "ERROR:pip_audit._cli:numpy: Dependency not found on PyPI and could not be audited" >&2; exit 1 ;;
  unreachable) echo "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443)" >&2
               exit 1 ;;
esac
exit 2
"""


def _run(tmp_path: Path, mode: str, ignores: str | None = None,
         required: bool = False) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run a copy of .ci/audit (with ``ignores`` as its ignore file, else the repository's) against the stand-ins."""
    ci = tmp_path / "ci"
    ci.mkdir()
    shutil.copy(REPO / ".ci" / "audit", ci / "audit")
    if ignores is None:
        shutil.copy(REPO / ".ci" / "pip-audit-ignore.txt", ci / "pip-audit-ignore.txt")
    else:
        (ci / "pip-audit-ignore.txt").write_text(ignores, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("python", _PYTHON), ("pip-audit", _PIP_AUDIT)):
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "FAKE_DIR": str(tmp_path), "FAKE_MODE": mode, "AUDIT_RETRY_SECONDS": "0",
           "RISKMODEL_AUDIT_REQUIRED": "1" if required else "0"}
    assert BASH is not None
    done = subprocess.run([BASH, str(ci / "audit"), str(bin_dir)], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    calls = tmp_path / "calls.txt"
    return done, calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


def test_a_clean_audit_passes_and_covers_pip_and_setuptools_but_not_riskmodel(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, "clean")
    assert done.returncode == 0, done.stderr
    assert "3 distributions audited, No known vulnerabilities found" in done.stdout
    assert (tmp_path / "requirements.txt").read_text().split() == ["numpy==2.2.6", "pip==26.3", "setuptools==84.2.1"]
    assert len(calls) == 1
    # --strict is what turns "could not look it up" into a failure instead of a silent skip.
    assert "--strict" in calls[0].split()


def test_the_ignore_file_gives_one_ignore_vuln_per_justified_id(tmp_path: Path) -> None:
    ignores = ("# comment\n\nPYSEC-2099-1  numpy: the vulnerable loader is never called; revisit with numpy 3\n"
               "GHSA-aaaa-bbbb-cccc  pip: only at install time; revisit at the next pip release  # trailing\n")
    done, calls = _run(tmp_path, "clean", ignores)
    assert done.returncode == 0, done.stderr
    argv = calls[0].split()
    ignored = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--ignore-vuln"]
    assert ignored == ["PYSEC-2099-1", "GHSA-aaaa-bbbb-cccc"]


def test_an_ignored_id_without_a_justification_fails_before_auditing(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, "clean", "PYSEC-2099-1\n")
    assert done.returncode == 1
    assert "ignores PYSEC-2099-1 without a justification" in done.stderr
    assert calls == []


def test_the_repository_ignore_file_is_accepted(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, "clean")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in (REPO / ".ci" / "pip-audit-ignore.txt").read_text().splitlines()
              if line.split("#")[0].strip()]
    argv = calls[0].split()
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--ignore-vuln"] == listed


def test_findings_fail_with_the_report_and_are_not_retried(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, "vulnerable")
    assert done.returncode == 1
    assert "PYSEC-2099-7" in done.stdout
    assert "FAILED: Found 1 known vulnerability in 1 package" in done.stderr
    assert len(calls) == 1


@pytest.mark.parametrize("required", [False, True])
def test_a_distribution_pypi_does_not_know_is_not_retried_and_never_reads_as_clean(tmp_path: Path,
                                                                                   required: bool) -> None:
    done, calls = _run(tmp_path, "notfound", required=required)
    assert "not found on PyPI" in done.stderr
    assert "did NOT run" in done.stderr
    assert "No known vulnerabilities" not in done.stdout + done.stderr
    assert len(calls) == 1  # the same question gets the same answer
    if required:
        assert done.returncode == 1
        assert "audit: FAILED:" in done.stderr
    else:
        assert done.returncode == 0
        assert "audit: WARNING: NOT AUDITED:" in done.stderr


@pytest.mark.parametrize("required", [False, True])
def test_an_unreachable_service_is_retried_then_reported_unaudited(tmp_path: Path, required: bool) -> None:
    done, calls = _run(tmp_path, "unreachable", required=required)
    assert "attempt 3 of 3 could not audit" in done.stderr
    assert len(calls) == 3
    assert done.returncode == (1 if required else 0)
    assert ("audit: FAILED:" if required else "audit: WARNING: NOT AUDITED:") in done.stderr


def test_make_test_runs_the_audit() -> None:
    rules = {line.split(":")[0]: line for line in (REPO / "Makefile").read_text().splitlines()
             if line and not line.startswith(("\t", "#", " ")) and ":" in line}
    assert "audit" in rules["test"].split(":", 1)[1].split()
    assert "bash .ci/audit $(BIN)" in (REPO / "Makefile").read_text()
