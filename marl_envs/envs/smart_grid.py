"""Smart grid: producers, consumers and batteries balance a power grid over one day.

| | |
|---|---|
| Import | `from marl_envs import smart_grid_v0` |
| Agents | `producer_0`, `producer_1`, `consumer_0` ... `consumer_2`, `storage_0` (`n_producers`=2, `n_consumers`=3, `n_storage`=1) |
| Action space | `Box(-1, 1, (1,), float32)`; `continuous_actions=False`: `Discrete(5)`, the levels -1, -0.5, 0, 0.5, 1 |
| Observation space | `Box([0, 0, -1, 0, 0], [1, 1.5, h, h, 1], (5,), float32)`, h = max(1, n_consumers / 2) (1.5 by default) |
| State space | `Box(0, high, (2 * n_producers + 2 * n_consumers + n_storage + 2,), float32)` (13 by default); high 1, 1.5 for the costs |
| Reward | per agent, by role |

## Description
The smart-grid environment of the foundations-and-applications design note
(`SmartGridEnvironment`): three kinds of agents with their own observations, actions and
rewards act on one power grid. Producers choose how much of their capacity to run, consumers
shift their demand up or down (demand response), batteries charge or discharge. One step is
one hour of a 24-hour day; the day's conditions are drawn at every reset:

| quantity | drawn at reset (per sub-env) |
|---|---|
| producer capacity | uniform in [20, 70) MW |
| producer cost | uniform in [0.05, 0.15) $/MWh |
| consumer base demand | uniform in [10, 40) MW |
| renewable factor r | uniform in [0.5, 1.0), constant over the day (solar/wind availability) |
| consumer demand | base demand x uniform [0.8, 1.2), redrawn at hours 6, 12 and 18 |

Batteries hold 100 MWh and start half full (50 MWh).

## Rules of one step
Every action a lies in [-1, 1] (anything else is rejected, not clipped).
1. Producer: `production = clamp(a * capacity * r, 0, capacity)` MW. A negative action produces
   nothing; `a * r <= 1`, so the upper limit is never reached.
2. Consumer: `adjusted demand = demand * (1 + 0.3 a)` MW (between 0.7 and 1.3 times its demand).
3. Battery: it is asked for `20 a` MW (positive discharges into the grid, negative charges from
   it) for 0.1 h, that is `2 a` MWh. Its level becomes `clamp(level - 2 a, 0, 100)` and its
   power is what actually moved: `power = (old level - new level) / 0.1` MW. An empty battery
   delivers nothing, a full one takes nothing in (see "Fixes" below).
4. `supply = sum(production) + sum(power)` (a charging battery draws from the grid),
   `demand = sum(adjusted demand)`, `imbalance = supply - demand`.
5. Rewards (the note's formulas):
   - producer: `0.1 * production - cost * production - 0.01 * |imbalance|` (revenue at $0.1/MWh,
     running cost, a share of the grid's imbalance penalty);
   - consumer: `0.1 * demand - 0.1 * adjusted demand - 2 * |a|` (the bill saved minus the
     inconvenience of shifting);
   - battery: `0.02 * power - 0.001 * |power|` (arbitrage minus wear).
6. The hour advances by one. At hours 6, 12 and 18 every consumer's demand is redrawn (base
   demand x uniform [0.8, 1.2)); between them it stays as it is.

Hand-worked example: a producer with capacity 50 MW, cost 0.05 $/MWh and r = 0.8 that plays
a = 0.5 produces 0.5 x 50 x 0.8 = 20 MW and earns 20 x 0.1 - 20 x 0.05 - 0.01 x |imbalance|
= 1 - 0.01 x |imbalance|. A battery holding 1 MWh asked for a = 1 (2 MWh) delivers 1 MWh:
power 10 MW, reward 0.02 x 10 - 0.001 x 10 = 0.19.

Infos (per sub-env, describing the step; the note's keys): `total_supply`, `total_demand`,
`imbalance` (MW) and `renewable_factor`.

## Observation
Five numbers per agent, the note's, with their normalisation (D: the sum of the consumers'
current demands, before demand response; t: the hour, 0 at reset and 24 at the end):

| role | 0 | 1 | 2 | 3 | 4 |
|---|---|---|---|---|---|
| producer | capacity / 100 | cost x 10 | r | D / 100 | t / 24 |
| consumer | demand / 50 | base demand / 50 | sin(2 pi t / 24) | (D - demand) / 100 | r |
| storage | level / 100 | 100 / 100 (= 1) | D / 100 | r | t / 24 |

Ranges these formulas give: capacity / 100 in [0.2, 0.7], cost x 10 in [0.5, 1.5], r in
[0.5, 1], demand / 50 in [0.16, 0.96] (demand in [8, 48] MW), base / 50 in [0.2, 0.8],
sin in [-1, 1], D / 100 in [0.08, 0.48] x n_consumers, (D - demand) / 100 in [0.08, 0.48] x
(n_consumers - 1), level / 100 in [0, 1], t / 24 in [0, 1]. The declared Box is the union of the
three roles' ranges per position, `low = [0, 0, -1, 0, 0]`, `high = [1, 1.5, h, h, 1]` with
h = max(1, n_consumers / 2). Each team has its own space object, but the three are equal:
SuperSuit's vector wrapper (and many learners) need one observation space for every agent.

## State
`[capacities / 100 (n_producers), costs x 10 (n_producers), base demands / 50 (n_consumers),
current demands / 50 (n_consumers), battery levels / 100 (n_storage), r, t / 24]`. Every entry
lies in [0, 1] except the costs, in [0.5, 1.5]; the Box is `low = 0`, `high = 1` (1.5 for the costs).
The demand factors of the hours still to come are drawn at reset (see "Fixes") and are
not part of the state: they are the day's hidden randomness.

## Episode end
The day ends after 24 steps: every agent terminates (the hour is observed, so the end of the
day is a terminal state, not a truncation). `max_cycles` (default 24) truncates earlier.

## Rendering
`ansi`: one line per agent (capacities, costs, demands, levels) under the hour and r.
`rgb_array`: one bar per agent (a producer's available power capacity x r, a consumer's demand,
a battery's level) above a strip showing how much of the day has passed.

## Fixes to the note's code
- Capacities and costs were drawn once, at construction, from unseeded global randomness: every
  episode of one env had the same producers and two envs differed unpredictably. Here all of
  them (and the base demands) are drawn at every reset from the env's own seeded streams.
- The battery's level was clamped to [0, capacity] but its power was not: an empty battery
  kept "discharging" 20 MW into the supply (and a full one kept absorbing), paid for it in the
  storage reward and hid the imbalance. Here the power is the energy that really moved. (With
  the note's numbers a battery starting half full moves at most 24 x 2 = 48 MWh a day, so the
  limit binds only when the level is set elsewhere, but the rule is right either way.)
- Actions were silently clipped to [-1, 1] (and the demand clamped to 0.7-1.3 x): out-of-range
  actions are now rejected with an error; both clamps were no-ops for valid actions.
- The note redraws the demand also at hour 24, after the day ended; here the final observation
  keeps the demand of the last period.
- The note's demand redraw calls the random generator during the step. Here the factors of
  hours 6, 12 and 18 are drawn with the rest of the day at reset and applied at those hours:
  the same distribution, observed at the same times, with no random draw in the step (leaner,
  and each sub-env's random stream depends only on its own resets).
- Units kept as in the note, though they disagree: the hour of day advances by one per step
  while the battery moves energy for 0.1 h per step.

## Arguments
- `n_producers=2`, `n_consumers=3`, `n_storage=1`: agents of each role (each >= 1).
- `continuous_actions=True`: `Box(-1, 1, (1,))` actions; `False`: `Discrete(5)`, action k applying the
  level `(-1, -0.5, 0, 0.5, 1)[k]`, for value-based learners. For a producer, -1, -0.5 and 0 all
  mean "produce nothing".
- `max_cycles=24`: steps before truncation (the day ends at 24 anyway).

## Version history
- v0: initial release.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS

__all__ = ["SmartGridEnv"]

HOURS_PER_DAY = 24
REDRAW_EVERY = 6  # hours between demand redraws
STORAGE_CAPACITY = 100.0  # MWh
STORAGE_MAX_ENERGY = 2.0  # MWh per step: 20 MW for 0.1 h
STEP_HOURS = 0.1  # the battery's time step
DISCRETE_LEVELS = (-1.0, -0.5, 0.0, 0.5, 1.0)


class SmartGridEpisode(EpisodeState):
    """What changes during an episode of ``SmartGridEnv``, per sub-env."""

    capacity: torch.Tensor
    """float32 ``[B, P]``: each producer's capacity (MW)."""
    cost: torch.Tensor
    """float32 ``[B, P]``: each producer's cost ($/MWh)."""
    base_demand: torch.Tensor
    """float32 ``[B, C]``: each consumer's demand before the day's factors (MW)."""
    demand: torch.Tensor
    """float32 ``[B, C]``: each consumer's current demand, before demand response (MW)."""
    demand_factors: torch.Tensor
    """float32 ``[B, 3, C]``: the demand factors in [0.8, 1.2) for hours 6, 12, 18, drawn at reset."""
    renewable: torch.Tensor
    """float32 ``[B]``: the renewable factor of the day."""
    level: torch.Tensor
    """float32 ``[B, S]``: each storage's level (MWh)."""
    hour: torch.Tensor
    """int64 ``[B]``: the hour of the day."""


