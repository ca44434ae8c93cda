"""Exact analysis of Kuhn poker and Leduc hold'em: information sets, best responses, exploitability.

The game tree is built from the rule functions of ``poker_v0`` (:mod:`marl_envs.envs.poker_rules`:
``betting_tree`` gives the public betting tree, ``PokerRules.strength`` the showdown), times
every deal of the cards, each equally likely. Values are exact expectations (no sampling).

    >>> game = PokerGame("kuhn")
    >>> len(game.information_sets)                 # 6 per player
    12
    >>> policy = kuhn_equilibrium(alpha=0.2)        # {"J:": [0, 0.8, 0, 0.2], ...}
    >>> game.expected_values(policy)                # the game value: [-1/18, 1/18]
    array([-0.05555556,  0.05555556])
    >>> game.exploitability(policy) < 1e-12
    True

Information sets. Player ``p``'s information set is its own card, the board once revealed, and
the betting so far, written ``"<card><board>:<round 1>/<round 2>"`` with one letter per action:
``f`` fold, ``k`` check, ``c`` call, ``r`` raise. Examples: ``"K:"`` (first to act, holding a
king), ``"J:kr"`` (holding a jack, after check, raise), ``"QK:rc/k"`` (Leduc: a queen, board
king, round 1 raise-call, round 2 check). Suits never change a payoff, so by default cards are
named by rank only; ``suits=True`` names them with their suit (``"Qh"``), the form of
OpenSpiel's ``leduc_poker``. 2-player Leduc has 288 information sets by rank (144 per player,
as in Kroer's sequence-form solvers: 337 sequences each) and 936 with suits (468 per player);
2-player Kuhn has 12 (6 per player).

Policies. A tabular policy gives, at every information set, probabilities over the four
actions (0 fold, 1 check, 2 call, 3 raise), zero on illegal ones. Any of:
- a dict ``{key: probabilities}`` with every information set's key;
- an array ``[len(information_sets), 4]`` in the order of ``game.information_sets``;
- a callable ``policy(info_set) -> probabilities``, queried once per information set (an
  :class:`InfoSet`; its ``observation`` is what ``poker_v0`` shows that player there, so a
  policy network trained on the env can be evaluated exactly).
``probabilities``: a sequence of 4 numbers, or a mapping ``{action: probability}`` (action an
int or a name such as ``"raise"``; missing actions have probability 0).

Best responses and exploitability. ``best_response_values(policy)[i]`` is what player i gains
by its best response to the others' parts of ``policy``; ``nash_conv`` sums the gains over
expected values, ``sum_i (best_response_values[i] - expected_values[i])``, and
``exploitability`` is ``nash_conv / n_players`` (NashConv / 2 for two players, the usual
figure). A Nash equilibrium has exploitability 0. ``solve()`` (two players) finds one exactly
by the sequence-form linear program (Koller, Megiddo and von Stengel 1996), with
``scipy.optimize.linprog``.

Recurrent policies. A network that acts on the env's observation sequences is evaluated exactly
through :class:`InfoSetInputs` (``infoset_inputs(variant, n_players, ranks)``, cached): the inputs
the env showed on the way to every information set, and ``policy_table(policy, device)``, the
network's probabilities there as a policy array. The network is a plain callable on tensors,
so this module needs no learning library.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import torch

from marl_envs.envs.poker_rules import ACTIONS, BettingState, PokerRules, betting_tree, observation_vector

__all__ = [
    "ACTION_LETTERS",
    "BestResponse",
    "Equilibrium",
    "InfoSet",
    "InfoSetInputs",
    "PokerGame",
    "best_response_values",
    "expected_values",
    "exploitability",
    "game",
    "information_sets",
    "infoset_inputs",
    "kuhn_equilibrium",
    "nash_conv",
]

ACTION_LETTERS = "fkcr"
"""One letter per action in information-set keys: fold, check (k), call, raise."""

_MAX_SIZE = 20_000_000  # betting-tree nodes x deals held in memory


class InfoSet(NamedTuple):
    """One information set of one player."""

    index: int
    """Its row in policy arrays."""
    key: str
    player: int
    legal_actions: tuple[int, ...]
    card: str
    board: str | None
    """The board card once revealed (Leduc, round 2), else None."""
    history: str
    node: int
    """Its node of the public betting tree (``PokerEnv.states[node]``)."""
    observation: np.ndarray
    """What ``poker_v0`` (``hands=1``) shows ``player`` at this information set."""


class BestResponse(NamedTuple):
    value: float
    """The best responder's expected payoff."""
    policy: np.ndarray
    """``[len(information_sets), 4]``: the input policy with the responder's rows replaced by a pure best response."""


