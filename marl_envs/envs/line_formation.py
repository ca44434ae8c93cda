"""Line formation: N agents spread evenly along the segment between two landmarks (mpe2's `simple_line_v1`).

| | |
|---|---|
| Import | `from marl_envs import line_formation_v0` |
| Agents | `agent_0` ... `agent_3` (`N`, default 4, at most 8) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | `Box(-inf, inf, (8,), float32)`: own velocity, own position, both landmarks relative to the agent |
| State space | `Box(-inf, inf, (8 N,), float32)`: every agent's observation, concatenated |
| Reward | shared: minus the mean distance of the agents to their assigned places on the line, each clipped to [0, 2] |

## Description
The line task of "Learning Transferable Cooperative Behavior in Multi-Agent Teams" (Agarwal et
al., 2019), exactly as mpe2's `simple_line_v1` (`mpe2/simple_line/simple_line.py`): the same
particle physics (`marl_envs/envs/particles.py`), defaults, agent names, spaces, observations,
rewards, termination and state, so that code written for `mpe2.simple_line_v1` runs unchanged
(`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env of a batched env
is one such world.

Two landmarks lie 1.25 apart. The N places of the line are evenly spaced from the first landmark
to the second (`1.25 / (N - 1)` apart); each step agents are matched to places so that the
total distance is smallest, and all agents share minus the mean matched distance (each clipped
to [0, 2]). The shared mechanics of the formation tasks: :mod:`marl_envs.envs.formations`.

Agents are discs of radius 0.03 and mass 1 that push each other apart with MPE's soft contact
force; landmarks (radius 0.02) are points nothing collides with. An action pushes an agent with
force 5 along the chosen axis; the world damps velocities by 25% per step of `dt = 0.1`.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
`[own velocity (2), own position (2), landmark 0 relative to the agent (2), landmark 1 relative to it (2)]`.

## Rewards
Every agent: `-mean_i min(d_i, 2)` over the agents, `d_i` the distance from agent i to its matched place.

## State
`state()` is mpe2's: every agent's observation concatenated in agent order.

## Starting state
Agents uniformly at random in `[-1, 1]^2`, at rest; the first landmark uniformly in
`[-0.25, 0.25]^2`; the second 1.25 from it in a uniformly random direction, turned by 5 degrees
at a time until it lies inside `(-1, 1)^2` (mpe2's rule; a direction inside is always found
within a turn) (from the env's own random stream).

## Episode end
With `terminate_on_success=True`, every agent terminates at the step that brings every matched
distance below 0.05, unless that step reaches `max_cycles`; otherwise, and by default, every
agent is truncated after `max_cycles` steps.

## Info
Per step: `mean_distance` (per sub-env): the mean matched distance, unclipped.

## Arguments
- `N=4`: agents, 1 to 8 (the matching tries all N! assignments).
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.
- `terminate_on_success=False`: end the episode when the line is formed.

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.
- `N` is at most 8 (mpe2 takes any N).

## Version history
- v0: initial release, matching mpe2's `simple_line_v1`.
"""

from __future__ import annotations

import math

import torch

from marl_envs.core.episode import EpisodeState
from marl_envs.envs.formations import FormationEnv
from marl_envs.envs.particles import ParticleEpisode

__all__ = ["LineFormationEnv"]

SEPARATION = 1.25  # mpe2's TOTAL_SEP: the distance between the landmarks
TURN = math.radians(5)
TURNS = 72  # a whole turn: mpe2 turns until the second landmark is inside


class LineFormationEpisode(EpisodeState):
    """What changes during an episode of ``LineFormationEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    places: torch.Tensor
    """float64 ``[B, N, 2]``: the line's evenly spaced places, from the first landmark to the second."""


class LineFormationEnv(FormationEnv):
    """Batched line formation (mpe2's simple_line); see the module documentation."""

    Episode = LineFormationEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        N: int = 4,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        terminate_on_success: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        super().__init__(
            num_envs,
            device,
            N=N,
            n_landmarks=2,
            agent_size=0.03,
            landmark_size=0.02,
            max_cycles=max_cycles,
            continuous_actions=continuous_actions,
            terminate_on_success=terminate_on_success,
            validate_actions=validate_actions,
            sync_free=sync_free,
        )
        dtype = self.world.dtype
        self.episode.places = torch.zeros(self.num_envs, self.n_agents, 2, dtype=dtype, device=self.device)
        spacing = SEPARATION / (self.n_agents - 1) if self.n_agents > 1 else 0.0
        self._offsets = torch.arange(self.n_agents, dtype=dtype, device=self.device) * spacing  # [N]
        self._turns = torch.arange(TURNS + 1, dtype=dtype, device=self.device) * TURN

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N = self.n_agents
        draws = self.rng.uniform((N + 2, 2), env_ids).double()  # agents, the first landmark, the direction
        agents = draws[:, :N] * 2.0 - 1.0
        first = draws[:, N] * 0.5 - 0.25  # uniform in [-0.25, 0.25)
        angles = draws[:, N + 1, :1] * (2 * math.pi) + self._turns  # [K, TURNS + 1]
        directions = torch.stack((angles.cos(), angles.sin()), -1)  # [K, TURNS + 1, 2]
        second = first[:, None] + SEPARATION * directions
        inside = (second.abs() < 1.0).all(-1)
        turn = inside.to(torch.int8).argmax(1)  # the first direction inside
        direction = directions[torch.arange(len(env_ids), device=self.device), turn]  # [K, 2]
        landmarks = torch.stack((first, first + SEPARATION * direction), 1)
        self.episode.places[env_ids] = first[:, None] + self._offsets[:, None] * direction[:, None]
        self.world.reset(env_ids, agents, landmarks)

    def targets(self) -> torch.Tensor:
        return self.episode.places
