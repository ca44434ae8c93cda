# Two commands do everything on a fresh machine with Python >= 3.10:
#   make demo   set up .venv with the package alone and run the quick-start job (QMIX on goal_grid_v0, then a results table)
#   make test   set up .venv with the test extra (the integrations), check formatting and lint (make lint), then
#               run the test suite (what CI runs)
#   make lint   ruff format --check and ruff check (pyproject.toml's [tool.ruff]); make format rewrites the files
#   make test-fast  the suite without the slow `learning` tests and benchmark-script runs (`scripts`)
#   make bench  the env throughput benchmark (mpe2 and VMAS beside ours)
#   make bench-peers  side by side with JaxMARL (training speed, returns, env throughput): sets up
#               .venv-peers (jax CPU build, jaxmarl 0.2.0: benchmarks/peers-requirements.txt), ~25 min
#   make gpu-check  on a machine with a CUDA device: sets up .venv-cuda (an existing CUDA torch is
#               reused, else TORCH from CUDA_INDEX), runs pytest -m cuda, the CUDA env throughput up to
#               B=2^20 and train_speed, within 8 minutes, then the compiled env step in what is left
#               (benchmarks/gpu_check.py, results/*_cuda.md)
#   make docs   generate one page per env and per algorithm (docs/build.py) and build the site into docs/site
# Set-up installs torch first, pinned (TORCH), so that nothing later pulls a newer build with
# gigabytes of CUDA packages. For a CUDA build: make demo TORCH="torch==2.13.0" TORCH_PIP_ARGS="--index-url <your index>".
# Tests run in parallel (pytest-xdist, one worker per core, one torch thread each: tests/conftest.py).

PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
VENV := .venv
PEERS_VENV := .venv-peers
CUDA_VENV := .venv-cuda
CUDA_INDEX ?= https://download.pytorch.org/whl/cu128
CUDA_PIP_ARGS ?=
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST := $(BIN)/python -m pytest -n auto --dist worksteal

.PHONY: demo envs test test-fast lint format bench bench-peers gpu-check docs setup clean

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
	$(MAKE) --no-print-directory lint
	$(PYTEST)

lint: $(VENV)/.setup-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.setup-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-fast: $(VENV)/.setup-test
	$(PYTEST) -m "not learning and not scripts"

bench: $(VENV)/.setup-bench
	$(BIN)/python benchmarks/env_throughput.py

bench-peers: $(VENV)/.setup-bench $(PEERS_VENV)/.setup
	$(BIN)/python benchmarks/peers.py --jax-python $(PEERS_VENV)/bin/python

gpu-check: $(CUDA_VENV)/.setup
	$(CUDA_VENV)/bin/python benchmarks/gpu_check.py

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

$(VENV)/.setup-test: $(VENV)/.setup-package pyproject.toml
	$(PIP) install -e ".[test]"
	touch $@

$(VENV)/.setup-bench: $(VENV)/.setup-test
	$(PIP) install -e ".[test,bench]"
	touch $@

$(VENV)/.setup-docs: $(VENV)/.setup-test
	$(PIP) install -e ".[test,docs]"
	touch $@

# The peers in their own environment: jax and jaxmarl never meet the suite's torch.
$(PEERS_VENV)/.setup: benchmarks/peers-requirements.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip --disable-pip-version-check -q install -r benchmarks/peers-requirements.txt
	touch $@

# A CUDA build of torch: the one already installed where there is one (a cluster image, a GPU
# machine without internet), else TORCH from CUDA_INDEX. .venv-cuda sees PYTHON's packages, pip
# and setuptools included, also where PYTHON is itself a virtual environment, as on the lent GPU
# machines (tools/share_site_packages.py says why). Then the package with what gpu_check runs
# (mpe2 for the throughput reference, matplotlib, pytest), none of which pulls another torch.
# Offline (a GPU machine with a CUDA torch but no internet):
# make gpu-check CUDA_PIP_ARGS="--no-index --find-links <wheels> --no-build-isolation".
$(CUDA_VENV)/.setup:
	$(PYTHON) -m venv --system-site-packages --without-pip $(CUDA_VENV)
	$(PYTHON) tools/share_site_packages.py $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -c "import torch, sys; sys.exit(0 if torch.version.cuda else 1)" 2>/dev/null || \
		$(CUDA_VENV)/bin/python -m pip --disable-pip-version-check -q install --index-url $(CUDA_INDEX) "$(TORCH)"
	$(CUDA_VENV)/bin/python -m pip --disable-pip-version-check -q install $(CUDA_PIP_ARGS) -e . mpe2 matplotlib pytest pytest-xdist
	touch $@

clean:
	rm -rf $(VENV) $(PEERS_VENV) $(CUDA_VENV) *.egg-info .pytest_cache docs/src docs/site