class Equilibrium(NamedTuple):
    value: float
    """The first player's expected payoff at equilibrium (the game value)."""
    policy: np.ndarray
    """``[len(information_sets), 4]``: a Nash equilibrium."""


def history_string(state: BettingState) -> str:
    return "/".join("".join(ACTION_LETTERS[a] for a in actions) for actions in state.history)


class PokerGame:
    """The exact game tree of ``poker_v0`` for ``variant``, ``n_players`` and ``ranks`` (every deal, every betting sequence).

    ``suits=True`` distinguishes cards of the same rank in information sets (see the module doc).
    """

    def __init__(self, variant: str = "leduc", n_players: int = 2, ranks: int | None = None, suits: bool = False):
        self.rules = rules = PokerRules(variant, n_players, ranks)
        self.suits = bool(suits)
        self.n_players = n = rules.n_players
        self.states, self.children = betting_tree(rules)
        self.deals = np.array(list(itertools.permutations(range(rules.deck_size), rules.cards_dealt)), np.int64)
        """``[D, N (+1)]``: every deal of card ids (the players' cards, then the board), equally likely."""
        D = len(self.deals)
        if D * len(self.states) > _MAX_SIZE:
            raise ValueError(
                f"{variant} with {n} players and {rules.ranks} ranks has {len(self.states)} betting sequences x {D} deals, "
                f"too many to enumerate exactly (at most {_MAX_SIZE:,})"
            )
        ranks_dealt = self.deals % rules.ranks
        board = ranks_dealt[:, n] if rules.has_board else None
        strength = np.array(
            [[rules.strength(int(r), None if board is None else int(board[d])) for r in ranks_dealt[d, :n]] for d in range(D)]
        )

        self.payoffs: dict[int, np.ndarray] = {}
        """``{terminal node: [N, D]}``: each player's chips won or lost, per deal."""
        for u, state in enumerate(self.states):
            if state.terminal:
                contributions = np.asarray(state.contributions, np.float64)[:, None]
                contenders = ~np.asarray(state.folded)
                best = np.where(contenders, strength, -1).max(1, keepdims=True)
                winners = (strength == best) & contenders
                self.payoffs[u] = (winners * (state.pot / winners.sum(1, keepdims=True))).T - contributions

        # Information sets, in tree order; within a node ordered by card (then board).
        names = [rules.card_name(c, suit=self.suits) for c in range(rules.deck_size)]
        identity = self.deals if self.suits else ranks_dealt  # what a player can tell cards by
        self.information_sets: list[InfoSet] = []
        self.infoset_at: dict[int, np.ndarray] = {}
        """``{decision node: [D]}``: the information set of the player to act, per deal."""
        self._local: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for u, state in enumerate(self.states):
            if state.terminal:
                continue
            p, revealed = state.to_act, rules.has_board and state.round >= 1
            seen = identity[:, [p, n]] if revealed else identity[:, [p]]
            views, inverse = np.unique(seen, axis=0, return_inverse=True)
            first = np.array([int(np.flatnonzero(inverse.ravel() == k)[0]) for k in range(len(views))])
            legal = tuple(self.children[u])
            indices = []
            for k, d in enumerate(first):
                card = names[self.deals[d, p]]
                board_name = names[self.deals[d, n]] if revealed else None
                history = history_string(state)
                index = len(self.information_sets)
                observation = observation_vector(rules, state, p, int(ranks_dealt[d, p]), int(board[d]) if revealed else None)
                key = f"{card}{board_name or ''}:{history}"
                self.information_sets.append(InfoSet(index, key, p, legal, card, board_name, history, u, observation))
                indices.append(index)
            indices = np.asarray(indices)
            self.infoset_at[u] = indices[inverse.ravel()]
            self._local[u] = (indices, inverse.ravel())
        self.index = {s.key: s.index for s in self.information_sets}
        """``{key: row}`` of the information sets."""
        if len(self.index) != len(self.information_sets):
            raise AssertionError("information-set keys must be unique")

    def __repr__(self) -> str:
        return f"PokerGame({self.rules.variant!r}, n_players={self.n_players}, ranks={self.rules.ranks}, suits={self.suits})"

    # ------------------------------------------------------------------ policies
    def uniform_policy(self) -> np.ndarray:
        """Uniform over the legal actions at every information set: ``[len(information_sets), 4]``."""
        table = np.zeros((len(self.information_sets), len(ACTIONS)))
        for s in self.information_sets:
            table[s.index, list(s.legal_actions)] = 1 / len(s.legal_actions)
        return table

    def policy_array(self, policy: Any) -> np.ndarray:
        """``policy`` (dict, array or callable; see the module doc) as a checked float64 array ``[I, 4]``."""
        I, A = len(self.information_sets), len(ACTIONS)
        if callable(policy):
            rows = [_probabilities(policy(s), s) for s in self.information_sets]
        elif isinstance(policy, Mapping):
            unknown = [k for k in policy if k not in self.index]
            if unknown:
                raise ValueError(f"unknown information set(s) {unknown[:5]}; keys look like {self.information_sets[-1].key!r} ({self!r})")
            missing = [s.key for s in self.information_sets if s.key not in policy]
            if missing:
                raise ValueError(f"the policy has no entry for {len(missing)} of the {I} information sets, e.g. {missing[:5]}")
            rows = [_probabilities(policy[s.key], s) for s in self.information_sets]
        else:
            array = np.asarray(policy.detach().cpu() if hasattr(policy, "detach") else policy, dtype=np.float64)
            if array.shape != (I, A):
                raise ValueError(f"a policy array must have shape [{I}, {A}] (information sets, actions), got {list(array.shape)}")
            rows = [_probabilities(array[s.index], s) for s in self.information_sets]
        return np.stack(rows)

    # ------------------------------------------------------------------ values
    def _reach(self, table: np.ndarray) -> list[np.ndarray]:
        """Per node, ``[N, D]``: each player's own probability of its actions on the way there."""
        reach = [np.ones((self.n_players, len(self.deals)))]
        for u, state in enumerate(self.states):
            for action, child in self.children[u].items():
                r = reach[u].copy()
                r[state.to_act] *= table[self.infoset_at[u], action]
                reach.append(r)  # children are numbered in breadth-first order: child == len(reach)
                assert child == len(reach) - 1
        return reach

    def expected_values(self, policy: Any) -> np.ndarray:
        """``[N]``: each player's expected chips when everyone plays ``policy``."""
        table = self.policy_array(policy)
        reach = self._reach(table)
        total = np.zeros(self.n_players)
        for u, payoff in self.payoffs.items():
            total += (payoff * reach[u].prod(0)).mean(1)
        return total

    def best_response(self, policy: Any, player: int) -> BestResponse:
        """A pure best response of ``player`` to the other players' parts of ``policy``, and its value."""
        if not 0 <= player < self.n_players:
            raise ValueError(f"player must lie in [0, {self.n_players}), got {player}")
        table = self.policy_array(policy)
        reach = self._reach(table)
        others = np.arange(self.n_players) != player
        response = table.copy()
        values: dict[int, np.ndarray] = {}
        for u in reversed(range(len(self.states))):
            state = self.states[u]
            if state.terminal:
                values[u] = self.payoffs[u][player]
                continue
            kids = self.children[u]
            if state.to_act != player:
                rows = table[self.infoset_at[u]]
                values[u] = sum(rows[:, a] * values[child] for a, child in kids.items())
                continue
            indices, local = self._local[u]
            weight = reach[u][others].prod(0)  # the others' (and chance's, uniform) probability of reaching u
            actions = list(kids)
            scores = np.stack([np.bincount(local, weight * values[kids[a]], len(indices)) for a in actions], 1)
            best = scores.argmax(1)  # ties: the first legal action
            response[indices] = 0
            response[indices, np.asarray(actions)[best]] = 1
            chosen = best[local]
            stacked = np.stack([values[kids[a]] for a in actions])
            values[u] = stacked[chosen, np.arange(len(self.deals))]
        return BestResponse(float(values[0].mean()), response)

    def best_response_values(self, policy: Any) -> np.ndarray:
        """``[N]``: player i's best-response value against the others' parts of ``policy``."""
        table = self.policy_array(policy)
        return np.array([self.best_response(table, i).value for i in range(self.n_players)])

    def nash_conv(self, policy: Any) -> float:
        """``sum_i (best-response value_i - value_i)``: 0 exactly at a Nash equilibrium."""
        table = self.policy_array(policy)
        return float((self.best_response_values(table) - self.expected_values(table)).sum())

    def exploitability(self, policy: Any) -> float:
        """``nash_conv / n_players`` (NashConv / 2 for two players)."""
        return self.nash_conv(policy) / self.n_players

    # ------------------------------------------------------------------ equilibrium
    def solve(self) -> Equilibrium:
        """A Nash equilibrium of the 2-player game and its value, by the sequence-form linear program."""
        if self.n_players != 2:
            raise ValueError(f"solve() is for two-player (zero-sum) games, this one has {self.n_players} players")
        from scipy.optimize import linprog
        from scipy.sparse import coo_matrix, hstack

        sequences, parents = self._sequences()
        D = len(self.deals)
        current = [np.zeros((2, D), np.int64)]  # each player's last sequence on the way to each node
        rows, cols, entries = [], [], []
        for u, state in enumerate(self.states):
            if state.terminal:
                rows.append(current[u][0])
                cols.append(current[u][1])
                entries.append(self.payoffs[u][0] / D)
            for action, _ in self.children[u].items():
                nxt = current[u].copy()
                nxt[state.to_act] = sequences[state.to_act][self.infoset_at[u], action]
                current.append(nxt)
        size = [1 + int((sequences[i] >= 0).sum()) for i in range(2)]
        payoff = coo_matrix((np.concatenate(entries), (np.concatenate(rows), np.concatenate(cols))), shape=tuple(size)).tocsr()
        policy = np.zeros((len(self.information_sets), len(ACTIONS)))
        value = 0.0
        for player in range(2):
            own = payoff if player == 0 else -payoff.T  # [own sequences, opponent's sequences], own payoff
            E = self._constraints(player, sequences, parents, size[player])
            F = self._constraints(1 - player, sequences, parents, size[1 - player])
            # max_{x, q} q_0  s.t.  F^T q <= own^T x,  E x = e_0,  x >= 0  (q: the opponent's dual values)
            n_x, n_q = size[player], F.shape[0]
            c = np.zeros(n_x + n_q)
            c[n_x] = -1.0
            A_ub = hstack([-own.T, F.T]).tocsr()
            A_eq = hstack([E, coo_matrix((E.shape[0], n_q))]).tocsr()
            b_eq = np.zeros(E.shape[0])
            b_eq[0] = 1.0
            bounds = [(0, None)] * n_x + [(None, None)] * n_q
            result = linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]), A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if result.status != 0:
                raise RuntimeError(f"the sequence-form LP failed: {result.message}")
            x = result.x[:n_x]
            if player == 0:
                value = -result.fun
            for s in self.information_sets:
                if s.player != player:
                    continue
                legal = list(s.legal_actions)
                mass = x[sequences[player][s.index, legal]].clip(min=0)
                policy[s.index, legal] = mass / mass.sum() if mass.sum() > 1e-12 else 1 / len(legal)
        return Equilibrium(float(value), policy)

    def _sequences(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per player: ``[I, 4]`` sequence ids of (information set, action), -1 elsewhere (0 is the
        empty sequence); and ``[I]``: each information set's parent sequence (-1 for the others' sets)."""
        I = len(self.information_sets)
        sequences = [np.full((I, len(ACTIONS)), -1, np.int64) for _ in range(self.n_players)]
        counts = [1] * self.n_players
        for s in self.information_sets:
            for a in s.legal_actions:
                sequences[s.player][s.index, a] = counts[s.player]
                counts[s.player] += 1
        parents = [np.full(I, -1, np.int64) for _ in range(self.n_players)]
        current = [np.zeros((self.n_players, len(self.deals)), np.int64)]
        for u, state in enumerate(self.states):
            if not state.terminal:
                p = state.to_act
                at = current[u][p]
                for index in np.unique(self.infoset_at[u]):
                    parent = np.unique(at[self.infoset_at[u] == index])
                    if len(parent) != 1:
                        raise AssertionError("perfect recall: an information set must have one parent sequence")
                    parents[p][index] = parent[0]
            for action in self.children[u]:
                nxt = current[u].copy()
                nxt[state.to_act] = sequences[state.to_act][self.infoset_at[u], action]
                current.append(nxt)
        return sequences, parents

    def _constraints(self, player: int, sequences, parents, size: int):
        """The realization-plan constraints ``[1 + own information sets, sequences]``: x(empty) = 1, sum_a x(I, a) = x(parent(I))."""
        from scipy.sparse import coo_matrix

        rows, cols, values = [0], [0], [1.0]
        row = 1
        for s in self.information_sets:
            if s.player != player:
                continue
            rows.append(row)
            cols.append(int(parents[player][s.index]))
            values.append(-1.0)
            for a in s.legal_actions:
                rows.append(row)
                cols.append(int(sequences[player][s.index, a]))
                values.append(1.0)
            row += 1
        return coo_matrix((values, (rows, cols)), shape=(row, size)).tocsr()


def _probabilities(value: Any, info_set: InfoSet) -> np.ndarray:
    """One information set's probabilities over the 4 actions, checked."""
    where = f"policy at information set {info_set.key!r} (player {info_set.player})"
    if isinstance(value, Mapping):
        row = np.zeros(len(ACTIONS))
        for action, p in value.items():
            a = ACTIONS.index(action) if isinstance(action, str) and action in ACTIONS else action
            if not isinstance(a, (int, np.integer)) or not 0 <= a < len(ACTIONS):
                raise ValueError(f"{where}: actions are 0..3 or {', '.join(ACTIONS)}; got {action!r}")
            row[int(a)] = float(p)
    else:
        try:
            row = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected 4 probabilities (fold, check, call, raise), got {value!r}") from None
        if row.shape != (len(ACTIONS),):
            raise ValueError(f"{where}: expected 4 probabilities (fold, check, call, raise), got {value!r}")
    if not np.isfinite(row).all() or (row < -1e-12).any():
        raise ValueError(f"{where}: probabilities must be finite and >= 0, got {row.tolist()}")
    illegal = [a for a in range(len(ACTIONS)) if a not in info_set.legal_actions and row[a] > 1e-12]
    if illegal:
        legal = ", ".join(ACTIONS[a] for a in info_set.legal_actions)
        raise ValueError(f"{where}: probability {row[illegal[0]]:g} on illegal action {ACTIONS[illegal[0]]}; legal: {legal}")
    if abs(row.sum() - 1) > 1e-6:
        raise ValueError(f"{where}: probabilities must sum to 1, got {row.tolist()} (sum {row.sum():g})")
    return row.clip(min=0)


