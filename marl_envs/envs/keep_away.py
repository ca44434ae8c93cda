"""Keep-away: an agent reaches its goal landmark while an adversary pushes it away (mpe2's `simple_push_v3`).

| | |
|---|---|
| Import | `from marl_envs import keep_away_v0` |
| Agents | `adversary_0`, `agent_0` |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | adversary `Box(-inf, inf, (8,), float32)`, agent `Box(-inf, inf, (19,), float32)` |
| State space | `Box(-inf, inf, (27,), float32)`: both observations, concatenated |
| Reward | agent: minus its distance to the goal; adversary: the agent's distance to the goal minus its own |

## Description
The keep-away task of the MADDPG paper (Lowe et al., 2017), exactly as mpe2's `simple_push_v3`
(`mpe2/simple_push/simple_push.py`): the same particle physics (`marl_envs/envs/particles.py`),
defaults, agent names, spaces, observation layout, rewards and state, so that code written for
`mpe2.simple_push_v3` runs unchanged (`tests/test_mpe_parity.py` checks whole episodes against
mpe2). Every sub-env of a batched env is one such world.

Two landmarks, one green and one blue; one of them, drawn at random, is the goal. The agent
knows which (and wears its colour); the adversary does not, and must infer it from where the
agent goes, then get there first and push the agent away.

Agents are discs of radius 0.05 and mass 1 that push each other apart with MPE's soft contact
force; landmarks are points nothing collides with. An action pushes an agent with force 5
along the chosen axis; the world damps velocities by 25% per step of `dt = 0.1`. No agent has a
speed limit.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
Positions are relative to the observing agent:
- adversary: `[own velocity (2), each landmark (2 x 2), the agent (2)]`;
- agent: `[own velocity (2), the goal (2), its own colour (3), each landmark (2 x 2), each
  landmark's colour (3 x 2), the adversary (2)]`. Landmark colours are green `(0.1, 0.9, 0.1)`
  and blue `(0.1, 0.1, 0.9)`; the agent's colour is `(0.25, 0.75, 0.25)` when the goal is the
  green landmark, `(0.25, 0.25, 0.75)` when it is the blue one.

The adversary's observation is zero-padded at the end in the batched tensors; its own space has
its true size.

## Rewards
With `d_agent` and `d_adversary` their distances to the goal, after the step: the agent gets
`-d_agent`, the adversary `d_agent - d_adversary`.

## State
`state()` is mpe2's: both observations concatenated (`[8 + 19]`).

## Starting state
Both agents and both landmarks uniformly at random in `[-1, 1]^2`, velocities zero, the goal
uniformly among the landmarks (from the env's own random stream).

## Episode end
No terminal state; both agents are truncated after `max_cycles` steps.

## Info
Per step: `goal_distance` (per agent): its distance to the goal.

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
- v0: initial release, matching mpe2's `simple_push_v3`.
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

__all__ = ["KeepAwayEnv"]

SIZE = 0.05  # mpe2's default entity size, agents and landmarks
LANDMARKS = 2


def _colours() -> tuple[np.ndarray, np.ndarray]:
    """float64 landmark colours ``[2, 3]`` and the agent's colour for each goal ``[2, 3]``, computed as mpe2 computes them."""
    landmarks, agent = np.full((LANDMARKS, 3), 0.1), np.full((LANDMARKS, 3), 0.25)
    for i in range(LANDMARKS):
        landmarks[i, i + 1] += 0.8
        agent[i, i + 1] += 0.5
    return landmarks, agent


class KeepAwayEpisode(EpisodeState):
    """What changes during an episode of ``KeepAwayEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    goal: torch.Tensor
    """int64 ``[B]``: the goal landmark."""


class KeepAwayEnv(BatchedEnv):
    """Batched keep-away (MPE's simple_push); see the module documentation."""

    Episode = KeepAwayEpisode

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
        agents = ["adversary_0", "agent_0"]
        box = gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(5))
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces={
                "adversary_0": gymnasium.spaces.Box(-np.inf, np.inf, (8,), np.float32),
                "agent_0": gymnasium.spaces.Box(-np.inf, np.inf, (19,), np.float32),
            },
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (27,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[SIZE] * 2,
            agent_accels=[5.0] * 2,  # MPE's default sensitivity
            agent_max_speeds=None,
            landmark_sizes=[SIZE] * LANDMARKS,
            landmark_collide=False,
        )
        self.episode.world = self.world.episode
        self.episode.goal = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        landmark_colours, agent_colours = _colours()
        dtype = self.world.dtype
        self._landmark_colours = torch.tensor(landmark_colours, dtype=dtype, device=self.device).reshape(1, -1).expand(self.num_envs, -1)
        self._agent_colours = torch.tensor(agent_colours, dtype=dtype, device=self.device)
        self._padding = torch.zeros(self.num_envs, 11, dtype=dtype, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        self.episode.goal[env_ids] = self.rng.integers(LANDMARKS, (), env_ids)
        positions = self.rng.uniform((2 + LANDMARKS, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1): agents, then landmarks
        self.world.reset(env_ids, positions[:, :2], positions[:, 2:])

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)
        distance = self.world.landmark_distance(self.episode.goal)  # [2, B]
        adversary, agent = distance[0], distance[1]
        reward = torch.stack((agent - adversary, -agent), 1)  # as mpe2: pos_rew - neg_rew, and -distance
        terminated = torch.zeros(self.num_envs, 2, dtype=torch.bool, device=self.device)
        return reward.float(), terminated, {"goal_distance": distance.T.float()}

    def _observed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """float64 ``[B, 8]`` and ``[B, 19]``: the adversary's and the agent's observations."""
        world = self.world.episode
        velocity = world.agent_vel.permute(2, 1, 0)  # [B, 2 agents, 2]
        seen = world.relative.permute(3, 1, 2, 0)  # [B, 2 agents, 2 landmarks + the other agent, 2]
        goal = self.world.landmark_relative(self.episode.goal)[:, 1].T  # [B, 2]: the goal relative to the agent
        adversary = torch.cat((velocity[:, 0], seen[:, 0].reshape(self.num_envs, -1)), 1)
        agent = torch.cat(
            (
                velocity[:, 1],
                goal,
                self._agent_colours.index_select(0, self.episode.goal),
                seen[:, 1, :LANDMARKS].reshape(self.num_envs, -1),
                self._landmark_colours,
                seen[:, 1, LANDMARKS],
            ),
            1,
        )
        return adversary, agent

    def observations(self) -> torch.Tensor:
        adversary, agent = self._observed()
        return torch.stack((torch.cat((adversary, self._padding), 1), agent), 1).float()

    def global_state(self) -> torch.Tensor:
        return torch.cat(self._observed(), 1).float()

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        landmark_colours, agent_colours = _colours()
        goal = int(self.episode.goal[env_index])
        colours = [tuple(int(200 * c) for c in colour) for colour in (*landmark_colours, (0.75, 0.25, 0.25), agent_colours[goal])]
        return particle_image(np.concatenate((landmarks, agents)), [SIZE] * 4, colours)

    def render_ansi(self, env_index: int) -> str:
        return self.world.text(
            env_index, self.possible_agents, f"step {int(self.step_count[env_index])}, goal: landmark_{int(self.episode.goal[env_index])}"
        )