class SmartGridEnv(BatchedEnv):
    """Batched smart grid; see the module documentation for the rules."""

    Episode = SmartGridEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        n_producers: int = 2,
        n_consumers: int = 3,
        n_storage: int = 1,
        continuous_actions: bool = True,
        max_cycles: int = HOURS_PER_DAY,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        P = self.n_producers = int_at_least("n_producers", n_producers, 1)
        C = self.n_consumers = int_at_least("n_consumers", n_consumers, 1)
        S = self.n_storage = int_at_least("n_storage", n_storage, 1)
        self.continuous_actions = boolean("continuous_actions", continuous_actions)

        teams = {"producer": P, "consumer": C, "storage": S}
        agents = [f"{team}_{i}" for team, count in teams.items() for i in range(count)]
        h = max(1.0, C / 2)
        low, high = np.array([0, 0, -1, 0, 0], np.float32), np.array([1, 1.5, h, h, 1], np.float32)
        observation_spaces = {}
        for team, count in teams.items():
            space = gymnasium.spaces.Box(low, high, (5,), np.float32)  # one object per team, equal in value
            observation_spaces.update(dict.fromkeys((f"{team}_{i}" for i in range(count)), space))
        state_high = np.ones(2 * P + 2 * C + S + 2, np.float32)
        state_high[P : 2 * P] = 1.5
        box = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        spaces, table = action_spaces(agents, box, self.continuous_actions, [[level] for level in DISCRETE_LEVELS])
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=observation_spaces,
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(np.zeros_like(state_high), state_high, dtype=np.float32),
            action_table=table,
        )
        dev, B = self.device, self.num_envs
        self._sub_envs = torch.arange(B, device=dev)
        self._one = torch.ones(B, 1, device=dev)
        # By hour after a step: is the demand redrawn, and which row of demand_factors it takes.
        hours = torch.arange(HOURS_PER_DAY + 1, device=dev)
        self._redraw_at = (hours % REDRAW_EVERY == 0) & (hours > 0) & (hours < HOURS_PER_DAY)
        self._factor_row = (hours // REDRAW_EVERY - 1).clamp(0, HOURS_PER_DAY // REDRAW_EVERY - 2)
        # Where each observation entry sits in _quantities(), and its scale (see the table above).
        r = 2 * P + 2 * C + S  # index of r; then hour, sin, D, D - demand (C), 1
        hour, sin, total, others, one = r + 1, r + 2, r + 3, r + 4, r + 4 + C
        rows = [([i, P + i, r, total, hour], [0.01, 10, 1, 0.01, 1 / 24]) for i in range(P)]
        rows += [([2 * P + C + j, 2 * P + j, sin, others + j, r], [0.02, 0.02, 1, 0.01, 1]) for j in range(C)]
        rows += [([r - S + k, one, total, r, hour], [1 / STORAGE_CAPACITY, STORAGE_CAPACITY / 100, 0.01, 1, 1 / 24]) for k in range(S)]
        self._obs_index = torch.tensor([index for index, _ in rows], device=dev).flatten()
        self._obs_scale = torch.tensor([scale for _, scale in rows], device=dev)
        state_scale = [0.01] * P + [10] * P + [0.02] * (2 * C) + [1 / STORAGE_CAPACITY] * S + [1, 1 / 24]
        self._state_scale = torch.tensor(state_scale, device=dev)
        # Drawn at reset; names say the unit.
        self.episode.capacity = torch.zeros(B, P, device=dev)  # MW
        self.episode.cost = torch.zeros(B, P, device=dev)  # $/MWh
        self.episode.base_demand = torch.zeros(B, C, device=dev)  # MW
        self.episode.demand = torch.zeros(B, C, device=dev)  # MW, current, before demand response
        # Demand factors in [0.8, 1.2) for hours 6, 12, 18 (rows 0, 1, 2), drawn at reset.
        self.episode.demand_factors = torch.ones(B, HOURS_PER_DAY // REDRAW_EVERY - 1, C, device=dev)
        self.episode.renewable = torch.zeros(B, device=dev)
        self.episode.level = torch.zeros(B, S, device=dev)  # MWh
        self.episode.hour = torch.zeros(B, dtype=torch.int64, device=dev)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        P, C = self.n_producers, self.n_consumers
        periods = HOURS_PER_DAY // REDRAW_EVERY
        u = self.rng.uniform((2 * P + (1 + periods) * C + 1,), env_ids)
        self.episode.capacity[env_ids] = u[:, :P] * 50 + 20
        self.episode.cost[env_ids] = u[:, P : 2 * P] * 0.1 + 0.05
        base = u[:, 2 * P : 2 * P + C] * 30 + 10
        factors = (u[:, 2 * P + C : 2 * P + (1 + periods) * C] * 0.4 + 0.8).view(-1, periods, C)
        self.episode.base_demand[env_ids] = base
        self.episode.demand[env_ids] = base * factors[:, 0]
        self.episode.demand_factors[env_ids] = factors[:, 1:]
        self.episode.renewable[env_ids] = u[:, -1] * 0.5 + 0.5
        self.episode.level.index_fill_(0, env_ids, STORAGE_CAPACITY / 2)
        self.episode.hour.index_fill_(0, env_ids, 0)

    def step_envs(self, actions: torch.Tensor):
        P, C = self.n_producers, self.n_consumers
        a = actions[..., 0]
        produce, respond, charge = a[:, :P], a[:, P : P + C], a[:, P + C :]

        production = (produce * self.episode.capacity * self.episode.renewable[:, None]).clamp_(min=0.0)
        demand = self.episode.demand
        adjusted = torch.addcmul(demand, demand, respond, value=0.3)  # demand * (1 + 0.3 a)
        level = self.episode.level
        self.episode.level = level.sub(charge, alpha=STORAGE_MAX_ENERGY).clamp_(0.0, STORAGE_CAPACITY)
        power = (level - self.episode.level) / STEP_HOURS  # what really moved; positive: delivered to the grid

        supply = production.sum(-1) + power.sum(-1)
        total_demand = adjusted.sum(-1)
        imbalance = supply - total_demand
        reward = torch.cat(
            (
                (production * (0.1 - self.episode.cost)).sub_(imbalance.abs()[:, None], alpha=0.01),
                (demand - adjusted).mul_(0.1).sub_(respond.abs(), alpha=2.0),
                (power * 0.02).sub_(power.abs(), alpha=0.001),
            ),
            -1,
        )

        # At hours 6, 12, 18 (not 24: the day is over) the demand takes that period's factor.
        # The tables are indexed by hour <= 24: a sub-env whose day ended is reset before its next step.
        self.episode.hour = hour = self.episode.hour + 1
        factor = self.episode.demand_factors[self._sub_envs, self._factor_row[hour]]
        self.episode.demand = torch.where(self._redraw_at[hour][:, None], self.episode.base_demand * factor, demand)

        terminated = (hour >= HOURS_PER_DAY)[:, None].expand(self.num_envs, self.n_agents)
        info = {
            "total_supply": supply,
            "total_demand": total_demand,
            "imbalance": imbalance,
            "renewable_factor": self.episode.renewable.clone(),  # a copy: reset_envs writes self.episode.renewable in place
        }
        return reward, terminated, info

    def _quantities(self) -> torch.Tensor:
        """``[B, K]``: the state's quantities, unscaled, then what only observations need.

        Layout: capacities (P), costs (P), base demands (C), demands (C), levels (S), r, hour |
        sin(2 pi t / 24), D, D - demand (C), 1. Observations and state pick and scale entries
        of it with precomputed indices, in two ops whatever the number of agents.
        """
        demand, hour = self.episode.demand, self.episode.hour[:, None].float()
        total = demand.sum(-1, keepdim=True)
        return torch.cat(
            (
                self.episode.capacity,
                self.episode.cost,
                self.episode.base_demand,
                demand,
                self.episode.level,
                self.episode.renewable[:, None],
                hour,
                torch.sin(hour * (2 * math.pi / HOURS_PER_DAY)),
                total,
                total - demand,
                self._one,
            ),
            -1,
        )

    def observations(self) -> torch.Tensor:
        return self._quantities().index_select(1, self._obs_index).view(self.num_envs, self.n_agents, 5) * self._obs_scale

    def global_state(self) -> torch.Tensor:
        return self._quantities()[:, : self._state_scale.shape[0]] * self._state_scale

    # ------------------------------------------------------------------ pictures
    def render_ansi(self, env_index: int) -> str:
        b = env_index
        hour, r = int(self.episode.hour[b]), float(self.episode.renewable[b])
        lines = [f"hour {hour}/{HOURS_PER_DAY}  renewable factor {r:.2f}  demand {float(self.episode.demand[b].sum()):.1f} MW"]
        for i, (capacity, cost) in enumerate(zip(self.episode.capacity[b].tolist(), self.episode.cost[b].tolist())):
            lines.append(f"producer_{i}: capacity {capacity:5.1f} MW (available {capacity * r:5.1f}), cost {cost:.3f} $/MWh")
        for i, (demand, base) in enumerate(zip(self.episode.demand[b].tolist(), self.episode.base_demand[b].tolist())):
            lines.append(f"consumer_{i}: demand {demand:5.1f} MW (base {base:5.1f})")
        for i, level in enumerate(self.episode.level[b].tolist()):
            lines.append(f"storage_{i}: {level:5.1f} / {STORAGE_CAPACITY:.0f} MWh")
        return "\n".join(lines) + "\n"

    def render_rgb(self, env_index: int) -> np.ndarray:
        """One bar per agent: a producer's available power (capacity x r, of 70 MW), a consumer's
        demand (of 48 MW), a battery's level (of its capacity); a strip below shows the hour."""
        b, bar, gap, height = env_index, 16, 8, 100
        fractions = (
            (self.episode.capacity[b] * self.episode.renewable[b] / 70).tolist()
            + (self.episode.demand[b] / 48).tolist()
            + (self.episode.level[b] / STORAGE_CAPACITY).tolist()
        )
        roles = [0] * self.n_producers + [1] * self.n_consumers + [2] * self.n_storage
        width = gap + len(fractions) * (bar + gap)
        image = np.full((height + 2 * gap + 6, width, 3), 245, np.uint8)
        image[gap + height, :] = 120  # baseline
        for i, (fraction, role) in enumerate(zip(fractions, roles)):
            left = gap + i * (bar + gap)
            top = gap + height - int(round(min(max(fraction, 0.0), 1.0) * height))
            image[top : gap + height, left : left + bar] = AGENT_COLOURS[role]
        done = int(round(width * min(int(self.episode.hour[b]), HOURS_PER_DAY) / HOURS_PER_DAY))
        image[-6:, :done] = (90, 90, 90)
        return image
