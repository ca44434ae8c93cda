"""Game-theory helpers for normal-form games, and the payoff tables of the named games.

A game of N players, player i having ``A_i`` actions, is one payoff array of shape
``[A_0, ..., A_{N-1}, N]``: ``payoffs[a_0, ..., a_{N-1}, i]`` is player i's payoff when the
players play the joint action ``(a_0, ..., a_{N-1})``. The tables of the named games are
written here once; ``matrix_game_v0`` reads them from :func:`game_payoffs`.

    >>> payoffs = game_payoffs("prisoners_dilemma")        # [2, 2, 2]; action 0 cooperate, 1 defect
    >>> pure_nash_equilibria(payoffs)
    [(1, 1)]
    >>> is_pareto_optimal(payoffs, (1, 1))                  # (cooperate, cooperate) pays both more
    False
    >>> best_response(payoffs, player=0, strategies=[None, [0.5, 0.5]]).best_actions
    (1,)
    >>> solve_zero_sum(game_payoffs("matching_pennies")).value
    0.0

These replace ``GameTheoryUtils`` of the foundations design note, with its bugs fixed: its
equilibrium search handled two players only (here: any N, vectorised over all joint
actions); its best response used JAX's ``.at[]`` on a NumPy array (here: the expected payoff
of every action against independent mixed strategies of the others, and every best action,
ties included); and it had no solver for mixed strategies (here: two-player zero-sum games by
linear programming, ``scipy.optimize.linprog``).

Payoff comparisons use a tolerance ``atol`` (default ``1e-9``): two payoffs closer than that
count as equal, so floating-point noise neither makes nor breaks an equilibrium.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "MATRIX_GAMES",
    "as_payoffs",
    "BestResponse",
    "ZeroSumEquilibrium",
    "best_response",
    "game_payoffs",
    "is_common_payoff",
    "is_pareto_optimal",
    "is_zero_sum",
    "pure_nash_equilibria",
    "solve_zero_sum",
    "two_step_payoffs",
]

MATRIX_GAMES = ("prisoners_dilemma", "coordination", "climbing", "penalty", "non_monotonic", "matching_pennies", "rock_paper_scissors")
"""The named normal-form games of :func:`game_payoffs` (``two_step`` is not one: see :func:`two_step_payoffs`)."""

_ATOL = 1e-9


def _both(matrix) -> np.ndarray:
    """A common-payoff game: both players receive ``matrix``."""
    matrix = np.asarray(matrix, np.float64)
    return np.stack((matrix, matrix), -1)


def _zero_sum(matrix) -> np.ndarray:
    """A zero-sum game: player 0 receives ``matrix``, player 1 its negative."""
    matrix = np.asarray(matrix, np.float64)
    return np.stack((matrix, -matrix), -1)


def game_payoffs(name: str, k: float = 100) -> np.ndarray:
    """The payoff array ``[A, A, 2]`` (float64) of a named two-player game; rows are player 0's actions.

    ``k`` is the size of the penalty of ``"penalty"`` (its miscoordination payoff is ``-k``);
    other games ignore it. A new array is returned at every call.
    """
    if name == "prisoners_dilemma":  # action 0 cooperate, 1 defect
        return np.stack((np.array([[-1.0, -3.0], [0.0, -2.0]]), np.array([[-1.0, 0.0], [-3.0, -2.0]])), -1)
    if name == "coordination":
        return _both([[2, 0], [0, 1]])
    if name == "climbing":
        return _both([[11, -30, 0], [-30, 7, 0], [0, 6, 5]])
    if name == "penalty":
        k = _penalty_size(k)
        return _both([[-k, 0, 10], [0, 2, 0], [10, 0, -k]])
    if name == "non_monotonic":
        return _both([[8, -12, -12], [-12, 0, 0], [-12, 0, 0]])
    if name == "matching_pennies":  # player 0 wins when the coins match
        return _zero_sum([[1, -1], [-1, 1]])
    if name == "rock_paper_scissors":  # action 0 rock, 1 paper, 2 scissors
        return _zero_sum([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    if name == "two_step":
        raise ValueError("'two_step' is a two-stage game, not a normal-form one: use two_step_payoffs()")
    raise ValueError(f"unknown game {name!r}; named games: {', '.join(MATRIX_GAMES)}")


def two_step_payoffs() -> np.ndarray:
    """Stage payoffs of the two-step game of the QMIX paper (Rashid et al. 2018), ``[3, 2, 2, 2]``.

    ``[s, a_0, a_1, i]``: player i's payoff for joint action ``(a_0, a_1)`` in state ``s``:
    0 is state 1 (pays 0; player 0's action 0 leads to 2A, action 1 to 2B), 1 is state 2A
    (pays 7 whatever the actions), 2 is state 2B (pays ``[[0, 1], [1, 8]]``). Both players
    receive the same payoff.
    """
    return np.stack((_both(np.zeros((2, 2))), _both(np.full((2, 2), 7.0)), _both([[0, 1], [1, 8]])))


def _penalty_size(k: Any) -> float:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, float, np.integer, np.floating)) or not np.isfinite(k) or k < 0:
        raise ValueError(f"k (the penalty game's penalty; payoff -k) must be a finite number >= 0, got {k!r}")
    return float(k)


# ---------------------------------------------------------------- checks
def _float_array(payoffs: Any) -> np.ndarray:
    if hasattr(payoffs, "detach"):  # a torch tensor, maybe on a GPU
        payoffs = payoffs.detach().cpu().numpy()
    try:
        return np.array(payoffs, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"payoffs must be a numeric array, got {payoffs!r} ({error})") from None


def as_payoffs(payoffs: Any) -> np.ndarray:
    """``payoffs`` (array, nested lists or tensor) as a new float64 array ``[A_0, ..., A_{N-1}, N]``.

    Raises a ValueError saying what is wrong when it is not one.
    """
    array = _float_array(payoffs)
    if array.ndim < 2 or array.shape[-1] != array.ndim - 1 or 0 in array.shape:
        raise ValueError(
            "payoffs must have shape [A_0, ..., A_{N-1}, N]: one axis per player (its number of actions, >= 1), "
            f"then N payoffs; got shape {list(array.shape)}"
        )
    if not np.isfinite(array).all():
        raise ValueError("payoffs must be finite numbers")
    return array


def _as_profile(profile: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A joint pure action: one valid action index per player."""
    try:
        values = [int(a) for a in profile]
        exact = all(int(a) == a for a in profile)
    except (TypeError, ValueError):
        raise ValueError(f"profile must be a sequence of {len(shape)} action indices, got {profile!r}") from None
    if not exact or len(values) != len(shape) or not all(0 <= a < n for a, n in zip(values, shape)):
        ranges = ", ".join(f"[0, {n})" for n in shape)
        raise ValueError(f"profile must hold {len(shape)} action indices in {ranges} (one per player), got {profile!r}")
    return tuple(values)


def _as_strategy(strategy: Any, size: int, who: str) -> np.ndarray:
    """A mixed strategy: ``size`` probabilities >= 0 that sum to 1."""
    try:
        vector = np.asarray(strategy, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{who}'s strategy must be {size} probabilities, got {strategy!r}") from None
    if vector.shape != (size,) or not np.isfinite(vector).all() or (vector < 0).any() or abs(vector.sum() - 1.0) > 1e-6:
        raise ValueError(f"{who}'s strategy must be {size} probabilities >= 0 summing to 1, got {strategy!r}")
    return vector


# ---------------------------------------------------------------- kinds of games
def is_common_payoff(payoffs: Any, atol: float = _ATOL) -> bool:
    """Every player receives the same payoff at every joint action (a fully cooperative game)."""
    array = as_payoffs(payoffs)
    return bool(np.all(np.abs(array - array[..., :1]) <= atol))


def is_zero_sum(payoffs: Any, atol: float = _ATOL) -> bool:
    """The players' payoffs sum to zero at every joint action (a fully competitive game)."""
    return bool(np.all(np.abs(as_payoffs(payoffs).sum(-1)) <= atol))


# ---------------------------------------------------------------- pure strategies
def pure_nash_equilibria(payoffs: Any, atol: float = _ATOL) -> list[tuple[int, ...]]:
    """Every pure Nash equilibrium of an N-player game, as joint actions in lexicographic order.

    A joint action is an equilibrium when no player can raise its own payoff by changing only
    its own action: ``payoffs[a, i] >= max over a_i' of payoffs[a with a_i', i]`` for every i.
    """
    array = as_payoffs(payoffs)
    n_players = array.shape[-1]
    stable = np.ones(array.shape[:-1], dtype=bool)
    for i in range(n_players):
        own = array[..., i]
        stable &= own >= own.max(axis=i, keepdims=True) - atol
    return [tuple(int(a) for a in profile) for profile in np.argwhere(stable)]


def is_pareto_optimal(payoffs: Any, profile: Sequence[int], atol: float = _ATOL) -> bool:
    """No joint action gives every player at least as much as ``profile`` and one player more."""
    array = as_payoffs(payoffs)
    current = array[_as_profile(profile, array.shape[:-1])]
    outcomes = array.reshape(-1, array.shape[-1])
    dominates = (outcomes >= current - atol).all(-1) & (outcomes > current + atol).any(-1)
    return not bool(dominates.any())


# ---------------------------------------------------------------- mixed strategies
class BestResponse(NamedTuple):
    """What :func:`best_response` returns."""

    expected_payoffs: np.ndarray
    """float64 ``[A_player]``: the player's expected payoff for each of its actions."""
    best_actions: tuple[int, ...]
    """Every action whose expected payoff is the largest (within ``atol``), in increasing order."""


def best_response(payoffs: Any, player: int, strategies: Sequence[Any], atol: float = _ATOL) -> BestResponse:
    """Best response of ``player`` to independent mixed strategies of the other players.

    ``strategies``: either one strategy per player, where ``player``'s own entry must be None,
    or the N-1 other players' strategies in player order. A strategy is a probability vector
    over the player's actions (a pure action ``a`` is the one-hot vector at ``a``).

    Any probability mixture of ``best_actions`` is a best response too.
    """
    array = as_payoffs(payoffs)
    shape, n_players = array.shape[:-1], array.shape[-1]
    if isinstance(player, (bool, np.bool_)) or not isinstance(player, (int, np.integer)) or not 0 <= player < n_players:
        raise ValueError(f"player must be an integer in [0, {n_players}), got {player!r}")
    strategies = list(strategies)
    if len(strategies) == n_players:
        if strategies[player] is not None:
            raise ValueError(
                f"with one strategy per player, the entry of player {player} (the one responding) must be None, got {strategies[player]!r}"
            )
        strategies = strategies[:player] + strategies[player + 1 :]
    elif len(strategies) != n_players - 1:
        raise ValueError(
            f"strategies must hold the other {n_players - 1} players' strategies, or {n_players} entries with None "
            f"at position {player}; got {len(strategies)} entries"
        )
    others = [j for j in range(n_players) if j != player]
    vectors = [_as_strategy(s, shape[j], f"player {j}") for j, s in zip(others, strategies)]
    # Player's own axis first, then contract the others' axes one at a time (axis 1 each time).
    expected = np.moveaxis(array[..., player], player, 0)
    for vector in vectors:
        expected = np.tensordot(expected, vector, axes=([1], [0]))
    best = tuple(int(a) for a in np.flatnonzero(expected >= expected.max() - atol))
    return BestResponse(expected, best)


class ZeroSumEquilibrium(NamedTuple):
    """What :func:`solve_zero_sum` returns."""

    strategies: tuple[np.ndarray, np.ndarray]
    """Maximin mixed strategies of player 0 (rows) and player 1 (columns), float64."""
    value: float
    """Player 0's expected payoff at the equilibrium (player 1 receives ``-value``)."""


def solve_zero_sum(payoffs: Any) -> ZeroSumEquilibrium:
    """A mixed Nash equilibrium and the value of a two-player zero-sum game, by linear programming.

    ``payoffs``: a zero-sum payoff array ``[A_0, A_1, 2]``, or player 0's payoff matrix
    ``[A_0, A_1]`` (player 1 receives its negative). Player 0 maximises ``v`` subject to
    ``x @ M[:, j] >= v`` for every column j; player 1 minimises ``w`` subject to
    ``M[i, :] @ y <= w`` for every row i. By the minimax theorem ``v = w`` is the game's value.
    Where the equilibrium is not unique, one of them is returned.
    """
    from scipy.optimize import linprog  # imported here: the rest of the module needs only NumPy

    array = _float_array(payoffs)
    if array.ndim == 2:  # player 0's payoff matrix
        if 0 in array.shape or not np.isfinite(array).all():
            raise ValueError(f"the payoff matrix must be non-empty and finite, got shape {list(array.shape)}")
        matrix = array
    else:
        array = as_payoffs(array)
        if array.shape[-1] != 2:
            raise ValueError(f"solve_zero_sum needs a two-player game, [A_0, A_1, 2] or [A_0, A_1]; got shape {list(array.shape)}")
        if not is_zero_sum(array):
            raise ValueError("solve_zero_sum needs a zero-sum game: payoffs[..., 0] + payoffs[..., 1] must be 0 everywhere")
        matrix = array[..., 0]

    def maximin(m: np.ndarray) -> tuple[np.ndarray, float]:
        """The strategy x maximising min_j x @ m[:, j], and that minimum. Variables: (x, v)."""
        rows, columns = m.shape
        objective = np.zeros(rows + 1)
        objective[-1] = -1.0  # maximise v
        constraints = np.hstack((-m.T, np.ones((columns, 1))))  # v - x @ m[:, j] <= 0
        total = np.append(np.ones(rows), 0.0)[None]
        bounds = [(0.0, None)] * rows + [(None, None)]
        result = linprog(objective, A_ub=constraints, b_ub=np.zeros(columns), A_eq=total, b_eq=[1.0], bounds=bounds, method="highs")
        if result.status != 0:
            raise RuntimeError(f"linear program failed: {result.message}")
        strategy = np.clip(result.x[:rows], 0.0, None)
        return strategy / strategy.sum(), float(result.x[-1])

    row_strategy, value = maximin(matrix)
    column_strategy, _ = maximin(-matrix.T)  # player 1 maximises its own payoff -M
    return ZeroSumEquilibrium((row_strategy, column_strategy), value + 0.0)  # + 0.0 turns -0.0 into 0.0
