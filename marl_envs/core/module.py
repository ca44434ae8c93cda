"""What a PettingZoo-style env module (``marl_envs/goal_grid_v0.py``) exports, built from the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from marl_envs.core.registry import spec

__all__ = ["env_module_functions"]


def env_module_functions(env_id: str) -> tuple[Callable[..., Any], ...]:
    """``(env, raw_env, parallel_env, make_batched)`` for the registered env ``env_id``.

    ``parallel_env`` is the native ParallelEnv; ``raw_env`` its AEC form, ``env`` the AEC form
    with PettingZoo's order-enforcing wrapper (as in PettingZoo's own modules).
    """
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
        function.__doc__ = f"{function.__name__} of {env_id}; arguments: {', '.join(sorted(env_spec.arguments))}."
    return env, raw_env, parallel_env, make_batched
