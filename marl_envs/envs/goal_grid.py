"""Goal grid: agents on a grid must all stand on their own goals at once.

| | |
|---|---|
| Import | `from marl_envs import goal_grid_v0` |
| Agents | `agent_0`, `agent_1` (`n_agents`, default 2) |
| Action space | `Discrete(4)`: 0 up (-1, 0), 1 down (+1, 0), 2 left (0, -1), 3 right (0, +1) |
| Observation space | `Box(0, 1, (2 * n_agents + 2,), float32)` (6 by default) |
| State space | `Box(0, 1, (4 * n_agents,), float32)` (8 by default) |
| Reward | shared by all agents |

## Description
The two-agent cooperative grid world of the MADDPG design note (`MultiAgentGridEnv`). The
defaults reproduce it exactly: a 5x5 grid, agent 0 starts at (0, 0) and must reach (4, 0),
agent 1 starts at (4, 4) and must reach (0, 4). Coordinates are (row, column); row 0 is the top.

## Observation
Agent i sees `[own row, own col, other agents' (row, col) in index order, own goal row, own goal col]`,
each coordinate divided by `size - 1`.

## Rules of one step
1. An agent already on its goal does not move (whatever its action).
2. A move that would leave the grid is not made: the agent stays and the team pays -0.5.
3. Two agents whose moves would end on the same cell both go back to where they were, and
   the team pays -0.5 for that pair. (With more than two agents this is repeated until no
   two agents share a cell: an agent sent back may collide with one that moved into its
   cell, which is another pair.) Agents may swap cells, as in the note.
4. If every agent now stands on its goal, the reward is +10 and the episode terminates.
   Otherwise the reward is `-0.05 - 0.1 * (sum of the agents' Manhattan distances to their
   goals) + penalties`.

Hand-worked example (defaults): from the start, actions (down, left) move agent 0 to (1, 0)
and agent 1 to (4, 3); distances 3 + 5 = 8, so the reward is -0.05 - 0.8 = -0.85 and agent
0 observes `[0.25, 0, 1, 0.75, 1, 0]`.

## State
All agents' positions, then all goals, each (row, col) divided by `size - 1`.

## Episode end
Terminates when every agent is on its goal; truncated after `max_cycles` steps.

## Arguments
- `size=5`: side of the square grid (>= 2).
- `n_agents=2`: number of agents (>= 2).
- `randomize=False`: draw distinct start and goal cells (2 * n_agents distinct cells) every episode.
- `starts=None`, `goals=None`: fixed cells `[(row, col), ...]`, one per agent, distinct within
  each list; default to the note's layout, which exists for two agents only.
- `max_cycles=100`: steps before truncation.

## Version history
- v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS, grid_image

__all__ = ["GoalGridEnv"]

_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


class GoalGridEpisode(EpisodeState):
    """What changes during an episode of ``GoalGridEnv``, per sub-env."""

    positions: torch.Tensor
    """int64 ``[B, N, 2]``: each agent's (row, column)."""
    goals: torch.Tensor
    """int64 ``[B, N, 2]``: each agent's goal cell."""


