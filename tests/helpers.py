"""Small helpers shared by the test files (imported as ``from helpers import ...``)."""

from __future__ import annotations

from marl_baselines.config import RunConfig


def quiet_run(tmp_path, **kwargs) -> RunConfig:
    """Run settings for tests: logs under tmp_path, no progress bar, no TensorBoard, evaluation only at the end."""
    return RunConfig(**{"log_dir": str(tmp_path), "progress": False, "tensorboard": False, "eval_interval": 0, **kwargs})
