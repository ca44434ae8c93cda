"""What the batched API returns and raises: ``EnvStep`` (one step), ``Rollout`` (many), ``ResetNeeded``."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["EnvStep", "ResetNeeded", "Rollout"]


class ResetNeeded(RuntimeError, ValueError):
    """Raised when an environment is stepped before ``reset()`` or after its episode ended."""


class EnvStep(NamedTuple):
    """What ``BatchedEnv.reset`` and ``BatchedEnv.step`` return. B sub-envs, N agents."""

    obs: torch.Tensor
    """float32 ``[B, N, O]``: each agent's observation, zero-padded at the end to the largest size O."""
    state: torch.Tensor
    """float32 ``[B, S]``: the global state, for centralised critics and mixers."""
    reward: torch.Tensor
    """float32 ``[B, N]``: reward of the step (zeros after ``reset``; zero for agents that had left)."""
    terminated: torch.Tensor
    """bool ``[B, N]``: the agent's episode ended in a terminal state at this step (or earlier)."""
    truncated: torch.Tensor
    """bool ``[B, N]``: the agent's episode was cut at ``max_cycles`` (never together with terminated)."""
    alive: torch.Tensor
    """bool ``[B, N]``: the agent acts in the episode that ``obs`` belongs to."""
    final_obs: torch.Tensor
    """float32 ``[B, N, O]``: the observation before any auto-reset (equals ``obs`` where none happened)."""
    final_state: torch.Tensor
    """float32 ``[B, S]``: the state before any auto-reset."""
    action_mask: torch.Tensor | None
    """bool ``[B, N, A]``: the legal actions at ``obs``, for envs with illegal actions; else None."""
    adjacency: torch.Tensor | None
    """bool ``[B, N, N]``: ``adjacency[b, i, j]``: agent j is a neighbour of agent i at ``obs``; None if the env has no graph."""
    info: dict[str, torch.Tensor]
    """Numeric per-step information: tensors ``[B]`` (per sub-env) or ``[B, N, ...]`` (per agent)."""


class Rollout(NamedTuple):
    """What ``BatchedEnv.rollout`` returns: T steps of B sub-envs, stacked along a new first dimension."""

    actions: torch.Tensor
    """``[T, B, N]`` (discrete) or ``[T, B, N, A]`` (continuous): the actions taken at each step."""
    steps: EnvStep
    """Each step's ``EnvStep`` (what ``step`` returned for it), every tensor with the leading ``T``;
    ``steps.info`` maps each name to a tensor ``[T, ...]``."""
