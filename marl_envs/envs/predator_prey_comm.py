"""Predator-prey with a communicating leader, forests and food (mpe2's `simple_world_comm_v3`).

| | |
|---|---|
| Import | `from marl_envs import predator_prey_comm_v0` |
| Agents | `leadadversary_0`, `adversary_0` ... `adversary_2` (`num_adversaries`, default 4, the leader included), then `agent_0`, `agent_1` (`num_good`, default 2) |
| Action space | leader `Discrete(20)` (4 words x 5 moves), others `Discrete(5)`; `continuous_actions=True`: leader `Box(0, 1, (9,), float32)`, others `Box(0, 1, (5,), float32)` |
| Observation space | adversaries (the leader included) `Box(-inf, inf, (34,), float32)`, good agents `Box(-inf, inf, (28,), float32)` (defaults; sizes below) |
| State space | `Box(-inf, inf, (192,), float32)` (defaults): every agent's observation, concatenated |
| Reward | adversaries share +5 per catch, minus a tenth of their distance to the nearest good agent; good agents -5 per adversary touching them, +2 per food they touch, minus twice the boundary penalty and 0.05 x their distance to the nearest food |

## Description
The predator-prey task "with communication" of the MADDPG paper (Lowe et al., 2017), exactly as
mpe2's `simple_world_comm_v3` (`mpe2/simple_world_comm/simple_world_comm.py`): the same particle
physics (`marl_envs/envs/particles.py`), defaults, agent names, spaces, observation layout,
forests, communication channel, rewards and state, so that code written for
`mpe2.simple_world_comm_v3` runs unchanged (`tests/test_mpe_parity.py` checks whole episodes
against mpe2). Every sub-env of a batched env is one such world.

It is `predator_prey_v0` (simple_tag) with three additions:
- *food*: small discs the good agents are rewarded for touching and for staying near;
- *forests*: large discs that hide the agents inside them (see the observation space);
- a *leader* (`leadadversary_0`, the first adversary) who sees every agent wherever it is and
  says one of 4 words at every step, which every adversary (the leader too) hears.

| | adversaries (the leader too) | good agents | obstacles | food | forests |
|---|---|---|---|---|---|
| radius | 0.075 | 0.045 | 0.2 | 0.03 | 0.3 |
| acceleration (MPE's `accel`) | 3.0 | 4.0 | static | static | static |
| max speed | 1.0 | 1.3 | | | |

Agents collide with each other and with the obstacles, with MPE's soft contact force; food and
forests push nobody. The world damps velocities by 25% per step of `dt = 0.1`, and a speed above
an agent's maximum is scaled back to it. Landmarks never move.

## Action space
Every agent moves in MPE's layout `[no_action, left, right, down, up]`; the leader also speaks:
- discrete (default): a follower's or good agent's action k is entry k (0 no force, 1 left (-x),
  2 right (+x), 3 down (-y), 4 up (+y)); the leader's action `a` (0 ... 19) moves by `a % 5` and
  says word `a // 5` (the one-hot message `e_{a // 5}`), as mpe2 splits it;
- `continuous_actions=True`: five numbers in [0, 1] per agent, the force being
  `accel * (right - left, up - down)`; the leader's nine numbers are its five, then the message
  itself (4 numbers, heard as they are).
  (mpe2 clips continuous actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
With N = `num_adversaries + num_good` agents, L = `num_obstacles + num_food + num_forests`
landmarks and F = `num_forests`, every agent sees (all float32):
- an adversary, the leader too: `[own velocity (2), own position (2), every landmark's position
  relative to it (2 L: obstacles, food, forests), every other agent's position relative to it, in
  agent order (2 (N - 1)), the velocities of the good agents (2 num_good), in_forest (F), the
  leader's message (4)]` (34 numbers by default);
- a good agent: `[own velocity (2), own position (2), every landmark relative to it (2 L), every
  other agent relative to it (2 (N - 1)), in_forest (F), the velocities of the other good agents
  (2 (num_good - 1))]` (28 by default).

`in_forest[k]` is `1` when the agent is inside forest k (its centre nearer than its radius plus
0.3), else `-1`. Agent i sees agent j (its relative position and, for a good agent j, its
velocity) when i is the leader, or i and j are inside a common forest, or neither is inside any
forest; otherwise both read `(0, 0)`. So forests hide the agents inside them from the agents
outside, and an agent inside a forest sees only those in the same forest (and the leader sees
everyone). The message is what the leader said at the last step (zeros at the start of an
episode). In the batched env's `obs [B, N, O]` the good agents' observations are zero-padded at
the end; each agent's own space has its true size.

## Rewards
After the step, an adversary and a good agent *touch* when their distance is below 0.12 (the sum
of their radii), a good agent and a food when below 0.075:
- every adversary gets `+5` for every (adversary, good agent) pair that touches (a shared reward),
  minus `0.1` times its distance to the nearest good agent;
- a good agent gets `-5` for every adversary touching it, `+2` for every food it touches, minus
  `2 (bound(|x|) + bound(|y|))` of its position, where `bound(v) = 0` for `v < 0.9`,
  `10 (v - 0.9)` for `0.9 <= v < 1`, `min(exp(2 v - 2), 10)` above (MPE's boundary penalty,
  shared with `predator_prey_v0`), and minus `0.05` times its distance to the nearest food.

## State
`state()` is mpe2's: every agent's (unpadded) observation concatenated in agent order.

## Starting state
Agents uniformly at random in `[-1, 1]^2`, obstacles, food and forests in `[-0.9, 0.9]^2` (from
the env's own random stream), velocities and the message zero.

## Episode end
No terminal state (nobody is removed when caught); every agent is truncated after `max_cycles` steps.

## Info
Per step: `collisions` (per agent: for an adversary, the good agents it touches, mpe2's benchmark
data; for a good agent, the adversaries touching it).

## Arguments
- `num_good=2` (>= 1), `num_adversaries=4` (>= 1: the leader and `num_adversaries - 1` followers),
  `num_obstacles=1` (>= 0), `num_food=2` (>= 1), `num_forests=2` (>= 0).
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Known quirks of mpe2, reproduced
No behaviour of mpe2 1.1.1's `simple_world_comm_v3` is reported as a bug, so there is nothing to
fix behind an argument: the reports found are fixed there (the good agents' food reward had the
wrong sign, openai/multiagent-particle-envs#30; only two forests worked, PettingZoo#333; the
docstring's observation layouts disagreed with the code, PettingZoo#1207). Two undocumented
oddities are reproduced as they are: an agent inside a forest sees nobody outside it (mpe2's
docstring only says that forests hide the agents inside), and mpe2 computes which good agents
are in forests "to tell the predators", but never puts it in any observation.

## Differences from mpe2
- `num_adversaries=0` (which makes mpe2 name a *good* agent `leadadversary_0` and let it speak),
  `num_good=0` and `num_food=0` (for which mpe2's rewards fail: the minimum of no distances)
  are refused with an error.
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- The physics runs in float64 as mpe2's; observations and state are float32 as mpe2's, and equal
  mpe2's from the same world; rewards are mpe2's rounded to float32 (mpe2 returns Python floats).
- Starting states come from the env's own counter-based random streams (not NumPy's generator),
  so a seed gives a different (equally distributed) start than mpe2's same seed.
- See `marl_envs/envs/particles.py` for the two physics corner cases (coincident discs, forces below 1e-250).

## Version history
- v0: initial release, matching mpe2's `simple_world_comm_v3`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import KeptObservations, ParticleEpisode, ParticleWorld, particle_image
from marl_envs.envs.predator_prey import Chase

__all__ = ["PredatorPreyCommEnv"]

ADVERSARY = {"size": 0.075, "accel": 3.0, "max_speed": 1.0}
GOOD = {"size": 0.045, "accel": 4.0, "max_speed": 1.3}
OBSTACLE_SIZE, FOOD_SIZE, FOREST_SIZE = 0.2, 0.03, 0.3
LANDMARK_RANGE = 0.9  # landmarks start in [-0.9, 0.9]^2, agents in [-1, 1]^2
CATCH_REWARD, FOOD_REWARD = 5.0, 2.0
BOUNDARY_WEIGHT = 2.0
CHASE_SHAPING, FOOD_SHAPING = 0.1, 0.05  # per unit of distance to the nearest good agent / food
WORDS, MOVES = 4, 5  # mpe2's dim_c; MPE's movement layout


class PredatorPreyCommEpisode(EpisodeState):
    """What changes during an episode of ``PredatorPreyCommEnv``, per sub-env."""

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``)."""
    message: torch.Tensor
    """float32 ``[B, 4]``: what the leader said at the last step (mpe2's ``state.c``)."""


