"""Counter-based random streams, one per sub-environment.

Every sub-env ``b`` owns a 64-bit key (derived from its seed) and a draw counter. A draw
hashes ``(key, counter, position)`` with the SplitMix64 finaliser, so the numbers a
sub-env receives depend only on its own seed and on how many draws *it* has made: not on
``num_envs``, not on the device, not on what its neighbours did. That is what lets a
batched env seeded ``s`` reproduce, in sub-env ``b``, exactly the trajectory of a single
env seeded ``s + b`` (Gymnasium's vector-env convention), across auto-resets and on CUDA
as on CPU. A shared ``torch.Generator`` cannot give that: its stream depends on the batch
size and differs between devices.

All arithmetic is int64 with two's-complement wrap-around (what torch does on CPU and
CUDA); logical right shifts are emulated with a mask because ``>>`` on int64 is arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from marl_envs.core.checks import is_int

__all__ = ["CounterRNG", "seeds_for"]


def _signed(value: int) -> int:
    """A 64-bit unsigned constant as the int64 with the same bits."""
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_MIX1 = _signed(0xBF58476D1CE4E5B9)
_MIX2 = _signed(0x94D049BB133111EB)
_SEED_SALT = _signed(0x5851F42D4C957F2D)
_STRIDE = _signed(0xD1B54A32D192ED03)  # an odd constant independent of _GOLDEN


def _shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64 finaliser: a bijective avalanche hash of int64 tensors."""
    x = (x ^ _shift_right(x, 30)) * _MIX1
    x = (x ^ _shift_right(x, 27)) * _MIX2
    return x ^ _shift_right(x, 31)


_SEED_LIMIT = 1 << 62
"""Seeds lie in ``[-2**62, 2**62)``, so ``seed + b`` never leaves int64."""


def seeds_for(seed: int | Sequence[int] | np.ndarray | torch.Tensor | None, num_envs: int) -> torch.Tensor:
    """Per-sub-env seeds as an int64 CPU tensor ``[num_envs]``.

    ``None`` draws fresh entropy from the OS; an int ``s`` gives sub-env ``b`` the seed
    ``s + b``; a sequence (list, tuple, 1-D array or tensor) of ``num_envs`` ints gives each
    sub-env its own seed. Every seed lies in ``[-2**62, 2**62)``.

    An int is a Python ``int``, a NumPy integer, or a 0-d integer array or tensor. Floats are
    refused, integral ones (``3.0``) included, as Gymnasium refuses them, and so are bools: a
    ``TypeError`` for a seed of the wrong type (also a sequence holding a non-int, or an array
    or tensor of another dtype), a ``ValueError`` for the wrong length or shape or an
    out-of-range value. Each message names ``seed`` (``seed[k]`` for one entry), what was
    expected and what was received, on one line. Nothing is changed before the check, so a
    refused ``reset(seed=...)`` leaves the env as it was.
    """
    expected = f"None, an int or a sequence of {num_envs} int{'s' if num_envs != 1 else ''} (one per sub-env)"
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) & (_SEED_LIMIT - 1)
    if isinstance(seed, (torch.Tensor, np.ndarray)):  # before the int check: a 0-d one is an int
        dtype, kind = seed.dtype, "NumPy array" if isinstance(seed, np.ndarray) else "tensor"
        integer = (
            (dtype.kind in "iu")
            if isinstance(seed, np.ndarray)
            else not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)
        )
        if not integer:
            raise TypeError(f"seed must be {expected}; got a {kind} of dtype {dtype} and shape {list(seed.shape)}")
        if seed.ndim == 0:
            return torch.arange(num_envs, dtype=torch.int64) + _in_range(int(seed), "seed")
        if tuple(seed.shape) != (num_envs,):
            raise ValueError(f"seed must be {expected}; got a {kind} of shape {list(seed.shape)}")
        values = seed.tolist()
    elif is_int(seed):
        return torch.arange(num_envs, dtype=torch.int64) + _in_range(int(seed), "seed")
    elif isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
        values = list(seed)
        for k, value in enumerate(values):
            if not is_int(value):
                raise TypeError(f"seed must be {expected}; got seed[{k}] = {_short(value)} ({type(value).__name__})")
        if len(values) != num_envs:
            raise ValueError(f"seed must be {expected}; got a {type(seed).__name__} of {len(values)} seeds")
    else:
        raise TypeError(f"seed must be {expected}; got {_short(seed)} ({type(seed).__name__})")
    return torch.tensor([_in_range(int(v), f"seed[{k}]") for k, v in enumerate(values)], dtype=torch.int64)


