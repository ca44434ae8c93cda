"""Cooperative navigation: N agents spread out to cover N landmarks without bumping into each other.

| | |
|---|---|
| Import | `from marl_envs import cooperative_navigation_v0` |
| Agents | `agent_0` ... `agent_2` (`N`, default 3) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | `Box(-inf, inf, (6 N,), float32)` (18 by default; with neighbours: `4 + 2 n_landmark + 4 n_agent`) |
| State space | `Box(-inf, inf, (6 N^2,), float32)` (54 by default): every agent's observation, concatenated |
| Reward | `(1 - local_ratio)` x shared coverage reward + `local_ratio` x own collision penalty |

## Description
The cooperative navigation task of the MADDPG paper (Lowe et al., 2017), exactly as MPE's
`simple_spread_v3` (mpe2): the same particle physics (`marl_envs/envs/particles.py`), the
same defaults, agent names, spaces, observation layout, rewards and state, so that code
written for `mpe2.simple_spread_v3` runs unchanged (`tests/test_mpe_parity.py` checks
whole episodes against mpe2). Every sub-env of a batched env is one such world.

Agents are discs of radius 0.15 and mass 1, landmarks points that nothing collides with.
An agent's action pushes it with force 5 along the chosen axis; the world damps velocities
by 25% per step of `dt = 0.1`, and overlapping agents push each other apart with MPE's
soft contact force. Agents have no speed limit.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
Agent i sees, in this order (all float32):
`[own velocity (2), own position (2), each landmark's position relative to it (2 N),
each other agent's position relative to it, in index order (2 (N - 1)),
communication of the other agents (2 (N - 1): always zeros, agents are silent)]`.

Partial observability (mpe2's `num_landmark_neighbors` / `num_agent_neighbors`): only the
`num_landmark_neighbors` nearest landmarks and the `num_agent_neighbors` nearest other agents
(and their silent communication) are seen, closest first, each list zero-padded to its fixed
length when there are fewer. The observation size then does not depend on `N`, so one policy
runs on any number of agents (e.g. trained with `N=3`, evaluated with `N=6`).

## Agent graph
With `comm_radius=r`, the step record's `adjacency[b, i, j]` is True for agents i != j whose
centres are at most r apart (for graph agents; ours only, mpe2 has no graph). Without it there
is no adjacency.

## Rewards
After the step, with d(a, l) the distance from agent a to landmark l:
- shared (global): `-sum_l min_a d(a, l)`;
- own (local): `-1` for every other agent whose disc overlaps agent i's (distance < 0.3);
- agent i gets `(1 - local_ratio) * shared + local_ratio * own`.

## State
`state()` is mpe2's: the agents' observations concatenated in agent order (`[6 N^2]`).

## Starting state
Agents and landmarks uniformly at random in `[-1, 1]^2` (from the env's own random stream),
velocities zero.

## Episode end
No terminal state; every agent is truncated after `max_cycles` steps.

## Info
Per step: `collisions` (per agent: other agents overlapping it, int) and
`occupied_landmarks` (per sub-env: landmarks with an agent within 0.1), mpe2's benchmark data.

## Arguments
- `N=3`: number of agents and of landmarks (>= 1).
- `local_ratio=0.5`: weight of the own collision penalty, in [0, 1]; the shared reward gets the rest.
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete(5).
- `num_agent_neighbors=None`, `num_landmark_neighbors=None`: see only the nearest other agents /
  landmarks (integers >= 1; None: all), as mpe2.
- `comm_radius=None`: a number > 0 gives the agent graph of that radius (ours only).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`, `curriculum`,
`terminate_on_success`) are not offered; their defaults are what this env does.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- The physics runs in float64 as mpe2's; observations and state are float32 as mpe2's, and equal
  mpe2's exactly from the same world; rewards are mpe2's rounded to float32 (mpe2 returns Python floats).
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.
- See `marl_envs/envs/particles.py` for the two physics corner cases (coincident discs, forces below 1e-250).

## Version history
- v0: initial release, matching mpe2's `simple_spread_v3`; later, with unchanged defaults, mpe2's
  `num_agent_neighbors` / `num_landmark_neighbors` and the `comm_radius` graph.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least, optional_int_at_least, optional_positive_number
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import ObservationLayout, ParticleEpisode, ParticleWorld, particle_image

__all__ = ["CooperativeNavigationEnv"]

AGENT_SIZE = 0.15
LANDMARK_SIZE = 0.05  # MPE's default entity size; landmarks do not collide, it only matters for drawing
OCCUPIED_DISTANCE = 0.1


class CooperativeNavigationEpisode(EpisodeState):
    """What changes during an episode of ``CooperativeNavigationEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""


