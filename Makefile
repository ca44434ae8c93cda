# Two commands do everything on a fresh machine with Python >= 3.10:
#   make demo   set up .venv and run the quick-start job (QMIX on goal_grid_v0, then a results table)
#   make test   set up .venv and run the test suite (what CI runs)
#   make docs   generate one page per env and per algorithm (docs/build.py) and build the site into docs/site
# Set-up installs torch first, pinned (TORCH), so that nothing later pulls a newer build with
# gigabytes of CUDA packages. For a CUDA build: make demo TORCH="torch==2.13.0" TORCH_PIP_ARGS="--index-url <your index>".

PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo envs test test-fast bench docs setup clean

demo: $(VENV)/.setup-test
	$(BIN)/marl-train qmix goal_grid_v0

envs: $(VENV)/.setup-test
	$(BIN)/python -m marl_envs.demo

test: $(VENV)/.setup-test
	$(BIN)/python -m pytest

test-fast: $(VENV)/.setup-test
	$(BIN)/python -m pytest -m "not learning"

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

$(VENV)/.setup-test: $(VENV)/.setup-torch pyproject.toml
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
