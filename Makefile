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

# What MPI and Slurm runs need (Debian/Ubuntu; as root, as on CI): OpenMPI's mpirun; Slurm
# (slurmctld, slurmd, srun, sbatch) with munge, for the Slurm compute and its test cluster
# (tests/slurm.py); libpmix-dev, whose libpmix.so Slurm's mpi/pmix plugin loads for
# `srun --mpi=pmix`; chromium, the headless browser the UI's browser tests drive through
# playwright (tests/test_ui_browser.py). Installs only what is missing; elsewhere says what
# to install.
system-deps:
	@PATH="$$PATH:/usr/sbin:/sbin"; missing=""; \
	command -v mpirun >/dev/null 2>&1 || missing="$$missing openmpi-bin"; \
	for program in slurmctld slurmd srun sbatch; do \
		command -v $$program >/dev/null 2>&1 || { missing="$$missing slurm-wlm"; break; }; done; \
	command -v munged >/dev/null 2>&1 || missing="$$missing munge"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if command -v dpkg-query >/dev/null 2>&1 && ! dpkg-query -W -f='$${Status}' libpmix-dev \
		2>/dev/null | grep -q 'ok installed'; then missing="$$missing libpmix-dev"; fi; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing (MPI and Slurm runs, the browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	else echo "note: missing$$missing; MPI and Slurm runs, the browser tests need them" \
		"(apt-get install$$missing)"; fi

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
	$(PY) bench/slurm.py
	$(PY) bench/hyperdrive.py
	$(PY) bench/ui.py

clean:
	rm -rf $(VENV) bench/.venv-* .pytest_cache .mypy_cache .ruff_cache demo-workspace
