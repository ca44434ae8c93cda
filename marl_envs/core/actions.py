"""``ActionSpec``: what every agent may do, checked, sampled and described in one place.

A batched env (:class:`marl_envs.BatchedEnv`), its PettingZoo view and the baselines' ``VecEnv``
all take actions as one tensor for every agent of every sub-env:

* discrete: int64 ``[B, N]``, agent i's actions numbered ``0 .. sizes[i] - 1``;
* continuous: float32 ``[B, N, A]``, agent i's action the first ``sizes[i]`` entries (its Box,
  flattened), the rest padding that is ignored whatever its value.

The spec is built from the agents' gymnasium spaces (every one ``Discrete``, or every one a
``Box`` of any shape) and keeps the sizes, the bounds and the static mask of padding actions on
one device. ``check`` turns anything array-like into that tensor or raises a one-line error
naming the agent, the sub-env, the expected and the received value; ``sample`` draws uniformly
random legal actions; ``check_agent_action`` checks one agent's action in the PettingZoo form.

Example (two agents with ``Discrete(3)`` and ``Discrete(5)``)::

    spec = ActionSpec(["a_0", "b_0"], [Discrete(3), Discrete(5)], "cpu")
    spec.sizes, spec.width                     # [3, 5], 5
    spec.legal()                               # bool [2, 5]: a_0's actions 3 and 4 do not exist
    actions = spec.sample(4)                   # int64 [4, 2]
    spec.check(torch.tensor([[0, 4]]), 1)      # ok
    spec.check(torch.tensor([[3, 0]]), 1)      # ValueError: agent 'a_0': action 3 is out of range; ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
import torch

__all__ = ["ActionSpec", "action_spaces"]


class ActionSpec:
    """The actions of N agents: kind, sizes, bounds and static mask, on ``device``.

    Args:
        agents: the N agent names, in tensor order.
        spaces: each agent's action space: every one ``Discrete`` (any ``start``: actions are
            numbered from 0 here, ``starts`` holds the offsets) or every one a ``Box`` (any shape).
        device: where ``legal()``, ``low``, ``high`` and checked or sampled actions live.

    Attributes:
        discrete: True for Discrete spaces.
        sizes: per agent, its number of actions (discrete) or its flattened Box size.
        width: A, the largest size (the width of masks and of continuous actions).
        used: bool ``[N, A]``: entry a exists for agent i (``a < sizes[i]``).
        starts: int64 NumPy ``[N]``: each Discrete space's ``start`` (zeros for Box spaces).
        low, high: continuous only, float32 ``[N, A]``: the Box bounds (infinite where unbounded),
            0 in padding; None for discrete actions.
    """

    def __init__(self, agents: Sequence[str], spaces: Sequence[gymnasium.Space], device: str | torch.device = "cpu"):
        self.agents = list(agents)
        self.spaces = list(spaces)
        self.device = torch.device(device)
        if len(self.agents) != len(self.spaces):
            raise ValueError(f"one action space per agent: {len(self.agents)} agents, {len(self.spaces)} spaces")
        if all(isinstance(s, gymnasium.spaces.Discrete) for s in self.spaces):
            self.discrete = True
            self.sizes = [int(s.n) for s in self.spaces]
            self.starts = np.array([int(s.start) for s in self.spaces], np.int64)
        elif all(isinstance(s, gymnasium.spaces.Box) for s in self.spaces):
            self.discrete = False
            self.sizes = [int(math.prod(s.shape)) for s in self.spaces]
            self.starts = np.zeros(len(self.spaces), np.int64)
        else:
            found = ", ".join(f"{a}: {s}" for a, s in zip(self.agents, self.spaces))
            raise TypeError(
                f"unsupported action spaces ({found}); expected every agent's to be Discrete, or every agent's a Box "
                "(MultiDiscrete, MultiBinary, Tuple, Dict and mixed spaces are not supported)"
            )
        self.width = max(self.sizes)
        N, A = len(self.sizes), self.width
        used = np.arange(A)[None, :] < np.asarray(self.sizes)[:, None]
        self.used = torch.as_tensor(used, device=self.device)
        self.heterogeneous = len(set(self.sizes)) > 1
        self.low = self.high = None
        if self.discrete:
            self._n = torch.tensor(self.sizes, dtype=torch.int64, device=self.device)
            return
        low, high = np.zeros((N, A), np.float32), np.zeros((N, A), np.float32)
        for i, s in enumerate(self.spaces):
            low[i, : self.sizes[i]] = np.asarray(s.low, np.float32).reshape(-1)
            high[i, : self.sizes[i]] = np.asarray(s.high, np.float32).reshape(-1)
        self.low = torch.as_tensor(low, device=self.device)
        self.high = torch.as_tensor(high, device=self.device)
        bounded = np.isfinite(low) & np.isfinite(high)
        self._bounded = torch.as_tensor(bounded, device=self.device)
        self._low_finite = torch.as_tensor(np.where(bounded, low, 0.0).astype(np.float32), device=self.device)
        self._span_finite = torch.as_tensor(np.where(bounded, high - low, 0.0).astype(np.float32), device=self.device)

    def to(self, device: str | torch.device) -> ActionSpec:
        """The same spec on another device."""
        return ActionSpec(self.agents, self.spaces, device)

    # ------------------------------------------------------------------ masks and sampling
    def legal(self, action_mask: torch.Tensor | None = None) -> torch.Tensor:
        """bool ``[..., N, A]``: the actions each agent has (``used``), and'ed with ``action_mask`` if given."""
        return self.used if action_mask is None else self.used & action_mask

    def sample(self, num_envs: int, action_mask: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniformly random legal actions for ``num_envs`` sub-envs, on ``device``.

        Discrete: uniform over each agent's legal actions (its own, and'ed with ``action_mask``
        ``[B, N, A]`` if given): int64 ``[B, N]``. Continuous: uniform within finite bounds,
        standard normal (then clamped) along unbounded ones, 0 in padding: float32 ``[B, N, A]``.
        Drawn on ``generator``'s device (CPU by default), so a seeded generator gives the same
        actions whatever the device.
        """
        B, N, A = num_envs, len(self.sizes), self.width
        source = generator.device if generator is not None else torch.device("cpu")
        uniform = torch.rand(B, N, A, generator=generator, device=source).to(self.device)
        normal = None if self.discrete else torch.randn(B, N, A, generator=generator, device=source).to(self.device)
        return self.sample_from(uniform, normal, action_mask)

    def sample_from(
        self, uniform: torch.Tensor, normal: torch.Tensor | None = None, action_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The random actions that ``sample`` makes of its random numbers, from numbers drawn elsewhere.

        ``uniform``: float ``[B, N, A]`` in ``[0, 1)``; ``normal`` (continuous only): standard normal
        ``[B, N, A]``. Discrete: the legal action with the largest uniform score; continuous: the
        uniform mapped into finite bounds, the normal along unbounded ones (clamped), 0 in padding.
        For a caller with its own random source (``BatchedEnv.rollout`` draws from a counter-based one).
        """
        if self.discrete:
            return uniform.masked_fill(~self.legal(action_mask), -1.0).argmax(-1)
        if normal is None:
            raise ValueError("continuous actions need normal numbers too (normal=[B, N, A])")
        actions = torch.where(self._bounded, self._low_finite + self._span_finite * uniform, normal)
        return actions.clamp(self.low, self.high).masked_fill(~self.used, 0.0)

    # ------------------------------------------------------------------ checks
    def check(
        self,
        actions: Any,
        num_envs: int,
        *,
        validate: bool = True,
        action_mask: torch.Tensor | None = None,
        alive: torch.Tensor | None = None,
        where: str = "sub-env",
    ) -> torch.Tensor:
        """``actions`` as a tensor on ``device`` (int64 ``[B, N]`` or float32 ``[B, N, A]``), or a clear error.

        Kind and shape are always checked. With ``validate``, values are too: in range (within
        the Box, no NaN), and legal under ``action_mask`` ``[B, N, A]``; agents where ``alive``
        ``[B, N]`` is False are not checked (their actions are ignored). Checking values makes
        the host wait for the device once. ``where`` names a sub-env in errors ("sub-env 3").
        """
        if not isinstance(actions, torch.Tensor):
            try:
                actions = torch.as_tensor(np.asarray(actions))
            except (TypeError, ValueError) as error:
                raise TypeError(f"actions must be a tensor or array, got {type(actions).__name__}: {error}") from None
        B, N, A = num_envs, len(self.sizes), self.width
        if self.discrete:
            if actions.dtype.is_floating_point or actions.dtype.is_complex or actions.dtype == torch.bool:
                raise TypeError(f"discrete actions must be an integer tensor [{B}, {N}], got dtype {actions.dtype}")
            if actions.shape != (B, N):
                raise ValueError(f"actions must have shape [{B}, {N}] (num_envs, n_agents), got {list(actions.shape)}")
            actions = actions.detach().to(self.device, torch.int64)
            if validate:
                bad = (actions < 0) | (actions >= self._n)
                if action_mask is not None:
                    bad = bad | ~action_mask.gather(-1, actions.clamp(0, action_mask.shape[-1] - 1)[..., None])[..., 0]
                self._raise_if_bad(bad, actions, action_mask, alive, where)
            return actions
        if not actions.dtype.is_floating_point:
            raise TypeError(f"continuous actions must be a float tensor [{B}, {N}, {A}], got dtype {actions.dtype}")
        if actions.shape != (B, N, A):
            raise ValueError(f"actions must have shape [{B}, {N}, {A}] (num_envs, n_agents, action size), got {list(actions.shape)}")
        actions = actions.detach().to(self.device, torch.float32)
        if validate:
            bad = ((actions.isnan() | (actions < self.low) | (actions > self.high)) & self.used).any(-1)
            self._raise_if_bad(bad, actions, None, alive, where)
        return actions

    def check_agent_action(self, i: int, action: Any) -> np.ndarray:
        """One agent's action in the PettingZoo form (an integer, or a float array of its Box's shape), as an array.

        Only the kind and shape are checked here; values are checked with the whole batch (``check``).
        """
        agent, space, value = self.agents[i], self.spaces[i], np.asarray(action)
        if self.discrete:
            if value.shape != () or value.dtype.kind not in "iu":
                raise TypeError(f"agent {agent!r}: action must be an integer ({space}), got {action!r} of type {type(action).__name__}")
        elif value.dtype.kind != "f" or value.shape != space.shape:
            raise ValueError(f"agent {agent!r}: action must be a float array of shape {space.shape} ({space}), got {action!r}")
        return value

    def describe(self, i: int) -> str:
        """What agent i's action must be, for error messages."""
        if self.discrete:
            return f"an integer in [0, {self.sizes[i]})"
        return f"{self.spaces[i]}"

    def _raise_if_bad(self, bad: torch.Tensor, actions: torch.Tensor, action_mask, alive, where: str) -> None:
        if alive is not None:
            bad = bad & alive
        if not bad.any():
            return
        b, i = (int(v) for v in bad.nonzero()[0])
        agent = self.agents[i]
        place = f" in {where} {b}" if bad.shape[0] > 1 else ""
        value = actions[b, i] if self.discrete else actions[b, i, : self.sizes[i]]
        received = value.item() if value.dim() == 0 else value.tolist()
        if self.discrete and action_mask is not None and 0 <= received < self.sizes[i] and not action_mask[b, i, received]:
            legal = action_mask[b, i].nonzero().squeeze(-1).tolist()
            raise ValueError(f"agent {agent!r}{place}: action {received} is illegal now; legal actions: {legal}")
        if not self.discrete and bool(torch.isnan(value).any()):
            raise ValueError(f"agent {agent!r}{place}: action {received} contains NaN")
        raise ValueError(f"agent {agent!r}{place}: action {received} is out of range; expected {self.describe(i)}")


def action_spaces(
    agents: Sequence[str], box: gymnasium.spaces.Box, continuous_actions: bool, prototypes
) -> tuple[Mapping, torch.Tensor | None]:
    """Action spaces (one shared object) and ``action_table`` for an env with a ``continuous_actions`` switch.

    ``continuous_actions=True``: every agent acts in ``box``. ``continuous_actions=False``: every agent picks one of
    ``prototypes`` (a list of points of ``box``, documented by the env): ``Discrete(len(prototypes))``,
    applied through the ``action_table``, so the env's rules see continuous actions either way.
    """
    if continuous_actions:
        return dict.fromkeys(agents, box), None
    table = torch.as_tensor(np.asarray(prototypes, dtype=np.float32)).reshape(len(prototypes), -1)
    if table.shape[1] != box.shape[0] or not all(box.contains(row.numpy()) for row in table):
        raise ValueError(f"every prototype must be a point of {box}")
    return dict.fromkeys(agents, gymnasium.spaces.Discrete(len(table))), table.expand(len(agents), *table.shape).clone()
