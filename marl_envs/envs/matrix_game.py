"""Matrix game: a normal-form game played repeatedly by N players.

| | |
|---|---|
| Import | `from marl_envs import matrix_game_v0` |
| Agents | `player_0`, `player_1` (N players: 2 for the named games, any N >= 2 with `payoffs=`) |
| Action space | `Discrete(A)`: the game's actions (2 or 3 for the named games) |
| Observation space | `Box(0, 1, (N * A + 1,), float32)`; `N * A + 3` for `two_step` (5 for 2x2 games, 7 for 3x3 games and `two_step`) |
| State space | the observation's: `Box(0, 1, (N * A + 1,), float32)`, `N * A + 3` for `two_step` |
| Reward | each player's payoff: identical for cooperative games, summing to 0 for zero-sum games |

## Description
The repeated matrix games of the foundations design note and of the cooperative MARL
literature (EPyMARL plays the climbing and penalty games for 25 steps). At every step each
player picks an action and receives its entry of the payoff table for the joint action.
Nothing is random: every episode is the same game.

## Games
Tables are indexed `[player_0's action, player_1's action]` (rows: player 0).

| `game=` | payoffs | kind |
|---|---|---|
| `prisoners_dilemma` (default) | player 0 `[[-1, -3], [0, -2]]`, player 1 `[[-1, 0], [-3, -2]]`; action 0 cooperate, 1 defect | general-sum |
| `coordination` | `[[2, 0], [0, 1]]` for both | cooperative |
| `climbing` | `[[11, -30, 0], [-30, 7, 0], [0, 6, 5]]` for both | cooperative |
| `penalty` | `[[-k, 0, 10], [0, 2, 0], [10, 0, -k]]` for both (`k=100`) | cooperative |
| `non_monotonic` | `[[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]` for both | cooperative |
| `matching_pennies` | player 0 `[[1, -1], [-1, 1]]` (wins when the coins match), player 1 the negative | zero-sum |
| `rock_paper_scissors` | player 0 `[[0, -1, 1], [1, 0, -1], [-1, 1, 0]]` (0 rock, 1 paper, 2 scissors), player 1 the negative | zero-sum |
| `two_step` | the two-step game of the QMIX paper, below | cooperative |

The climbing table is written as in this project's issue: it is the transpose of Claus and
Boutilier's (1998) `[[11, -30, 0], [-30, 7, 6], [0, 0, 5]]`, the same game with the players'
roles exchanged. The penalty table is the literature's `[[10, 0, -k], [0, 2, 0], [-k, 0, 10]]`
with player 1's actions 0 and 2 exchanged, and `k` the penalty's size (the payoff is `-k`).

`two_step` (Rashid et al. 2018): in state 1 every joint action pays 0, and player 0's action
chooses the next state: 0 leads to 2A, 1 to 2B. In 2A every joint action pays 7; in 2B the
payoff is `[[0, 1], [1, 8]]`. The episode then ends (2 steps). The optimum (2B, then (1, 1))
pays 8; 2A's 7 is the trap that value factorisations such as VDN fall into.

`payoffs=`: any game of N >= 2 players with A actions each, an array or tensor of shape
`[A] * N + [N]`: `payoffs[a_0, ..., a_{N-1}, i]` is player i's payoff for the joint action
`(a_0, ..., a_{N-1})`. Rewards are float32. `marl_envs.game_theory.game_payoffs(name)`
returns the tables above in this form, and that module finds their equilibria.

Hand-worked example (`prisoners_dilemma`): from the start, actions (cooperate, defect) pay
player 0 `-3` and player 1 `0`; every player observes `[1, 0, 0, 1, 1]` (player 0's one-hot,
player 1's one-hot, step 1 of 1); the episode terminates.

## Observation
Every player observes the same vector: the previous joint action as one one-hot block of A
entries per player, in player order (all zeros at the first step), then the step number
divided by `episode_length` (0 at the first step, 1 at the last observation). For `two_step`
the last part is the state instead, one-hot over (1, 2A, 2B), all three zero once the episode
has ended.

## State
The observation vector.

## Episode end
Terminates after `episode_length` steps: the horizon is part of the observation, so its end is
a termination, not a truncation. Truncated after `max_cycles` steps if that comes first
(the default, 1000, never interferes with the default episode lengths).

## Arguments
- `game=None`: a name from the table (`prisoners_dilemma` when neither `game` nor `payoffs` is given).
- `payoffs=None`: a payoff array `[A] * N + [N]` for a game of your own; not together with `game`.
- `k=None`: the penalty game's penalty size, a number >= 0 (default 100); only with `game="penalty"`.
- `episode_length=None`: steps per episode (>= 1); default 1, and 2 for `two_step`, which
  allows no other length.
- `max_cycles=1000`: steps before truncation.

## Version history
- v0: initial release.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS, grid_image
from marl_envs.game_theory import MATRIX_GAMES, as_payoffs, game_payoffs, is_common_payoff, is_zero_sum, two_step_payoffs

__all__ = ["GAMES", "MatrixGameEnv"]

GAMES = (*MATRIX_GAMES, "two_step")
"""Every name ``game=`` accepts."""

_TWO_STEP_STATES = ("1", "2A", "2B", "end")


class MatrixGameEpisode(EpisodeState):
    """What changes during an episode of ``MatrixGameEnv``, per sub-env."""

    last_actions_one_hot: torch.Tensor
    """float32 ``[B, N * A]``: the previous joint action, one-hot per player (zeros at the start)."""
    stage: torch.Tensor | None
    """int64 ``[B]``: ``two_step`` only (None otherwise): the state, 0 (state 1), 1 (2A), 2 (2B) or 3 (the end)."""


class MatrixGameEnv(BatchedEnv):
    """Batched repeated matrix game; see the module documentation for the rules."""

    Episode = MatrixGameEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        game: str | None = None,
        payoffs: Any = None,
        k: float | None = None,
        episode_length: int | None = None,
        max_cycles: int = 1000,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        if payoffs is not None and game is not None:
            raise ValueError(f"give either game= (a named game) or payoffs= (a table of your own), not both; got game={game!r}")
        if payoffs is None and game is None:
            game = "prisoners_dilemma"
        if game is not None and (not isinstance(game, str) or game not in GAMES):
            raise ValueError(f"unknown game {game!r}; valid games: {', '.join(GAMES)}")
        if k is not None and game != "penalty":
            raise ValueError(f"k sizes the penalty game's penalty; it is only for game='penalty', got game={game!r}")
        self.two_step = game == "two_step"
        if episode_length is None:
            episode_length = 2 if self.two_step else 1
        self.episode_length = int_at_least("episode_length", episode_length, 1)
        if self.two_step and self.episode_length != 2:
            raise ValueError(f"two_step is a game of exactly 2 steps: episode_length must be 2 (or None), got {episode_length!r}")

        if self.two_step:
            stages = two_step_payoffs()  # [3 states, 2, 2, 2 players]
        elif game is not None:
            stages = game_payoffs(game, **({} if k is None else {"k": k}))[None]
        else:
            table = as_payoffs(payoffs)
            n, sizes = table.shape[-1], table.shape[:-1]
            if n < 2 or len(set(sizes)) != 1:
                raise ValueError(
                    "payoffs must have shape [A] * N + [N]: N >= 2 players with the same number A of actions, "
                    f"then N payoffs; got shape {list(table.shape)}"
                )
            stages = table[None]
        self.game = game if game is not None else "custom"
        n_players, n_actions = stages.shape[-1], stages.shape[1]
        self.n_actions = n_actions
        # The float64 payoff array: [A] * N + [N]; for two_step [3, 2, 2, 2] (states 1, 2A, 2B).
        self.payoffs = stages if self.two_step else stages[0]
        self.common_payoff = all(is_common_payoff(stage) for stage in stages)
        self.zero_sum = all(is_zero_sum(stage) for stage in stages)
        agents = [f"player_{i}" for i in range(n_players)]
        size = n_players * n_actions + (3 if self.two_step else 1)
        space = gymnasium.spaces.Box(0.0, 1.0, (size,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, space),
            action_spaces=dict.fromkeys(agents, gymnasium.spaces.Discrete(n_actions)),
            state_space=space,
        )
        dev = self.device
        joint_actions = n_actions**n_players
        self._joint_actions = joint_actions
        # Joint action (a_0, ..., a_{N-1}) is row sum(a_i * strides[i]) of the flat tables (C order).
        self._strides = torch.tensor([n_actions ** (n_players - 1 - i) for i in range(n_players)], device=dev)
        self._rewards = torch.as_tensor(stages.reshape(-1, n_players), dtype=torch.float32, device=dev)  # [stages * J, N]
        self._one_hot = torch.eye(n_actions, device=dev)
        if self.two_step:
            # Row stage * J + joint: the next state. State 1 goes to 2A (1) or 2B (2) by player 0's
            # action (the leading axis of the joint index); 2A and 2B go to the end (3).
            first = 1 + torch.arange(joint_actions, device=dev) // self._strides[0]
            self._next_stage = torch.cat((first, torch.full((2 * joint_actions,), 3, device=dev)))
            self._stage_one_hot = torch.eye(4, 3, device=dev)  # the end state: all zeros
        self.episode.stage = torch.zeros(self.num_envs, dtype=torch.int64, device=dev) if self.two_step else None
        self.episode.last_actions_one_hot = torch.zeros(self.num_envs, n_players * n_actions, device=dev)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        self.episode.last_actions_one_hot.index_fill_(0, env_ids, 0.0)
        if self.two_step:
            self.episode.stage.index_fill_(0, env_ids, 0)

    def step_envs(self, actions: torch.Tensor):
        # index_select rather than table[index]: the same at B=1, several times faster at large B.
        joint = (actions * self._strides).sum(-1)
        if self.two_step:
            joint = joint + self.episode.stage * self._joint_actions
            self.episode.stage = self._next_stage.index_select(0, joint)
        reward = self._rewards.index_select(0, joint)
        self.episode.last_actions_one_hot = self._one_hot.index_select(0, actions.reshape(-1)).view(self.num_envs, -1)
        # step_count is this step's index: the base class counts the step after step_envs returns.
        terminated = (self.step_count >= self.episode_length - 1)[:, None].expand(self.num_envs, self.n_agents)
        return reward, terminated, {}

    def _vector(self) -> torch.Tensor:
        if self.two_step:
            last = self._stage_one_hot.index_select(0, self.episode.stage)
        else:
            last = self.step_count[:, None] / self.episode_length
        return torch.cat((self.episode.last_actions_one_hot, last), -1)

    def observations(self) -> torch.Tensor:
        # A copy per agent (not an expanded view), so that one player's array never aliases another's.
        return self._vector()[:, None].expand(-1, self.n_agents, -1).contiguous()

    def global_state(self) -> torch.Tensor:
        return self._vector()

    # ------------------------------------------------------------------ rendering
    def _last_actions(self, env_index: int) -> list[int] | None:
        """The previous joint action of sub-env ``env_index``, or None at the first step."""
        one_hot = self.episode.last_actions_one_hot[env_index].view(self.n_agents, self.n_actions)
        return one_hot.argmax(-1).tolist() if bool(one_hot.any()) else None

    def render_rgb(self, env_index: int) -> np.ndarray:
        """One row per player, one column per action; each player's previous action is marked."""
        last = self._last_actions(env_index) or []
        marks = [(i, a, AGENT_COLOURS[i % len(AGENT_COLOURS)], "agent") for i, a in enumerate(last)]
        return grid_image(self.n_agents, self.n_actions, marks)

    def render_ansi(self, env_index: int) -> str:
        step = int(self.step_count[env_index])
        last = self._last_actions(env_index)
        lines = [f"{self.game}: step {step}/{self.episode_length}"]
        payoffs = self.payoffs
        if self.two_step:
            stage = int(self.episode.stage[env_index])
            lines.append(f"state {_TWO_STEP_STATES[stage]}")
            payoffs = self.payoffs[stage] if stage < 3 else None
        if last is not None:
            lines.append("last joint action: (" + ", ".join(map(str, last)) + ")")
        if self.n_agents == 2 and payoffs is not None:
            lines.append("payoffs (player_0, player_1); rows: player_0's action, columns: player_1's; [ ] last joint action")
            cells = [[f"{payoffs[r, c, 0]:g}, {payoffs[r, c, 1]:g}" for c in range(self.n_actions)] for r in range(self.n_actions)]
            width = max(len(cell) for row in cells for cell in row) + 2
            lines.append("    " + " ".join(f"{c:^{width}}" for c in range(self.n_actions)))
            previous = tuple(last) if last is not None and not self.two_step else None
            for r, row in enumerate(cells):
                shown = [f"[{cell}]" if (r, c) == previous else f"({cell})" for c, cell in enumerate(row)]
                lines.append(f"{r:>3} " + " ".join(f"{cell:^{width}}" for cell in shown))
        return "\n".join(lines) + "\n"
