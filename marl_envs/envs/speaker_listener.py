"""Speaker-listener: a speaker who cannot move tells a listener who cannot see its goal where to go.

| | |
|---|---|
| Import | `from marl_envs import speaker_listener_v0` |
| Agents | `speaker_0`, `listener_0` |
| Action space | speaker `Discrete(3)`, listener `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (3,), float32)`, `Box(0, 1, (5,), float32)` |
| Observation space | speaker `Box(-inf, inf, (3,), float32)`, listener `Box(-inf, inf, (11,), float32)` |
| State space | `Box(-inf, inf, (14,), float32)`: both observations, concatenated |
| Reward | shared: minus the squared distance from the listener to the goal landmark |

## Description
The cooperative communication task of the MADDPG paper (Lowe et al., 2017), exactly as MPE's
`simple_speaker_listener_v4` (mpe2's `mpe2/simple_speaker_listener/simple_speaker_listener.py`):
the same particle physics (`marl_envs/envs/particles.py`), defaults, agent names, spaces,
observation layout, communication channel, rewards and state, so that code written for
`mpe2.simple_speaker_listener_v4` runs unchanged (`tests/test_mpe_parity.py` checks whole
episodes against mpe2). Every sub-env of a batched env is one such world.

Three landmarks (red, green, blue) lie on the plane; one of them, drawn at random, is the goal.
The speaker sees only the goal's colour and cannot move; the listener moves but does not know
which landmark is the goal. The only way the listener can learn it is what the speaker says:
without a message it can do no better than wait between the landmarks.

## Action space
- speaker: what it says, one of 3 symbols: discrete `k` sends the one-hot message `e_k`;
  `continuous_actions=True`: the message itself, three numbers in [0, 1].
- listener: MPE's movement layout `[no_action, left, right, down, up]`: discrete `k` is entry `k`;
  `continuous_actions=True`: five numbers in [0, 1], the force `5 * (right - left, up - down)`.
  (mpe2 clips continuous actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
- speaker: the goal landmark's colour (3 numbers: red `(0.65, 0.15, 0.15)`, green `(0.15, 0.65, 0.15)`, blue `(0.15, 0.15, 0.65)`);
- listener: `[own velocity (2), each landmark's position relative to it (2 x 3), the speaker's message (3)]`.

The message a speaker sends at one step is heard in the observations that step returns (as
mpe2's `state.c`); it is zeros at the start of an episode. `silence_channel=True` cuts the
channel: the listener always hears zeros (what the speaker says has no effect), so that any
information must come from elsewhere (a communicating agent network, see `benchmarks/comm_ablation.py`).

## Rewards
Both agents get `-|p_listener - p_goal|^2` after the step.

## State
`state()` is mpe2's: the two observations concatenated (`[3 + 11]`).

## Starting state
Both agents and the three landmarks uniformly at random in `[-1, 1]^2`, velocities zero, the
goal uniformly among the landmarks (all from the env's own random stream). Agents (radius
0.075) and landmarks (radius 0.04) do not collide.

## Episode end
No terminal state; both agents are truncated after `max_cycles` steps.

## Info
Per step: `goal_distance` (per sub-env): the listener's distance to the goal.

## Arguments
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.
- `silence_channel=False`: the listener hears zeros instead of the speaker's message (ours only).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.

## Version history
- v0: initial release, matching mpe2's `simple_speaker_listener_v4`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import ParticleEpisode, ParticleWorld, particle_image

__all__ = ["SpeakerListenerEnv"]

AGENT_SIZE = 0.075
LANDMARK_SIZE = 0.04
LANDMARK_COLOURS = ((0.65, 0.15, 0.15), (0.15, 0.65, 0.15), (0.15, 0.15, 0.65))
SYMBOLS = 3  # mpe2's dim_c
MOVES = 5


class SpeakerListenerEpisode(EpisodeState):
    """What changes during an episode of ``SpeakerListenerEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    goal: torch.Tensor
    """int64 ``[B]``: the goal landmark."""
    message: torch.Tensor
    """float32 ``[B, 3]``: what the speaker said at the last step (mpe2's ``state.c``)."""


