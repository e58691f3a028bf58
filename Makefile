# Two commands do all set-up on a fresh machine with Python >= 3.11 and access to PyPI:
#   make demo   installs everything into .venv and runs the main job end to end on the bundled example
#   make test   installs everything into .venv and runs ruff, mypy and the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("riskmodel needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,service,dask,search]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/riskmodel demo

lint: $(STAMP)
	$(BIN)/ruff check riskmodel features tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy riskmodel features

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py

clean:
	rm -rf $(VENV) riskmodel-demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
