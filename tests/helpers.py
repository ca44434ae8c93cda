"""Small helpers shared by the test files (imported as ``from helpers import ...``)."""

from __future__ import annotations

import io
import os

import torch

from marl_baselines.config import RunConfig

THREADS = int(os.environ.get("MARL_TEST_THREADS", "1"))
"""Torch intra-op threads of every test process and training run (tests/conftest.py)."""


def quiet_run(tmp_path, **kwargs) -> RunConfig:
    """Run settings for tests: logs under tmp_path, no progress bar, no TensorBoard, evaluation only at
    the end, ``THREADS`` torch threads."""
    return RunConfig(
        **{"log_dir": str(tmp_path), "progress": False, "tensorboard": False, "eval_interval": 0, "threads": THREADS, **kwargs}
    )


def random_play(env, episodes: int, **env_kwargs) -> dict[str, float]:
    """Random play's evaluation on ``episodes`` episodes of ``env`` (a name or a ParallelEnv factory), seed 5."""
    from marl_baselines.evaluate import RandomPolicy, evaluate
    from marl_baselines.vec import make_vec_env

    eval_env = make_vec_env(env, episodes, **env_kwargs)
    return evaluate(RandomPolicy(eval_env), eval_env, seed=5)


TARGETS_OVER_RANDOM = 1.5
"""The learning tests on 20-step target_grid_v0 ask for this many times random play's targets
(random play: 1.24 of 3, so 1.86). Trained agents collect 2.2-3.0 over seeds and thread counts;
twice random play (2.48), the old bar, sat inside that spread, a few tenths under the 3 there are."""


def random_targets(**env_kwargs) -> float:
    """Targets random play collects on target_grid_v0 with ``env_kwargs`` (100 episodes)."""
    return random_play("target_grid_v0", 100, **env_kwargs)["info/targets_collected"]


def ci_gap(trained: dict, baseline: dict) -> float:
    """How far ``trained``'s 95% confidence interval of the return lies above ``baseline``'s (positive: apart)."""
    return (trained["return"] - trained["return_ci95"]) - (baseline["return"] + baseline["return_ci95"])


def saved(obj) -> bytes:
    """What ``torch.save(obj)`` writes."""
    file = io.BytesIO()
    torch.save(obj, file)
    return file.getvalue()


def saved_bytes(obj) -> int:
    """The size of ``torch.save(obj)``."""
    return len(saved(obj))


def saved_bytes_bound(obj) -> int:
    """An upper bound of ``saved_bytes(obj)`` from what ``obj`` holds: twice the bytes of its tensors,
    plus 4 KiB for each tensor and for the rest (a zip entry and a pickle record are far smaller)."""
    tensors = []

    def collect(value) -> None:
        if isinstance(value, torch.Tensor):
            tensors.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    collect(obj)
    return 2 * sum(t.nbytes for t in tensors) + 4096 * (len(tensors) + 1)
