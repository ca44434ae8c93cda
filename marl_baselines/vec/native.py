"""``NativeVecEnv``: a ``marl_envs.BatchedEnv`` behind the VecEnv interface (see :mod:`marl_baselines.vec`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from marl_baselines.vec.base import VecEnv
from marl_envs import BatchedEnv, EnvStep
from marl_envs.core.checks import checked_device

__all__ = ["NativeVecEnv"]


class NativeVecEnv(VecEnv):
    """A ``marl_envs.BatchedEnv`` behind the VecEnv interface (tensors pass through).

    Args:
        env: the batched env; ``num_envs`` is its ``num_envs``.
        device: where returned tensors live; by default the env's own device (then nothing moves).
        name: for ``repr`` (default: the env's class name).
    """

    source = "native"

    def __init__(self, env: BatchedEnv, device: str | torch.device | None = None, name: str | None = None):
        if not isinstance(env, BatchedEnv):
            raise TypeError(f"NativeVecEnv needs a marl_envs.BatchedEnv, got {type(env).__name__}")
        self.env = env
        self.name = name or type(env).__name__
        self.device = env.device if device is None else checked_device(device)
        self._move = self.device != env.device
        self.num_envs = env.num_envs
        self.n_agents = env.n_agents
        self.agents = list(env.possible_agents)
        self.obs_size = env.obs_size
        self.state_size = env.state_size
        self.has_adjacency = bool(env.has_adjacency)
        self.sync_free = bool(env.sync_free)
        self.env_info = env.env_info
        self._set_actions(env.actions if self.device == env.device else env.actions.to(self.device), env.has_action_mask)

    @property
    def max_episode_steps(self) -> int | None:
        return getattr(self.env, "max_cycles", None)

    def reset(self, seed: int | Sequence[int] | None = None) -> EnvStep:
        return self._convert(self.env.reset(seed))

    def step(self, actions: torch.Tensor) -> EnvStep:
        return self._convert(self.env.step(actions))

    def close(self) -> None:
        close = getattr(self.env, "close", None)
        if close is not None:
            close()

    def _convert(self, out: EnvStep) -> EnvStep:
        if self._move:
            moved = [None if t is None else t.to(self.device) for t in out[:-1]]
            out = EnvStep(*moved, {key: value.to(self.device) for key, value in out.info.items()})
        mask = out.action_mask
        if self._static_mask is not None:
            mask = self._static_mask.expand(self.num_envs, -1, -1) if mask is None else mask & self._static_mask
        self._current_mask = mask
        B, N = self.num_envs, self.n_agents
        info = {key: value[:, None].expand(B, N) if value.dim() == 1 else value for key, value in out.info.items()}
        return out._replace(action_mask=mask, info=info)
