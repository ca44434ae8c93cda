"""Resource allocation: agents with private tastes share a few limited resources.

| | |
|---|---|
| Import | `from marl_envs import resource_allocation_v0` |
| Agents | `agent_0` ... `agent_3` (`n_agents`, default 4) |
| Action space | `continuous_actions=True` (default): `Box(0, 1, (n_resources,), float32)`; `continuous_actions=False`: `Discrete(2 * n_resources + 3)` (9 by default; `Discrete(5)` for one resource), see Discrete actions |
| Observation space | `Box(low, high, (4 * n_resources,), float32)` (12 by default), bounds below |
| State space | `Box(low, high, (2 * n_agents * n_resources + n_resources,), float32)` (27 by default) |
| Reward | individual: the utility of what the agent received |

## Description
The `ResourceAllocationEnvironment` of the foundations-and-applications design note. There are
`n_resources` resources, each with a capacity (10 by default). Every agent has private utility
weights, one per resource, drawn `U[0, 2)` at every reset (or fixed with `utilities=`). At each
step every agent requests, for every resource, a fraction of what is left of it; what it
receives adds to its allocation, and is gone for everyone else.

## Rules of one step
For each resource r with `remaining[r]` left, agent i's request `a[i, r]` in [0, 1] asks for
`a[i, r] * remaining[r]`. If the requests add up to at most what is left, every agent gets what
it asked for. Otherwise (over-subscribed) everything left is handed out, in proportion to the
requests: agent i gets `remaining[r] * a[i, r] / sum_j a[j, r]`, and nothing of r remains.

Hand-worked example: two agents request 0.8 and 0.4 of a resource with 10 left; they ask for
8 and 4, 12 > 10, so they receive 10 * 0.8 / 1.2 = 6.667 and 10 * 0.4 / 1.2 = 3.333.

## Observation
Agent i sees `[its allocation so far (n_resources), what remains (n_resources), the total
allocated so far (n_resources), its own utility weights (n_resources)]`, in resource units
(not normalised, as in the note). The first three blocks are the note's observation.
Bounds, per resource r: allocations, remainders and totals lie in `[0, capacities[r]]`;
utility weights in `[0, 2]` when drawn, or between the smallest and the largest weight of
resource r when fixed by `utilities=`.

## Rewards
Individual: agent i's reward is `sum_r utilities[i, r] * received[i, r]` at this step.
Info `social_welfare` (per sub-env): `sum_i sum_r utilities[i, r] * allocation[i, r]`, the
allocations accumulated over the episode, so it equals the sum of all agents' rewards so far.

## Discrete actions (`continuous_actions=False`)
Request prototypes, each a point of the continuous action space:
- 0: nothing;
- `1 + 2r`: half of resource r (0.5 of r, 0 of the others); `2 + 2r`: all of resource r;
- `2 * n_resources + 1`: half of every resource; `2 * n_resources + 2`: all of every resource.

With one resource the action is one number, and the prototypes are instead 5 evenly spaced
levels: 0, 0.25, 0.5, 0.75, 1.

## State
Every agent's allocation (`n_agents * n_resources`, agent-major), what remains
(`n_resources`), every agent's utility weights (`n_agents * n_resources`); same bounds as the
observation.

## Starting state
Nothing allocated, every resource at its capacity; utility weights drawn `U[0, 2)` per agent
and resource from the env's random stream (or fixed by `utilities=`).

## Episode end
Terminates (for every agent) when every resource has at most 0.1 left (the note's
`remaining <= 0.1`, compared in float32); truncated after `max_cycles` (20) steps, the note's
time limit. Termination wins when both happen at the same step. Random requests usually
over-subscribe every resource at once, so random episodes are short (one or two steps).

## Arguments
- `n_agents=4`, `n_resources=3`: at least 1 each.
- `capacities=None`: a positive number (every resource) or a list of `n_resources` positive
  numbers; default 10 each. At least one must exceed 0.1, else every episode would end at its
  first step.
- `utilities=None`: fixed utility weights, shape `[n_agents, n_resources]`, finite; default:
  drawn `U[0, 2)` at every reset.
- `continuous_actions=True`: continuous requests, or the discrete prototypes above.
- `max_cycles=20`: steps before truncation.

## Differences from the design note
- The note drew the utility weights once, at construction, with unseeded `torch.rand`; here
  they are drawn at every reset from the env's seeded per-sub-env stream (`utilities=` fixes
  them), and each agent observes its own (the note's agents could not see their tastes).
- The note silently clipped requests to [0, 1]; here out-of-range requests are rejected.
- The note's `remaining -= allocated` could leave a float-rounding residue (even a negative one)
  after an over-subscribed step; here an over-subscribed resource is set to exactly 0.
- "Total allocated" is observed as `capacity - remaining` (the note sums the allocations: the
  same number up to float rounding), and an agent's accumulated allocation is capped at the
  capacity, which only float32 rounding could exceed: both keep observations inside their bounds.
- The note's single `done` is split: running out of resources terminates, the 20-step limit
  truncates.

## Version history
- v0: initial release.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS

__all__ = ["ResourceAllocationEnv"]

DEPLETED = 0.1
"""The episode terminates when every resource has at most this much left (the note's threshold)."""


class ResourceAllocationEpisode(EpisodeState):
    """What changes during an episode of ``ResourceAllocationEnv``, per sub-env."""

    utilities: torch.Tensor
    """float32 ``[B, N, R]``: each agent's utility per unit of each resource."""
    allocated: torch.Tensor
    """float32 ``[B, N, R]``: what each agent holds of each resource."""
    remaining: torch.Tensor
    """float32 ``[B, R]``: the stock left of each resource."""


class ResourceAllocationEnv(BatchedEnv):
    """Batched resource allocation; see the module documentation for the rules."""

    Episode = ResourceAllocationEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        n_agents: int = 4,
        n_resources: int = 3,
        capacities: float | list[float] | None = None,
        utilities: list[list[float]] | np.ndarray | None = None,
        continuous_actions: bool = True,
        max_cycles: int = 20,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        n_agents = int_at_least("n_agents", n_agents, 1)
        self.n_resources = R = int_at_least("n_resources", n_resources, 1)
        capacity = _capacities(capacities, R)
        fixed_utilities = None if utilities is None else _utilities(utilities, n_agents, R)
        self.continuous_actions = boolean("continuous_actions", continuous_actions)

        if fixed_utilities is None:
            utility_low, utility_high = np.zeros(R, np.float32), np.full(R, 2.0, np.float32)
        else:
            utility_low, utility_high = fixed_utilities.min(0), fixed_utilities.max(0)
        zeros = np.zeros(R, np.float32)
        obs_space = gymnasium.spaces.Box(
            np.concatenate([zeros, zeros, zeros, utility_low]),
            np.concatenate([capacity, capacity, capacity, utility_high]),
            dtype=np.float32,
        )
        state_space = gymnasium.spaces.Box(
            np.concatenate([np.tile(zeros, n_agents), zeros, np.tile(utility_low, n_agents)]),
            np.concatenate([np.tile(capacity, n_agents), capacity, np.tile(utility_high, n_agents)]),
            dtype=np.float32,
        )
        agents = [f"agent_{i}" for i in range(n_agents)]
        box = gymnasium.spaces.Box(0.0, 1.0, (R,), np.float32)
        spaces, table = action_spaces(agents, box, self.continuous_actions, request_prototypes(R))
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, obs_space),
            action_spaces=spaces,
            state_space=state_space,
            action_table=table,
        )
        dev, B = self.device, self.num_envs
        self.capacities = torch.as_tensor(capacity, device=dev)
        self._fixed_utilities = None if fixed_utilities is None else torch.as_tensor(fixed_utilities, device=dev)
        self.episode.utilities = torch.zeros(B, n_agents, R, device=dev)
        self.episode.allocated = torch.zeros(B, n_agents, R, device=dev)
        self.episode.remaining = torch.zeros(B, R, device=dev)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        if self._fixed_utilities is None:
            self.episode.utilities[env_ids] = self.rng.uniform((self.n_agents, self.n_resources), env_ids) * 2.0
        else:
            self.episode.utilities[env_ids] = self._fixed_utilities
        self.episode.allocated.index_fill_(0, env_ids, 0.0)
        self.episode.remaining[env_ids] = self.capacities

    def step_envs(self, actions: torch.Tensor):
        remaining = self.episode.remaining
        requested = actions * remaining[:, None]  # [B, N, R]
        total = requested.sum(1)  # [B, R]
        over = total > remaining
        # Where nobody over-asks, total may be 0 and remaining / total undefined: not selected.
        share = torch.where(over, remaining / total, 1.0)
        received = requested * share[:, None]
        self.episode.allocated = torch.minimum(self.episode.allocated + received, self.capacities)
        self.episode.remaining = torch.where(over, 0.0, remaining - total)
        reward = (received * self.episode.utilities).sum(-1)
        terminated = (self.episode.remaining <= DEPLETED).all(-1, keepdim=True).expand(reward.shape)
        info = {"social_welfare": (self.episode.allocated * self.episode.utilities).sum((1, 2))}
        return reward, terminated, info

    def observations(self) -> torch.Tensor:
        B, N, R = self.episode.allocated.shape
        remaining = self.episode.remaining[:, None].expand(B, N, R)
        return torch.cat((self.episode.allocated, remaining, self.capacities - remaining, self.episode.utilities), -1)

    def global_state(self) -> torch.Tensor:
        return torch.cat((self.episode.allocated.flatten(1), self.episode.remaining, self.episode.utilities.flatten(1)), -1)

    def render_rgb(self, env_index: int) -> np.ndarray:
        """One bar per resource, its full width the capacity: each agent's allocation in its colour, what remains in grey."""
        width, bar, gap = 240, 18, 8
        image = np.full((gap + self.n_resources * (bar + gap), width + 2 * gap, 3), 245, np.uint8)
        allocated = self.episode.allocated[env_index].cpu().numpy()
        capacities = self.capacities.cpu().numpy()
        for r in range(self.n_resources):
            top = gap + r * (bar + gap)
            image[top : top + bar, gap : gap + width] = 200
            left = 0.0
            for i in range(self.n_agents):
                right = left + allocated[i, r] / capacities[r] * width
                image[top : top + bar, gap + round(left) : gap + round(right)] = AGENT_COLOURS[i % len(AGENT_COLOURS)]
                left = right
        return image

    def render_ansi(self, env_index: int) -> str:
        allocated = self.episode.allocated[env_index].tolist()
        remaining = self.episode.remaining[env_index].tolist()
        utilities = self.episode.utilities[env_index].tolist()
        capacities = self.capacities.tolist()
        lines = ["resource  remaining/capacity  " + "  ".join(f"{a:>14}" for a in self.possible_agents)]
        for r in range(self.n_resources):
            cells = "  ".join(f"{allocated[i][r]:6.2f} (u {utilities[i][r]:4.2f})" for i in range(self.n_agents))
            lines.append(f"{r:>8}  {remaining[r]:8.2f}/{capacities[r]:<9.2f}  {cells}")
        return "\n".join(lines) + "\nallocations so far, with each agent's utility weight u\n"


