"""Small helpers shared by the test files (imported as ``from helpers import ...``)."""

from __future__ import annotations

import os

from marl_baselines.config import RunConfig

THREADS = int(os.environ.get("MARL_TEST_THREADS", "1"))
"""Torch intra-op threads of every test process and training run (tests/conftest.py)."""


def quiet_run(tmp_path, **kwargs) -> RunConfig:
    """Run settings for tests: logs under tmp_path, no progress bar, no TensorBoard, evaluation only at
    the end, ``THREADS`` torch threads."""
    return RunConfig(**{"log_dir": str(tmp_path), "progress": False, "tensorboard": False, "eval_interval": 0, "threads": THREADS, **kwargs})


def random_play(env, episodes: int, **env_kwargs) -> dict[str, float]:
    """Random play's evaluation on ``episodes`` episodes of ``env`` (a name or a ParallelEnv factory), seed 5."""
    from marl_baselines.train import RandomPolicy, evaluate
    from marl_baselines.vec import make_vec_env

    eval_env = make_vec_env(env, episodes, **env_kwargs)
    return evaluate(RandomPolicy(eval_env), eval_env, seed=5)


def ci_gap(trained: dict, baseline: dict) -> float:
    """How far ``trained``'s 95% confidence interval of the return lies above ``baseline``'s (positive: apart)."""
    return (trained["return"] - trained["return_ci95"]) - (baseline["return"] + baseline["return_ci95"])
