"""``VecEnv``: the one environment interface every algorithm sees.

An algorithm gets ``num_envs`` (B) copies of an environment with ``n_agents`` (N) agents and
talks to them only through tensors on the training ``device``::

    from marl_baselines.vec import make_vec_env

    env = make_vec_env("goal_grid_v0", num_envs=8, device="cpu")   # native: a marl_envs BatchedEnv
    out = env.reset(seed=0)          # out.obs [8, 2, 6], out.state [8, 8]
    out = env.step(env.random_actions())   # discrete actions: int64 [B, N]

    from mpe2 import simple_spread_v3
    env = make_vec_env(simple_spread_v3.parallel_env, num_envs=8, continuous_actions=True)
    out = env.reset(seed=0)          # out.obs [8, 3, 18], out.state [8, 54]
    out = env.step(env.random_actions())   # continuous actions: float32 [B, N, A] = [8, 3, 5]

Two sources stand behind the same interface, so an algorithm cannot tell which one it got:

``NativeVecEnv`` (``source="native"``)
    A ``marl_envs.BatchedEnv`` on any device. Its tensors are passed through; nothing leaves
    the device during a rollout.
``PettingZooVecEnv`` (``source="pettingzoo"``)
    K copies of ANY PettingZoo ``ParallelEnv`` (built by a factory callable, e.g.
    ``mpe2.simple_spread_v3.parallel_env`` or ``lambda: marl_envs.make("goal_grid_v0")``),
    stepped one after the other and stacked into the same tensors.

Every ``reset(seed=None)`` and ``step(actions)`` returns a ``marl_envs.EnvStep``:

* ``obs`` float32 ``[B, N, O]``: each agent's observation, flattened, zero-padded at the end to
  the largest agent's size O (``obs_size``);
* ``state`` float32 ``[B, S]``: the global state (``state_size``);
* ``reward`` float32 ``[B, N]``: the step's reward, 0 for agents that had already left;
* ``terminated`` bool ``[B, N]``: the agent's episode ended in a terminal state (at this step or earlier);
* ``truncated`` bool ``[B, N]``: the agent's episode was cut (time limit);
* ``alive`` bool ``[B, N]``: the agent acts in the episode ``obs`` belongs to;
* ``final_obs`` float32 ``[B, N, O]`` and ``final_state`` float32 ``[B, S]``: before any
  auto-reset (the same tensors as ``obs``/``state`` where no copy reset);
* ``action_mask`` bool ``[B, N, A]``: the legal actions at ``obs`` when ``has_action_mask``, else None;
* ``adjacency`` bool ``[B, N, N]``: agent j is a neighbour of agent i, for envs with a graph, else None;
* ``info``: numeric per-step information, every value ``[B, N, ...]`` (per agent).

Same-step auto-reset: when the episode of copy b ends, ``step`` starts its next one before
returning; ``obs[b]``/``state[b]``/``alive[b]``/``action_mask[b]`` belong to the new episode,
``final_obs[b]``/``final_state[b]`` to the one that ended, and ``reward``, ``terminated``,
``truncated`` and ``info`` describe the step that ended it.

Actions: discrete envs int64 ``[B, N]`` (agent i's actions are ``0 .. action_sizes[i] - 1``);
continuous envs float32 ``[B, N, A]`` within ``[action_low, action_high]`` (agent i's action is
the first ``action_sizes[i]`` entries, flattened; the rest is padding and ignored). Actions of
agents that are not ``alive`` are ignored. Invalid actions (out of range, illegal under the
mask, NaN) raise a ValueError that names the agent and the copy.

``has_action_mask`` is True when the env masks actions, and also when agents have different
numbers of discrete actions: then the VecEnv itself masks each agent's padding actions (combined
with the env's mask), so ``argmax`` over masked logits never picks an action an agent lacks.

Seeding: ``reset(seed=s)`` gives copy b the seed ``s + b`` (both sources), so the pettingzoo
source over ``marl_envs.make(name)`` reproduces the native source batch for batch; ``reset()``
without a seed continues each copy's random stream.

What the pettingzoo source cannot give (it only sees the PettingZoo API):

* ``adjacency`` is always None;
* ``info``: only numeric values (numbers, bools, numeric arrays of one shape across agents),
  per agent as ``[B, N, ...]`` (bools stay bool, integers int64, floats float32); an agent
  without the key in a step's infos gets 0. The native source reports the same layout: its
  per-sub-env values ``[B]`` are repeated for every agent (an expanded view, ``[B, N]``).
  ``reset`` returns an empty ``info`` in both;
* for an agent that has left the episode: ``obs`` is zeros, the ``action_mask`` row allows all
  of its actions (a placeholder; the agent's actions are ignored), and ``terminated``/``truncated``
  keep the values they had when it left;
* ``state``: ``env.state()`` if the env has one, else the concatenation of the padded
  observations (``S = N * O``).

To learn whether the env has ``state()`` and whether its infos carry action masks, the
pettingzoo source resets its first copy once when it is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
import torch

import marl_envs
from marl_envs import ActionSpec, BatchedEnv, EnvStep
from marl_envs.core.rng import seeds_for

__all__ = ["EnvStep", "NativeVecEnv", "PettingZooVecEnv", "VecEnv", "make_vec_env"]

SOURCES = ("native", "pettingzoo")


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
        self.device = env.device if device is None else torch.device(device)
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


class PettingZooVecEnv(VecEnv):
    """K copies of any PettingZoo ``ParallelEnv``, stepped in turn and stacked into tensors.

    Args:
        env_fn: a callable returning a new ``ParallelEnv`` (called ``num_envs`` times).
        num_envs: K >= 1.
        device: where returned tensors live.

    Observation spaces must be Box (any shape; flattened) or a Dict ``{"observation": Box,
    "action_mask": ...}``; action spaces all Discrete (any ``start``) or all Box (any shape;
    flattened). Copy k's episode ends when its ``agents`` is empty after a step (or when every
    agent that acted is terminated or truncated); it is then reset without a seed.
    """

    source = "pettingzoo"

    def __init__(self, env_fn: Callable[[], Any], num_envs: int, device: str | torch.device = "cpu"):
        if not callable(env_fn):
            raise TypeError(f"env_fn must be a callable returning a PettingZoo ParallelEnv, got {type(env_fn).__name__}")
        self.num_envs = _num_envs(num_envs)
        self.device = torch.device(device)
        self.envs = [env_fn() for _ in range(self.num_envs)]
        first = self.envs[0]
        for env in self.envs:
            missing = [m for m in ("reset", "step", "possible_agents", "observation_space", "action_space") if not hasattr(env, m)]
            if missing:
                raise TypeError(
                    f"env_fn must return a PettingZoo ParallelEnv (with reset, step, possible_agents, "
                    f"observation_space, action_space); got {type(env).__name__}, which lacks {', '.join(missing)}"
                )
        self.name = _env_name(first)
        self.env_info = dict(getattr(first, "env_info", None) or {})
        self.agents = list(first.possible_agents)
        if not self.agents:
            raise ValueError(f"{self.name}: possible_agents is empty")
        for env in self.envs[1:]:
            if list(env.possible_agents) != self.agents:
                raise ValueError(f"every copy must have the same possible_agents: {self.agents} != {list(env.possible_agents)}")
        self.n_agents = N = len(self.agents)
        self._index = {agent: i for i, agent in enumerate(self.agents)}

        # Observation spaces: Box, or Dict(observation=Box, action_mask=...).
        shapes, dict_masks = [], []
        for agent in self.agents:
            space = first.observation_space(agent)
            if isinstance(space, gymnasium.spaces.Dict):
                if "observation" not in space.spaces or not isinstance(space["observation"], gymnasium.spaces.Box):
                    raise TypeError(
                        f"{self.name}: agent {agent!r}: a Dict observation space must have an 'observation' Box "
                        f"(and optionally an 'action_mask'); got {space}"
                    )
                dict_masks.append("action_mask" in space.spaces)
                space = space["observation"]
            elif isinstance(space, gymnasium.spaces.Box):
                dict_masks.append(False)
            else:
                raise TypeError(f"{self.name}: agent {agent!r}: unsupported observation space {space}; expected a Box (any shape) or a Dict with an 'observation' Box")
            shapes.append(space.shape)
        self._obs_sizes = [int(math.prod(shape)) for shape in shapes]
        self.obs_size = max(self._obs_sizes)
        self._dict_obs = any(dict_masks)

        # Action spaces: all Discrete, or all Box (any shape, flattened).
        try:
            actions = ActionSpec(self.agents, [first.action_space(agent) for agent in self.agents], self.device)
        except TypeError as error:
            raise TypeError(f"{self.name}: {error}") from None
        self._host_actions = actions.to("cpu")
        self._action_shapes = [s.shape for s in actions.spaces]
        self._action_dtypes = [s.dtype for s in actions.spaces]

        # One reset of the first copy tells whether the env has state() and masks in its infos.
        observations, infos = first.reset()
        self._info_masks = not self._dict_obs and any(
            isinstance(info, dict) and "action_mask" in info for info in (infos or {}).values()
        )
        try:
            state = first.state()
        except (NotImplementedError, AttributeError):
            state = None
        self._has_state = state is not None
        self.state_size = int(np.asarray(state).size) if self._has_state else N * self.obs_size
        self._set_actions(actions, self._dict_obs or self._info_masks)
        self._masked = self.has_action_mask
        self._info_masks = self._info_masks and self.discrete
        self._max_cycles = _max_cycles(first)

        # Preallocated host buffers; each step copies each field to the device once.
        K, O, A = self.num_envs, self.obs_size, self.action_size
        self._obs = np.zeros((K, N, O), np.float32)
        self._state = np.zeros((K, self.state_size), np.float32)
        self._reward = np.zeros((K, N), np.float32)
        self._terminated = np.zeros((K, N), bool)
        self._truncated = np.zeros((K, N), bool)
        self._alive = np.zeros((K, N), bool)
        self._mask = np.ones((K, N, A), bool)
        self._mask_rows = self._host_actions.used.numpy()  # an agent without a mask: all its actions
        self._has_reset = False

    @property
    def max_episode_steps(self) -> int | None:
        return self._max_cycles

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | Sequence[int] | None = None) -> EnvStep:
        seeds = _copy_seeds(seed, self.num_envs)
        self._obs.fill(0.0)
        self._mask[:] = self._mask_rows
        self._terminated.fill(False)
        self._truncated.fill(False)
        for k, env in enumerate(self.envs):
            observations, infos = env.reset() if seeds is None else env.reset(seed=seeds[k])
            self._write_start(k, env, observations, infos)
        self._has_reset = True
        obs, state = self._obs_tensors(self._obs)
        zeros = torch.zeros(self.num_envs, self.n_agents, device=self.device)
        no = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        mask = self._mask_tensor()
        return EnvStep(obs, state, zeros, no, no, self._tensor(self._alive), obs, state, mask, None, {})

    def step(self, actions: torch.Tensor) -> EnvStep:
        if not self._has_reset:
            raise RuntimeError("call reset() before step()")
        per_agent = self._per_agent_actions(actions)
        index, info_masks = self._index, self._info_masks
        obs_buffer, reward, terminated, truncated = self._obs, self._reward, self._terminated, self._truncated
        obs_buffer.fill(0.0)
        reward.fill(0.0)
        if self._masked:
            self._mask[:] = self._mask_rows
        ended: list[int] = []
        final_obs: dict[int, np.ndarray] = {}
        final_state: dict[int, np.ndarray] = {}
        collected: dict[str, list] = {}
        for k, env in enumerate(self.envs):
            acting = list(env.agents)
            action_row = per_agent[k]
            observations, rewards, terminations, truncations, infos = env.step({a: action_row[index[a]] for a in acting})
            self._write_obs(k, observations)
            for agent, value in rewards.items():
                reward[k, index[agent]] = value
            for agent, value in terminations.items():
                terminated[k, index[agent]] = value
            for agent, value in truncations.items():
                truncated[k, index[agent]] = value
            if infos:
                if info_masks:
                    self._write_info_masks(k, infos)
                for agent, info in infos.items():
                    if info:
                        i = index[agent]
                        for key, value in info.items():
                            if key != "action_mask":
                                collected.setdefault(key, []).append((k, i, value))
            if self._has_state:
                self._state[k] = np.asarray(env.state(), np.float32).reshape(-1)
            remaining = env.agents
            everyone_done = all(terminations.get(a, False) or truncations.get(a, False) for a in acting)
            if not remaining or everyone_done:
                ended.append(k)
                final_obs[k] = obs_buffer[k].copy()
                if self._has_state:
                    final_state[k] = self._state[k].copy()
                obs_buffer[k] = 0.0
                if self._masked:
                    self._mask[k] = self._mask_rows
                observations, infos = env.reset()
                self._write_start(k, env, observations, infos)
            else:
                self._write_alive(k, remaining)

        obs, state = self._obs_tensors(obs_buffer)
        if ended:
            final = obs_buffer.copy()
            for k in ended:
                final[k] = final_obs[k]
            if self._has_state:
                final_state_array = self._state.copy()
                for k in ended:
                    final_state_array[k] = final_state[k]
                final_obs_t, _ = self._obs_tensors(final, with_state=False)
                final_state_t = self._tensor(final_state_array)
            else:
                final_obs_t, final_state_t = self._obs_tensors(final)
        else:
            final_obs_t, final_state_t = obs, state
        out = EnvStep(
            obs, state, self._tensor(reward), self._tensor(terminated), self._tensor(truncated),
            self._tensor(self._alive), final_obs_t, final_state_t, self._mask_tensor(), None,
            self._info_tensors(collected),
        )  # fmt: skip
        for k in ended:  # the new episodes start with no agent done
            terminated[k] = False
            truncated[k] = False
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()

    # ------------------------------------------------------------------ conversions
    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # copy=True: the host buffer is overwritten at the next step.
        return torch.from_numpy(array).to(self.device, copy=True)

    def _obs_tensors(self, obs: np.ndarray, with_state: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        obs_t = self._tensor(obs)
        if not with_state:
            return obs_t, None
        if self._has_state:
            return obs_t, self._tensor(self._state)
        return obs_t, obs_t.reshape(self.num_envs, self.state_size).clone()

    def _mask_tensor(self) -> torch.Tensor | None:
        mask = self._tensor(self._mask) if self._masked else None
        self._current_mask = mask
        return mask

    def _write_start(self, k: int, env: Any, observations: dict, infos: dict) -> None:
        """Copy k's first observation (its row of obs, alive, masks and state)."""
        self._write_obs(k, observations)
        if self._info_masks and infos:
            self._write_info_masks(k, infos)
        if self._has_state:
            self._state[k] = np.asarray(env.state(), np.float32).reshape(-1)
        self._write_alive(k, env.agents)

    def _write_obs(self, k: int, observations: dict) -> None:
        row, index, sizes = self._obs[k], self._index, self._obs_sizes
        if not self._dict_obs:
            for agent, value in observations.items():
                i = index[agent]
                row[i, : sizes[i]] = np.ravel(value)
            return
        mask_row = self._mask[k]
        for agent, value in observations.items():
            i = index[agent]
            row[i, : sizes[i]] = np.ravel(value["observation"])
            mask = value.get("action_mask") if self._masked else None
            if mask is not None:
                mask_row[i, : self.action_sizes[i]] = np.asarray(mask, bool)

    def _write_info_masks(self, k: int, infos: dict) -> None:
        mask_row, index = self._mask[k], self._index
        for agent, info in infos.items():
            mask = info.get("action_mask") if isinstance(info, dict) else None
            if mask is not None:
                i = index[agent]
                mask_row[i, : self.action_sizes[i]] = np.asarray(mask, bool)

    def _write_alive(self, k: int, remaining: Sequence[str]) -> None:
        row = self._alive[k]
        row.fill(False)
        index = self._index
        for agent in remaining:
            try:
                row[index[agent]] = True
            except KeyError:
                raise ValueError(f"{self.name}: agent {agent!r} is in env.agents but not in possible_agents {self.agents}") from None

    def _per_agent_actions(self, actions: Any) -> list[list[Any]]:
        """``actions`` checked and split into per-agent NumPy values of each agent's own space."""
        K, N = self.num_envs, self.n_agents
        checked = self._host_actions.check(
            actions, K, action_mask=torch.from_numpy(self._mask) if self._masked else None,
            alive=torch.from_numpy(self._alive), where="copy",
        )  # fmt: skip
        dtypes = self._action_dtypes
        if self.discrete:
            array = checked.numpy() + self._host_actions.starts
            return [[array[k, i].astype(dtypes[i]) for i in range(N)] for k in range(K)]
        # A copy of its own: envs may keep or change the arrays they are given.
        array = np.array(checked.numpy(), copy=True)
        sizes, shapes = self.action_sizes, self._action_shapes
        return [[array[k, i, : sizes[i]].reshape(shapes[i]).astype(dtypes[i], copy=False) for i in range(N)] for k in range(K)]

    def _info_tensors(self, collected: dict[str, list]) -> dict[str, torch.Tensor]:
        """Numeric infos as ``[K, N, ...]`` tensors; other values are dropped (see the module doc)."""
        info = {}
        K, N = self.num_envs, self.n_agents
        for key, entries in collected.items():
            try:
                values = [np.asarray(value) for _, _, value in entries]
            except (TypeError, ValueError):
                continue
            kinds = {value.dtype.kind for value in values}
            shapes = {value.shape for value in values}
            if len(shapes) != 1 or not kinds <= set("biuf"):
                continue
            dtype = np.bool_ if kinds == {"b"} else np.float32 if "f" in kinds else np.int64
            array = np.zeros((K, N, *shapes.pop()), dtype)
            for (k, i, _), value in zip(entries, values):
                array[k, i] = value
            info[key] = torch.from_numpy(array).to(self.device)
        return info


