# The project's verbs. Each first creates or refreshes the environment in .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test lint typecheck demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "runyard needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

lint: install
	$(VENV)/bin/ruff check src tests bench examples

typecheck: install
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest

demo: install
	$(PY) examples/tf-mnist/run_mnist.py --epochs 2

bench: install
	$(PY) bench/run.py
	$(PY) bench/environments.py
	$(PY) bench/datastore.py
	$(PY) bench/mnist.py

clean:
	rm -rf $(VENV) bench/.venv-* .pytest_cache .mypy_cache .ruff_cache demo-workspace
