"""Target grid: a team collects targets it can only see nearby.

| | |
|---|---|
| Import | `from marl_envs import target_grid_v0` |
| Agents | `agent_0` ... `agent_2` (`n_agents`, default 3) |
| Action space | `Discrete(5)`: 0 stay, 1 up (-1, 0), 2 down (+1, 0), 3 left (0, -1), 4 right (0, +1) |
| Observation space | `Box(0, 1, (3 * (2r+1)^2 + 3,), float32)` with r = `view_radius` (78 by default) |
| State space | `Box(0, 1, (2 * n_agents + 3 * n_targets,), float32)` (15 by default) |
| Reward | shared by all agents |

## Description
The target-collection grid of the communication / graph / recurrent agents design note
(`MultiAgentGridWorld(grid_size=(8, 8), n_agents=3, n_targets=3, max_steps=50)`). The note
uses it to motivate communication, graph and recurrent agents, which only help where an
agent cannot see everything, so here each agent sees a window around itself.

Every episode, agents and targets are put on distinct random cells. A target is collected
when an agent steps on it (agents and collected targets never block anyone; several agents
may share a cell). A move that would leave the grid keeps the agent where it is, at no cost.

## Observation
Agent i's egocentric `(2r+1) x (2r+1)` window, centred on itself, rows then columns, as three
flattened channels: other agents present (0/1), uncollected targets present (0/1), cell
outside the grid (0/1). Then its own position `(row / (H-1), col / (W-1))` and the fraction of
targets not yet collected.

The batched step record also carries `adjacency` `[B, N, N]`: agent j lies in agent i's
window (Chebyshev distance <= `view_radius`), j != i. Graph agents use it as their edges.

## Rewards
Shared: `+1` for every target collected at this step, `-0.01` every step.
Info `targets_collected`: targets collected so far in the episode.

## State
All agent positions, all target positions (each `(row / (H-1), col / (W-1))`), then one flag
per target, 1 while it is uncollected.

## Episode end
Terminates when every target is collected; truncated after `max_cycles` steps.

## Arguments
- `grid_size=(8, 8)`: rows and columns (an int for a square grid; each >= 2).
- `n_agents=3`, `n_targets=3`: at least 1 each, and `n_agents + n_targets` <= cells.
- `view_radius=2`: the window's radius r (>= 0).
- `max_cycles=50`: steps before truncation.

## Version history
- v0: initial release.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS, TARGET_COLOUR, grid_image

__all__ = ["TargetGridEnv"]

_MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


class TargetGridEpisode(EpisodeState):
    """What changes during an episode of ``TargetGridEnv``, per sub-env."""

    positions: torch.Tensor
    """int64 ``[B, N, 2]``: each agent's (row, column)."""
    targets: torch.Tensor
    """int64 ``[B, T, 2]``: each target's cell."""
    uncollected: torch.Tensor
    """bool ``[B, T]``: the targets still on the grid."""
    collected: torch.Tensor
    """int64 ``[B]``: targets collected this episode."""


