"""What every test shares: torch's thread count, and the seed and margins of the learning tests.

Threads. Each test process runs torch on one intra-op thread (``MARL_TEST_THREADS`` sets another
count): ``make test`` runs one pytest-xdist worker per core, and workers that each started a pool
of one thread per core would fight over the cores. Training runs take the same count
(``helpers.quiet_run``), as ``marl-train`` trains on one thread by default.

Learning tests. A seeded training run is one trajectory, and trajectories differ across CPUs
(rounding, amplified by training), so each learning test states its threshold as a margin
measured over several seeds and two thread counts: the ``seed`` fixture is 0 unless
``MARL_TEST_SEED`` says otherwise, and ``margin(quantity, value, at_least=... | at_most=...)``
asserts and, when ``MARL_MARGINS_FILE`` names a file, appends what it measured there as a JSON
line. ``benchmarks/learning_margins.py`` runs the learning tests that way and writes the spread
of every quantity to ``benchmarks/results/learning_margins.md``; each test's docstring quotes it.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from helpers import THREADS


def pytest_configure(config):
    torch.set_num_threads(THREADS)


@pytest.fixture
def seed() -> int:
    """The learning tests' training seed: 0, or ``MARL_TEST_SEED``."""
    return int(os.environ.get("MARL_TEST_SEED", "0"))


@pytest.fixture
def margin(request, seed):
    """``margin(quantity, value, at_least=None, at_most=None, details=None)``: assert the bound, record the value."""

    def check(quantity: str, value: float, at_least: float | None = None, at_most: float | None = None, details=None) -> None:
        if (at_least is None) == (at_most is None):
            raise ValueError("give exactly one of at_least and at_most")
        value = float(value)
        bound = float(at_least if at_least is not None else at_most)
        path = os.environ.get("MARL_MARGINS_FILE")
        if path:
            record = {
                "test": request.node.nodeid,
                "quantity": quantity,
                "value": value,
                "bound": bound,
                "kind": "at_least" if at_least is not None else "at_most",
                "seed": seed,
                "threads": THREADS,
            }
            with open(path, "a") as file:
                file.write(json.dumps(record) + "\n")
        if at_least is not None:
            assert value >= bound, f"{quantity} = {value:.4g}, expected at least {bound:.4g} (seed {seed}); {details}"
        else:
            assert value <= bound, f"{quantity} = {value:.4g}, expected at most {bound:.4g} (seed {seed}); {details}"

    return check
