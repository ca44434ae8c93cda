"""Collect treasure: collectors pick up treasures and carry them to the deposit of their type (mpe2's `collect_treasure_v1`).

| | |
|---|---|
| Import | `from marl_envs import collect_treasure_v0` |
| Agents | `collector_0` ... `collector_5` (`num_collectors`, default 6), then `deposit_0`, `deposit_1` (`num_deposits`, default 2) |
| Action space | `Discrete(5)`; `continuous_actions=True`: `Box(0, 1, (5,), float32)` |
| Observation space | collectors `Box(-inf, inf, (86,), float32)`, deposits `Box(-inf, inf, (84,), float32)` (defaults; sizes below) |
| State space | `Box(-inf, inf, (684,), float32)` (defaults): every agent's observation, concatenated |
| Reward | shared +5 per pickup and per delivery; collectors -5 per overlapping collector; distance shaping for both teams |

## Description
The treasure collection task of the MAAC paper (Iqbal and Sha, 2019), exactly as mpe2's
`collect_treasure_v1` (`mpe2/collect_treasure/collect_treasure.py`): the same particle physics
(`marl_envs/envs/particles.py`), defaults, agent names, spaces, observation layout, pickups,
deliveries, respawns, rewards and state, so that code written for `mpe2.collect_treasure_v1`
runs unchanged (`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env
of a batched env is one such world. These are the rules of mpe2 1.1.1, where its documented bug
(issue #61: pickups and deliveries went unpaid, because the rewards were computed after the
pickup had emptied the treasure and the delivery the collector's hands) is fixed.

`num_deposits` treasure types (at most 6); deposit `d` accepts type `d`. Treasures (landmarks)
lie around the arena, each of a random type. A collector that holds nothing and touches a
treasure (distance below 0.075) picks it up: it now holds that type, and the treasure is gone
until the next step, when it reappears at a fresh random place with a fresh random type. A
collector holding type `d` that touches deposit `d` (distance below 0.125) delivers it and
holds nothing again. Collectors hold at most one treasure.

| | collectors | deposits | treasures |
|---|---|---|---|
| radius | 0.05 | 0.075 | 0.025 |
| mass | 1 | 2.25 | static |
| acceleration (MPE's `accel`) | 1.5 | 1.5 | |
| max speed | 1.0 | 1.0 | |

Nothing pushes anything (mpe2's "ghost" agents); overlapping collectors are penalised in the
reward instead. The world damps velocities by 25% per step of `dt = 0.1`.

## Action space
MPE's layout, `[no_action, left, right, down, up]`:
- discrete (default): action k is entry k: 0 no force, 1 left (-x), 2 right (+x), 3 down (-y), 4 up (+y);
- `continuous_actions=True`: five numbers in [0, 1]; the force is `1.5 * (right - left, up - down)`.
  (mpe2 clips actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
With C collectors, D deposits, T treasures and N = C + D, every agent sees, in this order:
- its own position (2) and velocity (2);
- a collector only: what it holds, one-hot over the D types (zeros when it holds nothing);
- every other agent, closest first: its position relative to the observer (2), its velocity (2),
  and `[deposit type one-hot (D), held type one-hot (D)]` (a deposit: its type, zeros; a
  collector: zeros, what it holds), `(4 + 2 D)` each;
- every treasure, the present ones closest first, then those picked up at this step: its
  position relative to the observer (2) and its type one-hot (D); a treasure just picked up
  shows zeros.

Sizes `4 + D + (N - 1)(4 + 2 D) + T (2 + D)` for a collector and D fewer for a deposit (86 and
84 by default). In the batched env's `obs [B, N, O]` the deposits' observations are zero-padded
at the end; each agent's own space has its true size.

## Rewards
After the step and its pickups, deliveries and respawns, with `g = 5 (pickups + deliveries)`
of this step in the sub-env (shared by every agent):
- collector: `-5` for every other collector closer than 0.1, then `-0.1` times the distance to
  the nearest present treasure when it holds nothing (nothing when no treasure is present), or
  to the deposit of the type it holds; plus `g`;
- deposit: `-0.1` times the distance to the nearest collector holding its type, or, when none
  does, to the collectors' centroid; plus `g`.

Pickups go treasure by treasure in index order, each to the first collector (in index order)
that touches it and holds nothing, as in mpe2; a treasure respawned at this step cannot be
picked up before the next one. Deliveries follow the pickups, so a collector can pick up and
deliver in one step.

## State
`state()` is mpe2's: every agent's (unpadded) observation concatenated in agent order.

## Starting state
Agents uniformly at random in `[-1, 1]^2`, treasures in `[-0.95, 0.95]^2` with uniformly random
types (from the env's own random stream), velocities zero, nobody holding anything.

## Episode end
No terminal state; every agent is truncated after `max_cycles` steps.

## Info
Per step: `holding` (per agent: the type a collector holds after the step, -1 for nothing and
for deposits), `pickups` and `deliveries` (per sub-env: how many happened at this step).

## Arguments
- `num_collectors=6` (>= 1), `num_deposits=2` (1 to 6: also the number of treasure types),
  `num_treasures=6` (>= 1).
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete(5).

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- Starting states and respawns come from the env's own counter-based random streams (not NumPy's
  generator), so a seed gives a different (equally distributed) episode than mpe2's same seed.
  In particular, mpe2's respawns replay the random numbers its reset drew (its world keeps a copy
  of the generator taken before the reset's draws), so there a respawned treasure lands at 0.95
  times starting coordinates of the agents (the first one at `0.95 (y of collector_0, x of
  collector_1)`); here respawns are drawn afresh, independent of the start.
- A treasure just picked up keeps its position in `episode.world` (mpe2 moves it to
  `(-999, -999)`); nothing observes it until it respawns.

## Version history
- v0: initial release, matching mpe2's `collect_treasure_v1`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.particles import KeptObservations, ParticleEpisode, ParticleWorld, closest_first, particle_image, particle_text

__all__ = ["CollectTreasureEnv"]

COLLECTOR = {"size": 0.05, "mass": 1.0}
DEPOSIT = {"size": 0.075, "mass": 2.25}
ACCEL, MAX_SPEED = 1.5, 1.0
TREASURE_SIZE = 0.025
TREASURE_RANGE = 0.95  # treasures (re)spawn in [-0.95, 0.95]^2, agents start in [-1, 1]^2
EVENT_REWARD = 5.0  # per pickup, per delivery, and the penalty per overlapping collector
SHAPING = 0.1
# mpe2's palette, one colour per type (its types are limited to these six).
TYPE_COLOURS = [
    (0.212, 0.408, 0.776),
    (0.945, 0.553, 0.0),
    (0.169, 0.627, 0.173),
    (0.839, 0.149, 0.157),
    (0.58, 0.404, 0.741),
    (0.549, 0.337, 0.294),
]


class CollectTreasureEpisode(EpisodeState):
    """What changes during an episode of ``CollectTreasureEnv``, per sub-env (batch dimension last)."""

    batch_dim = -1

    world: ParticleEpisode
    """The particle world's state (``self.world.episode``); the treasures are its landmarks."""
    holding: torch.Tensor
    """int64 ``[C, B]``: the type each collector holds, -1 for nothing."""
    treasure_type: torch.Tensor
    """int64 ``[T, B]``: each treasure's type."""
    treasure_alive: torch.Tensor
    """bool ``[T, B]``: False for a treasure picked up at the last step (it respawns at the next one)."""


