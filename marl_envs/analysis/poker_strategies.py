"""Fixed poker strategies for ``poker_v0``: opponents that never learn, to train against and to measure by.

Each strategy maps a batch of observations ``[..., O]`` and legal actions ``[..., 4]`` to action
probabilities ``[..., 4]``, reading the observer's card and the board from the observation blocks
the env documents (:mod:`marl_envs.envs.poker`, "Observation")::

    strategy = FixedStrategy("hand_strength", PokerRules("leduc"))
    probabilities = strategy.probabilities(out.obs, out.action_mask)   # [B, N, 4]

The same probabilities serve the env (every seat of every hand at once) and the exact analysis
(a callable policy of :class:`marl_envs.poker_analysis.PokerGame`, from each information set's
``observation`` and ``legal_actions``).
"""

from __future__ import annotations

import torch

from marl_envs.envs.poker_rules import ACTIONS, CALL, CHECK, FOLD, RAISE, PokerRules

__all__ = ["FIXED_STRATEGIES", "FixedStrategy", "fixed_strategy_probabilities"]

FIXED_STRATEGIES = ("random", "always_call", "always_raise", "hand_strength")


def _card_rank(obs: torch.Tensor, rules: PokerRules) -> torch.Tensor:
    """``[...]`` int64: the observer's card rank (0 lowest)."""
    return obs[..., rules.n_players : rules.n_players + rules.ranks].argmax(-1)


def _board_rank(obs: torch.Tensor, rules: PokerRules) -> torch.Tensor:
    """``[...]`` int64: the board's rank once revealed, else -1 (and always -1 in Kuhn)."""
    if not rules.has_board:
        return torch.full(obs.shape[:-1], -1, dtype=torch.int64, device=obs.device)
    start = rules.n_players + rules.ranks
    board = obs[..., start : start + rules.ranks]
    return torch.where(board.sum(-1) > 0, board.argmax(-1), -1)


def _first_legal(mask: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    """``[...]``: the first action of ``order`` that ``mask [..., 4]`` allows (check for a seat not to act)."""
    choice = torch.full(mask.shape[:-1], CHECK, dtype=torch.int64, device=mask.device)
    for action in reversed(order):
        choice = torch.where(mask[..., action], action, choice)
    return choice


def fixed_strategy_probabilities(name: str, obs: torch.Tensor, action_mask: torch.Tensor, rules: PokerRules) -> torch.Tensor:
    """Probabilities ``[..., 4]`` of fixed strategy ``name`` at ``obs [..., O]`` with legal ``action_mask [..., 4]``.

    * ``random``: uniform over the legal actions;
    * ``always_call``: check, or call facing a bet (never folds, never raises);
    * ``always_raise``: raise while raising is legal, else call, else check;
    * ``hand_strength``: a pair with the board or the top rank raises (else calls); a card in the
      upper half of the ranks checks or calls; a lower card checks, and folds facing a bet.
    """
    if name == "random":
        legal = action_mask.float()
        return legal / legal.sum(-1, keepdim=True).clamp(min=1)
    if name == "always_call":
        choice = _first_legal(action_mask, (CHECK, CALL))
    elif name == "always_raise":
        choice = _first_legal(action_mask, (RAISE, CALL, CHECK))
    elif name == "hand_strength":
        rank, board = _card_rank(obs, rules), _board_rank(obs, rules)
        strong = (rank == board) | (rank == rules.ranks - 1)
        weak = ~strong & (rank < (rules.ranks - 1) / 2)
        choice = torch.where(
            strong,
            _first_legal(action_mask, (RAISE, CALL, CHECK)),
            torch.where(weak, _first_legal(action_mask, (CHECK, FOLD)), _first_legal(action_mask, (CHECK, CALL))),
        )
    else:
        raise ValueError(f"unknown fixed strategy {name!r}; choose from {', '.join(FIXED_STRATEGIES)}")
    # one-hot by comparison: F.one_hot would read the indices on the host (a sync on a device)
    return (choice[..., None] == torch.arange(len(ACTIONS), device=choice.device)).float()


class FixedStrategy:
    """Fixed strategy ``name`` (one of :data:`FIXED_STRATEGIES`) of the game ``rules``."""

    def __init__(self, name: str, rules: PokerRules):
        if name not in FIXED_STRATEGIES:
            raise ValueError(f"unknown fixed strategy {name!r}; choose from {', '.join(FIXED_STRATEGIES)}")
        self.name, self.rules = name, rules

    def __repr__(self) -> str:
        return f"FixedStrategy({self.name!r})"

    def probabilities(self, obs: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        """``[..., 4]``: the strategy's action probabilities at ``obs [..., O]`` with legal ``action_mask [..., 4]``."""
        return fixed_strategy_probabilities(self.name, obs, action_mask, self.rules)