# ---------------------------------------------------------------------- recurrent policies
class InfoSetInputs:
    """Every information set of a :class:`PokerGame` as the sequence of inputs its player saw on the way there.

    ``obs [I, T, O]`` and ``last_action [I, T, 4]`` (zero-padded after ``lengths[i]`` steps) and
    ``legal [I, 4]``: what ``poker_v0`` (``hands=1``) showed the player at every env step from the
    hand's start to the information set, so the policy of a recurrent network there can be
    computed exactly as it acts in the env (:meth:`policy_table`). ``last_action`` is the action
    an opponent took at the previous step, one-hot (zeros after the player's own action and at
    the hand's start).
    """

    def __init__(self, game: PokerGame):
        rules, N, R = game.rules, game.n_players, game.rules.ranks
        parent: dict[int, tuple[int, int]] = {}
        for u, kids in enumerate(game.children):
            for action, child in kids.items():
                parent[child] = (u, action)
        paths = []
        for s in game.information_sets:
            path, v = [], s.node
            while v != 0:
                u, action = parent[v]
                path.append((u, action))
                v = u
            paths.append(path[::-1])
        I, T = len(game.information_sets), 1 + max(len(p) for p in paths)
        obs = np.zeros((I, T, rules.observation_size(1)), np.float32)
        last_action = np.zeros((I, T, len(ACTIONS)), np.float32)
        legal = np.zeros((I, len(ACTIONS)), bool)
        lengths = np.zeros(I, np.int64)
        for s, path in zip(game.information_sets, paths):
            rank = int(np.argmax(s.observation[N : N + R]))
            board = int(np.argmax(s.observation[N + R : N + 2 * R])) if s.board is not None else None
            nodes = [u for u, _ in path] + [s.node]
            for k, node in enumerate(nodes):
                obs[s.index, k] = observation_vector(rules, game.states[node], s.player, rank, board)
                if k > 0:
                    u, action = path[k - 1]
                    if game.states[u].to_act != s.player:
                        last_action[s.index, k, action] = 1
            if not np.array_equal(obs[s.index, len(nodes) - 1], s.observation):
                raise AssertionError(f"the replayed observation at {s.key!r} differs from the information set's")
            legal[s.index, list(s.legal_actions)] = True
            lengths[s.index] = len(nodes)
        self.obs, self.last_action = torch.from_numpy(obs), torch.from_numpy(last_action)
        self.legal, self.lengths = torch.from_numpy(legal), torch.from_numpy(lengths)

    def policy_table(self, policy: Callable[..., torch.Tensor], device: str | torch.device = "cpu") -> np.ndarray:
        """``[I, 4]`` float64: the policy at every information set, zero on illegal actions, rows summing to 1.

        ``policy(obs [T, I, O], last_action [T, I, 4], lengths [I], legal [I, 4])`` returns the
        probabilities ``[I, 4]`` after step ``lengths[i] - 1`` of each sequence (time first; all
        on ``device``): a recurrent network runs the sequences and reads its policy there.
        """
        obs, last_action = self.obs.to(device).transpose(0, 1), self.last_action.to(device).transpose(0, 1)
        probabilities = policy(obs, last_action, self.lengths.to(device), self.legal.to(device))
        table = probabilities.double().cpu().numpy() * self.legal.numpy()
        return table / table.sum(1, keepdims=True)


