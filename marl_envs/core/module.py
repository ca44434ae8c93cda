"""``marl_envs.<id>``: the PettingZoo-style module of every registered env, made by ``register``.

``from marl_envs import goal_grid_v0`` (or ``import marl_envs.goal_grid_v0``) gives a module
with ``env``, ``raw_env``, ``parallel_env`` and ``make_batched``, as PettingZoo's own env
modules have, and the env's documentation page (its file's module docstring) as ``__doc__``.
No file stands behind it: registering an env creates it, so a new env is one file in
``marl_envs/envs/`` and one ``register(...)`` line. The env's code is imported on first use.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

__all__ = ["EnvModule", "env_module_functions", "install_env_module"]

FUNCTIONS = ("env", "raw_env", "parallel_env", "make_batched")


def env_module_functions(env_id: str) -> tuple[Callable[..., Any], ...]:
    """``(env, raw_env, parallel_env, make_batched)`` for the registered env ``env_id``.

    ``parallel_env`` is the native ParallelEnv; ``raw_env`` its AEC form, ``env`` the AEC form
    with PettingZoo's order-enforcing wrapper (as in PettingZoo's own modules).
    """
    from marl_envs.core.registry import spec

    env_spec = spec(env_id)

    def parallel_env(render_mode: str | None = None, **kwargs: Any):
        return env_spec.make(render_mode=render_mode, **kwargs)

    def raw_env(render_mode: str | None = None, **kwargs: Any):
        return parallel_to_aec_wrapper(parallel_env(render_mode=render_mode, **kwargs))

    def env(render_mode: str | None = None, **kwargs: Any):
        return OrderEnforcingWrapper(raw_env(render_mode=render_mode, **kwargs))

    def make_batched(num_envs: int = 1, device: str = "cpu", **kwargs: Any):
        return env_spec.make_batched(num_envs, device, **kwargs)

    for function in (parallel_env, raw_env, env, make_batched):
        function.__module__ = f"marl_envs.{env_id}"
        function.__doc__ = f"{function.__name__} of {env_id}; arguments: {', '.join(sorted(env_spec.arguments))}."
    return env, raw_env, parallel_env, make_batched


class EnvModule(types.ModuleType):
    """The module ``marl_envs.<env_id>``; its functions are built on first access."""

    __all__ = list(FUNCTIONS)

    def __init__(self, env_id: str, entry_module: str):
        super().__init__(f"marl_envs.{env_id}")
        self.__dict__["_env_id"] = env_id
        self.__dict__["_entry_module"] = entry_module

    @property
    def __doc__(self) -> str | None:  # the env file's module docstring: its documentation page
        return importlib.import_module(self.__dict__["_entry_module"]).__doc__

    def __getattr__(self, name: str) -> Any:
        if name in FUNCTIONS:
            self.__dict__.update(zip(FUNCTIONS, env_module_functions(self.__dict__["_env_id"])))
            return self.__dict__[name]
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *FUNCTIONS})


def install_env_module(env_id: str, entry_module: str) -> EnvModule:
    """Create ``marl_envs.<env_id>`` (in ``sys.modules`` and as an attribute of the package)."""
    module = EnvModule(env_id, entry_module)
    sys.modules[module.__name__] = module
    package = sys.modules.get("marl_envs")
    if package is not None:
        setattr(package, env_id, module)
    return module
