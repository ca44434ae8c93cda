"""Coordination: agents steer a shared noisy state towards the origin, together or against each other.

| | |
|---|---|
| Import | `from marl_envs import coordination_v0` |
| Agents | `agent_0` ... `agent_2` (`n_agents`, default 3) |
| Action space | `Box(-1, 1, (action_dim,), float32)` (4 by default); `continuous_actions=False`: `Discrete(2 * action_dim + 1)` |
| Observation space | `Box(-inf, inf, (state_dim,), float32)` (4 by default): every agent sees the whole state |
| State space | the same vector, `Box(-inf, inf, (state_dim,), float32)` |
| Reward | cooperative: shared; competitive: individual |

## Description
The basic multi-agent environment of the MARL foundations design note
(`MultiAgentEnvironment`), with the note's own test configuration as defaults. A state vector
x drifts towards the mean of the agents' actions, with Gaussian noise.

## Rules of one step
With actions a_i (the first `state_dim` entries of each act on x) and their mean m:
`x <- 0.9 x + 0.1 m[:state_dim] + noise_std * N(0, I)`. Rewards are computed on the new x:
- `mode="cooperative"`: every agent gets `-||x|| - mean_i ||a_i - m||`;
- `mode="competitive"`: agent i gets `-||x - a_i[:state_dim]|| - 0.1 * sum_{j != i} ||a_i - a_j||`.

Norms are Euclidean. Actions outside [-1, 1] are refused, not clipped (the note clipped silently).

## Discrete actions (`continuous_actions=False`)
`2 * action_dim + 1` prototypes: action 0 is the zero vector, action `1 + 2k` is `+e_k` and
action `2 + 2k` is `-e_k` (unit steps along one action axis).

## Starting state
`x ~ N(0, I)`, drawn from the env's own random stream (the note used the global NumPy generator).

## Episode end
No terminal state; truncated after `max_cycles` steps.

## Arguments
- `n_agents=3` (>= 1), `state_dim=4` (>= 1), `action_dim=4` (>= `state_dim`).
- `mode="cooperative"` or `"competitive"`.
- `noise_std=0.1`: standard deviation of the state noise (>= 0).
- `continuous_actions=True`: Box actions; False for the discrete prototypes above.
- `max_cycles=200`.

## Version history
- v0: initial release.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState

__all__ = ["CoordinationEnv"]

MODES = ("cooperative", "competitive")


class CoordinationEpisode(EpisodeState):
    """What changes during an episode of ``CoordinationEnv``, per sub-env."""

    x: torch.Tensor
    """float32 ``[B, state_dim]``: the shared state."""


class CoordinationEnv(BatchedEnv):
    """Batched coordination env; see the module documentation for the rules."""

    Episode = CoordinationEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        n_agents: int = 3,
        state_dim: int = 4,
        action_dim: int = 4,
        mode: str = "cooperative",
        noise_std: float = 0.1,
        continuous_actions: bool = True,
        max_cycles: int = 200,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        n_agents = int_at_least("n_agents", n_agents, 1)
        self.state_dim = int_at_least("state_dim", state_dim, 1)
        self.action_dim = int_at_least("action_dim", action_dim, 1)
        if self.action_dim < self.state_dim:
            raise ValueError(f"action_dim must be >= state_dim = {self.state_dim} (actions steer the state), got {action_dim}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or not noise_std >= 0 or not math.isfinite(noise_std):
            raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
        self.mode, self.noise_std = mode, float(noise_std)
        continuous_actions = boolean("continuous_actions", continuous_actions)

        agents = [f"agent_{i}" for i in range(n_agents)]
        vector = gymnasium.spaces.Box(-np.inf, np.inf, (self.state_dim,), np.float32)
        box = gymnasium.spaces.Box(-1.0, 1.0, (self.action_dim,), np.float32)
        unit_steps = [sign * row for row in np.eye(self.action_dim) for sign in (1.0, -1.0)]
        spaces, table = action_spaces(agents, box, continuous_actions, [np.zeros(self.action_dim), *unit_steps])
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, vector),
            action_spaces=spaces,
            state_space=vector,
            action_table=table,
        )
        self.episode.x = torch.zeros(self.num_envs, self.state_dim, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        self.episode.x[env_ids] = self.rng.normal((self.state_dim,), env_ids)

    def step_envs(self, actions: torch.Tensor):
        mean = actions.mean(1)  # [B, A]
        x = 0.9 * self.episode.x + 0.1 * mean[:, : self.state_dim]
        if self.noise_std > 0:
            x = x + self.noise_std * self.rng.normal((self.state_dim,))
        self.episode.x = x
        shape = (self.num_envs, self.n_agents)
        if self.mode == "cooperative":
            spread = (actions - mean[:, None]).norm(dim=-1).mean(-1)
            reward = (-x.norm(dim=-1) - spread)[:, None].expand(shape)
        else:
            distance = (x[:, None] - actions[..., : self.state_dim]).norm(dim=-1)  # [B, N]
            others = (actions[:, :, None] - actions[:, None]).norm(dim=-1).sum(-1)  # the diagonal is zero
            reward = -distance - 0.1 * others
        return reward, torch.zeros(shape, dtype=torch.bool, device=self.device), {}

    def observations(self) -> torch.Tensor:
        return self.episode.x[:, None].expand(-1, self.n_agents, -1).clone()

    def global_state(self) -> torch.Tensor:
        return self.episode.x.clone()

    def render_ansi(self, env_index: int) -> str:
        values = ", ".join(f"{v:+.3f}" for v in self.episode.x[env_index].tolist())
        return f"step {int(self.step_count[env_index])}: x = [{values}], |x| = {float(self.episode.x[env_index].norm()):.3f}\n"