def request_prototypes(n_resources: int) -> list[list[float]]:
    """The discrete actions' requests (see the module documentation), one row per action."""
    if n_resources == 1:
        return [[0.0], [0.25], [0.5], [0.75], [1.0]]
    rows = [[0.0] * n_resources]
    for r in range(n_resources):
        for level in (0.5, 1.0):
            row = [0.0] * n_resources
            row[r] = level
            rows.append(row)
    return rows + [[0.5] * n_resources, [1.0] * n_resources]


def _capacities(capacities, n_resources: int) -> np.ndarray:
    if capacities is None:
        return np.full(n_resources, 10.0, np.float32)
    if isinstance(capacities, (bool, np.bool_)):
        raise ValueError(
            f"capacities must be a positive number or a list of n_resources={n_resources} positive numbers, got {capacities!r}"
        )
    try:
        values = np.asarray(capacities, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"capacities must be a positive number or a list of n_resources={n_resources} positive numbers, got {capacities!r}"
        ) from None
    if values.ndim == 0:
        values = np.full(n_resources, float(values))
    if values.shape != (n_resources,):
        raise ValueError(
            f"capacities must be a positive number or a list of n_resources={n_resources} positive numbers, "
            f"got {len(values) if values.ndim == 1 else 'shape ' + str(values.shape)}: {capacities!r}"
        )
    values = values.astype(np.float32)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"every capacity must be positive and finite (float32), got {capacities!r}")
    if (values <= np.float32(DEPLETED)).all():
        raise ValueError(
            f"at least one capacity must exceed {DEPLETED} (the depletion threshold), else every episode "
            f"would end at its first step; got {capacities!r}"
        )
    return values


def _utilities(utilities, n_agents: int, n_resources: int) -> np.ndarray:
    try:
        values = np.asarray(utilities, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"utilities must be numbers of shape [n_agents, n_resources] = [{n_agents}, {n_resources}], got {utilities!r}"
        ) from None
    if values.shape != (n_agents, n_resources):
        raise ValueError(f"utilities must have shape [n_agents, n_resources] = [{n_agents}, {n_resources}], got shape {list(values.shape)}")
    values = values.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError(f"utilities must be finite (float32), got {utilities!r}")
    return values
