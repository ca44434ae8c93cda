"""The rules of Kuhn poker and Leduc hold'em in plain Python: one hand's betting tree and what a seat observes.

``poker_v0`` (:mod:`marl_envs.envs.poker`, whose docstring states the rules) turns them into lookup
tables, and :mod:`marl_envs.poker_analysis` builds the exact game tree from them, so the env and
the exact analysis cannot disagree about a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from marl_envs.core.checks import int_at_least

__all__ = [
    "ACTIONS",
    "BettingState",
    "CALL",
    "CHECK",
    "FOLD",
    "PokerRules",
    "RAISE",
    "VARIANTS",
    "apply_action",
    "betting_tree",
    "initial_state",
    "legal_actions",
    "observation_vector",
    "public_features",
]

VARIANTS = ("kuhn", "leduc")
ACTIONS = ("fold", "check", "call", "raise")
FOLD, CHECK, CALL, RAISE = range(4)
MAX_PLAYERS = {"kuhn": 10, "leduc": 4}
_RANK_NAMES = "23456789TJQKA"
_SUIT_NAMES = "sh"


@dataclass(frozen=True)
class PokerRules:
    """The fixed parameters of a game: its variant, players and deck. Checked on construction."""

    variant: str = "leduc"
    n_players: int = 2
    ranks: int | None = None
    count_name: str = field(default="n_players", compare=False, repr=False)
    """The argument that gave ``n_players``, named in errors (``PokerEnv`` counts its players as ``n_agents``)."""

    def __post_init__(self):
        if not isinstance(self.variant, str) or self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; valid variants: {', '.join(VARIANTS)}")
        n = int_at_least(self.count_name, self.n_players, 2)
        if n > MAX_PLAYERS[self.variant]:
            raise ValueError(
                f"{self.count_name} must be at most {MAX_PLAYERS[self.variant]} for {self.variant} (the env precomputes the "
                f"hand's betting tree, which grows exponentially with the players), got {n}"
            )
        ranks = n + 1 if self.ranks is None else int_at_least("ranks", self.ranks, 1)
        if ranks > len(_RANK_NAMES):
            raise ValueError(f"ranks must be at most {len(_RANK_NAMES)} (2 to A), got {ranks}")
        object.__setattr__(self, "n_players", n)
        object.__setattr__(self, "ranks", ranks)
        if self.cards_dealt > self.deck_size:
            needed = "one card per player" + (" and the board" if self.variant == "leduc" else "")
            raise ValueError(
                f"too many players for the deck: {self.variant} with ranks={ranks} has {self.deck_size} cards, "
                f"but {self.count_name}={n} needs {self.cards_dealt} ({needed})"
            )

    @property
    def rounds(self) -> int:
        return 1 if self.variant == "kuhn" else 2

    @property
    def raise_sizes(self) -> tuple[int, ...]:
        """Chips a raise adds above the amount to call, per round."""
        return (1,) if self.variant == "kuhn" else (2, 4)

    @property
    def max_raises(self) -> int:
        """Raises allowed per round (a bet counts as the first)."""
        return 1 if self.variant == "kuhn" else 2

    @property
    def ante(self) -> int:
        return 1

    @property
    def suits(self) -> int:
        return 1 if self.variant == "kuhn" else 2

    @property
    def deck_size(self) -> int:
        return self.suits * self.ranks

    @property
    def has_board(self) -> bool:
        return self.variant == "leduc"

    @property
    def cards_dealt(self) -> int:
        """Private cards, then the board (Leduc)."""
        return self.n_players + int(self.has_board)

    @property
    def max_contribution(self) -> int:
        """The most chips one player can put into a hand (Kuhn 2, Leduc 13)."""
        return self.ante + self.max_raises * sum(self.raise_sizes)

    @property
    def history_slots(self) -> int:
        """The most actions a betting round can hold: ``N + max_raises * (N - 1)``."""
        return self.n_players + self.max_raises * (self.n_players - 1)

    @property
    def public_size(self) -> int:
        n = self.n_players
        return self.rounds + 3 * n + 1 + self.rounds * self.history_slots * len(ACTIONS)

    def observation_size(self, hands: int = 1) -> int:
        return self.n_players + self.ranks * (1 + int(self.has_board)) + self.public_size + int(hands > 1)

    def state_size(self, hands: int = 1) -> int:
        return self.n_players * self.ranks + self.ranks * int(self.has_board) + self.public_size + int(hands > 1)

    def rank_names(self) -> str:
        """One letter per rank, lowest first: J, Q, K for three ranks (the ace only from four ranks on)."""
        top = len(_RANK_NAMES) - (1 if self.ranks <= 3 else 0)
        return _RANK_NAMES[top - self.ranks : top]

    def rank(self, card: int) -> int:
        """Card ids are ``suit * ranks + rank``."""
        return card % self.ranks

    def card_name(self, card: int, suit: bool = True) -> str:
        name = self.rank_names()[self.rank(card)]
        return name + _SUIT_NAMES[card // self.ranks] if suit and self.suits > 1 else name

    def card_id(self, name: str) -> int:
        """``"K"`` (Kuhn) or ``"Kh"`` (Leduc; suits s and h) -> the card's id."""
        names, width = self.rank_names(), 1 + int(self.suits > 1)
        valid = isinstance(name, str) and len(name) == width and name[0] in names
        if not valid or (width == 2 and name[1] not in _SUIT_NAMES[: self.suits]):
            example = names[-1] + ("h" if width == 2 else "")
            suits = f", suits {_SUIT_NAMES[: self.suits]}" if width == 2 else ""
            raise ValueError(f"a {self.variant} card is written like {example!r} (ranks {names}{suits}), got {name!r}")
        suit = _SUIT_NAMES.index(name[1]) if width == 2 else 0
        return suit * self.ranks + names.index(name[0])

    def strength(self, rank: int, board_rank: int | None) -> int:
        """Showdown strength: Leduc pairs with the board rank above every non-pair, then by rank."""
        return rank + self.ranks if board_rank is not None and rank == board_rank else rank


