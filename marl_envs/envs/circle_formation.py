"""Circle formation: N agents spread evenly on a circle around a landmark (mpe2's `simple_formation_v1`).

| | |
|---|---|
| Import | `from marl_envs import circle_formation_v0` |
| Agents | `agent_0` ... `agent_3` (`N`, default 4, at most 8) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | `Box(-inf, inf, (6,), float32)`: own velocity, own position, the landmark relative to the agent |
| State space | `Box(-inf, inf, (6 N,), float32)`: every agent's observation, concatenated |
| Reward | shared: minus the mean distance of the agents to their assigned places on the circle, each clipped to [0, 2] |

## Description
The formation task of "Learning Transferable Cooperative Behavior in Multi-Agent Teams"
(Agarwal et al., 2019), exactly as mpe2's `simple_formation_v1`
(`mpe2/simple_formation/simple_formation.py`): the same particle physics
(`marl_envs/envs/particles.py`), defaults, agent names, spaces, observations, rewards,
termination and state, so that code written for `mpe2.simple_formation_v1` runs unchanged
(`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env of a batched env
is one such world.

The N places lie on the circle of radius 0.5 around the landmark, `2 pi / N` apart, starting at
the smallest angle (in [0, 2 pi), around the landmark) of any agent, so the circle turns with
the agents. Each step agents are matched to places so that the total distance is smallest, and
all agents share minus the mean matched distance (each clipped to [0, 2]). The shared mechanics
of the formation tasks: :mod:`marl_envs.envs.formations`.

Agents are discs of radius 0.05 and mass 1 that push each other apart with MPE's soft contact
force; the landmark (radius 0.03) is a point nothing collides with. An action pushes an agent
with force 5 along the chosen axis; the world damps velocities by 25% per step of `dt = 0.1`.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
`[own velocity (2), own position (2), the landmark relative to the agent (2)]`.

## Rewards
Every agent: `-mean_i min(d_i, 2)` over the agents, `d_i` the distance from agent i to its matched place.

## State
`state()` is mpe2's: every agent's observation concatenated in agent order.

## Starting state
Agents uniformly at random in `[-1, 1]^2`, at rest; the landmark uniformly in `[-0.5, 0.5]^2`
(from the env's own random stream).

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
- `terminate_on_success=False`: end the episode when the circle is formed.

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.
- `N` is at most 8 (mpe2 takes any N).

## Version history
- v0: initial release, matching mpe2's `simple_formation_v1`.
"""

from __future__ import annotations

import math

import torch

from marl_envs.core.episode import EpisodeState
from marl_envs.envs.formations import FormationEnv
from marl_envs.envs.particles import ParticleEpisode

__all__ = ["CircleFormationEnv"]

RADIUS = 0.5  # mpe2's TARGET_RADIUS


class CircleFormationEpisode(EpisodeState):
    """What changes during an episode of ``CircleFormationEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""


class CircleFormationEnv(FormationEnv):
    """Batched circle formation (mpe2's simple_formation); see the module documentation."""

    Episode = CircleFormationEpisode

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
            n_landmarks=1,
            agent_size=0.05,
            landmark_size=0.03,
            max_cycles=max_cycles,
            continuous_actions=continuous_actions,
            terminate_on_success=terminate_on_success,
            validate_actions=validate_actions,
            sync_free=sync_free,
        )
        self._steps = torch.arange(self.n_agents, dtype=self.world.dtype, device=self.device) * (2 * math.pi / self.n_agents)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N = self.n_agents
        draws = self.rng.uniform((N + 1, 2), env_ids)  # the agents, then the landmark
        self.world.reset(env_ids, draws[:, :N] * 2.0 - 1.0, draws[:, N:] - 0.5)

    def targets(self) -> torch.Tensor:
        world = self.world.episode
        landmark = world.landmark_pos[:, 0].T  # [B, 2]
        relative = world.agent_pos.permute(2, 1, 0) - landmark[:, None]  # [B, N, 2]
        angles = torch.atan2(relative[..., 1], relative[..., 0])
        angles = torch.where(angles < 0, angles + 2 * math.pi, angles)  # in [0, 2 pi), as mpe2's _find_angle
        first = angles.amin(1, keepdim=True)  # [B, 1]
        places = first + self._steps  # [B, N]
        return landmark[:, None] + RADIUS * torch.stack((places.cos(), places.sin()), -1)