def _in_range(value: int, name: str) -> int:
    """``value`` if it lies in ``[-2**62, 2**62)``, else a ValueError naming ``name``."""
    if not -_SEED_LIMIT <= value < _SEED_LIMIT:
        raise ValueError(f"{name} must lie in [-2**62, 2**62); got {value}")
    return value


def _short(value, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CounterRNG:
    """Independent, reproducible random streams for ``num_envs`` sub-envs on one device.

    Each draw takes ``env_ids`` (int64 ``[K]``, or None for all sub-envs) and returns values
    for those sub-envs only, ``[K, *shape]``; only their counters advance, so a sub-env that
    is not drawing keeps its stream position. ``counter`` (the stream positions) is part of an
    env's episode state: the sync-free auto-reset restores it in the sub-envs that did not finish.
    """

    def __init__(self, num_envs: int, device: torch.device):
        self.key = torch.zeros(num_envs, dtype=torch.int64, device=device)
        self.counter = torch.zeros(num_envs, dtype=torch.int64, device=device)
        self._position_cache: dict[tuple[int, ...], torch.Tensor] = {}

    def seed(self, seeds: torch.Tensor) -> None:
        """Restart every stream from the int64 seeds ``[B]``."""
        self.key = _mix(seeds.to(self.key.device) ^ _SEED_SALT)
        self.counter.zero_()

    def bits(self, shape: tuple[int, ...], env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Uniform random int64 ``[K, *shape]`` in ``[0, 2**63)``."""
        if env_ids is None:
            key, counter = self.key, self.counter
            self.counter = counter + 1
        else:
            key, counter = self.key[env_ids], self.counter[env_ids]
            self.counter[env_ids] = counter + 1
        # One finaliser over key + counter * G1 + position * G2: keys are already hashed seeds,
        # so distinct (stream, draw, position) triples collide with probability ~2**-64.
        base = key + counter * _GOLDEN
        return _shift_right(_mix(base[:, None] + self._positions(shape)), 1).view(base.shape[0], *shape)

    def _positions(self, shape: tuple[int, ...]) -> torch.Tensor:
        positions = self._position_cache.get(shape)
        if positions is None:
            # k * _STRIDE wrapped to int64, computed in Python: torch.compile's CPU code miscomputes
            # arange(...) * _STRIDE (torch 2.13 repeats the first 8 values after them).
            values = [_signed(k * _STRIDE % (1 << 64)) for k in range(1, math.prod(shape) + 1)]
            positions = torch.tensor(values, dtype=torch.int64, device=self.key.device)
            if not torch.compiler.is_compiling():  # filled while compiling, the cache would fail dynamo's guard on it: a recompilation
                self._position_cache[shape] = positions
        return positions

    def uniform(self, shape: tuple[int, ...], env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Uniform float32 ``[K, *shape]`` in ``[0, 1)`` (24 random bits each)."""
        return _shift_right(self.bits(shape, env_ids), 39).to(torch.float32) * (1.0 / (1 << 24))

    def normal(self, shape: tuple[int, ...], env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Standard normal float32 ``[K, *shape]`` (Box-Muller on two 24-bit uniforms)."""
        bits = _shift_right(self.bits((2, *shape), env_ids), 39).to(torch.float32)
        radius = torch.sqrt(-2.0 * torch.log((bits[:, 0] + 1.0) * (1.0 / (1 << 24))))  # uniform in (0, 1]
        return radius * torch.cos((2 * math.pi / (1 << 24)) * bits[:, 1])

    def integers(self, high: int, shape: tuple[int, ...], env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Uniform int64 ``[K, *shape]`` in ``[0, high)``."""
        return self.bits(shape, env_ids) % high

    def distinct(self, population: int, count: int, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """``count`` distinct int64 values from ``range(population)`` per sub-env, in random order: ``[K, count]``."""
        if count > population:
            raise ValueError(f"cannot draw {count} distinct values from {population}")
        # Ties between 63-bit keys are practically impossible, so the order is the same on every device.
        return self.bits((population,), env_ids).topk(count, dim=-1).indices
