"""Predator-prey: slower predators (adversaries) chase faster prey among obstacles.

| | |
|---|---|
| Import | `from marl_envs import predator_prey_v0` |
| Agents | `adversary_0` ... `adversary_2` (`num_adversaries`, default 3), then `agent_0` (`num_good`, default 1) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | adversaries `Box(-inf, inf, (16,), float32)`, good agents `Box(-inf, inf, (14,), float32)` (defaults; sizes below) |
| State space | `Box(-inf, inf, (62,), float32)` (defaults): every agent's observation, concatenated |
| Reward | adversaries share +10 per catch; a good agent gets -10 per adversary touching it, minus a boundary penalty |

## Description
The predator-prey task of the MADDPG paper (Lowe et al., 2017), exactly as MPE's
`simple_tag_v3` (mpe2): the same particle physics (`marl_envs/envs/particles.py`), defaults,
agent names, spaces, observation layout, rewards and state, so that code written for
`mpe2.simple_tag_v3` runs unchanged (`tests/test_mpe_parity.py` checks whole episodes
against mpe2). Every sub-env of a batched env is one such world.

| | adversaries | good agents | obstacles |
|---|---|---|---|
| radius | 0.075 | 0.05 | 0.2 |
| acceleration (MPE's `accel`) | 3.0 | 4.0 | static |
| max speed | 1.0 | 1.3 | |

Everything collides with everything (agents with agents and with the obstacles), with MPE's
soft contact force; the world damps velocities by 25% per step of `dt = 0.1`, and a speed
above an agent's maximum is scaled back to it. Obstacles never move.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `accel * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
Every agent sees, in this order (all float32):
`[own velocity (2), own position (2), each obstacle's position relative to it (2 num_obstacles),
each other agent's position relative to it, in agent order (2 (N - 1)),
the velocities of the good agents other than itself, in order (2 num_good for an adversary,
2 (num_good - 1) for a good agent)]`, with N = `num_adversaries + num_good`. Defaults:
16 numbers for an adversary, 14 for a good agent. In the batched env's `obs [B, N, O]` the
shorter observations are zero-padded at the end; each agent's own space has its true size.

## Rewards
After the step, an adversary and a good agent *touch* when their distance is below the sum
of their radii (0.125):
- every adversary gets `+10` for every (adversary, good agent) pair that touches (a shared reward);
- a good agent gets `-10` for every adversary touching it, minus `bound(|x|) + bound(|y|)` of its
  position, MPE's boundary penalty: `bound(v) = 0` for `v < 0.9`, `10 (v - 0.9)` for
  `0.9 <= v < 1`, `min(exp(2 v - 2), 10)` above.

## State
`state()` is mpe2's: every agent's (unpadded) observation concatenated in agent order.

## Starting state
Agents uniformly at random in `[-1, 1]^2`, obstacles in `[-0.9, 0.9]^2` (from the env's own
random stream), velocities zero.

## Episode end
No terminal state (nobody is removed when caught); every agent is truncated after `max_cycles` steps.

## Info
Per step: `collisions` (per agent: for an adversary, the good agents it touches, mpe2's
benchmark data; for a good agent, the adversaries touching it).

## Arguments
- `num_good=1` (>= 1), `num_adversaries=3` (>= 0), `num_obstacles=2` (>= 0).
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete(5).
- `comm_radius=None`: a number > 0 gives the step record an `adjacency` `[B, N, N]`: agents i != j
  (predators and prey alike) whose centres are at most that far apart (ours only, for graph agents).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`, `curriculum`,
`terminate_on_success`, `num_agent_neighbors`, `num_landmark_neighbors`) are not offered;
their defaults are what this env does.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- The physics runs in float64 as mpe2's; observations and state are float32 as mpe2's, and equal
  mpe2's exactly from the same world; rewards are mpe2's rounded to float32 (mpe2 returns Python floats).
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.
- See `marl_envs/envs/particles.py` for the two physics corner cases (coincident discs, forces below 1e-250).

## Version history
- v0: initial release, matching mpe2's `simple_tag_v3`; later, with unchanged defaults, the `comm_radius` graph.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least, optional_positive_number
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import ObservationLayout, ParticleEpisode, ParticleWorld, particle_image

__all__ = ["Chase", "PredatorPreyEnv", "boundary_penalty"]

ADVERSARY = {"size": 0.075, "accel": 3.0, "max_speed": 1.0}
GOOD = {"size": 0.05, "accel": 4.0, "max_speed": 1.3}
OBSTACLE_SIZE = 0.2
OBSTACLE_RANGE = 0.9  # obstacles start in [-0.9, 0.9]^2, agents in [-1, 1]^2
CATCH_REWARD = 10.0


class PredatorPreyEpisode(EpisodeState):
    """What changes during an episode of ``PredatorPreyEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""


