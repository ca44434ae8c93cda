"""Argument checks shared by the environments' constructors: errors say what was expected."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["int_at_least", "boolean"]


def int_at_least(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` if it is not an integer >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
