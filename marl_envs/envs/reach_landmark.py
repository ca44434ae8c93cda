"""Reach landmark: one agent moves to one landmark (mpe2's `simple_v3`, the MPE debugging task).

| | |
|---|---|
| Import | `from marl_envs import reach_landmark_v0` |
| Agents | `agent_0` |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | `Box(-inf, inf, (4,), float32)`: own velocity, the landmark's position relative to the agent |
| State space | `Box(-inf, inf, (4,), float32)`: the observation |
| Reward | minus the squared distance from the agent to the landmark |

## Description
MPE's single-agent task, exactly as mpe2's `simple_v3` (`mpe2/simple/simple.py`): the same
particle physics (`marl_envs/envs/particles.py`), defaults, agent name, spaces, observation,
reward and state, so that code written for `mpe2.simple_v3` runs unchanged
(`tests/test_mpe_parity.py` checks whole episodes against mpe2). It is not a multi-agent task:
like mpe2, the suite keeps it for checking a learner or a pipeline on the simplest MPE world.
Every sub-env of a batched env is one such world.

The agent is a disc of radius 0.05 and mass 1, the landmark a point nothing collides with. An
action pushes the agent with force 5 along the chosen axis; the world damps velocities by 25%
per step of `dt = 0.1`. The agent has no speed limit.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
`[own velocity (2), the landmark's position minus the agent's (2)]`.

## Rewards
`-|p_agent - p_landmark|^2` after the step.

## State
`state()` is mpe2's: the agent's observation (`[4]`).

## Starting state
The agent and the landmark uniformly at random in `[-1, 1]^2`, the velocity zero (from the env's
own random stream).

## Episode end
No terminal state; the agent is truncated after `max_cycles` steps.

## Info
Per step: `landmark_distance` (per sub-env): the agent's distance to the landmark.

## Arguments
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.

## Version history
- v0: initial release, matching mpe2's `simple_v3`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import ParticleEpisode, ParticleWorld, particle_image

__all__ = ["ReachLandmarkEnv"]

AGENT_SIZE = 0.05  # mpe2's default entity size
LANDMARK_SIZE = 0.05


class ReachLandmarkEpisode(EpisodeState):
    """What changes during an episode of ``ReachLandmarkEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""


class ReachLandmarkEnv(BatchedEnv):
    """Batched reach-landmark (mpe2's simple); see the module documentation."""

    Episode = ReachLandmarkEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        continuous_actions = boolean("continuous_actions", continuous_actions)
        agents = ["agent_0"]
        box = gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(5))
        observation = gymnasium.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces={"agent_0": observation},
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (4,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.world = world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[AGENT_SIZE],
            agent_accels=[5.0],  # MPE's default sensitivity
            agent_max_speeds=None,
            landmark_sizes=[LANDMARK_SIZE],
            landmark_collide=False,
            agent_collide=False,
        )
        self.episode.world = self.world.episode
        self._rows = torch.tensor(world.feature_index("velocity", 0) + world.feature_index("relative", 0, 1), device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        positions = self.rng.uniform((2, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1): the agent, then the landmark
        self.world.reset(env_ids, positions[:, :1], positions[:, 1:])

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)
        relative = self.world.episode.relative[:, 0, 0]  # [2, B]: the landmark minus the agent
        squared = (relative * relative).sum(0)  # [B], as mpe2's np.sum(np.square(...))
        reward = (-squared).float()[:, None]
        terminated = torch.zeros(self.num_envs, 1, dtype=torch.bool, device=self.device)
        return reward, terminated, {"landmark_distance": squared.sqrt().float()}

    def observations(self) -> torch.Tensor:
        return self.world.gather(self._rows)[:, None]

    def global_state(self) -> torch.Tensor:
        return self.world.gather(self._rows)

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        colours = [(150, 50, 50), (50, 50, 50)]  # mpe2's colours x 200: the landmark red, the agent grey
        return particle_image(np.concatenate((landmarks, agents)), [LANDMARK_SIZE, AGENT_SIZE], colours)

    def render_ansi(self, env_index: int) -> str:
        return self.world.text(env_index, self.possible_agents, f"step {int(self.step_count[env_index])}")
