"""Physical deception: good agents reach a goal landmark that an adversary must guess (mpe2's `simple_adversary_v3`).

| | |
|---|---|
| Import | `from marl_envs import physical_deception_v0` |
| Agents | `adversary_0`, `agent_0` ... `agent_1` (`N` good agents, default 2) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | adversary `Box(-inf, inf, (4 N,), float32)`, good agents `Box(-inf, inf, (4 N + 2,), float32)` (8 and 10 by default; with neighbours: `2 n_landmark + 2 n_agent`, plus 2 for good agents) |
| State space | `Box(-inf, inf, (S,), float32)`: every agent's observation, concatenated (28 by default) |
| Reward | adversary: minus its distance to the goal; good agents: minus the closest good agent's distance to the goal, plus the adversary's |

## Description
The physical deception task of the MADDPG paper (Lowe et al., 2017), exactly as mpe2's
`simple_adversary_v3` (`mpe2/simple_adversary/simple_adversary.py`): the same particle physics
(`marl_envs/envs/particles.py`), defaults, agent names, spaces, observation layout, partial
observability, rewards and state, so that code written for `mpe2.simple_adversary_v3` runs
unchanged (`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env of a
batched env is one such world.

`N` good agents and one adversary move among `N` landmarks, one of which, drawn at random, is
the goal. The good agents know which one; the adversary does not. The good agents are
rewarded when one of them is close to the goal and the adversary far from it, so they learn
to spread over the landmarks and hide which one matters.

Agents are discs of radius 0.15, landmarks of radius 0.08; nothing collides. An action pushes
an agent with force 5 along the chosen axis; the world damps velocities by 25% per step of
`dt = 0.1`. No agent has a speed limit.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
Positions relative to the observing agent:
- adversary: `[each landmark (2 N), each other agent (2 N)]`;
- good agent: `[the goal (2), each landmark (2 N), each other agent (2 N)]`.

Other agents come in agent order (`adversary_0`, then the good agents), the observer left out.
With `num_landmark_neighbors` / `num_agent_neighbors` (mpe2's partial observability) only that
many of the nearest landmarks / other agents are seen, closest first, zero-padded when there are
fewer; the goal stays visible to good agents. The adversary's observation, two numbers shorter,
is zero-padded at the end in the batched tensors; its own space has its true size.

## Rewards
With `d_i` agent i's distance to the goal, after the step: the adversary gets `-d_adversary`,
every good agent `-min(d_good) + d_adversary` (mpe2's shaped rewards).

## State
`state()` is mpe2's: every agent's observation concatenated in agent order.

## Starting state
Agents and landmarks uniformly at random in `[-1, 1]^2`, velocities zero, the goal uniformly
among the landmarks (from the env's own random stream).

## Episode end
No terminal state; every agent is truncated after `max_cycles` steps.

## Info
Per step: `goal_distance` (per agent): `d_i`.

## Arguments
- `N=2`: good agents (at least 1), and as many landmarks.
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.
- `num_agent_neighbors=None`, `num_landmark_neighbors=None`: mpe2's partial observability, above (None: see all).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.

## Version history
- v0: initial release, matching mpe2's `simple_adversary_v3`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least, optional_int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import ParticleEpisode, ParticleWorld, particle_image

__all__ = ["PhysicalDeceptionEnv"]

AGENT_SIZE = 0.15
LANDMARK_SIZE = 0.08


class PhysicalDeceptionEpisode(EpisodeState):
    """What changes during an episode of ``PhysicalDeceptionEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    goal: torch.Tensor
    """int64 ``[B]``: the goal landmark."""


