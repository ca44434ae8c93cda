"""Argument checks shared by the environments' constructors: errors say what was expected."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["checked_device", "is_int", "int_at_least", "boolean", "optional_boolean", "optional_int_at_least", "optional_positive_number"]


def is_int(value: Any) -> bool:
    """True for a Python int or a NumPy integer; False for bools (``True`` is not the number 1 here) and everything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def int_at_least(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` if it is not an integer >= minimum."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_boolean(name: str, value: Any) -> bool | None:
    """None, or ``value`` as a bool (else a ValueError naming ``name``)."""
    if value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be None, True or False, got {value!r}")
    return bool(value)


def optional_int_at_least(name: str, value: Any, minimum: int) -> int | None:
    """None, or ``value`` as an int >= minimum (else a ValueError naming ``name``)."""
    if value is None:
        return None
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be None or an integer >= {minimum}, got {value!r}")
    return int(value)


def optional_positive_number(name: str, value: Any) -> float | None:
    """None, or ``value`` as a finite float > 0 (else a ValueError naming ``name``)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be None or a finite number > 0, got {value!r}")
    return float(value)


def checked_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``, or a one-line ValueError for a name torch does not know or for CUDA where there is none."""
    try:
        checked = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r} ({error})") from None
    if checked.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but CUDA is not available on this machine")
    return checked
