"""``BatchedParallelEnv``: a PettingZoo ``ParallelEnv`` that is a thin view of one ``BatchedEnv`` sub-env.

The rules run in the batched env (``num_envs=1``, CPU), through its public ``reset`` and
``transition``; this class only converts dicts of NumPy values to tensors and back. It sets
its batched env's ``inference_only`` (about 20% faster per step than ``no_grad``), so that env is
its own: for a batched env to step yourself, use ``marl_envs.make_batched``. Unlike the batched env it does not auto-reset: when the
episode ends it returns the final observations, empties ``agents`` and waits for ``reset()``.

Infos are dicts with numeric, stable keys: whatever the env reports per step (for example
``targets_collected``), per agent, and for envs with illegal actions an ``action_mask``.

Envs with illegal actions (``has_action_mask``) observe, as PettingZoo's classic games do, a
dict ``{"observation": float32 array, "action_mask": int8 array}`` with a ``Dict`` space:
PettingZoo's tests and tutorials read the mask there, TorchRL's ``PettingZooWrapper`` moves it
next to the action, and RLlib's ``ActionMaskingTorchRLModule`` reads it once ``observation`` is
renamed ``observations`` (``examples/rllib_ppo.py`` does that). The same mask (equal values, an
array of its own) is in each agent's infos, ``infos[agent]["action_mask"]``, at ``reset`` and
at every step, for the observation returned with it: that is where AgileRL's multi-agent
algorithms (IPPO, MADDPG, MATD3: ``get_action(obs, infos)``) read masks. AgileRL also refuses
observations that hold an ``action_mask`` key (an assertion in ``get_action``), so an AgileRL
user hands it ``obs[agent]["observation"]`` with the Box ``observation_space(agent)["observation"]``
(a small ``BaseParallelWrapper``, like the RLlib example's) and the infos as they are. (Read
from AgileRL 2.58's source, not run here: it needs PettingZoo < 1.27.)

Agents that have left. ``step`` needs an action for every agent in ``agents``; an action for
an agent that has left (in ``possible_agents``, no longer in ``agents``: a folded poker
player) is accepted and ignored. Its type and shape are checked as any action's, its value is
not (out of range or illegal is fine) and never reaches the env's rules; the batched ``step``
likewise ignores the actions of agents that have left. PettingZoo's own ``aec_to_parallel``
ignores such actions too, and refusing them would break TorchRL's ``PettingZooWrapper``
(``use_mask=True``) and AgileRL's PettingZoo vectoriser, which send an action for every agent,
gone or not. An action for a name that is not one of the env's agents raises.

Pickling keeps everything, the episode in progress and the random streams included: an
unpickled copy continues exactly where the original was.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch
from pettingzoo import ParallelEnv

from marl_envs.core.batched import BatchedEnv, ResetNeeded
from marl_envs.core.checks import int_at_least

__all__ = ["BatchedParallelEnv"]


def _masked_spaces(env: BatchedEnv) -> dict[str, gymnasium.spaces.Dict]:
    """``Dict(observation, action_mask)`` spaces, one object per distinct pair (so teams still share one)."""
    shared: dict[tuple[int, int], gymnasium.spaces.Dict] = {}
    spaces = {}
    for agent, n in zip(env.possible_agents, env.action_sizes):
        box = env.observation_spaces[agent]
        key = (id(box), n)
        if key not in shared:
            shared[key] = gymnasium.spaces.Dict({"observation": box, "action_mask": gymnasium.spaces.Box(0, 1, (n,), np.int8)})
        spaces[agent] = shared[key]
    return spaces


class BatchedParallelEnv(ParallelEnv):
    """PettingZoo parallel API over ``batched_env`` (which must have ``num_envs == 1``)."""

    def __init__(self, batched_env: BatchedEnv, name: str, render_mode: str | None = None):
        if batched_env.num_envs != 1:
            raise ValueError(f"the PettingZoo view needs a batched env with num_envs=1, got {batched_env.num_envs}")
        modes = batched_env.metadata["render_modes"]
        if render_mode is not None and render_mode not in modes:
            raise ValueError(f"render_mode must be None or one of {modes}, got {render_mode!r}")
        self.env = batched_env
        batched_env.inference_only = True
        self.render_mode = render_mode
        self.metadata = {**batched_env.metadata, "name": name, "is_parallelizable": True}
        self.possible_agents = list(batched_env.possible_agents)
        self.agents: list[str] = []
        self._masked = batched_env.has_action_mask
        self.observation_spaces = _masked_spaces(batched_env) if self._masked else batched_env.observation_spaces
        self.action_spaces = batched_env.action_spaces
        self.state_space = batched_env.state_space
        self.env_info = batched_env.env_info
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self._obs_sizes = batched_env.obs_sizes
        self._discrete = batched_env.discrete_actions
        self._action_shape = () if self._discrete else (batched_env.action_size,)
        self._action_buffer = np.zeros((1, batched_env.n_agents, *self._action_shape), np.int64 if self._discrete else np.float32)
        self._needs_reset = True
        self._started = False

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> gymnasium.spaces.Box:
        try:
            return self.observation_spaces[agent]
        except KeyError:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}") from None

    def action_space(self, agent: str) -> gymnasium.Space:
        try:
            return self.action_spaces[agent]
        except KeyError:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}") from None

    @property
    def max_cycles(self) -> int:
        return self.env.max_cycles

    @max_cycles.setter
    def max_cycles(self, value: int) -> None:
        self.env.max_cycles = int_at_least("max_cycles", value, 1)

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None):
        out = self.env.reset(seed)
        self.agents = self.possible_agents[:]
        self._needs_reset = False
        self._started = True
        observations = self._split_obs(out.obs, self.agents, out.action_mask)
        infos = self._infos(self.agents, {}, out.action_mask)
        self._render_human()
        return observations, infos

    def step(self, actions: dict[str, Any]):
        """One step: ``actions`` maps every agent in ``agents`` to its action (agents that have left are ignored)."""
        if self._needs_reset:
            raise ResetNeeded("the episode is over (or never started): call reset() before step()")
        active = self.agents
        out = self.env.transition(torch.from_numpy(self._actions_to_array(actions, active)))
        obs, reward, terminated, truncated, alive, action_mask, info = (
            out.obs,
            out.reward,
            out.terminated,
            out.truncated,
            out.alive,
            out.action_mask,
            out.info,
        )
        rewards_all, terminated_all, truncated_all = reward[0].tolist(), terminated[0].tolist(), truncated[0].tolist()
        index = self._index
        observations = self._split_obs(obs, active, action_mask)
        rewards = {a: rewards_all[index[a]] for a in active}
        terminations = {a: terminated_all[index[a]] for a in active}
        truncations = {a: truncated_all[index[a]] for a in active}
        infos = self._infos(active, info, action_mask)
        alive_all = alive[0].tolist()
        self.agents = [a for a in active if alive_all[index[a]]]
        self._needs_reset = not self.agents
        self._render_human()
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        if not self._started:
            raise ResetNeeded("call reset() before state()")
        with torch.inference_mode():
            return self.env.global_state()[0].numpy()

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            gymnasium.logger.warn("render() was called without a render_mode; pass render_mode= to the constructor")
            return None
        if not self._started:
            raise ResetNeeded("call reset() before render()")
        if self.render_mode == "human":
            print(self.env.render("ansi"))
            return None
        return self.env.render(self.render_mode)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{self.metadata['name']}(agents={self.possible_agents})"

    # ------------------------------------------------------------------ conversions
    def _render_human(self) -> None:
        if self.render_mode == "human":
            self.render()

    def _actions_to_array(self, actions: dict[str, Any], active: list[str]) -> np.ndarray:
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict {{agent: action}}, got {type(actions).__name__}")
        buffer = self._action_buffer
        buffer[...] = 0  # agents that have left get a neutral placeholder; the env ignores it
        index, acting = self._index, set(active)
        for agent, action in actions.items():
            i = index.get(agent)
            if i is None:
                raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}")
            value = self.env.actions.check_agent_action(i, action)
            if agent not in acting:  # an agent that has left: its value is ignored (see the module doc)
                continue
            if self._discrete:
                buffer[0, i] = value
            else:
                buffer[0, i, : value.shape[0]] = value  # the rest is padding, left at 0
        if len(actions) < len(active):
            missing = [a for a in active if a not in actions]
            if missing:
                raise ValueError(f"no action for active agents {missing}; every agent in env.agents must act")
        return buffer

    def _split_obs(self, obs: torch.Tensor, agents: list[str], action_mask: torch.Tensor | None) -> dict[str, Any]:
        array = obs[0].numpy()
        sizes, index = self._obs_sizes, self._index
        if not self._masked:
            return {a: array[index[a], : sizes[index[a]]] for a in agents}
        masks = action_mask[0].numpy().astype(np.int8)
        action_sizes = self.env.action_sizes
        return {
            a: {"observation": array[index[a], : sizes[index[a]]], "action_mask": masks[index[a], : action_sizes[index[a]]]} for a in agents
        }

    def _infos(self, agents: list[str], info: dict[str, torch.Tensor], action_mask: torch.Tensor | None) -> dict:
        infos: dict[str, dict] = {a: {} for a in agents}
        for key, value in info.items():
            value = value[0].numpy()
            for a in agents:
                infos[a][key] = value[self._index[a]] if value.ndim else value.item()
        if action_mask is not None:
            mask = action_mask[0].numpy().astype(np.int8)
            for a in agents:
                infos[a]["action_mask"] = mask[self._index[a], : self.env.action_sizes[self._index[a]]]
        return infos
