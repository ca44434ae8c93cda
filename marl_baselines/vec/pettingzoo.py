"""``PettingZooVecEnv``: K copies of any PettingZoo ``ParallelEnv`` behind the VecEnv interface (see :mod:`marl_baselines.vec`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
import torch

from marl_baselines.vec.base import VecEnv, _num_envs
from marl_envs import ActionSpec, EnvStep
from marl_envs.core.checks import checked_device
from marl_envs.core.rng import seeds_for

__all__ = ["PettingZooVecEnv"]


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
        self.device = checked_device(device)
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
                raise TypeError(
                    f"{self.name}: agent {agent!r}: unsupported observation space {space}; expected a Box (any shape) or a Dict with an 'observation' Box"
                )
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
        self._info_masks = not self._dict_obs and any(isinstance(info, dict) and "action_mask" in info for info in (infos or {}).values())
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
            obs,
            state,
            self._tensor(reward),
            self._tensor(terminated),
            self._tensor(truncated),
            self._tensor(self._alive),
            final_obs_t,
            final_state_t,
            self._mask_tensor(),
            None,
            self._info_tensors(collected),
        )
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
            actions,
            K,
            action_mask=torch.from_numpy(self._mask) if self._masked else None,
            alive=torch.from_numpy(self._alive),
            where="copy",
        )
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