class PhysicalDeceptionEnv(BatchedEnv):
    """Batched physical deception (MPE's simple_adversary); see the module documentation."""

    Episode = PhysicalDeceptionEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        N: int = 2,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        num_agent_neighbors: int | None = None,
        num_landmark_neighbors: int | None = None,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        G = int_at_least("N", N, 1)
        continuous_actions = boolean("continuous_actions", continuous_actions)
        self.num_agent_neighbors = optional_int_at_least("num_agent_neighbors", num_agent_neighbors, 1)
        self.num_landmark_neighbors = optional_int_at_least("num_landmark_neighbors", num_landmark_neighbors, 1)
        n_agents, L = G + 1, G
        seen = 2 * (L if self.num_landmark_neighbors is None else self.num_landmark_neighbors)
        seen += 2 * (n_agents - 1 if self.num_agent_neighbors is None else self.num_agent_neighbors)
        agents = ["adversary_0"] + [f"agent_{i}" for i in range(G)]
        adversary_space = gymnasium.spaces.Box(-np.inf, np.inf, (seen,), np.float32)
        good_space = gymnasium.spaces.Box(-np.inf, np.inf, (2 + seen,), np.float32)
        observation_spaces = {a: adversary_space if a.startswith("adversary") else good_space for a in agents}
        box = gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(5))
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=observation_spaces,
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (seen + G * (2 + seen),), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[AGENT_SIZE] * n_agents,
            agent_accels=[5.0] * n_agents,  # MPE's default sensitivity
            agent_max_speeds=None,
            landmark_sizes=[LANDMARK_SIZE] * L,
            landmark_collide=False,
            agent_collide=False,
        )
        self.episode.world = self.world.episode
        self.episode.goal = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self._seen = seen
        self._adversary_padding = torch.zeros(self.num_envs, 1, 2, dtype=self.world.dtype, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N, L = self.n_agents, self.n_agents - 1
        self.episode.goal[env_ids] = self.rng.integers(L, (), env_ids)
        positions = self.rng.uniform((N + L, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1)
        self.world.reset(env_ids, positions[:, :N], positions[:, N:])

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)
        distance = self.world.landmark_distance(self.episode.goal)  # [N, B]
        adversary = distance[0]  # [B]
        good = -distance[1:].amin(0) + adversary  # [B], as mpe2: pos_rew + adv_rew
        reward = torch.cat((-adversary[:, None], good[:, None].expand(-1, self.n_agents - 1)), 1)
        terminated = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        return reward.float(), terminated, {"goal_distance": distance.T.float()}

    def observations(self) -> torch.Tensor:
        world, L = self.world, self.n_agents - 1
        landmarks = world.nearest(slice(0, L), self.num_landmark_neighbors)  # [B, N, 2 n_landmark], float64
        others = world.nearest(slice(L, None), self.num_agent_neighbors)  # [B, N, 2 n_agent]
        goal = world.landmark_relative(self.episode.goal).permute(2, 1, 0)  # [B, N, 2]
        adversary = torch.cat((landmarks[:, :1], others[:, :1], self._adversary_padding), -1)
        good = torch.cat((goal[:, 1:], landmarks[:, 1:], others[:, 1:]), -1)
        return torch.cat((adversary, good), 1).float()

    def global_state(self) -> torch.Tensor:
        obs = self.observations()
        return torch.cat((obs[:, 0, : self._seen], obs[:, 1:].reshape(self.num_envs, -1)), 1)

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        goal, N = int(self.episode.goal[env_index]), self.n_agents
        # mpe2's colours x 200: the goal green, other landmarks dark, the adversary red, good agents blue
        colours = [(30, 130, 30) if i == goal else (30, 30, 30) for i in range(N - 1)] + [(170, 70, 70)] + [(70, 70, 170)] * (N - 1)
        sizes = [LANDMARK_SIZE] * (N - 1) + [AGENT_SIZE] * N
        return particle_image(np.concatenate((landmarks, agents)), sizes, colours)

    def render_ansi(self, env_index: int) -> str:
        return self.world.text(
            env_index, self.possible_agents, f"step {int(self.step_count[env_index])}, goal: landmark_{int(self.episode.goal[env_index])}"
        )
