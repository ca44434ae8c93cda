"""``VecEnv``: the interface both sources implement (see :mod:`marl_baselines.vec`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from marl_envs import ActionSpec, EnvStep

__all__ = ["VecEnv"]


class VecEnv:
    """Base class of both sources: B copies of an env with N agents, all tensors on ``device``.

    Attributes:
        source: ``"native"`` or ``"pettingzoo"`` (for logs; algorithms need not look).
        num_envs: B. n_agents: N. agents: the N agent names, in tensor order.
        device: the torch device of every returned tensor.
        obs_size: O. state_size: S.
        discrete: True for Discrete actions, False for Box actions.
        action_sizes: per agent, the number of actions (discrete) or the flattened action size.
        action_size: A, the largest of ``action_sizes`` (the width of masks and continuous actions).
        action_low, action_high: continuous envs only, float32 ``[N, A]`` on ``device``, the Box
            bounds (infinite where unbounded), padded with 0; None for discrete envs.
        has_action_mask: whether ``action_mask`` is a tensor (see the module doc).
        env_info: what the env documents for algorithms beyond its spaces (``BatchedEnv.env_info``;
            the pettingzoo source reads the first copy's ``env_info`` attribute, ``{}`` if it has none).
        has_adjacency: whether ``adjacency`` is a tensor (native envs with an agent graph; never the pettingzoo source).
        max_episode_steps: the env's ``max_cycles`` if it has one, else None.
        sync_free: whether a step runs without host-device syncs (a native env's ``sync_free``;
            never the pettingzoo source, whose envs run on the host); algorithms keep their own
            per-step bookkeeping sync-free too when it is set.
    """

    source: str
    num_envs: int
    n_agents: int
    agents: list[str]
    device: torch.device
    obs_size: int
    state_size: int
    discrete: bool
    action_sizes: list[int]
    action_size: int
    action_low: torch.Tensor | None
    action_high: torch.Tensor | None
    has_action_mask: bool
    has_adjacency: bool = False
    sync_free: bool = False
    env_info: dict[str, Any]

    def reset(self, seed: int | Sequence[int] | None = None) -> EnvStep:
        """Start a new episode in every copy; ``seed=s`` seeds copy b with ``s + b``."""
        raise NotImplementedError

    def step(self, actions: torch.Tensor) -> EnvStep:
        """Act in every copy (discrete int64 ``[B, N]``, continuous float32 ``[B, N, A]``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the envs' resources (windows, processes)."""

    @property
    def max_episode_steps(self) -> int | None:
        raise NotImplementedError

    def random_actions(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniformly random legal actions for every copy, on ``device``.

        Discrete: uniform over each agent's legal actions (its own actions, and the current
        ``action_mask``): int64 ``[B, N]``. Continuous: uniform within finite bounds, standard
        normal (then clamped) along unbounded ones, 0 in padding: float32 ``[B, N, A]``.
        Drawn on ``generator``'s device (CPU by default), so one seeded generator gives the same
        actions whatever the device or the source (and the same as ``BatchedEnv.random_actions``).
        """
        return self.actions.sample(self.num_envs, self._current_mask, generator)

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "discrete" if self.discrete else "continuous"
        return (
            f"{type(self).__name__}({self.name!r}, num_envs={self.num_envs}, n_agents={self.n_agents}, "
            f"device={str(self.device)!r}, {kind} actions)"
        )

    # ------------------------------------------------------------------ shared set-up
    def _set_actions(self, actions: ActionSpec, env_masks: bool) -> None:
        """Action attributes from ``actions`` (on ``device``) and the static mask of padding actions."""
        self.actions = actions
        self.discrete = actions.discrete
        self.action_sizes = list(actions.sizes)
        self.action_size = actions.width
        self.action_low, self.action_high = actions.low, actions.high
        self._current_mask: torch.Tensor | None = None
        # Agents with fewer discrete actions than the widest one: their padding actions are illegal.
        self._static_mask = actions.used if actions.discrete and actions.heterogeneous else None
        self.has_action_mask = bool(actions.discrete and (env_masks or actions.heterogeneous))


def _num_envs(num_envs: Any) -> int:
    if isinstance(num_envs, (bool, np.bool_)) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    return int(num_envs)