# ---------------------------------------------------------------------- shortcuts
@lru_cache(maxsize=16)
def game(variant: str = "leduc", n_players: int = 2, ranks: int | None = None, suits: bool = False) -> PokerGame:
    """The (cached) :class:`PokerGame` of these arguments."""
    return PokerGame(variant, n_players, ranks, suits)


@lru_cache(maxsize=8)
def infoset_inputs(variant: str = "leduc", n_players: int = 2, ranks: int | None = None) -> InfoSetInputs:
    """The (cached) :class:`InfoSetInputs` of ``game(variant, n_players, ranks)``."""
    return InfoSetInputs(game(variant, n_players, ranks))


def information_sets(variant: str = "leduc", n_players: int = 2, ranks: int | None = None, suits: bool = False) -> list[InfoSet]:
    """Every information set of every player, in the order of policy arrays."""
    return list(game(variant, n_players, ranks, suits).information_sets)


def expected_values(policy: Any, variant: str = "leduc", **kwargs: Any) -> np.ndarray:
    return game(variant, **kwargs).expected_values(policy)


def best_response_values(policy: Any, variant: str = "leduc", **kwargs: Any) -> np.ndarray:
    return game(variant, **kwargs).best_response_values(policy)


def nash_conv(policy: Any, variant: str = "leduc", **kwargs: Any) -> float:
    return game(variant, **kwargs).nash_conv(policy)


