"""Reference game: two agents, each knowing only the other's goal, must tell each other where to go.

| | |
|---|---|
| Import | `from marl_envs import reference_v0` |
| Agents | `agent_0`, `agent_1` |
| Action space | `Discrete(50)` (10 words x 5 moves); `continuous_actions=True`: `Box(0, 1, (15,), float32)` |
| Observation space | `Box(-inf, inf, (21,), float32)` |
| State space | `Box(-inf, inf, (42,), float32)`: both observations, concatenated |
| Reward | `(1 - local_ratio)` x mean of the two goal distances (negated) + `local_ratio` x own one |

## Description
The reference game of Mordatch and Abbeel (2018) as used by the MADDPG paper, exactly as MPE's
`simple_reference_v3` (mpe2's `mpe2/simple_reference/simple_reference.py`): the same particle
physics (`marl_envs/envs/particles.py`), defaults, agent names, spaces, observation layout,
communication channel, rewards and state, so that code written for `mpe2.simple_reference_v3`
runs unchanged (`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env
of a batched env is one such world.

Three landmarks (red, green, blue) lie on the plane. Each agent has a goal landmark (drawn at
random, independently: both may have the same one), but only the *other* agent sees it, as a
colour. Both agents move and speak at once: each must tell the other where to go while
listening for its own goal.

## Action space
Each agent moves and says one of 10 words at every step:
- discrete (default): action `a` moves by `a % 5` in MPE's layout `[no_action, left, right,
  down, up]` and says word `a // 5` (the one-hot message `e_{a // 5}`);
- `continuous_actions=True`: fifteen numbers in [0, 1]: the first five are the movement (force
  `5 * (right - left, up - down)`), the last ten the message itself.
  (mpe2 clips continuous actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
Agent i sees `[own velocity (2), each landmark's position relative to it (2 x 3), the colour
of the other agent's goal (3), the other agent's message (10)]`. Landmark colours: red
`(0.75, 0.25, 0.25)`, green `(0.25, 0.75, 0.25)`, blue `(0.25, 0.25, 0.75)`.

The message an agent sends at one step is heard in the observations that step returns (as
mpe2's `state.c`); it is zeros at the start of an episode. `silence_channel=True` cuts the
channel: both agents always hear zeros (what they say has no effect), so that any information
must come from elsewhere (a communicating agent network, see `benchmarks/comm_ablation.py`).

## Rewards
With `d_i` the distance from agent i to its own goal landmark (the one the other agent sees),
after the step: agent i's own reward is `-d_j` for the other agent j (mpe2 rewards an agent for
how close the *other* agent is to the goal it knows), the global one `-(d_0 + d_1) / 2`, and
agent i gets `(1 - local_ratio) * global + local_ratio * own`.

## State
`state()` is mpe2's: the two observations concatenated (`[42]`).

## Starting state
Both agents and the three landmarks uniformly at random in `[-1, 1]^2`, velocities zero, each
agent's goal uniformly among the landmarks (all from the env's own random stream). Agents
(radius 0.05) and landmarks (radius 0.05) do not collide.

## Episode end
No terminal state; both agents are truncated after `max_cycles` steps.

## Info
Per step: `goal_distance` (per agent): `d_i`, the agent's distance to its own goal.

## Arguments
- `local_ratio=0.5`: weight of the own reward, in [0, 1]; the global reward gets the rest.
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.
- `silence_channel=False`: both agents hear zeros instead of the other's message (ours only).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.

## Version history
- v0: initial release, matching mpe2's `simple_reference_v3`.
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

__all__ = ["ReferenceEnv"]

AGENT_SIZE = 0.05
LANDMARK_SIZE = 0.05
LANDMARK_COLOURS = ((0.75, 0.25, 0.25), (0.25, 0.75, 0.25), (0.25, 0.25, 0.75))
WORDS = 10  # mpe2's dim_c
MOVES = 5


class ReferenceEpisode(EpisodeState):
    """What changes during an episode of ``ReferenceEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    goal: torch.Tensor
    """int64 ``[B, 2]``: ``goal[:, i]`` is agent i's goal landmark (seen by the other agent)."""
    message: torch.Tensor
    """float32 ``[B, 2, 10]``: what each agent said at the last step (mpe2's ``state.c``)."""