# ---------------------------------------------------------------------- factory
def make_vec_env(
    env: str | Callable[..., Any] | BatchedEnv,
    num_envs: int,
    device: str | torch.device = "cpu",
    source: str | None = None,
    **env_kwargs: Any,
) -> VecEnv:
    """``num_envs`` copies of ``env`` behind the VecEnv interface.

    Args:
        env: a registered marl_envs name (``"goal_grid_v0"``; see ``marl_envs.list_envs()``), a
            callable returning a PettingZoo ``ParallelEnv`` (``mpe2.simple_spread_v3.parallel_env``),
            or an existing ``BatchedEnv`` (its ``num_envs`` must equal ``num_envs``).
        num_envs: B >= 1.
        device: where the returned tensors live (and, for the native source, where the env runs).
        source: ``"native"`` (default for names and BatchedEnvs) or ``"pettingzoo"`` (default for
            callables; for a name, K copies of ``marl_envs.make(name)``).
        env_kwargs: the env's keyword arguments (``max_cycles=50``, ``continuous_actions=True``).

    Example::

        env = make_vec_env("target_grid_v0", num_envs=16, device="cuda")        # native
        env = make_vec_env("target_grid_v0", 16, source="pettingzoo")           # same batches, via PettingZoo
        env = make_vec_env(simple_spread_v3.parallel_env, 16, max_cycles=25)    # any ParallelEnv
    """
    num_envs = _num_envs(num_envs)
    if source is not None and source not in SOURCES:
        raise ValueError(f"source must be None, 'native' or 'pettingzoo', got {source!r}")
    if isinstance(env, BatchedEnv):
        if source == "pettingzoo":
            raise ValueError("source='pettingzoo' needs an env name or a callable returning a ParallelEnv, got a BatchedEnv")
        if env_kwargs:
            raise TypeError(f"env_kwargs ({', '.join(env_kwargs)}) cannot be applied to an existing BatchedEnv")
        if env.num_envs != num_envs:
            raise ValueError(f"num_envs={num_envs} but the BatchedEnv has num_envs={env.num_envs}")
        return NativeVecEnv(env, device)
    if isinstance(env, str):
        try:
            spec = marl_envs.spec(env)
        except ValueError:
            raise ValueError(f"unknown environment {env!r}; valid names: {', '.join(marl_envs.list_envs())}") from None
        if source == "pettingzoo":
            return PettingZooVecEnv(lambda: marl_envs.make(spec.id, **env_kwargs), num_envs, device)
        return NativeVecEnv(marl_envs.make_batched(spec.id, num_envs, device, **env_kwargs), name=spec.id)
    if callable(env):
        if source == "native":
            raise ValueError(
                f"source='native' needs a registered marl_envs name (one of {', '.join(marl_envs.list_envs())}) "
                f"or a BatchedEnv; got the callable {getattr(env, '__qualname__', env)!r}: use source='pettingzoo' "
                "(or None) for callables"
            )
        factory = (lambda: env(**env_kwargs)) if env_kwargs else env
        return PettingZooVecEnv(factory, num_envs, device)
    raise TypeError(
        f"env must be a marl_envs name, a callable returning a PettingZoo ParallelEnv, or a BatchedEnv; got {type(env).__name__}"
    )


# ---------------------------------------------------------------------- helpers
def _num_envs(num_envs: Any) -> int:
    if isinstance(num_envs, (bool, np.bool_)) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    return int(num_envs)


def _copy_seeds(seed: Any, num_envs: int) -> list[int] | None:
    """Copy k's seed: ``seed + k`` for an int, the k-th of a sequence, or None (no reseeding).

    Checked as the batched envs check theirs (:func:`marl_envs.core.rng.seeds_for`): same forms, same errors.
    """
    return None if seed is None else seeds_for(seed, num_envs).tolist()


def _max_cycles(env: Any) -> int | None:
    """The env's episode limit, looked for on the env and on the env it wraps (mpe2's AEC env)."""
    for candidate in (env, getattr(env, "unwrapped", None), getattr(getattr(env, "aec_env", None), "unwrapped", None)):
        value = getattr(candidate, "max_cycles", None) if candidate is not None else None
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


def _env_name(env: Any) -> str:
    metadata = getattr(env, "metadata", None)
    if isinstance(metadata, dict) and metadata.get("name"):
        return str(metadata["name"])
    return type(env).__name__
