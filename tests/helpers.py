"""Small helpers shared by the test files (imported as ``from helpers import ...``)."""

from __future__ import annotations

import io

import torch

from marl_baselines.config import RunConfig


def quiet_run(tmp_path, **kwargs) -> RunConfig:
    """Run settings for tests: logs under tmp_path, no progress bar, no TensorBoard, evaluation only at the end."""
    return RunConfig(**{"log_dir": str(tmp_path), "progress": False, "tensorboard": False, "eval_interval": 0, **kwargs})


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
