# The project's verbs. Each first creates or refreshes the environment in .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install system-deps test lint typecheck demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "runyard needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# OpenMPI's mpirun for MPI runs (Debian/Ubuntu; as root, as on CI). Elsewhere: say how.
system-deps:
	@if command -v mpirun >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing OpenMPI (openmpi-bin) for MPI runs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openmpi-bin >/dev/null; \
	else echo "note: no mpirun; MPI runs and their tests need OpenMPI (apt-get install openmpi-bin)"; fi

lint: install
	$(VENV)/bin/ruff check src tests bench examples

typecheck: install
	$(VENV)/bin/mypy

test: system-deps lint typecheck
	$(PY) -m pytest

demo: install
	$(PY) examples/tf-mnist/run_mnist.py --epochs 2

bench: install
	$(PY) bench/run.py
	$(PY) bench/environments.py
	$(PY) bench/datastore.py
	$(PY) bench/mnist.py
	$(PY) bench/distributed.py
	$(PY) bench/ray.py

clean:
	rm -rf $(VENV) bench/.venv-* .pytest_cache .mypy_cache .ruff_cache demo-workspace
