# Two commands do everything on a fresh machine with Python >= 3.10:
#   make demo   set up .venv with the package alone and run the quick-start job (QMIX on goal_grid_v0, then a results table)
#   make test   set up .venv with the test extra (the integrations) and run the test suite (what CI runs)
#   make test-fast  the suite without the slow `learning` tests and benchmark-script runs (`scripts`)
#   make bench  the env throughput benchmark (mpe2 and VMAS beside ours)
#   make docs   generate one page per env and per algorithm (docs/build.py) and build the site into docs/site
# Set-up installs torch first, pinned (TORCH), so that nothing later pulls a newer build with
# gigabytes of CUDA packages. For a CUDA build: make demo TORCH="torch==2.13.0" TORCH_PIP_ARGS="--index-url <your index>".
# Tests run in parallel (pytest-xdist, one worker per core, one torch thread each: tests/conftest.py).

PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST := $(BIN)/python -m pytest -n auto --dist worksteal

.PHONY: demo envs test test-fast bench docs setup clean

# The demo times its own set-up and training, and says how long each took.
demo:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory $(VENV)/.setup-package || exit 1; \
	trained=$$(date +%s); \
	$(BIN)/marl-train qmix goal_grid_v0 || exit 1; \
	done=$$(date +%s); \
	echo "make demo: set-up $$((trained - start)) s, training and evaluation $$((done - trained)) s (torch on 1 thread: marl-train --threads)"

envs: $(VENV)/.setup-package
	$(BIN)/python -m marl_envs.demo

test: $(VENV)/.setup-test
	$(PYTEST)

test-fast: $(VENV)/.setup-test
	$(PYTEST) -m "not learning and not scripts"

bench: $(VENV)/.setup-bench
	$(BIN)/python benchmarks/env_throughput.py

docs: $(VENV)/.setup-docs
	$(BIN)/python docs/build.py
	$(BIN)/mkdocs build --quiet
	@echo "site written to docs/site (open docs/site/index.html, or run: $(BIN)/mkdocs serve)"

setup: $(VENV)/.setup-test

$(VENV)/.setup-torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH_PIP_ARGS) "$(TORCH)"
	touch $@

# The package and its runtime dependencies only: what marl-train and the envs need.
$(VENV)/.setup-package: $(VENV)/.setup-torch pyproject.toml
	$(PIP) install -e .
	touch $@

$(VENV)/.setup-test: $(VENV)/.setup-package
	$(PIP) install -e ".[test]"
	touch $@

$(VENV)/.setup-bench: $(VENV)/.setup-test
	$(PIP) install -e ".[test,bench]"
	touch $@

$(VENV)/.setup-docs: $(VENV)/.setup-test
	$(PIP) install -e ".[test,docs]"
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache docs/src docs/site