class BettingState(NamedTuple):
    """The public state of a hand: everything but the cards."""

    round: int
    contributions: tuple[int, ...]
    folded: tuple[bool, ...]
    waiting: tuple[bool, ...]
    """Players who still have to act in this round."""
    to_act: int
    """The seat to act, -1 once the hand is over."""
    raises: int
    """Raises made in this round."""
    history: tuple[tuple[int, ...], ...]
    """The actions taken so far, one tuple per round started."""

    @property
    def terminal(self) -> bool:
        return self.to_act < 0

    @property
    def showdown(self) -> bool:
        return self.terminal and self.folded.count(False) > 1

    @property
    def pot(self) -> int:
        return sum(self.contributions)


def initial_state(rules: PokerRules) -> BettingState:
    n = rules.n_players
    return BettingState(0, (rules.ante,) * n, (False,) * n, (True,) * n, 0, 0, ((),))


def legal_actions(rules: PokerRules, state: BettingState) -> tuple[int, ...]:
    """The legal actions of the player to act (empty once the hand is over)."""
    if state.terminal:
        return ()
    facing = state.contributions[state.to_act] < max(state.contributions)
    actions = (FOLD, CALL) if facing else (CHECK,)
    return actions + ((RAISE,) if state.raises < rules.max_raises else ())


def apply_action(rules: PokerRules, state: BettingState, action: int) -> BettingState:
    """The state after the player to act takes the legal ``action``."""
    if action not in legal_actions(rules, state):
        raise ValueError(f"action {action} is illegal at {state}; legal: {legal_actions(rules, state)}")
    n, p = rules.n_players, state.to_act
    contributions, folded, waiting = list(state.contributions), list(state.folded), list(state.waiting)
    level, raises = max(contributions), state.raises
    if action == FOLD:
        folded[p] = True
    elif action == CALL:
        contributions[p] = level
    elif action == RAISE:
        contributions[p] = level + rules.raise_sizes[state.round]
        raises += 1
        waiting = [not f for f in folded]  # everyone still in must answer the raise
    waiting[p] = False
    history = (*state.history[:-1], (*state.history[-1], action))
    in_hand = [i for i in range(n) if not folded[i]]
    done = (tuple(contributions), tuple(folded))
    if len(in_hand) == 1:
        return BettingState(state.round, *done, (False,) * n, -1, raises, history)
    if not any(waiting):
        if state.round + 1 == rules.rounds:
            return BettingState(state.round, *done, (False,) * n, -1, raises, history)
        waiting = [not f for f in folded]
        return BettingState(state.round + 1, *done, tuple(waiting), in_hand[0], 0, (*history, ()))
    nxt = next((p + k) % n for k in range(1, n + 1) if waiting[(p + k) % n])
    return BettingState(state.round, *done, tuple(waiting), nxt, raises, history)


def betting_tree(rules: PokerRules) -> tuple[list[BettingState], list[dict[int, int]]]:
    """Every public state of a hand in breadth-first order (the root is 0), and each one's children by action."""
    states, children = [initial_state(rules)], []
    for state in states:  # grows while it is walked
        kids = {}
        for action in legal_actions(rules, state):
            kids[action] = len(states)
            states.append(apply_action(rules, state, action))
        children.append(kids)
    return states, children


def public_features(rules: PokerRules, state: BettingState) -> np.ndarray:
    """The public blocks of the observation: round, turn, pot, contributions, folded, history."""
    n, slots, cap = rules.n_players, rules.history_slots, rules.max_contribution
    round_one_hot = np.eye(rules.rounds, dtype=np.float32)[state.round]
    turn = np.zeros(n, np.float32)
    if not state.terminal:
        turn[state.to_act] = 1
    history = np.zeros((rules.rounds, slots, len(ACTIONS)), np.float32)
    for r, actions in enumerate(state.history):
        if len(actions) > slots:
            raise AssertionError(f"round {r} holds {len(actions)} actions, more than the {slots} slots")
        history[r, np.arange(len(actions)), list(actions)] = 1
    return np.concatenate(
        (
            round_one_hot,
            turn,
            [state.pot / (n * cap)],
            np.asarray(state.contributions, np.float32) / cap,
            np.asarray(state.folded, np.float32),
            history.ravel(),
        )
    ).astype(np.float32)


def observation_vector(
    rules: PokerRules, state: BettingState, seat: int, rank: int, board_rank: int | None, hand_fraction: float | None = None
) -> np.ndarray:
    """What ``seat``, holding ``rank``, observes at ``state`` (``board_rank``: the board's rank, shown from round 2 on).

    ``hand_fraction`` (hands completed / hands) is appended for matches of several hands.
    """
    parts = [np.eye(rules.n_players, dtype=np.float32)[seat], np.eye(rules.ranks, dtype=np.float32)[rank]]
    if rules.has_board:
        board = np.zeros(rules.ranks, np.float32)
        if state.round >= 1 and board_rank is not None:
            board[board_rank] = 1
        parts.append(board)
    parts.append(public_features(rules, state))
    if hand_fraction is not None:
        parts.append(np.array([hand_fraction], np.float32))
    return np.concatenate(parts)