class SpeakerListenerEnv(BatchedEnv):
    """Batched speaker-listener (MPE's simple_speaker_listener); see the module documentation."""

    Episode = SpeakerListenerEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        silence_channel: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        continuous_actions = boolean("continuous_actions", continuous_actions)
        self.silence_channel = boolean("silence_channel", silence_channel)
        agents = ["speaker_0", "listener_0"]
        L = len(LANDMARK_COLOURS)
        listener_size = 2 + 2 * L + SYMBOLS
        if continuous_actions:
            spaces = {
                "speaker_0": gymnasium.spaces.Box(0.0, 1.0, (SYMBOLS,), np.float32),
                "listener_0": gymnasium.spaces.Box(0.0, 1.0, (MOVES,), np.float32),
            }
            table = None
        else:
            spaces = {"speaker_0": gymnasium.spaces.Discrete(SYMBOLS), "listener_0": gymnasium.spaces.Discrete(MOVES)}
            table = np.stack(
                (np.eye(MOVES)[[*range(SYMBOLS)] + [0] * (MOVES - SYMBOLS)], np.eye(MOVES))
            )  # the speaker's padding rows are never used
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces={
                "speaker_0": gymnasium.spaces.Box(-np.inf, np.inf, (len(LANDMARK_COLOURS[0]),), np.float32),
                "listener_0": gymnasium.spaces.Box(-np.inf, np.inf, (listener_size,), np.float32),
            },
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (3 + listener_size,), np.float32),
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
            agent_movable=[False, True],
        )
        self.episode.world = self.world.episode
        # The listener's physical observation: its velocity, then the landmarks relative to it.
        rows = world.feature_index("velocity", 1)
        for landmark in range(2, 2 + L):
            rows += world.feature_index("relative", 1, landmark)
        self._listener_rows = torch.tensor(rows, device=self.device)
        # float64 colours rounded to float32, as mpe2's observation(...).astype(np.float32)
        self._colours = torch.tensor(LANDMARK_COLOURS, dtype=torch.float64, device=self.device).float()
        self.episode.goal = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.episode.message = torch.zeros(self.num_envs, SYMBOLS, device=self.device)
        self._silence = torch.zeros_like(self.episode.message)  # what a silenced channel carries (read-only: callers concatenate it)
        self._padding = torch.zeros(self.num_envs, listener_size - 3, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        L = len(LANDMARK_COLOURS)
        self.episode.goal[env_ids] = self.rng.integers(L, (), env_ids)
        positions = self.rng.uniform((2 + L, 2), env_ids) * 2.0 - 1.0  # uniform in [-1, 1)
        self.world.reset(env_ids, positions[:, :2], positions[:, 2:])
        self.episode.message.index_fill_(0, env_ids, 0.0)

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)  # the speaker is fixed: only the listener's action moves anything
        self.episode.message = actions[:, 0, :SYMBOLS].clone()
        distance = self.world.landmark_relative(self.episode.goal)[:, 1]  # [2, B]: the goal seen from the listener
        squared = (distance * distance).sum(0)  # [B], as mpe2's np.sum(np.square(...))
        reward = (-squared).float()[:, None].expand(-1, 2).contiguous()
        terminated = torch.zeros(self.num_envs, 2, dtype=torch.bool, device=self.device)
        return reward, terminated, {"goal_distance": squared.sqrt().float()}

    def _heard(self) -> torch.Tensor:
        return self._silence if self.silence_channel else self.episode.message

    def observations(self) -> torch.Tensor:
        speaker = torch.cat((self._colours.index_select(0, self.episode.goal), self._padding), 1)
        listener = torch.cat((self.world.gather(self._listener_rows), self._heard()), 1)
        return torch.stack((speaker, listener), 1)

    def global_state(self) -> torch.Tensor:
        return torch.cat((self._colours.index_select(0, self.episode.goal), self.world.gather(self._listener_rows), self._heard()), 1)

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        goal = int(self.episode.goal[env_index])
        colours = [tuple(int(200 * c) for c in colour) for colour in LANDMARK_COLOURS]
        listener = tuple(int(200 * (c + 0.45)) for c in LANDMARK_COLOURS[goal])  # mpe2 tints the listener with its goal's colour
        sizes = [LANDMARK_SIZE] * len(colours) + [AGENT_SIZE] * 2
        return particle_image(np.concatenate((landmarks, agents)), sizes, colours + [(50, 50, 50), listener])

    def render_ansi(self, env_index: int) -> str:
        agents, velocities, landmarks = self.world.positions(env_index)
        goal = int(self.episode.goal[env_index])
        message = ", ".join(f"{v:.2f}" for v in self.episode.message[env_index].tolist())
        lines = [f"step {int(self.step_count[env_index])}, goal: landmark_{goal}"]
        lines.append(
            f"speaker_0    at ({agents[0, 0]:+.3f}, {agents[0, 1]:+.3f}), said [{message}]"
            + (" (silenced)" if self.silence_channel else "")
        )
        (x, y), (vx, vy) = agents[1], velocities[1]
        lines.append(f"listener_0   at ({x:+.3f}, {y:+.3f}), velocity ({vx:+.3f}, {vy:+.3f})")
        for i, (x, y) in enumerate(landmarks.tolist()):
            lines.append(f"landmark_{i}   at ({x:+.3f}, {y:+.3f})")
        return "\n".join(lines) + "\n"