class GoalGridEnv(BatchedEnv):
    """Batched goal grid; see the module documentation for the rules."""

    Episode = GoalGridEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        size: int = 5,
        n_agents: int = 2,
        randomize: bool = False,
        starts: Sequence[Sequence[int]] | None = None,
        goals: Sequence[Sequence[int]] | None = None,
        max_cycles: int = 100,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        size = int_at_least("size", size, 2)
        n_agents = int_at_least("n_agents", n_agents, 2)
        randomize = boolean("randomize", randomize)
        if randomize:
            if starts is not None or goals is not None:
                raise ValueError("randomize=True draws starts and goals; do not pass starts= or goals= with it")
            if 2 * n_agents > size * size:
                raise ValueError(f"randomize=True needs 2 * n_agents = {2 * n_agents} distinct cells, the grid has {size * size}")
        else:
            if n_agents == 2:
                starts = [(0, 0), (size - 1, size - 1)] if starts is None else starts
                goals = [(size - 1, 0), (0, size - 1)] if goals is None else goals
            elif starts is None or goals is None:
                raise ValueError(
                    f"the design note's fixed layout is for 2 agents; with n_agents={n_agents} pass starts= and goals=, or randomize=True"
                )
            starts = _cells("starts", starts, n_agents, size)
            goals = _cells("goals", goals, n_agents, size)
        self.size = size
        self.randomize = randomize

        agents = [f"agent_{i}" for i in range(n_agents)]
        obs_space = gymnasium.spaces.Box(0.0, 1.0, (2 * n_agents + 2,), np.float32)
        action_space = gymnasium.spaces.Discrete(4)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, obs_space),
            action_spaces=dict.fromkeys(agents, action_space),
            state_space=gymnasium.spaces.Box(0.0, 1.0, (4 * n_agents,), np.float32),
        )
        dev = self.device
        self._moves = torch.tensor(_MOVES, dtype=torch.int64, device=dev)
        if not randomize:
            self._starts = torch.tensor(starts, dtype=torch.int64, device=dev)
            self._goals = torch.tensor(goals, dtype=torch.int64, device=dev)
        # Row i lists agent i first, then the others in index order: the observation's layout.
        self._view_order = torch.tensor([[i] + [j for j in range(n_agents) if j != i] for i in range(n_agents)], device=dev)
        self._pairs = torch.ones(n_agents, n_agents, dtype=torch.bool, device=dev).triu(1)
        self.episode.positions = torch.zeros(self.num_envs, n_agents, 2, dtype=torch.int64, device=dev)
        self.episode.goals = torch.zeros_like(self.episode.positions)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        if self.randomize:
            cells = self.rng.distinct(self.size * self.size, 2 * self.n_agents, env_ids)
            rows_cols = torch.stack((cells // self.size, cells % self.size), dim=-1)
            self.episode.positions[env_ids] = rows_cols[:, : self.n_agents]
            self.episode.goals[env_ids] = rows_cols[:, self.n_agents :]
        else:
            self.episode.positions[env_ids] = self._starts
            self.episode.goals[env_ids] = self._goals

    def step_envs(self, actions: torch.Tensor):
        positions, goals = self.episode.positions, self.episode.goals
        at_goal = (positions == goals).all(-1, keepdim=True)
        proposed = positions + self._moves[actions].masked_fill(at_goal, 0)
        inside = ((proposed >= 0) & (proposed < self.size)).all(-1, keepdim=True)
        proposed = torch.where(inside, proposed, positions)
        penalties = (~inside).sum((1, 2))
        # n_agents - 1 rounds always suffice: every round with a clash sends back at least
        # one more moving agent, and the first sends back both members of a pair.
        for _ in range(self.n_agents - 1):
            clash_pairs = (proposed[:, :, None] == proposed[:, None]).all(-1) & self._pairs
            penalties = penalties + clash_pairs.sum((1, 2))
            clashed = (clash_pairs | clash_pairs.transpose(1, 2)).any(-1, keepdim=True)
            proposed = torch.where(clashed, positions, proposed)
        self.episode.positions = proposed

        success = (proposed == goals).all(-1).all(-1)
        distance = (proposed - goals).abs().sum((1, 2))
        reward = torch.where(success, 10.0, -0.05 - 0.1 * distance - 0.5 * penalties)
        shape = (self.num_envs, self.n_agents)
        return reward[:, None].expand(shape), success[:, None].expand(shape), {}

    def observations(self) -> torch.Tensor:
        seen = self.episode.positions[:, self._view_order].flatten(2)
        return torch.cat((seen, self.episode.goals), -1).float().div_(self.size - 1)

    def global_state(self) -> torch.Tensor:
        return torch.cat((self.episode.positions.flatten(1), self.episode.goals.flatten(1)), -1).float().div_(self.size - 1)

    def render_rgb(self, env_index: int) -> np.ndarray:
        positions = self.episode.positions[env_index].tolist()
        goals = self.episode.goals[env_index].tolist()
        cells = [(r, c, AGENT_COLOURS[i % len(AGENT_COLOURS)], "goal") for i, (r, c) in enumerate(goals)]
        cells += [(r, c, AGENT_COLOURS[i % len(AGENT_COLOURS)], "agent") for i, (r, c) in enumerate(positions)]
        return grid_image(self.size, self.size, cells)

    def render_ansi(self, env_index: int) -> str:
        board = [["." for _ in range(self.size)] for _ in range(self.size)]
        for i, (r, c) in enumerate(self.episode.goals[env_index].tolist()):
            board[r][c] = chr(ord("a") + i % 26)
        for i, (r, c) in enumerate(self.episode.positions[env_index].tolist()):
            board[r][c] = str(i % 10)
        legend = "digits: agents, letters: their goals (a = agent 0's)"
        return "\n".join(" ".join(row) for row in board) + f"\n{legend}\n"


def _cells(name: str, cells, count: int, size: int) -> list[tuple[int, int]]:
    try:
        cells = [tuple(int(v) for v in cell) for cell in cells]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of (row, col) pairs, got {cells!r}") from None
    if len(cells) != count or any(len(cell) != 2 for cell in cells):
        raise ValueError(f"{name} must hold {count} (row, col) pairs (one per agent), got {cells!r}")
    for cell in cells:
        if not all(0 <= v < size for v in cell):
            raise ValueError(f"{name}: cell {cell} lies outside the {size}x{size} grid")
    if len(set(cells)) != count:
        raise ValueError(f"{name} must be distinct cells, got {cells!r}")
    return cells