class PredatorPreyEnv(BatchedEnv):
    """Batched predator-prey (MPE's simple_tag); see the module documentation."""

    Episode = PredatorPreyEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        num_good: int = 1,
        num_adversaries: int = 3,
        num_obstacles: int = 2,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        comm_radius: float | None = None,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        G = int_at_least("num_good", num_good, 1)
        self.comm_radius = optional_positive_number("comm_radius", comm_radius)
        self.has_adjacency = self.comm_radius is not None
        A = int_at_least("num_adversaries", num_adversaries, 0)
        L = int_at_least("num_obstacles", num_obstacles, 0)
        continuous_actions = boolean("continuous_actions", continuous_actions)
        N = A + G
        self.num_good, self.num_adversaries, self.num_obstacles = G, A, L

        agents = [f"adversary_{i}" for i in range(A)] + [f"agent_{i}" for i in range(G)]
        common = 4 + 2 * L + 2 * (N - 1)
        adversary_space = gymnasium.spaces.Box(-np.inf, np.inf, (common + 2 * G,), np.float32)
        good_space = gymnasium.spaces.Box(-np.inf, np.inf, (common + 2 * (G - 1),), np.float32)
        observation_spaces = {a: adversary_space if a.startswith("adversary") else good_space for a in agents}
        state_size = A * (common + 2 * G) + G * (common + 2 * (G - 1))
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
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (state_size,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        kinds = [ADVERSARY] * A + [GOOD] * G
        self.world = world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[k["size"] for k in kinds],
            agent_accels=[k["accel"] for k in kinds],
            agent_max_speeds=[k["max_speed"] for k in kinds],
            landmark_sizes=[OBSTACLE_SIZE] * L,
            landmark_collide=True,
        )
        self.episode.world = self.world.episode
        rows = []
        for i in range(N):
            row = world.feature_index("velocity", i) + world.feature_index("position", i)
            for other in [*range(N, N + L), *(k for k in range(N) if k != i)]:  # obstacles, then other agents
                row += world.feature_index("relative", i, other)
            for good in range(A, N):
                if good != i:
                    row += world.feature_index("velocity", good)
            rows.append(row)
        self.layout = ObservationLayout(world, rows)
        self.chase = Chase(world, A, catch_distance=ADVERSARY["size"] + GOOD["size"], catch_reward=CATCH_REWARD, boundary_weight=1.0)
        self._spawn_range = torch.tensor([1.0] * N + [OBSTACLE_RANGE] * L, device=self.device)[:, None]

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N = self.n_agents
        positions = (self.rng.uniform((N + self.num_obstacles, 2), env_ids) * 2.0 - 1.0) * self._spawn_range
        self.world.reset(env_ids, positions[:, :N], positions[:, N:])

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)
        touching, adversary_reward, good_reward = self.chase()
        reward = torch.cat((adversary_reward, good_reward))
        terminated = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        return reward.float().T.contiguous(), terminated, {"collisions": Chase.collisions(touching)}

    def observations(self) -> torch.Tensor:
        return self.layout.observe()

    def global_state(self) -> torch.Tensor:
        return self.layout.state()

    def adjacency_matrix(self) -> torch.Tensor | None:
        return self.world.neighbours(self.comm_radius) if self.comm_radius is not None else None

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, obstacles = self.world.positions(env_index)
        A, G, L = self.num_adversaries, self.num_good, self.num_obstacles
        sizes = [OBSTACLE_SIZE] * L + [ADVERSARY["size"]] * A + [GOOD["size"]] * G
        colours = [(50, 50, 50)] * L + [(170, 70, 70)] * A + [(70, 170, 70)] * G  # mpe2's colours x 200
        return particle_image(np.concatenate((obstacles, agents)), sizes, colours)

    def render_ansi(self, env_index: int) -> str:
        names = [f"obstacle_{i}" for i in range(self.world.n_landmarks)]
        return self.world.text(env_index, self.possible_agents, f"step {int(self.step_count[env_index])}", names)


class Chase:
    """simple_tag's catches and boundary penalty, shared by ``predator_prey_v0`` and ``predator_prey_comm_v0``.

    In a world whose first A agents are adversaries and the other G good, after the step, an
    adversary and a good agent *touch* when their distance is below ``catch_distance`` (the sum of
    their radii). Calling it gives:

    - ``touching`` bool ``[A, G, B]``;
    - the adversaries' reward ``[A, B]``: ``catch_reward`` for every touching pair of the sub-env,
      the same for every adversary (mpe2's shared catch reward);
    - the good agents' reward ``[G, B]``: ``-catch_reward`` for every adversary touching it, minus
      ``boundary_weight`` times MPE's boundary penalty of its position (:func:`boundary_penalty`).
    """

    def __init__(self, world: ParticleWorld, num_adversaries: int, *, catch_distance: float, catch_reward: float, boundary_weight: float):
        self.world, self.num_adversaries = world, num_adversaries
        # Agent i's others: landmarks, then agents other than i; an adversary's good agents are its last G.
        self.good_columns = slice(world.n_landmarks + num_adversaries - 1, None)
        self._catch_distance = torch.tensor(catch_distance, dtype=world.dtype, device=world.device)
        self._catch_reward = torch.tensor(catch_reward, dtype=world.dtype, device=world.device)
        self._boundary_weight = torch.tensor(boundary_weight, dtype=world.dtype, device=world.device)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        world, A = self.world, self.num_adversaries
        touching = world.episode.distance[:A, self.good_columns] < self._catch_distance  # [A, G, B]
        caught = touching.sum(0)  # [G, B]: adversaries touching each good agent
        adversary_reward = (touching.sum((0, 1)) * self._catch_reward).expand(A, -1)  # [A, B], shared
        penalty = boundary_penalty(world.episode.agent_pos[:, A:]).sum(0) * self._boundary_weight
        return touching, adversary_reward, -(caught * self._catch_reward) - penalty

    @staticmethod
    def collisions(touching: torch.Tensor) -> torch.Tensor:
        """int64 ``[B, N]``: for an adversary, the good agents it touches (mpe2's benchmark data); for a good agent, the adversaries touching it."""
        return torch.cat((touching.sum(1), touching.sum(0))).T


def boundary_penalty(position: torch.Tensor) -> torch.Tensor:
    """MPE's ``bound`` of every coordinate: 0 below 0.9, linear to 1 at 1.0, then exp(2v - 2) up to 10."""
    v = position.abs()
    linear = (v - 0.9) * 10
    exponential = torch.exp(2 * v - 2).clamp_max(10.0)
    return torch.where(v < 0.9, 0.0, torch.where(v < 1.0, linear, exponential))