def exploitability(policy: Any, variant: str = "leduc", **kwargs: Any) -> float:
    """NashConv / n_players of ``policy`` in ``variant`` (keyword arguments: ``n_players``, ``ranks``, ``suits``)."""
    return game(variant, **kwargs).exploitability(policy)


def kuhn_equilibrium(alpha: float) -> dict[str, list[float]]:
    """Kuhn's (1950) family of Nash equilibria of 2-player Kuhn poker, ``alpha`` in [0, 1/3].

    The first player bets with J with probability alpha, never with Q, with K 3 * alpha; after
    check-bet it calls with Q with probability alpha + 1/3 and always with K. The second player
    bets after a check with J with probability 1/3 and always with K, and calls a bet with Q with
    probability 1/3 and always with K. The game value is -1/18 for the first player.
    """
    if not 0 <= alpha <= 1 / 3:
        raise ValueError(f"alpha must lie in [0, 1/3], got {alpha!r}")

    def open_(p_raise):  # check or raise
        return [0.0, 1 - p_raise, 0.0, p_raise]

    def answer(p_call):  # fold or call
        return [1 - p_call, 0.0, p_call, 0.0]

    return {
        "J:": open_(alpha),
        "Q:": open_(0.0),
        "K:": open_(3 * alpha),
        "J:kr": answer(0.0),
        "Q:kr": answer(alpha + 1 / 3),
        "K:kr": answer(1.0),
        "J:k": open_(1 / 3),
        "Q:k": open_(0.0),
        "K:k": open_(1.0),
        "J:r": answer(0.0),
        "Q:r": answer(1 / 3),
        "K:r": answer(1.0),
    }