class CooperativeNavigationEnv(BatchedEnv):
    """Batched cooperative navigation (MPE's simple_spread); see the module documentation."""

    Episode = CooperativeNavigationEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        N: int = 3,
        local_ratio: float = 0.5,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        num_agent_neighbors: int | None = None,
        num_landmark_neighbors: int | None = None,
        comm_radius: float | None = None,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        N = int_at_least("N", N, 1)
        self.num_agent_neighbors = optional_int_at_least("num_agent_neighbors", num_agent_neighbors, 1)
        self.num_landmark_neighbors = optional_int_at_least("num_landmark_neighbors", num_landmark_neighbors, 1)
        self.comm_radius = optional_positive_number("comm_radius", comm_radius)
        self.has_adjacency = self.comm_radius is not None
        self._partial = self.num_agent_neighbors is not None or self.num_landmark_neighbors is not None
        seen_landmarks = N if self.num_landmark_neighbors is None else self.num_landmark_neighbors
        seen_agents = N - 1 if self.num_agent_neighbors is None else self.num_agent_neighbors
        if isinstance(local_ratio, bool) or not isinstance(local_ratio, (int, float)) or not 0.0 <= local_ratio <= 1.0:
            raise ValueError(f"local_ratio is a proportion: it must be a number in [0, 1], got {local_ratio!r}")
        self.local_ratio = float(local_ratio)
        continuous_actions = boolean("continuous_actions", continuous_actions)

        agents = [f"agent_{i}" for i in range(N)]
        obs_size = 4 + 2 * seen_landmarks + 4 * seen_agents
        observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (obs_size,), np.float32)
        box = gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(5))
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, observation_space),
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (N * obs_size,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[AGENT_SIZE] * N,
            agent_accels=[5.0] * N,  # MPE's default sensitivity: simple_spread's agents set no accel
            agent_max_speeds=None,
            landmark_sizes=[LANDMARK_SIZE] * N,
            landmark_collide=False,
        )
        self.episode.world = self.world.episode
        world = self.world
        rows = []
        for i in range(N):
            row = world.feature_index("velocity", i) + world.feature_index("position", i)
            for landmark in range(N, 2 * N):
                row += world.feature_index("relative", i, landmark)
            for other in range(N):
                if other != i:
                    row += world.feature_index("relative", i, other)
            rows.append(row + world.feature_index("zero") * (N - 1))  # the other agents' (silent) communication
        self.layout = ObservationLayout(world, rows)
        dtype = world.dtype
        self._touching = torch.full((N, N - 1, 1), 2 * AGENT_SIZE, dtype=dtype, device=self.device)
        self._shared_weight = torch.tensor(-(1.0 - self.local_ratio), dtype=dtype, device=self.device)
        self._own_weight = torch.tensor(-self.local_ratio, dtype=dtype, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N = self.n_agents
        positions = self.rng.uniform((2 * N, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1)
        self.world.reset(env_ids, positions[:, :N], positions[:, N:])

    def step_envs(self, actions: torch.Tensor):
        world, N = self.world, self.n_agents
        world.move(actions)
        distance = world.episode.distance  # [N, 2N - 1, B]: to the landmarks, then to the other agents
        nearest = distance[:, :N].amin(0)  # [N landmarks, B]: each landmark's closest agent
        collisions = (distance[:, N:] < self._touching).sum(1)  # [N, B]: other agents overlapping each agent
        reward = nearest.sum(0) * self._shared_weight + collisions * self._own_weight  # [N, B]
        terminated = torch.zeros(self.num_envs, N, dtype=torch.bool, device=self.device)
        info = {"collisions": collisions.T, "occupied_landmarks": (nearest < OCCUPIED_DISTANCE).sum(0)}
        return reward.float().T.contiguous(), terminated, info

    def observations(self) -> torch.Tensor:
        if not self._partial:
            return self.layout.observe()
        world, N = self.world, self.n_agents
        landmarks = world.nearest(slice(0, N), self.num_landmark_neighbors)
        others = world.nearest(slice(N, None), self.num_agent_neighbors)
        own = torch.cat((world.episode.agent_vel, world.episode.agent_pos)).permute(2, 1, 0)  # [B, N, 4]: velocity, position
        silent = torch.zeros_like(others)  # the nearest agents' communication (agents are silent)
        return torch.cat((own, landmarks, others, silent), -1).float()

    def global_state(self) -> torch.Tensor:
        if not self._partial:
            return self.layout.state()
        return self.observations().flatten(1)  # mpe2's state: the observations, concatenated

    def adjacency_matrix(self) -> torch.Tensor | None:
        return self.world.neighbours(self.comm_radius) if self.comm_radius is not None else None

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        N = self.n_agents
        colours = [(50, 50, 50)] * N + [(70, 70, 170)] * N  # mpe2's colours x 200
        return particle_image(np.concatenate((landmarks, agents)), [LANDMARK_SIZE] * N + [AGENT_SIZE] * N, colours)

    def render_ansi(self, env_index: int) -> str:
        return self.world.text(env_index, self.possible_agents, f"step {int(self.step_count[env_index])}")