class CollectTreasureEnv(BatchedEnv):
    """Batched collect-treasure (mpe2's collect_treasure); see the module documentation.

    The respawn draws come from :meth:`draw_respawns`, one method, so that the parity tests can
    replace it on an instance by mpe2's own draws (mpe2 draws them from NumPy's generator).
    """

    Episode = CollectTreasureEpisode

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        num_collectors: int = 6,
        num_deposits: int = 2,
        num_treasures: int = 6,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        C = int_at_least("num_collectors", num_collectors, 1)
        D = int_at_least("num_deposits", num_deposits, 1)
        if D > len(TYPE_COLOURS):
            raise ValueError(f"num_deposits must be at most {len(TYPE_COLOURS)} (mpe2's treasure types), got {D}")
        T = int_at_least("num_treasures", num_treasures, 1)
        continuous_actions = boolean("continuous_actions", continuous_actions)
        N = C + D
        self.num_collectors, self.num_deposits, self.num_treasures = C, D, T

        agents = [f"collector_{i}" for i in range(C)] + [f"deposit_{i}" for i in range(D)]
        deposit_size = 4 + (N - 1) * (4 + 2 * D) + T * (2 + D)
        collector_space = gymnasium.spaces.Box(-np.inf, np.inf, (deposit_size + D,), np.float32)
        deposit_space = gymnasium.spaces.Box(-np.inf, np.inf, (deposit_size,), np.float32)
        observation_spaces = {a: collector_space if a.startswith("collector") else deposit_space for a in agents}
        state_size = C * (deposit_size + D) + D * deposit_size
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
        kinds = [COLLECTOR] * C + [DEPOSIT] * D
        self.world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[k["size"] for k in kinds],
            agent_accels=[ACCEL] * N,
            agent_max_speeds=[MAX_SPEED] * N,
            agent_masses=[k["mass"] for k in kinds],
            landmark_sizes=[TREASURE_SIZE] * T,
            landmark_collide=False,
            agent_collide=False,
        )
        B, device, dtype = self.num_envs, self.device, self.world.dtype
        self.episode.world = self.world.episode
        self._kept = KeptObservations(self.world)  # observations() kept for the global_state() that follows
        self.episode.holding = torch.full((C, B), -1, dtype=torch.int64, device=device)
        self.episode.treasure_type = torch.zeros(T, B, dtype=torch.int64, device=device)
        self.episode.treasure_alive = torch.ones(T, B, dtype=torch.bool, device=device)

        def constant(value) -> torch.Tensor:
            return torch.tensor(value, dtype=dtype, device=device)

        # Agent i's others (ParticleWorld.relative's columns): the T treasures, then the agents k != i in index order.
        # A collector's other collectors are columns T .. T+C-2, its deposits the last D; a deposit's collectors T .. T+C-1.
        self._collector_columns = slice(T, T + C - 1)
        self._deposit_columns = slice(T + C - 1, None)
        self._carrier_columns = slice(T, T + C)
        self._other_agents = torch.tensor([k for i in range(N) for k in range(N) if k != i], device=device)
        self._types = torch.arange(D, device=device)[:, None, None]  # [D, 1, 1]: for one-hots
        self._deposit_code = torch.cat((torch.eye(D, dtype=dtype), torch.zeros(D, D, dtype=dtype)))[:, :, None].to(device)  # [2D, D, 1]
        self._pickup_distance = constant(COLLECTOR["size"] + TREASURE_SIZE)
        self._delivery_distance = constant(COLLECTOR["size"] + DEPOSIT["size"])
        self._overlap_distance = constant(2 * COLLECTOR["size"])
        self._event_reward = constant(EVENT_REWARD)
        self._shaping = constant(SHAPING)
        self._far = constant(1e6)  # mpe2's sort key of a treasure just picked up: after every present one
        self._spawn_range = torch.tensor([1.0] * N + [TREASURE_RANGE] * T, device=device)[:, None]

    # ------------------------------------------------------------------ rules
    def reset_envs(self, env_ids: torch.Tensor) -> None:
        N, T = self.n_agents, self.num_treasures
        positions = (self.rng.uniform((N + T, 2), env_ids) * 2.0 - 1.0) * self._spawn_range
        self.episode.treasure_type[:, env_ids] = self.rng.integers(self.num_deposits, (T,), env_ids).T
        self.episode.holding.index_fill_(1, env_ids, -1)
        self.episode.treasure_alive.index_fill_(1, env_ids, True)
        self.world.reset(env_ids, positions[:, :N], positions[:, N:])
        self._kept.clear()

    def draw_respawns(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Where and as which type every treasure would respawn at this step: float ``[B, T, 2]``
        positions in ``[-0.95, 0.95]^2`` and int64 ``[B, T]`` types, drawn for every treasure (used
        for those picked up at the last step), so that the random streams advance alike whatever happens."""
        positions = (self.rng.uniform((self.num_treasures, 2)) * 2.0 - 1.0) * TREASURE_RANGE
        return positions, self.rng.integers(self.num_deposits, (self.num_treasures,))

    def step_envs(self, actions: torch.Tensor):
        world, episode, C = self.world, self.episode, self.num_collectors
        self._kept.clear()
        present = episode.treasure_alive  # [T, B]: the treasures that can be picked up at this step
        positions, types = self.draw_respawns()
        respawn = ~present
        landmark_pos = torch.where(respawn, positions.to(world.dtype).permute(2, 1, 0), world.episode.landmark_pos)
        treasure_type = torch.where(respawn, types.T, episode.treasure_type)
        world.move(actions, landmark_pos)  # the respawned treasures appear at the end of the step
        distance = world.episode.distance  # [N, T + N - 1, B]

        # Pickups, treasure by treasure (a loop over the handful of treasures, as mpe2's: this first-come
        # matching is sequential by nature): each goes to the first collector touching it with empty
        # hands, which later treasures then cannot take.
        touching = (distance[:C, : self.num_treasures] < self._pickup_distance) & present  # [C, T, B]
        holding = episode.holding
        picked = []
        for t in range(self.num_treasures):
            candidates = touching[:, t] & (holding < 0)  # [C, B]
            first = candidates & (candidates.cumsum(0) == 1)
            holding = torch.where(first, treasure_type[t], holding)
            picked.append(candidates.any(0))
        picked = torch.stack(picked)  # [T, B]

        # Deliveries: a collector touching the deposit of the type it holds.
        to_deposits = distance[:C, self._deposit_columns]  # [C, D, B]
        delivered = (holding >= 0) & (_deposit_distance(to_deposits, holding) < self._delivery_distance)  # [C, B]
        holding = torch.where(delivered, -1, holding)
        episode.holding, episode.treasure_type, episode.treasure_alive = holding, treasure_type, ~picked
        pickups, deliveries = picked.sum(0), delivered.sum(0)  # [B]
        shared = (pickups + deliveries) * self._event_reward  # [B]

        overlaps = (distance[:C, self._collector_columns] < self._overlap_distance).sum(1)  # [C, B]
        to_treasure = torch.where(~picked, distance[:C, : self.num_treasures], torch.inf).amin(1)  # [C, B]
        to_treasure = torch.where(torch.isfinite(to_treasure), to_treasure, 0.0)  # no treasure present: no shaping
        to_target = torch.where(holding >= 0, _deposit_distance(to_deposits, holding), to_treasure)
        collector_reward = -(overlaps * self._event_reward) - self._shaping * to_target + shared

        carriers = holding[None] == self._types  # [D, C, B]: collector c holds deposit d's type
        to_carrier = torch.where(carriers, distance[C:, self._carrier_columns], torch.inf).amin(1)  # [D, B]
        centroid = world.episode.agent_pos[:, :C].mean(1, keepdim=True) - world.episode.agent_pos[:, C:]  # [2, D, B]
        to_centroid = (centroid * centroid).sum(0).sqrt()
        deposit_reward = -self._shaping * torch.where(carriers.any(1), to_carrier, to_centroid) + shared

        reward = torch.cat((collector_reward, deposit_reward)).float().T.contiguous()
        terminated = torch.zeros(self.num_envs, self.n_agents, dtype=torch.bool, device=self.device)
        info = {
            "holding": torch.cat((holding, torch.full_like(holding[:1], -1).expand(self.num_deposits, -1))).T,
            "pickups": pickups,
            "deliveries": deliveries,
        }
        return reward, terminated, info

    def observations(self) -> torch.Tensor:
        world, episode, C, D = self.world, self.episode, self.num_collectors, self.num_deposits
        B, N, T = self.num_envs, self.n_agents, self.num_treasures
        relative, distance = world.episode.relative, world.episode.distance  # [2, N, T + N - 1, B], [N, T + N - 1, B]
        held = (episode.holding[None] == self._types).to(world.dtype)  # [D, C, B]
        code = torch.cat((torch.cat((torch.zeros_like(held), held)), self._deposit_code.expand(-1, -1, B)), 1)  # [2D, N, B]
        described = torch.cat((world.episode.agent_vel, code))  # [2 + 2D, N, B]: velocity and code of every agent
        others = torch.cat((relative[:, :, T:], described.index_select(1, self._other_agents).view(-1, N, N - 1, B)))
        others = closest_first(others, distance[:, T:])  # [B, N, (N - 1)(4 + 2D)]

        alive = episode.treasure_alive  # [T, B]
        kind = (episode.treasure_type[None] == self._types).to(world.dtype)  # [D, T, B]
        treasures = torch.cat((relative[:, :, :T], kind[:, None].expand(-1, N, -1, -1)))  # [2 + D, N, T, B]
        treasures = torch.where(alive, treasures, 0.0)  # a treasure just picked up shows zeros
        treasures = closest_first(treasures, torch.where(alive, distance[:, :T], self._far))  # [B, N, T (2 + D)]

        own = torch.cat((world.episode.agent_pos, world.episode.agent_vel)).permute(2, 1, 0)  # [B, N, 4]
        collectors = torch.cat((own[:, :C], held.permute(2, 1, 0), others[:, :C], treasures[:, :C]), -1)
        padding = own.new_zeros(B, D, D)
        deposits = torch.cat((own[:, C:], others[:, C:], treasures[:, C:], padding), -1)
        observations = torch.cat((collectors, deposits), 1).float()
        # BatchedEnv asks for the state right after: a private copy to cut it from (the caller may modify what it receives)
        self._kept.keep(observations.clone())
        return observations

    def global_state(self) -> torch.Tensor:
        obs = self._kept.take()
        obs, C = (self.observations() if obs is None else obs), self.num_collectors
        deposit_size = self.obs_sizes[-1]
        return torch.cat((obs[:, :C].reshape(self.num_envs, -1), obs[:, C:, :deposit_size].reshape(self.num_envs, -1)), 1)

    # ------------------------------------------------------------------ pictures
    def _colours(self, env_index: int) -> tuple[list, list]:
        """mpe2's colours x 200 of the agents, then of the present treasures, and which treasures are present."""
        holding = self.episode.holding[:, env_index].tolist()
        types = self.episode.treasure_type[:, env_index].tolist()
        present = self.episode.treasure_alive[:, env_index].tolist()

        def scaled(colour, factor):
            return tuple(int(200 * factor * c) for c in colour)

        colours = [scaled((1.0, 1.0, 1.0), 0.85) if h < 0 else scaled(TYPE_COLOURS[h], 0.85 * 0.85) for h in holding]
        colours += [scaled(TYPE_COLOURS[d], 0.35) for d in range(self.num_deposits)]
        colours += [scaled(TYPE_COLOURS[k], 1.0) for k, here in zip(types, present) if here]
        return colours, present

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, treasures = self.world.positions(env_index)
        colours, present = self._colours(env_index)
        sizes = [COLLECTOR["size"]] * self.num_collectors + [DEPOSIT["size"]] * self.num_deposits
        sizes += [TREASURE_SIZE] * sum(present)
        return particle_image(np.concatenate((agents, treasures[present])), sizes, colours)  # agents first, as mpe2

    def render_ansi(self, env_index: int) -> str:
        agents, velocities, treasures = self.world.positions(env_index)
        holding = self.episode.holding[:, env_index].tolist()
        names = [f"{a} (holds {'nothing' if h < 0 else f'type {h}'})" for a, h in zip(self.possible_agents, holding)]
        names += [f"{a} (type {d})" for d, a in enumerate(self.possible_agents[self.num_collectors :])]
        types = self.episode.treasure_type[:, env_index].tolist()
        present = self.episode.treasure_alive[:, env_index].tolist()
        return particle_text(
            f"step {int(self.step_count[env_index])}, {sum(present)} of {self.num_treasures} treasures present",
            names,
            agents,
            velocities,
            [f"treasure_{t} (type {k})" for t, (k, here) in enumerate(zip(types, present)) if here],
            treasures[present],
        )


def _deposit_distance(to_deposits: torch.Tensor, holding: torch.Tensor) -> torch.Tensor:
    """``[C, B]``: each collector's distance to the deposit of the type it holds (any deposit where it holds nothing)."""
    return torch.gather(to_deposits, 1, holding.clamp_min(0)[:, None])[:, 0]
