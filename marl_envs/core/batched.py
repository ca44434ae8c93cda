"""``BatchedEnv``: an environment's rules, written once, on torch tensors ``[num_envs, n_agents, ...]``.

Every environment of the suite subclasses :class:`BatchedEnv`. The base class owns what is
the same for every env, so that no env (and no algorithm) writes it again:

* seeding: one reproducible random stream per sub-env (:mod:`marl_envs.core.rng`);
* same-step auto-reset, ``final_obs``/``final_state`` and ``max_cycles`` truncation;
* action validation with errors that name the agent, the expected and the received value
  (:class:`marl_envs.core.actions.ActionSpec`, shared with the PettingZoo view and the baselines);
* per-agent spaces, padded observations and the agents' ``alive`` flags.

The public API is ``reset``, ``step`` (with auto-reset), ``transition`` (one step without it),
``rollout`` (many steps with a policy, stacked), ``random_actions``, ``check_actions``, ``render``,
``compile`` (the step and the rollout through ``torch.compile``) and the ``actions`` spec. These, and the private mechanism behind them (names with a leading underscore), are final: a subclass that redefines
one is refused when its class is defined. A subclass writes only the rules, in these hooks:

``reset_envs(env_ids)``
    put the sub-envs ``env_ids`` (int64 ``[K]``) at the start of a new episode, drawing any
    randomness from ``self.rng`` with those ids; write numbers with ``x.index_fill_(0, env_ids, 0)``,
    not ``x[env_ids] = 0`` (on CUDA torch copies the number to the device with a host sync);
``step_envs(actions) -> (reward [B, N], terminated [B, N], info)``
    advance every sub-env by one step; ``info`` maps names to numeric tensors ``[B]`` or
    ``[B, N, ...]`` that describe the step (they are reported before any auto-reset);
``observations() -> obs [B, N, O]`` and ``global_state() -> state [B, S]``
    fresh float32 tensors (never a view of mutable env state);
``action_masks() -> [B, N, A] | None`` and ``adjacency_matrix() -> [B, N, N] | None``
    optional;
``render_ansi(env_index)`` and ``render_rgb(env_index)``
    a text picture, and an image (by default a bar chart of the state).

Auto-reset (same step): when every agent of sub-env ``b`` has terminated or been truncated,
``step`` resets that sub-env before returning. The returned ``obs[b]``/``state[b]`` are the
first observation of its new episode, ``final_obs[b]``/``final_state[b]`` the last one of
the episode that ended (use them to bootstrap a truncated episode), and ``reward``,
``terminated``, ``truncated`` and ``info`` describe the step that ended it. Where no
episode ended, ``final_obs`` equals ``obs``. So a training loop stores
``(obs, action, reward, final_obs, terminated)`` and carries on with ``obs``.

Two ways to auto-reset, with exactly the same results (trajectories and random streams):

* the index path (default on CPU): ``reset_envs`` on the finished sub-envs only, found with
  ``nonzero()``. Cheapest when few episodes end, but on CUDA finding them makes the host wait
  for the device once per step;
* the sync-free path (``sync_free=True``, default on every other device): ``reset_envs`` on every
  sub-env, writing into copies of the episode state; ``torch.where`` then keeps the fresh
  values only in the finished sub-envs, and the others keep their state and their random
  streams' positions. No host sync, at the price of a reset's work on every sub-env per step.
  It needs the env's episode state in one container, ``env.episode`` (an
  :class:`~marl_envs.core.episode.EpisodeState` whose class the env names in ``Episode``): every
  env of the suite has one; one that does not always takes the index path.

With ``validate_actions=False`` and the sync-free path, ``step`` makes no host-device
synchronisation (``tests/test_syncfree_env.py`` checks it with
:func:`marl_envs.core.syncs.forbid_host_syncs`); action validation costs one per step.

Example (shapes for ``goal_grid_v0``, N=2 agents, O=6)::

    env = marl_envs.make_batched("goal_grid_v0", num_envs=4096, device="cpu")
    out = env.reset(seed=0)                   # out.obs [4096, 2, 6], out.state [4096, 8]
    actions = torch.randint(0, 4, (4096, 2))  # discrete: int64 [B, N]
    out = env.step(actions)                   # out.reward [4096, 2], out.terminated [4096, 2]
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch

from marl_envs.core import rollout as _rollout
from marl_envs.core.actions import ActionSpec
from marl_envs.core.checks import boolean, checked_device, int_at_least, optional_boolean
from marl_envs.core.episode import EpisodeState
from marl_envs.core.records import EnvStep, ResetNeeded, Rollout
from marl_envs.core.render import bars_image
from marl_envs.core.rng import CounterRNG, seeds_for

__all__ = ["BatchedEnv", "EnvStep", "ResetNeeded", "Rollout"]


class BatchedEnv:
    """Base class of every environment: ``num_envs`` copies stepped at once on one device.

    Args:
        num_envs: number of sub-environments B (>= 1).
        device: torch device holding all state (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).
        max_cycles: steps after which an episode is truncated.
        validate_actions: check every action's range, NaN and mask (one host sync per step).
            Shape and dtype are always checked.
        sync_free: auto-reset without host-device synchronisation (see the module doc):
            True, False, or None (default) for "on when ``device`` is not the CPU and the env
            declares its ``Episode``". The result is the same either way; on CPU the
            index path is faster when few episodes end per step. True needs ``Episode``.
        possible_agents, observation_spaces, action_spaces, state_space: given by the
            subclass. Agents of one team share one space object.
        action_table: float ``[N, A, D]`` for an env whose rules take continuous actions but
            which offers discrete ones (``continuous_actions=False``): discrete action ``k`` of agent
            ``i`` is applied as ``action_table[i, k]``, so ``step_envs`` always receives ``[B, N, D]``
            and the rules are written once. See :func:`action_spaces`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 5}
    agents_can_leave: ClassVar[bool] = False
    """True for envs where an agent's episode can end before its sub-env's (a folded player)."""
    has_action_mask: ClassVar[bool] = False
    """True for envs whose ``action_masks`` returns masks (some actions are illegal at times)."""
    inference_only: bool = False
    """True: the env runs in ``torch.inference_mode`` (its tensors are inference tensors, about 20%
    faster per step), for an owner that never feeds them to autograd (the PettingZoo view sets it).
    False (default): its tensors are plain tensors whatever the caller's mode (see ``_plain_tensors``)."""
    has_adjacency: bool = False
    """True for envs whose ``adjacency_matrix`` returns an agent graph (a class constant, or set per instance
    where a constructor argument turns the graph on)."""
    Episode: ClassVar[type[EpisodeState] | None] = None
    """The class of the env's episode state (see :mod:`marl_envs.core.episode`): the base class
    creates an empty ``self.episode`` of it, and the env's constructor sets every field. Every
    tensor that ``reset_envs`` (or anything it calls) writes is a field of it, so that the sync-free
    auto-reset, which merges the fields, cannot miss one. The base class adds its own state
    (``step_count``, ``alive``, the random streams' counters). None: no container (the env then
    always uses the index path)."""

    _FINAL: ClassVar[tuple[str, ...]] = (
        "reset",
        "step",
        "rollout",
        "transition",
        "check_actions",
        "random_actions",
        "render",
        "reset_where",
        "_reset_all",
        "_step_all",
        "_auto_reset",
        "_current_step",
        "_random_policy",
        "_advance_steps",
        "_transition",
        "_restart",
        "_observe_all",
        "_advance_eager",
        "compile",
        "_episode_slots",
        "_tensor_mode",
        "__getstate__",
        "__setstate__",
    )
    """The shared mechanism: a subclass that redefines one of these is refused when it is defined."""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        overridden = [name for name in BatchedEnv._FINAL if name in vars(cls)]
        if overridden:
            raise TypeError(
                f"{cls.__name__} redefines {', '.join(overridden)}, which BatchedEnv owns (auto-reset, seeding, action "
                "checks are written once): write the rules in the hooks reset_envs, step_envs, observations, "
                "global_state, action_masks, adjacency_matrix, render_rgb, render_ansi"
            )

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device,
        *,
        max_cycles: int,
        validate_actions: bool,
        possible_agents: Sequence[str],
        observation_spaces: Mapping[str, gymnasium.spaces.Box],
        action_spaces: Mapping[str, gymnasium.Space],
        state_space: gymnasium.spaces.Box,
        action_table: torch.Tensor | np.ndarray | None = None,
        sync_free: bool | None = None,
    ):
        self.num_envs = int_at_least("num_envs", num_envs, 1)
        self.max_cycles = int_at_least("max_cycles", max_cycles, 1)
        self.device = checked_device(device)
        self.validate_actions = boolean("validate_actions", validate_actions)
        sync_free = optional_boolean("sync_free", sync_free)
        if sync_free and self.Episode is None:
            raise ValueError(
                f"{type(self).__name__} declares no Episode, so it cannot auto-reset without host syncs; use sync_free=False (or None)"
            )
        self.sync_free = (self.device.type != "cpu" and self.Episode is not None) if sync_free is None else sync_free
        """Auto-reset with ``torch.where`` over every sub-env (no host sync) rather than by index."""
        self.possible_agents = list(possible_agents)
        self.n_agents = len(self.possible_agents)
        self.observation_spaces = dict(observation_spaces)
        self.action_spaces = dict(action_spaces)
        self.state_space = state_space

        self.obs_sizes = [int(np.prod(self.observation_spaces[a].shape)) for a in self.possible_agents]
        self.obs_size = max(self.obs_sizes)
        self.state_size = int(np.prod(state_space.shape))
        spaces = [self.action_spaces[a] for a in self.possible_agents]
        if not (
            all(isinstance(s, gymnasium.spaces.Discrete) for s in spaces)
            or all(isinstance(s, gymnasium.spaces.Box) and len(s.shape) == 1 for s in spaces)
        ):
            raise TypeError("every agent's action space must be Discrete, or every one a 1-D Box")
        self.actions = ActionSpec(self.possible_agents, spaces, self.device)
        """The agents' actions: sizes, bounds (``actions.low``/``actions.high``), checking and sampling."""
        if self.actions.starts.any():
            raise ValueError("Discrete action spaces must start at 0")

        self._action_table = None
        if action_table is not None:
            table = torch.as_tensor(action_table, dtype=torch.float32, device=self.device)
            if not self.discrete_actions or table.dim() != 3 or table.shape[:2] != (self.n_agents, self.action_size):
                raise ValueError(
                    f"action_table must be [n_agents, n_actions, D] = [{self.n_agents}, {self.action_size}, D] with Discrete action spaces"
                )
            # Flattened [N * A, D] with agent i's actions at rows i * A ...: one index_select per step
            # (several times faster than advanced indexing at large batch sizes).
            self._action_table = table.flatten(0, 1)
            self._action_offsets = torch.arange(self.n_agents, device=self.device) * self.action_size

        self.env_info: dict[str, Any] = {}
        """What an algorithm may need to know about the env beyond its spaces, fixed for the env's life
        (poker: its ``rules`` and ``hands``), documented by the env. Set by the env's constructor; the
        PettingZoo view and both VecEnv sources hand on the same dict."""
        self.episode = self.Episode() if self.Episode is not None else None
        """The env's episode state (an ``Episode``), filled by the env's constructor."""
        self.rng = CounterRNG(self.num_envs, self.device)
        self.step_count = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.alive = torch.ones(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        self._all_envs = torch.arange(self.num_envs, device=self.device)
        self._current_action_mask: torch.Tensor | None = None
        self._advance = self._advance_eager
        """One step and its observations (``_advance_eager``, or its compiled copy after ``compile``)."""
        self._compile_options: dict[str, Any] | None = None
        self._advance_steps_compiled: Callable | None = None
        self._action_rng = CounterRNG(self.num_envs, self.device)
        """The random policy's streams (``rollout`` without a policy), apart from the env's own."""
        self._action_rng_seeded = False
        self._seeded = False
        self._has_reset = False

    # ------------------------------------------------------------------ the rules (subclass)
    def reset_envs(self, env_ids: torch.Tensor) -> None:
        raise NotImplementedError

    def step_envs(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def observations(self) -> torch.Tensor:
        raise NotImplementedError

    def global_state(self) -> torch.Tensor:
        raise NotImplementedError

    def action_masks(self) -> torch.Tensor | None:
        return None

    def adjacency_matrix(self) -> torch.Tensor | None:
        return None

    def render_rgb(self, env_index: int) -> np.ndarray:
        """Default picture: the global state as a bar chart. Envs with a natural picture override it."""
        return bars_image(self.global_state()[env_index].tolist())

    def render_ansi(self, env_index: int) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no ansi rendering")

    # ------------------------------------------------------------------ public API
    @property
    def discrete_actions(self) -> bool:
        """True for Discrete action spaces, False for Box ones."""
        return self.actions.discrete

    @property
    def action_sizes(self) -> list[int]:
        """Per agent: its number of actions (discrete) or its action size (continuous)."""
        return self.actions.sizes

    @property
    def action_size(self) -> int:
        """Discrete: the largest number of actions; continuous: the padded action width."""
        return self.actions.width

    @property
    def current_action_mask(self) -> torch.Tensor | None:
        """bool ``[B, N, A]``: the legal actions at the last returned observation (None for envs without masks)."""
        return self._current_action_mask

    def reset(self, seed: int | Sequence[int] | torch.Tensor | None = None) -> EnvStep:
        """Start a new episode in every sub-env.

        ``seed``: an int ``s`` seeds sub-env ``b`` with ``s + b``; a sequence gives one seed
        per sub-env; ``None`` continues the current random streams (seeding them from OS
        entropy the first time). Ints only (NumPy integers too; floats and bools are refused),
        in ``[-2**62, 2**62)``: see :func:`marl_envs.core.rng.seeds_for`. A refused seed
        raises before anything changes.
        """
        with self._tensor_mode():
            return self._reset_all(seed)

    def step(self, actions: torch.Tensor) -> EnvStep:
        """Advance every sub-env by one step, resetting those whose episode ended (see the module doc).

        ``actions``: discrete envs int ``[B, N]``; continuous envs float ``[B, N, A]`` within the
        Box bounds. Actions of agents that have left are ignored.
        """
        with self._tensor_mode():
            return self._step_all(actions)

    def transition(self, actions: torch.Tensor) -> EnvStep:
        """Advance every sub-env by one step, without auto-reset.

        For a caller that starts episodes itself (the PettingZoo view does). The returned
        ``obs``/``state``/``action_mask`` are the step's own (``final_obs`` is ``obs``); a sub-env
        whose episode ended stays ended, and with ``validate_actions`` stepping it again before
        ``reset()`` raises :class:`ResetNeeded` (its rules would run past the episode's end).
        """
        with self._tensor_mode():
            if self.validate_actions and self._has_reset:
                ended = ~self.alive.any(-1)
                if ended.any():
                    raise ResetNeeded(f"sub-env {int(ended.nonzero()[0])}'s episode has ended: call reset() before stepping it again")
            reward, terminated, truncated, alive, info, obs, state, action_mask, adjacency = self._advance(self.check_actions(actions))
            return EnvStep(obs, state, reward, terminated, truncated, alive.clone(), obs, state, action_mask, adjacency, info)

    rollout = _rollout.rollout
    _random_policy = _rollout.random_policy
    _advance_steps = _rollout.advance_steps

    def _tensor_mode(self):
        return torch.inference_mode() if self.inference_only else _plain_tensors()

    def _reset_all(self, seed) -> EnvStep:
        if seed is not None or not self._seeded:
            self.rng.seed(seeds_for(seed, self.num_envs))
            self._seeded = True
        self._restart(self._all_envs)
        self._has_reset = True
        return self._current_step()

    def _current_step(self) -> EnvStep:
        """The current observations as an ``EnvStep`` with zero rewards and no episode ended (what ``reset`` returns)."""
        obs, state, action_mask, adjacency = self._observe_all()
        zeros = torch.zeros(self.num_envs, self.n_agents, device=self.device)
        no = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        return EnvStep(obs, state, zeros, no, no, self.alive.clone(), obs, state, action_mask, adjacency, {})

    def _step_all(self, actions) -> EnvStep:
        return self._auto_reset(*self._advance(self.check_actions(actions)))

    def _auto_reset(self, reward, terminated, truncated, alive, info, final_obs, final_state, final_mask, final_adjacency) -> EnvStep:
        """``_advance``'s results as ``step``'s ``EnvStep``, after resetting the sub-envs whose episode ended."""
        if self.reset_where(~alive.any(-1), self._restart):
            obs, state, action_mask, adjacency = self._observe_all()
        else:
            obs, state, action_mask, adjacency = final_obs, final_state, final_mask, final_adjacency
        return EnvStep(obs, state, reward, terminated, truncated, self.alive.clone(), final_obs, final_state, action_mask, adjacency, info)

    def random_actions(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniformly random valid actions for every sub-env, on the env's device.

        Discrete: uniform over the legal actions (the current ``action_mask``). Continuous:
        uniform within finite Box bounds, standard normal along unbounded ones, 0 in padding.
        Drawn on ``generator``'s device (CPU by default), so a seeded CPU generator gives the
        same actions whatever the env's device.
        """
        return self.actions.sample(self.num_envs, self._current_action_mask, generator)

    def render(self, mode: str = "rgb_array", env_index: int = 0) -> np.ndarray | str:
        """Picture of sub-env ``env_index``: ``"rgb_array"`` (uint8 HxWx3) or ``"ansi"`` (text)."""
        if not 0 <= env_index < self.num_envs:
            raise ValueError(f"env_index must lie in [0, {self.num_envs}), got {env_index}")
        if mode == "rgb_array":
            return self.render_rgb(env_index)
        if mode == "ansi":
            return self.render_ansi(env_index)
        raise ValueError(f"unknown render mode {mode!r}; choose from 'rgb_array', 'ansi'")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_envs={self.num_envs}, device={str(self.device)!r}, n_agents={self.n_agents})"

    # ------------------------------------------------------------------ shared mechanism
    def _restart(self, env_ids: torch.Tensor) -> None:
        self.step_count.index_fill_(0, env_ids, 0)
        self.alive.index_fill_(0, env_ids, True)
        self.reset_envs(env_ids)

    def reset_where(self, rows: torch.Tensor, reset: Callable[[torch.Tensor], None]) -> bool:
        """Apply ``reset(env_ids)`` to the sub-envs where ``rows`` (bool ``[B]``) is True.

        Returns False when it is known that no sub-env changed (the index path found none).
        ``_step_all`` auto-resets with it; a subclass that restarts part of a sub-env inside
        ``step_envs`` (poker deals a match's next hand) uses it too, so that both paths apply there.

        Index path: ``reset(rows.nonzero())``, one host sync. Sync-free path: ``reset`` on
        every sub-env, with every episode-state tensor replaced by a copy first (``reset`` may
        write in place), then each becomes ``where(rows, fresh, old)``. The random streams'
        counters are part of that state, so the sub-envs kept also keep their stream positions,
        and a finished one draws what it would have drawn alone: the two paths agree exactly.
        """
        if not self.sync_free:
            env_ids = rows.nonzero().squeeze(-1)
            if env_ids.numel() == 0:
                return False
            reset(env_ids)
            return True
        slots = self._episode_slots()
        kept = []
        for owner, name, _ in slots:
            tensor = getattr(owner, name)
            kept.append(tensor)
            setattr(owner, name, tensor.clone())
        reset(self._all_envs)
        for (owner, name, batch_dim), old in zip(slots, kept):
            fresh = getattr(owner, name)
            shape = [1] * fresh.dim()
            shape[batch_dim] = self.num_envs
            setattr(owner, name, torch.where(rows.view(shape), fresh, old))
        return True

    def _episode_slots(self) -> list[tuple[Any, str, int]]:
        """``(owner, attribute, batch dim)`` of every episode-state tensor: the base's own, then ``episode``'s fields."""
        if self.episode is None:
            raise NotImplementedError(f"{type(self).__name__} declares no Episode: it cannot use sync_free=True")
        slots: list[tuple[Any, str, int]] = [(self, "step_count", 0), (self, "alive", 0), (self.rng, "counter", 0)]

        def visit(episode: EpisodeState, path: str) -> None:
            for name, value in episode.items():
                if isinstance(value, EpisodeState):
                    visit(value, f"{path}{name}.")
                elif isinstance(value, torch.Tensor):
                    dim = episode.batch_dim
                    if value.dim() == 0 or value.shape[dim] != self.num_envs:
                        raise ValueError(
                            f"episode field {path + name!r} must have the batch dimension (size {self.num_envs}) at "
                            f"dim {dim}, got shape {list(value.shape)}"
                        )
                    slots.append((episode, name, dim))
                elif value is not None:
                    raise TypeError(f"episode field {path + name!r} is neither a tensor, an EpisodeState nor None: {type(value).__name__}")

        visit(self.episode, "")
        return slots

    def _observe_all(self):
        self._current_action_mask = self.action_masks()
        return self.observations(), self.global_state(), self._current_action_mask, self.adjacency_matrix()

    def _advance_eager(self, actions: torch.Tensor):
        """One step without auto-reset, and what it shows: ``_transition``'s five results, then
        ``_observe_all``'s four. What ``compile`` hands to ``torch.compile``."""
        return (*self._transition(actions), *self._observe_all())

    def compile(self, steps_per_call: int = 4, **options: Any) -> BatchedEnv:
        """Run this env's step (its rules, the step's bookkeeping and the observations) through ``torch.compile``.

        ``step`` and ``transition`` then call the compiled function; the action checks and the
        auto-reset stay eager (on the index path resets are rare; the sync-free merge is a few
        ``where``s). The first step compiles (seconds, once per env); later steps skip most of
        eager torch's per-operation overhead, which dominates at small batches. On CPU that pays
        up to a few hundred sub-envs and costs beyond (``benchmarks/peers.py``, the compiled rows).
        ``options`` go to ``torch.compile`` (default ``dynamic=False``: the shapes never change).
        Returns the env.

        ``rollout`` compiles a second function (at its first call): ``steps_per_call`` steps with the
        policy, the auto-reset and the stacking, unrolled in one graph, so that no Python runs
        between them. More steps per call spread a call's fixed cost (guards, the kernels' Python
        wrapper) over more steps, and take longer to compile: the compilation grows with the graph,
        tens of seconds cold for 4 steps (``benchmarks/peers.py`` reports it), a few seconds once
        inductor's on-disk cache holds it. The last ``steps % steps_per_call`` steps of a rollout go
        through the compiled step.

        Results equal eager's up to float rounding: inductor's vectorised float64 ``sqrt`` and
        ``exp`` may round a last bit differently, and float32 arithmetic may be reordered, so a
        float32 value can differ in its last bits, while integer and boolean results were equal in
        every env's test (``tests/test_compiled_env.py``). For bit-exact replays of eager runs, do
        not compile. Each env compiles its own copy of the step, so that many compiled envs never
        share (and exhaust) one ``torch.compile`` cache.
        """
        steps_per_call = int_at_least("steps_per_call", steps_per_call, 1)
        options = {"dynamic": False, **options}
        self._advance = torch.compile(_own_copy(BatchedEnv._advance_eager, self), **options)
        self._advance_steps_compiled = torch.compile(_own_copy(BatchedEnv._advance_steps, self), **options)
        self._compile_options = {"steps_per_call": steps_per_call, **options}
        return self

    def __getstate__(self) -> dict[str, Any]:
        # A compiled step is bound to this env object: a copy (pickle, deepcopy) compiles its own.
        return {**self.__dict__, "_advance": None, "_advance_steps_compiled": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._advance = self._advance_eager
        self._advance_steps_compiled = None
        if self._compile_options is not None:
            self.compile(**self._compile_options)

    def _transition(self, actions: torch.Tensor):
        """Apply validated actions without auto-reset: (reward, terminated, truncated, alive, info)."""
        alive = self.alive
        if self._action_table is not None:
            rows = (actions + self._action_offsets).flatten()
            actions = self._action_table.index_select(0, rows).view(*actions.shape, -1)
        reward, terminated, info = self.step_envs(actions)
        self.step_count += 1
        if self.agents_can_leave:
            reward = reward * alive
            terminated = terminated | ~alive
        truncated = (self.step_count >= self.max_cycles)[:, None] & ~terminated
        self.alive = alive & ~(terminated | truncated)
        return reward, terminated, truncated, self.alive, info

    def check_actions(self, actions: Any) -> torch.Tensor:
        """Return ``actions`` as a tensor on the env's device, or raise a clear error (see :class:`ActionSpec`)."""
        if not self._has_reset:
            raise ResetNeeded("call reset() before step()")
        return self.actions.check(
            actions,
            self.num_envs,
            validate=self.validate_actions,
            action_mask=self._current_action_mask,
            alive=self.alive if self.agents_can_leave else None,
        )


def _own_copy(function: Callable, env: BatchedEnv) -> Callable:
    """``function`` bound to ``env`` through a copy of its code object: each env's ``torch.compile`` cache is its own."""
    own = types.FunctionType(function.__code__.replace(), function.__globals__, function.__name__)
    return types.MethodType(own, env)


@contextmanager
def _plain_tensors():
    """Env tensors never join an autograd graph, and are never inference tensors.

    Inference tensors cannot be saved for backward (a policy network fed ``obs`` would fail) nor
    written in place outside inference mode, so a caller alternating between
    ``torch.inference_mode()`` (evaluation) and normal mode (training) would break the env.
    """
    with torch.inference_mode(False), torch.no_grad():
        yield