class ReferenceEnv(BatchedEnv):
    """Batched reference game (MPE's simple_reference); see the module documentation."""

    Episode = ReferenceEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        local_ratio: float = 0.5,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        silence_channel: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        if isinstance(local_ratio, bool) or not isinstance(local_ratio, (int, float)) or not 0.0 <= local_ratio <= 1.0:
            raise ValueError(f"local_ratio is a proportion: it must be a number in [0, 1], got {local_ratio!r}")
        self.local_ratio = float(local_ratio)
        continuous_actions = boolean("continuous_actions", continuous_actions)
        self.silence_channel = boolean("silence_channel", silence_channel)
        agents = ["agent_0", "agent_1"]
        L = len(LANDMARK_COLOURS)
        obs_size = 2 + 2 * L + 3 + WORDS
        # Discrete action a = word * 5 + move, as mpe2 splits it (a % 5, a // 5).
        combined = [np.concatenate((np.eye(MOVES)[a % MOVES], np.eye(WORDS)[a // MOVES])) for a in range(MOVES * WORDS)]
        box = gymnasium.spaces.Box(0.0, 1.0, (MOVES + WORDS,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, combined)
        observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (obs_size,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, observation_space),
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (2 * obs_size,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.world = world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[AGENT_SIZE] * 2,
            agent_accels=[5.0] * 2,  # MPE's default sensitivity
            agent_max_speeds=None,
            landmark_sizes=[LANDMARK_SIZE] * L,
            landmark_collide=False,
            agent_collide=False,
        )
        self.episode.world = self.world.episode
        # Each agent's physical observation: its velocity, then the landmarks relative to it.
        rows = []
        for i in range(2):
            row = world.feature_index("velocity", i)
            for landmark in range(2, 2 + L):
                row += world.feature_index("relative", i, landmark)
            rows.append(row)
        self._physical_rows = torch.tensor(rows, device=self.device).reshape(-1)
        # float64 colours rounded to float32, as mpe2's observation(...).astype(np.float32)
        self._colours = torch.tensor(LANDMARK_COLOURS, dtype=torch.float64, device=self.device).float()
        dtype = world.dtype
        self._global_weight = torch.tensor(1.0 - self.local_ratio, dtype=dtype, device=self.device)
        self._own_weight = torch.tensor(self.local_ratio, dtype=dtype, device=self.device)
        self.episode.goal = torch.zeros(self.num_envs, 2, dtype=torch.int64, device=self.device)
        self.episode.message = torch.zeros(self.num_envs, 2, WORDS, device=self.device)
        self._silence = torch.zeros_like(self.episode.message)  # what a silenced channel carries (read-only: callers concatenate it)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        L = len(LANDMARK_COLOURS)
        self.episode.goal[env_ids] = self.rng.integers(L, (2,), env_ids)
        positions = self.rng.uniform((2 + L, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1)
        self.world.reset(env_ids, positions[:, :2], positions[:, 2:])
        self.episode.message.index_fill_(0, env_ids, 0.0)

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions[..., :MOVES])
        self.episode.message = actions[..., MOVES:].clone()
        # d[i]: agent i's distance to its own goal ([2, B], float64, mpe2's sqrt(sum(square(...))))
        d = self.world.landmark_distance(self.episode.goal.T)
        # mpe2's reward(agent_i) is -d of the other agent; global_reward is their sum over agents / 2
        own = -d.flip(0)
        shared = (own[0] + own[1]) / 2
        reward = shared * self._global_weight + own * self._own_weight  # [2, B]
        terminated = torch.zeros(self.num_envs, 2, dtype=torch.bool, device=self.device)
        return reward.float().T.contiguous(), terminated, {"goal_distance": d.float().T.contiguous()}

    def _heard(self) -> torch.Tensor:
        """float32 ``[B, 2, 10]``: what each agent hears (the other's message)."""
        return self._silence if self.silence_channel else self.episode.message.flip(1)

    def observations(self) -> torch.Tensor:
        B = self.num_envs
        physical = self.world.gather(self._physical_rows).view(B, 2, -1)
        # agent i sees the colour of the other agent's goal
        colours = self._colours.index_select(0, self.episode.goal.flip(1).reshape(-1)).view(B, 2, 3)
        return torch.cat((physical, colours, self._heard()), 2)

    def global_state(self) -> torch.Tensor:
        return self.observations().view(self.num_envs, -1)

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        colours = [tuple(int(200 * c) for c in colour) for colour in LANDMARK_COLOURS]
        # mpe2 colours each agent as the landmark it must reach
        tinted = [colours[g] for g in self.episode.goal[env_index].tolist()]
        sizes = [LANDMARK_SIZE] * len(colours) + [AGENT_SIZE] * 2
        return particle_image(np.concatenate((landmarks, agents)), sizes, colours + tinted)

    def render_ansi(self, env_index: int) -> str:
        agents, velocities, landmarks = self.world.positions(env_index)
        lines = [f"step {int(self.step_count[env_index])}" + (" (channel silenced)" if self.silence_channel else "")]
        for i in range(2):
            (x, y), (vx, vy) = agents[i], velocities[i]
            said = ", ".join(f"{v:.2f}" for v in self.episode.message[env_index, i].tolist())
            lines.append(
                f"agent_{i}  goal landmark_{int(self.episode.goal[env_index, i])}, at ({x:+.3f}, {y:+.3f}), velocity ({vx:+.3f}, {vy:+.3f}), said [{said}]"
            )
        for i, (x, y) in enumerate(landmarks.tolist()):
            lines.append(f"landmark_{i} at ({x:+.3f}, {y:+.3f})")
        return "\n".join(lines) + "\n"
