"""The by-name table of environments: ``EnvSpec`` and the functions behind ``marl_envs.make``."""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.module import install_env_module
from marl_envs.core.parallel import BatchedParallelEnv

__all__ = ["EnvSpec", "REGISTRY", "register", "spec", "make", "make_batched", "list_envs"]

# Arguments of every BatchedEnv constructor that belong to batching, not to the env's rules.
_BATCH_ARGUMENTS = ("num_envs", "device")


@dataclass(frozen=True)
class EnvSpec:
    """One registered environment.

    ``entry_point`` is ``"module:BatchedEnvClass"``, imported on first use. ``defaults`` are
    keyword arguments applied before the caller's (empty for an env's plain version).
    ``max_cycles`` is read from the class's own default, so it is written in one place.
    ``renamed`` maps an argument's old name to its new one: the old name still works for one
    version, with a ``FutureWarning`` (shown to users by default, unlike ``DeprecationWarning``).
    """

    name: str
    version: int
    entry_point: str
    defaults: dict[str, Any] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}_v{self.version}"

    @cached_property
    def batched_class(self) -> type[BatchedEnv]:
        module, attribute = self.entry_point.split(":")
        return getattr(importlib.import_module(module), attribute)

    @cached_property
    def arguments(self) -> dict[str, Any]:
        """The env's own keyword arguments with their defaults (``defaults`` applied)."""
        parameters = inspect.signature(self.batched_class.__init__).parameters
        own = {
            name: p.default
            for name, p in parameters.items()
            if name != "self" and name not in _BATCH_ARGUMENTS and p.kind is not inspect.Parameter.VAR_KEYWORD
        }
        return {**own, **self.defaults}

    @property
    def max_cycles(self) -> int:
        return self.arguments["max_cycles"]

    def _checked(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for old in set(kwargs) & set(self.renamed):
            new = self.renamed[old]
            if new in kwargs:
                raise TypeError(f"{self.id} got both {old!r} and {new!r}; {old!r} is the old name of {new!r}: pass {new!r} only")
            warnings.warn(
                f"{self.id}: argument {old!r} is renamed {new!r}; the old name goes in the next version", FutureWarning, stacklevel=4
            )
            kwargs = {(new if k == old else k): v for k, v in kwargs.items()}
        unknown = sorted(set(kwargs) - set(self.arguments))
        if unknown:
            valid = ", ".join(sorted(self.arguments))
            raise TypeError(f"{self.id} got unknown argument(s) {', '.join(map(repr, unknown))}; valid arguments: {valid}")
        return {**self.defaults, **kwargs}

    def make_batched(self, num_envs: int = 1, device: str | torch.device = "cpu", **kwargs: Any) -> BatchedEnv:
        return self.batched_class(num_envs, device, **self._checked(kwargs))

    def make(self, render_mode: str | None = None, **kwargs: Any) -> BatchedParallelEnv:
        return BatchedParallelEnv(self.make_batched(1, "cpu", **kwargs), name=self.id, render_mode=render_mode)


REGISTRY: dict[str, EnvSpec] = {}


def register(env_spec: EnvSpec) -> None:
    """Add ``env_spec`` to the table and create its PettingZoo-style module ``marl_envs.<id>``."""
    REGISTRY[env_spec.id] = env_spec
    install_env_module(env_spec.id, env_spec.entry_point.split(":")[0])


def _normalise(name: str) -> str:
    # Accept "goal_grid_v0", "goal_grid-v0" and PettingZoo's "marl_envs/goal_grid-v0".
    name = name.strip()
    if name.startswith("marl_envs/"):
        name = name[len("marl_envs/") :]
    stem, dash, version = name.rpartition("-v")
    return f"{stem}_v{version}" if dash and version.isdigit() else name


def spec(name: str) -> EnvSpec:
    if not isinstance(name, str):
        raise TypeError(f"environment name must be a string, got {type(name).__name__}")
    try:
        return REGISTRY[_normalise(name)]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; registered: {', '.join(list_envs())}") from None


def make(name: str, render_mode: str | None = None, **kwargs: Any) -> BatchedParallelEnv:
    """A PettingZoo ``ParallelEnv`` of the env ``name`` (for example ``"goal_grid_v0"``)."""
    return spec(name).make(render_mode=render_mode, **kwargs)


def make_batched(name: str, num_envs: int = 1, device: str | torch.device = "cpu", **kwargs: Any) -> BatchedEnv:
    """``num_envs`` copies of the env ``name`` on ``device``, stepped together (a ``BatchedEnv``)."""
    return spec(name).make_batched(num_envs, device, **kwargs)


def list_envs() -> list[str]:
    return sorted(REGISTRY)