class TargetGridEnv(BatchedEnv):
    """Batched target grid; see the module documentation for the rules."""

    Episode = TargetGridEpisode

    has_adjacency = True

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        grid_size: int | tuple[int, int] = (8, 8),
        n_agents: int = 3,
        n_targets: int = 3,
        view_radius: int = 2,
        max_cycles: int = 50,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        if isinstance(grid_size, (int, np.integer)) and not isinstance(grid_size, bool):
            grid_size = (grid_size, grid_size)
        if not isinstance(grid_size, (tuple, list)) or len(grid_size) != 2:
            raise ValueError(f"grid_size must be an int or a pair (rows, cols), got {grid_size!r}")
        self.height = int_at_least("grid_size[0]", grid_size[0], 2)
        self.width = int_at_least("grid_size[1]", grid_size[1], 2)
        n_agents = int_at_least("n_agents", n_agents, 1)
        self.n_targets = int_at_least("n_targets", n_targets, 1)
        self.view_radius = int_at_least("view_radius", view_radius, 0)
        if n_agents + self.n_targets > self.height * self.width:
            raise ValueError(
                f"n_agents + n_targets = {n_agents + self.n_targets} distinct cells do not fit in a {self.height}x{self.width} grid"
            )
        side = 2 * self.view_radius + 1
        self.window_cells = side * side

        agents = [f"agent_{i}" for i in range(n_agents)]
        obs_space = gymnasium.spaces.Box(0.0, 1.0, (3 * self.window_cells + 3,), np.float32)
        action_space = gymnasium.spaces.Discrete(5)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, obs_space),
            action_spaces=dict.fromkeys(agents, action_space),
            state_space=gymnasium.spaces.Box(0.0, 1.0, (2 * n_agents + 3 * self.n_targets,), np.float32),
        )
        dev = self.device
        self._moves = torch.tensor(_MOVES, dtype=torch.int64, device=dev)
        self._limits = torch.tensor([self.height, self.width], device=dev)
        self._scale = 1.0 / (self._limits - 1).float()
        offsets = torch.arange(-self.view_radius, self.view_radius + 1, device=dev)
        self._window_lines = offsets
        # Where each item's window cell lands in the observation: agents in channel 0, targets in 1.
        self._channel_offsets = torch.tensor([0] * n_agents + [self.window_cells] * self.n_targets, device=dev)
        self._others = ~torch.eye(n_agents, dtype=torch.bool, device=dev)

        B = self.num_envs
        self.episode.positions = torch.zeros(B, n_agents, 2, dtype=torch.int64, device=dev)
        self.episode.targets = torch.zeros(B, self.n_targets, 2, dtype=torch.int64, device=dev)
        self.episode.uncollected = torch.ones(B, self.n_targets, dtype=torch.bool, device=dev)
        self.episode.collected = torch.zeros(B, dtype=torch.int64, device=dev)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        cells = self.rng.distinct(self.height * self.width, self.n_agents + self.n_targets, env_ids)
        rows_cols = torch.stack((cells // self.width, cells % self.width), dim=-1)
        self.episode.positions[env_ids] = rows_cols[:, : self.n_agents]
        self.episode.targets[env_ids] = rows_cols[:, self.n_agents :]
        self.episode.uncollected.index_fill_(0, env_ids, True)
        self.episode.collected.index_fill_(0, env_ids, 0)

    def step_envs(self, actions: torch.Tensor):
        proposed = self.episode.positions + self._moves[actions]
        inside = ((proposed >= 0) & (proposed < self._limits)).all(-1, keepdim=True)
        self.episode.positions = torch.where(inside, proposed, self.episode.positions)

        reached = (self.episode.positions[:, :, None] == self.episode.targets[:, None]).all(-1).any(1)  # [B, T]
        newly = (reached & self.episode.uncollected).sum(-1)
        self.episode.uncollected = self.episode.uncollected & ~reached
        self.episode.collected = self.episode.collected + newly
        reward = newly - 0.01
        shape = (self.num_envs, self.n_agents)
        terminated = ~self.episode.uncollected.any(-1)
        # A copy: reset_envs writes self.episode.collected in place, and the info must keep this step's value.
        info = {"targets_collected": self.episode.collected.float()}
        return reward[:, None].expand(shape), terminated[:, None].expand(shape), info

    def observations(self) -> torch.Tensor:
        positions, K = self.episode.positions, self.window_cells
        B, N = positions.shape[:2]
        obs = torch.zeros(B, N, 3 * K + 3, device=positions.device)
        # Channels 0 and 1 in one scatter: every other agent and every target, relative to agent i,
        # marks its window cell (channel offset included); items out of view write a 0 to cell 0.
        relative = torch.cat((positions[:, None], self.episode.targets[:, None]), 2) - positions[:, :, None]
        r = self.view_radius
        visible = (relative.abs() <= r).all(-1)
        visible &= torch.cat((self._others.expand(B, N, N), self.episode.uncollected[:, None].expand(B, N, -1)), -1)
        cell = (relative[..., 0] + r) * (2 * r + 1) + relative[..., 1] + r + self._channel_offsets
        obs.scatter_reduce_(2, cell * visible, visible.float(), reduce="amax")
        # Channel 2: a window cell is outside the grid when its row or its column is.
        lines = positions[..., None] + self._window_lines  # [B, N, 2, 2r+1]
        off = (lines < 0) | (lines >= self._limits[:, None])
        obs[..., 2 * K : 3 * K] = (off[:, :, 0, :, None] | off[:, :, 1, None, :]).flatten(2)
        obs[..., 3 * K : 3 * K + 2] = positions * self._scale
        obs[..., -1] = self.episode.uncollected.sum(-1, keepdim=True).div(self.n_targets)
        return obs

    def global_state(self) -> torch.Tensor:
        return torch.cat(
            ((self.episode.positions * self._scale).flatten(1), (self.episode.targets * self._scale).flatten(1), self.episode.uncollected),
            -1,
        ).float()

    def adjacency_matrix(self) -> torch.Tensor:
        distance = (self.episode.positions[:, None] - self.episode.positions[:, :, None]).abs().amax(-1)
        return (distance <= self.view_radius) & self._others

    def render_rgb(self, env_index: int) -> np.ndarray:
        r = self.view_radius
        marks = []
        for row, col in self.episode.positions[env_index].tolist():
            marks += [
                (rr, cc, (0, 0, 0), "shade")
                for rr in range(max(0, row - r), min(self.height, row + r + 1))
                for cc in range(max(0, col - r), min(self.width, col + r + 1))
            ]
        targets = self.episode.targets[env_index].tolist()
        marks += [(rw, cl, TARGET_COLOUR, "target") for (rw, cl), up in zip(targets, self.episode.uncollected[env_index].tolist()) if up]
        marks += [
            (rw, cl, AGENT_COLOURS[i % len(AGENT_COLOURS)], "agent")
            for i, (rw, cl) in enumerate(self.episode.positions[env_index].tolist())
        ]
        return grid_image(self.height, self.width, marks)

    def render_ansi(self, env_index: int) -> str:
        board = [["." for _ in range(self.width)] for _ in range(self.height)]
        for (r, c), up in zip(self.episode.targets[env_index].tolist(), self.episode.uncollected[env_index].tolist()):
            if up:
                board[r][c] = "T"
        for i, (r, c) in enumerate(self.episode.positions[env_index].tolist()):
            board[r][c] = str(i % 10)
        collected = int(self.episode.collected[env_index])
        return "\n".join(" ".join(row) for row in board) + f"\ncollected {collected}/{self.n_targets}\n"