class PredatorPreyCommEnv(BatchedEnv):
    """Batched predator-prey with a communicating leader, forests and food (MPE's simple_world_comm); see the module documentation."""

    Episode = PredatorPreyCommEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        num_good: int = 2,
        num_adversaries: int = 4,
        num_obstacles: int = 1,
        num_food: int = 2,
        max_cycles: int = 25,
        num_forests: int = 2,
        continuous_actions: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        G = int_at_least("num_good", num_good, 1)
        A = int_at_least("num_adversaries", num_adversaries, 1)
        Ob = int_at_least("num_obstacles", num_obstacles, 0)
        Fd = int_at_least("num_food", num_food, 1)
        F = int_at_least("num_forests", num_forests, 0)
        continuous_actions = boolean("continuous_actions", continuous_actions)
        N, L = A + G, Ob + Fd + F
        self.num_good, self.num_adversaries = G, A
        self.num_obstacles, self.num_food, self.num_forests = Ob, Fd, F

        agents = ["leadadversary_0"] + [f"adversary_{i}" for i in range(A - 1)] + [f"agent_{i}" for i in range(G)]
        common = 4 + 2 * L + 2 * (N - 1) + F
        adversary_size, good_size = common + 2 * G + WORDS, common + 2 * (G - 1)
        adversary_space = gymnasium.spaces.Box(-np.inf, np.inf, (adversary_size,), np.float32)
        good_space = gymnasium.spaces.Box(-np.inf, np.inf, (good_size,), np.float32)
        observation_spaces = {a: good_space if a.startswith("agent") else adversary_space for a in agents}
        state_size = A * adversary_size + G * good_size
        spaces, table = self._action_spaces(agents, continuous_actions)
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
            landmark_sizes=[OBSTACLE_SIZE] * Ob + [FOOD_SIZE] * Fd + [FOREST_SIZE] * F,
            landmark_collide=[True] * Ob + [False] * (Fd + F),
        )
        self.episode.world = world.episode
        self.episode.message = torch.zeros(self.num_envs, WORDS, device=self.device)
        self.chase = Chase(
            world, A, catch_distance=ADVERSARY["size"] + GOOD["size"], catch_reward=CATCH_REWARD, boundary_weight=BOUNDARY_WEIGHT
        )
        dtype, device = world.dtype, self.device
        self._food_columns = slice(Ob, Ob + Fd)  # of relative / distance: landmarks first, in order
        self._forest_columns = slice(Ob + Fd, L)
        self._food_distance = torch.tensor(GOOD["size"] + FOOD_SIZE, dtype=dtype, device=device)
        # [N, 1]: inside a forest below this distance from its centre (mpe2's is_collision)
        self._forest_distance = torch.tensor([k["size"] + FOREST_SIZE for k in kinds], dtype=dtype, device=device)[:, None]
        self._food_reward = torch.tensor(FOOD_REWARD, dtype=dtype, device=device)
        self._chase_shaping = torch.tensor(CHASE_SHAPING, dtype=dtype, device=device)
        self._food_shaping = torch.tensor(FOOD_SHAPING, dtype=dtype, device=device)
        # others[i]: the agents other than i, in agent order (the order of the observations)
        self._others = torch.tensor([[j for j in range(N) if j != i] for i in range(N)], dtype=torch.int64, device=device)
        self._leader = torch.arange(N, device=device)[:, None] == 0  # [N, 1]: the leader sees everyone
        self._one = torch.ones((), dtype=dtype, device=device)
        self._good_padding = torch.zeros(self.num_envs, G, adversary_size - good_size, dtype=dtype, device=device)
        # The observations, kept from observations() for the global_state() that follows.
        self._kept = KeptObservations(world)
        self._spawn_range = torch.tensor([1.0] * N + [LANDMARK_RANGE] * L, device=device)[:, None]

    @staticmethod
    def _action_spaces(agents: list[str], continuous_actions: bool):
        """The leader's space (move and say) and everyone else's (move), and the discrete actions' table."""
        if continuous_actions:
            speaks, moves = (
                gymnasium.spaces.Box(0.0, 1.0, (MOVES + WORDS,), np.float32),
                gymnasium.spaces.Box(0.0, 1.0, (MOVES,), np.float32),
            )
            return {a: speaks if a == "leadadversary_0" else moves for a in agents}, None
        speaks, moves = gymnasium.spaces.Discrete(MOVES * WORDS), gymnasium.spaces.Discrete(MOVES)
        spaces = {a: speaks if a == "leadadversary_0" else moves for a in agents}
        # The leader's action a = word * 5 + move, as mpe2 splits it (a % 5, a // 5); the others
        # use rows 0-4 (movement only, the message entries unused), the rest is padding.
        leader = [np.concatenate((np.eye(MOVES)[a % MOVES], np.eye(WORDS)[a // MOVES])) for a in range(MOVES * WORDS)]
        follower = np.zeros((MOVES * WORDS, MOVES + WORDS))
        follower[:MOVES, :MOVES] = np.eye(MOVES)
        return spaces, np.stack([leader] + [follower] * (len(agents) - 1))

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N, L = self.n_agents, self.world.n_landmarks
        positions = (self.rng.uniform((N + L, 2), env_ids) * 2.0 - 1.0) * self._spawn_range
        self.world.reset(env_ids, positions[:, :N], positions[:, N:])
        self.episode.message.index_fill_(0, env_ids, 0.0)
        self._kept.clear()

    def step_envs(self, actions: torch.Tensor):
        world, A = self.world, self.num_adversaries
        world.move(actions[..., :MOVES])
        self.episode.message = actions[:, 0, MOVES:].clone()  # what the leader said; the others' entries are padding
        self._kept.clear()
        touching, adversary_reward, good_reward = self.chase()
        distance = world.episode.distance  # [N, L + N - 1, B]
        adversary_reward = adversary_reward - distance[:A, self.chase.good_columns].amin(1) * self._chase_shaping
        food = distance[A:, self._food_columns]  # [G, Fd, B]
        good_reward = good_reward + (food < self._food_distance).sum(1) * self._food_reward - food.amin(1) * self._food_shaping
        reward = torch.cat((adversary_reward, good_reward))
        terminated = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        return reward.float().T.contiguous(), terminated, {"collisions": Chase.collisions(touching)}

    def _observed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """float64 ``[B, A, O_adversary]`` and ``[B, G, O_good]``: the observations, unpadded."""
        world, A, B = self.world, self.num_adversaries, self.num_envs
        episode = world.episode
        inside = episode.distance[:, self._forest_columns] < self._forest_distance[:, :, None]  # [N, F, B]
        inside = inside.permute(2, 0, 1)  # [B, N, F]
        anywhere = inside.any(-1)  # [B, N]
        others = self._others
        # i sees j: i is the leader, or both are in one forest, or neither is in any (mpe2's order of tests)
        together = (inside.unsqueeze(2) & inside[:, others]).any(-1)  # [B, N, N - 1]
        visible = (together | (~anywhere.unsqueeze(2) & ~anywhere[:, others]) | self._leader).unsqueeze(-1)
        velocity = episode.agent_vel.permute(2, 1, 0)  # [B, N, 2]
        position = episode.agent_pos.permute(2, 1, 0)
        landmarks = world.nearest(slice(0, world.n_landmarks), None)  # [B, N, 2 L], in index order
        relative = world.nearest(slice(world.n_landmarks, None), None).view(B, self.n_agents, -1, 2)  # [B, N, N - 1, 2]
        seen = torch.where(visible, relative, 0.0).flatten(2)
        seen_velocity = torch.where(visible, velocity[:, others], 0.0)  # [B, N, N - 1, 2]
        in_forest = torch.where(inside, self._one, -self._one)  # [B, N, F]
        heard = self.episode.message.to(episode.agent_pos.dtype).unsqueeze(1).expand(-1, A, -1)
        adversaries = torch.cat(
            (
                velocity[:, :A],
                position[:, :A],
                landmarks[:, :A],
                seen[:, :A],
                # an adversary's other agents end with every good agent; a good agent's with the other good ones
                seen_velocity[:, :A, A - 1 :].flatten(2),
                in_forest[:, :A],
                heard,
            ),
            2,
        )
        good = torch.cat(
            (velocity[:, A:], position[:, A:], landmarks[:, A:], seen[:, A:], in_forest[:, A:], seen_velocity[:, A:, A:].flatten(2)), 2
        )
        return adversaries, good

    def observations(self) -> torch.Tensor:
        adversaries, good = self._observed()
        self._kept.keep((adversaries, good))
        return torch.cat((adversaries, torch.cat((good, self._good_padding), 2)), 1).float()

    def global_state(self) -> torch.Tensor:
        adversaries, good = self._kept.take() or self._observed()
        return torch.cat((adversaries.flatten(1), good.flatten(1)), 1).float()

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        A, G, Ob, Fd, F = self.num_adversaries, self.num_good, self.num_obstacles, self.num_food, self.num_forests
        # forests first, so that the agents inside them stay visible; mpe2's colours x 200
        order = [*range(Ob + Fd, Ob + Fd + F), *range(Ob + Fd)]
        sizes = [FOREST_SIZE] * F + [OBSTACLE_SIZE] * Ob + [FOOD_SIZE] * Fd + [ADVERSARY["size"]] * A + [GOOD["size"]] * G
        colours = (
            [(120, 180, 120)] * F
            + [(50, 50, 50)] * Ob
            + [(30, 30, 130)] * Fd
            + [(130, 30, 30)]
            + [(190, 90, 90)] * (A - 1)
            + [(90, 190, 90)] * G
        )
        return particle_image(np.concatenate((landmarks[order], agents)), sizes, colours)

    def render_ansi(self, env_index: int) -> str:
        said = ", ".join(f"{v:.2f}" for v in self.episode.message[env_index].tolist())
        names = [f"obstacle_{i}" for i in range(self.num_obstacles)] + [f"food_{i}" for i in range(self.num_food)]
        names += [f"forest_{i}" for i in range(self.num_forests)]
        return self.world.text(env_index, self.possible_agents, f"step {int(self.step_count[env_index])}, the leader said [{said}]", names)
