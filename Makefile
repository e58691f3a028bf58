# Two commands do all set-up on a fresh machine with Python >= 3.11 and access to PyPI:
#   make demo   installs everything into .venv and runs the main job end to end on the bundled example
#   make test   installs everything into .venv and runs ruff (with its security rules), mypy, the dependency
#               audit (pip-audit; needs PyPI's JSON API, see .ci/audit) and the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck audit pytest bench clean

# setuptools is upgraded too: Python 3.11's venv brings 65.5.0, which has published advisories the audit would report.
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("riskmodel needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=78.1.1"
	$(BIN)/python -m pip install --quiet -e ".[dev,service,dask,search]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/riskmodel demo

lint: $(STAMP)
	$(BIN)/ruff check riskmodel features tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy riskmodel features

# Known vulnerabilities in every installed distribution (fails on any finding; says NOT AUDITED when the service
# cannot be reached, and fails then too with RISKMODEL_AUDIT_REQUIRED=1).
audit: $(STAMP)
	bash .ci/audit $(BIN)

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck audit pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py

clean:
	rm -rf $(VENV) riskmodel-demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
