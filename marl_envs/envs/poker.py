"""Poker: Kuhn poker and Leduc hold'em, the card games of the MA-DVRL design note.

| | |
|---|---|
| Import | `from marl_envs import poker_v0` |
| Agents | `player_0`, `player_1` (`n_agents`, default 2; `player_0` acts first) |
| Action space | `Discrete(4)`: 0 fold, 1 check, 2 call, 3 raise, with an action mask |
| Observation space | PettingZoo view: `Dict(observation=Box(0, 1, (O,), float32), action_mask=Box(0, 1, (4,), int8))`; batched: `obs [B, N, O]` and `action_mask [B, N, 4]`. O = 49 for 2-player Leduc, 25 for 2-player Kuhn (formula below) |
| State space | `Box(0, 1, (S,), float32)`: S = 50 for 2-player Leduc, 26 for 2-player Kuhn |
| Reward | chips won or lost; zero-sum over the players of a hand |

## Description
Two standard research poker games, written once as a lookup table of the hand's betting tree
(built in the constructor from the rule functions of `marl_envs.envs.poker_rules`, which
`marl_envs.poker_analysis` also builds its exact game tree from) and a few tensor gathers per step.

- `variant="kuhn"`: Kuhn poker. A deck of `ranks` cards of one suit (default `n_agents + 1`:
  J < Q < K for two players, J < Q < K < A for three). Every player antes 1 and is dealt one
  card. One betting round, bet size 1, at most one bet: a player may check or bet (`raise`);
  once a bet is made every other player still in calls or folds.
- `variant="leduc"` (default): Leduc hold'em. A deck of two suits of `ranks` ranks (default
  `n_agents + 1`: J, Q, K twice for two players, six cards). Every player antes 1 and is dealt
  one private card. Round 1 is a betting round with raise size 2; then one public card (the
  board) is revealed; round 2 has raise size 4. At most 2 raises per round (a bet counts as the
  first). At the showdown a player whose card pairs the board beats any non-pair, otherwise the
  higher rank wins; equal hands split the pot.

For N players both games use `N + 1` ranks by default, the usual generalisation (N-player Kuhn
as in Szafron et al. 2013; Leduc then has `2 * (N + 1)` cards, so the deck never runs short).
With `ranks=` the deck can be smaller or larger; Kuhn needs `ranks >= n_agents` cards and
Leduc `2 * ranks >= n_agents + 1` (one card per player and the board). Suits never matter
beyond making cards distinct.

## Betting
Actions are 0 fold, 1 check, 2 call, 3 raise. The legal ones for the player to act:
- with no outstanding bet (its contribution equals the highest one): check, or raise while
  raises remain in the round;
- facing a bet: fold, call, or raise while raises remain.

A raise puts in the amount to call plus the round's raise size (Kuhn 1; Leduc 2, then 4).
Kuhn's "pass" is check (no bet) or fold (facing a bet); its "bet" is raise, or call facing one.
Play goes clockwise (`player_0`, `player_1`, ...) skipping folded players, starting in every
round from the first player still in (lowest index). A round ends when every player still in
has acted since the last raise and all have put in the same amount; the hand ends when only
one player is left (it takes the pot) or after the last round (showdown among those left).

Every step of the parallel API every player submits an action; only the acting player's is
applied. A player not to act (and one that has folded) has a mask allowing only `check` (1),
which is ignored. An action outside the mask raises an error that names the agent (with
`validate_actions=False` the acting player's illegal action is played as the passive one,
check or, facing a bet, call; other players' actions are always ignored).

## Observation
Every player observes (O entries, all in [0, 1]):

| block | size | content |
|---|---|---|
| seat | N | one-hot of the observer's own seat |
| own card | R | one-hot of its card's rank (R = `ranks`) |
| board | R (Leduc only) | one-hot of the board's rank once revealed (round 2), zeros before |
| round | rounds | one-hot of the betting round (1 for Kuhn, 2 for Leduc) |
| turn | N | one-hot of the seat to act; zeros once the hand is over |
| pot | 1 | chips in the pot / (N * C) |
| contributions | N | each seat's chips in the pot (ante included) / C |
| folded | N | 1 for each seat that has folded |
| history | rounds * L * 4 | slot k of round r: one-hot of the k-th action taken in round r (fold, check, call, raise) |
| hand | 1, only if `hands > 1` | hands completed / `hands` |

C is the most a player can put in (Kuhn 2, Leduc 1 + 2 * 2 + 2 * 4 = 13) and L the most
actions a round can hold, `N + max_raises * (N - 1)` (Kuhn 2 players: 3, Leduc 2 players: 4).
So O = `N + R + [R] + rounds + 3N + 1 + rounds * L * 4 [+ 1]`: 49 for 2-player Leduc, 25 for
2-player Kuhn. Seats are absolute (`player_0` first): position decides strategy in poker.

## State
Every player's card rank (N one-hot blocks of R), the board's rank (Leduc; R, from the deal
on: the state holds the whole deal, the board included before it is revealed), then the
observation's public blocks (round, turn, pot, contributions, folded, history, hand).
S = `N * R + [R] + rounds + 3N + 1 + rounds * L * 4 [+ 1]`.

## Rewards
Chips: a player that folds receives minus what it has put in (ante and bets) at the step it
folds, and leaves; at the end of the hand each player still in receives its share of the pot
minus what it put in (winner by folds: the pot minus its contribution). Over a hand the
rewards sum to zero. A split pot is shared exactly, so with three or more players a share can
be fractional (for example 3.5 chips).

Hand-worked example (Leduc, two players; `player_0` holds K, `player_1` Q, board J):
`player_0` raises (contributions 3 and 1), `player_1` calls (3, 3), the board is revealed;
`player_0` checks, `player_1` raises (3, 7), `player_0` calls (7, 7): showdown, the king
wins the pot of 14, so the rewards of that step are +7 and -7. Before any action
`player_0` observes seat `[1, 0]`, card `[0, 0, 1]`, board `[0, 0, 0]`, round `[1, 0]`,
turn `[1, 0]`, pot 2/26, contributions `[1/13, 1/13]`, folded `[0, 0]`, history all zeros.

## Starting state
Cards dealt from the env's seeded stream (`self.rng`), the antes in the pot, `player_0` to act.
`PokerEnv.set_cards(cards, env_ids)` deals chosen cards instead (integer ids `suit * ranks + rank`,
or names such as `"Kh"`; suits `s` and `h`; floats and bools are refused), for tests and
analysis; `PokerEnv.cards` holds the deal and `PokerEnv.states[PokerEnv.node[b]]` the public
state of sub-env b.

## Episode end
With `hands=1` (default) an episode is one hand. A player that folds terminates at that step
(it leaves `agents` in the PettingZoo view); the others terminate when the hand ends. With
`hands=H > 1` an episode is a match of H independent hands with the same seating (`player_0`
acts first in every hand): when a hand other than the last ends, its rewards are paid and the
next hand is dealt at once (that step's observation is the new hand's first), so a player that
folds sits out the rest of that hand (mask: check only) and leaves only in the last hand.
Truncated after `max_cycles` steps (default 1000; a hand takes at most `rounds * L` steps, 8
for 2-player Leduc, so truncation never interferes with a match of up to 125 such hands).

## Info and attributes for algorithms
What an algorithm that models the other players (MA-DVRL, `marl_baselines.algos.madvrl`) reads
besides the observations, so that it works on any env that offers the same:

- `info["private_card"]`: int64 `[B, N]`, each player's card rank (0 lowest) in the hand the
  step was played in, reported for the step before any auto-reset (and before a match deals its
  next hand). Private: an algorithm uses it as a training target only. In the PettingZoo view
  each agent still in `agents` finds its own card rank in its infos (`infos["player_0"]["private_card"]`).
- the action mask tells who acts: the seat to act is the only one allowed more than one action
  (check and raise, or fold and call, and raise while raises remain); every other seat may only
  check (see Betting), so with the actions submitted it gives the action each opponent took.
- `env_info["rules"]` (a `PokerRules`: `variant`, `n_players`, `ranks`, and the observation's
  layout) and `env_info["hands"]`: the game, for fixed strategies
  (`marl_envs.analysis.poker_strategies`) and exact evaluation (`marl_envs.poker_analysis`).
  `env_info` is on the batched env, on its PettingZoo view and on both VecEnv sources.

## Exact analysis
`marl_envs.poker_analysis` builds the exact game tree from the same rule functions
(`marl_envs.envs.poker_rules`: `betting_tree`, `PokerRules.strength`): information sets,
expected values, best responses, exploitability (NashConv / 2) and a sequence-form LP solver. Its information sets carry the
observation this env shows there, so a policy trained here can be evaluated exactly.

## Arguments
- `variant="leduc"`: `"kuhn"` or `"leduc"`.
- `n_agents=2` (was `n_players`, still accepted with a warning until the next version): at least 2; at most 10 for Kuhn and 4 for Leduc (the env precomputes the
  hand's betting tree: 5-player Leduc has 104,386 betting sequences, 4-player 11,685).
- `ranks=None`: ranks in the deck, 1 to 13; default `n_agents + 1`.
- `hands=1`: hands per episode (a match), at least 1.
- `max_cycles=1000`: steps before truncation.
- `validate_actions=True`: check actions against the mask (see Betting).

## Version history
- v0: initial release. Later, without a version bump (nothing a policy sees or earns changed): the
  step's `info["private_card"]`, `env_info`, and the argument `n_agents` (was `n_players`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import gymnasium
import numpy as np
import torch

from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import int_at_least, is_int
from marl_envs.core.episode import EpisodeState
from marl_envs.envs.poker_rules import ACTIONS, CALL, CHECK, FOLD, PokerRules, betting_tree, public_features

__all__ = ["PokerEnv"]

_OBS_TABLE_LIMIT = 1 << 23  # floats (32 MB): above it, observations and states are joined from smaller tables


# ---------------------------------------------------------------------- the batched env
class PokerEpisode(EpisodeState):
    """What changes during an episode of ``PokerEnv``, per sub-env."""

    node: torch.Tensor
    """int64 ``[B]``: each sub-env's node of the betting tree (``self.states[node]`` is its public state)."""
    cards: torch.Tensor
    """int64 ``[B, cards dealt]``: card ids ``suit * ranks + rank``: the players' cards, then the board (Leduc)."""
    private_view: torch.Tensor
    """int64 ``[B, N]``: what each seat knows privately, as a row offset: ``(seat * ranks + card rank) * board ranks + board rank``."""
    deal_one_hot: torch.Tensor
    """float32 ``[B, cards dealt * ranks]``: the ranks dealt, one-hot: the state's card blocks."""
    deal_code: torch.Tensor
    """int64 ``[B]``: the ranks dealt as one number (base ``ranks``, the first player's most significant)."""
    strength: torch.Tensor
    """int64 ``[B, N]``: each player's showdown strength (``PokerRules.strength``)."""
    hand: torch.Tensor
    """int64 ``[B]``: the hand being played in the match, from 0."""


class PokerEnv(BatchedEnv):
    """Batched Kuhn poker / Leduc hold'em; see the module documentation for the rules."""

    Episode = PokerEpisode

    agents_can_leave = True
    has_action_mask = True

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        variant: str = "leduc",
        n_agents: int = 2,
        ranks: int | None = None,
        hands: int = 1,
        max_cycles: int = 1000,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        rules = PokerRules(variant, n_agents, ranks, count_name="n_agents")
        self.rules = rules
        self.variant = rules.variant
        self.hands = int_at_least("hands", hands, 1)
        n, r = rules.n_players, rules.ranks
        agents = [f"player_{i}" for i in range(n)]
        obs_space = gymnasium.spaces.Box(0.0, 1.0, (rules.observation_size(self.hands),), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, obs_space),
            action_spaces=dict.fromkeys(agents, gymnasium.spaces.Discrete(len(ACTIONS))),
            state_space=gymnasium.spaces.Box(0.0, 1.0, (rules.state_size(self.hands),), np.float32),
        )
        self.env_info = {"rules": rules, "hands": self.hands}
        self._build_tables()
        dev, B = self.device, self.num_envs
        self._rank_eye = torch.eye(r, device=dev)
        self._seat_views = torch.arange(n, device=dev) * (r * self._board_ranks)
        self.episode.node = torch.zeros(B, dtype=torch.int64, device=dev)
        self.episode.cards = torch.zeros(B, rules.cards_dealt, dtype=torch.int64, device=dev)
        self.episode.private_view = torch.zeros(B, n, dtype=torch.int64, device=dev)
        self.episode.deal_one_hot = torch.zeros(B, rules.cards_dealt * r, device=dev)
        self.episode.deal_code = torch.zeros(B, dtype=torch.int64, device=dev)
        self.episode.strength = torch.zeros(B, n, dtype=torch.int64, device=dev)
        self.episode.hand = torch.zeros(B, dtype=torch.int64, device=dev)

    def _build_tables(self) -> None:
        """The betting tree as tensors indexed by node: the step is a few gathers."""
        rules, dev = self.rules, self.device
        n, A = rules.n_players, len(ACTIONS)
        self.states, children = betting_tree(rules)
        M = len(self.states)
        to_act = np.zeros(M, np.int64)
        next_node = np.tile(np.arange(M)[:, None], (1, A))
        mask = np.zeros((M, n, A), bool)
        mask[:, :, CHECK] = True  # players not to act (or out of the hand) may only check, which is ignored
        entry_reward = np.zeros((M, n), np.float32)
        out = np.zeros((M, n), bool)
        showdown_in = np.zeros((M, n), bool)
        pot = np.zeros(M, np.float32)
        public = np.zeros((M, rules.public_size), np.float32)
        for u, state in enumerate(self.states):
            public[u] = public_features(rules, state)
            pot[u] = state.pot
            out[u] = state.folded
            if state.terminal:
                out[u] = True
                if state.showdown:  # a fold can lead here too: keep the folder's entry
                    showdown_in[u] = [not f for f in state.folded]
                    for i, (c, f) in enumerate(zip(state.contributions, state.folded)):
                        if not f:
                            entry_reward[u, i] = -c
                else:
                    winner = state.folded.index(False)
                    entry_reward[u, winner] = state.pot - state.contributions[winner]
            else:
                p = state.to_act
                to_act[u] = p
                mask[u, p] = False
                kids = children[u]
                passive = kids.get(CHECK, kids.get(CALL))
                next_node[u] = passive  # an unvalidated illegal action plays the passive one
                for action, child in kids.items():
                    mask[u, p, action] = True
                    next_node[u, action] = child
                    if action == FOLD:  # the folder pays what it put in at the step it folds
                        entry_reward[child, p] = -state.contributions[p]
        tensor = lambda value: torch.as_tensor(value, device=dev)  # noqa: E731
        self._to_act, self._next, self._mask = tensor(to_act), tensor(next_node.reshape(-1)), tensor(mask)
        self._entry_reward, self._out, self._showdown_in = tensor(entry_reward), tensor(out), tensor(showdown_in)
        self._pot, self._public = tensor(pot), tensor(public)
        self._terminal = tensor(np.array([s.terminal for s in self.states]))
        revealed = np.array([s.round >= 1 for s in self.states], np.float32)
        self._revealed = tensor(revealed)

        # Observations: one table row per (node, seat, card rank, board rank), so that observing
        # is one gather; where that table would be large, three smaller pieces are joined instead.
        R = rules.ranks
        self._board_ranks = R if rules.has_board else 1
        self._views = n * R * self._board_ranks
        width = rules.observation_size(1)
        self._obs_table = None
        if M * self._views * width <= _OBS_TABLE_LIMIT:
            eye_n, eye_r = np.eye(n, dtype=np.float32), np.eye(R, dtype=np.float32)
            parts = [eye_n[None, :, None, None], eye_r[None, None, :, None]]
            if rules.has_board:
                parts.append(eye_r[None, None, None, :] * revealed[:, None, None, None, None])
            parts.append(public[:, None, None, None])
            shape = (M, n, R, self._board_ranks)
            table = np.concatenate([np.broadcast_to(part, (*shape, part.shape[-1])) for part in parts], -1)
            self._obs_table = tensor(np.ascontiguousarray(table.reshape(-1, width)))
        else:
            seat_and_card = np.concatenate((np.repeat(np.eye(n), R, 0), np.tile(np.eye(R), (n, 1))), 1)
            self._seat_card_table = tensor(seat_and_card.astype(np.float32))  # row seat * R + rank
        # The state likewise: one row per (node, ranks dealt) when that table is small.
        dealt = rules.cards_dealt
        self._deal_codes = R**dealt
        self._code_weights = tensor(R ** np.arange(dealt - 1, -1, -1))
        self._state_table = None
        if M * self._deal_codes * rules.state_size(1) <= _OBS_TABLE_LIMIT:
            ranks_dealt = np.array(list(itertools.product(range(R), repeat=dealt)))  # row k: the ranks of code k
            deals = np.eye(R, dtype=np.float32)[ranks_dealt].reshape(self._deal_codes, -1)
            shape = (M, self._deal_codes)
            parts = [np.broadcast_to(deals[None], (*shape, deals.shape[1])), np.broadcast_to(public[:, None], (*shape, public.shape[1]))]
            self._state_table = tensor(np.concatenate(parts, -1).reshape(M * self._deal_codes, -1))

    # ------------------------------------------------------------------ cards
    def set_cards(self, cards, env_ids: torch.Tensor | Sequence[int] | int | None = None) -> None:
        """Deal ``cards`` (``[K, N (+1 board)]``) to the sub-envs ``env_ids`` (K distinct indices; default all).

        A card is an id ``suit * ranks + rank`` (a Python or NumPy integer, or an entry of an
        integer tensor or array) or a name such as ``"Kh"``. Floats (``0.5``, ``1.0``) and
        bools are refused with a ``TypeError``, not rounded to a card; a wrong shape, a card
        outside the deck or a card dealt twice gives a ``ValueError``. A refused deal changes
        nothing. For tests and analysis: replaces the cards of the hands in progress.
        """
        env_ids = self._env_ids(env_ids)
        width, deck = self.rules.cards_dealt, self.rules.deck_size
        table = np.asarray(cards.tolist() if isinstance(cards, torch.Tensor) else cards, dtype=object)
        if table.ndim != 2 or table.shape[0] != len(env_ids):
            raise ValueError(f"cards must be [{len(env_ids)}, {width}] (one row per sub-env), got shape {list(table.shape)}")
        rows = [[self._card(card, k, j) for j, card in enumerate(row)] for k, row in enumerate(table.tolist())]
        for row in rows:
            if len(row) != width or len(set(row)) != width or not all(0 <= c < deck for c in row):
                raise ValueError(f"each sub-env needs {width} distinct cards in [0, {deck}), got {row}")
        self._deal(env_ids, torch.tensor(rows, dtype=torch.int64, device=self.device))

    def _card(self, card, k: int, j: int) -> int:
        """The id of ``cards[k][j]``: an integer as it is, a name through ``card_id``; anything else a TypeError."""
        if isinstance(card, str):
            return self.rules.card_id(card)
        if is_int(card):
            return int(card)
        example = self.rules.card_name(self.rules.deck_size - 1)
        raise TypeError(
            f"cards[{k}][{j}] must be a card id (an integer in [0, {self.rules.deck_size})) or a name such as "
            f"{example!r}, got {card!r} ({type(card).__name__})"
        )

    def _env_ids(self, env_ids) -> torch.Tensor:
        """``env_ids`` (None: all; an int; or a sequence, array or tensor of ints) as distinct checked indices."""
        if env_ids is None:
            return self._all_envs
        ids = env_ids.tolist() if isinstance(env_ids, (torch.Tensor, np.ndarray)) else env_ids
        ids = [ids] if is_int(ids) else ids
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence) or not all(is_int(i) for i in ids):
            raise TypeError(f"env_ids must be None, an int or a sequence of ints (sub-env indices), got {env_ids!r}")
        if not all(0 <= i < self.num_envs for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"env_ids must be distinct sub-env indices in [0, {self.num_envs}), got {list(ids)}")
        return torch.tensor([int(i) for i in ids], dtype=torch.int64, device=self.device)

    def _deal(self, env_ids: torch.Tensor, cards: torch.Tensor) -> None:
        rules = self.rules
        ranks = cards % rules.ranks
        own = ranks[:, : rules.n_players]
        self.episode.cards[env_ids] = cards
        self.episode.deal_one_hot[env_ids] = self._rank_eye[ranks].flatten(1)
        self.episode.deal_code[env_ids] = (ranks * self._code_weights).sum(1)
        view = self._seat_views + own * self._board_ranks
        if rules.has_board:
            board = ranks[:, rules.n_players, None]
            view = view + board
            own = torch.where(own == board, own + rules.ranks, own)
        self.episode.private_view[env_ids] = view
        self.episode.strength[env_ids] = own

    def _new_hand(self, env_ids: torch.Tensor) -> None:
        self.episode.node.index_fill_(0, env_ids, 0)
        self._deal(env_ids, self.rng.distinct(self.rules.deck_size, self.rules.cards_dealt, env_ids))

    # ------------------------------------------------------------------ the rules (batched)
    def reset_envs(self, env_ids: torch.Tensor) -> None:
        self.episode.hand.index_fill_(0, env_ids, 0)
        self._new_hand(env_ids)

    def step_envs(self, actions: torch.Tensor):
        node = self.episode.node
        actor = self._to_act.index_select(0, node)
        action = actions.gather(1, actor[:, None]).squeeze(1)
        new = self._next.index_select(0, node * len(ACTIONS) + action)
        self.episode.node = new
        reward = self._entry_reward.index_select(0, new)
        terminated = self._out.index_select(0, new)
        # Showdown (all-False rows elsewhere): the best hands among those still in share the pot.
        contenders = self._showdown_in.index_select(0, new)
        strength = self.episode.strength.masked_fill(~contenders, -1)
        winners = (strength == strength.max(1, keepdim=True).values) & contenders
        share = self._pot.index_select(0, new) / winners.sum(1).clamp_(min=1)
        reward = reward + winners * share[:, None]
        info = {"private_card": self.episode.cards[:, : self.rules.n_players] % self.rules.ranks}  # before a match deals its next hand
        if self.hands > 1:
            last = self.episode.hand == self.hands - 1
            terminated = terminated & last[:, None]
            next_hand = self._terminal.index_select(0, new) & ~last
            self.episode.hand = self.episode.hand + next_hand
            self.reset_where(next_hand, self._new_hand)  # the base class's auto-reset mechanism, for one hand
        return reward, terminated, info

    def observations(self) -> torch.Tensor:
        B, N, node = self.num_envs, self.n_agents, self.episode.node
        if self._obs_table is not None:
            rows = (node * self._views)[:, None] + self.episode.private_view
            obs = self._obs_table.index_select(0, rows.view(-1)).view(B, N, -1)
        else:
            seat_card = self._seat_card_table.index_select(0, (self.episode.private_view // self._board_ranks).view(-1))
            public = self._public.index_select(0, node)
            parts = [seat_card.view(B, N, -1)]
            if self.rules.has_board:
                board = self.episode.deal_one_hot[:, N * self.rules.ranks :] * self._revealed.index_select(0, node)[:, None]
                parts.append(board[:, None].expand(B, N, board.shape[1]))
            obs = torch.cat((*parts, public[:, None].expand(B, N, public.shape[1])), -1)
        if self.hands > 1:
            obs = torch.cat((obs, (self.episode.hand / self.hands)[:, None, None].expand(B, N, 1)), -1)
        return obs

    def global_state(self) -> torch.Tensor:
        if self._state_table is not None:
            state = self._state_table.index_select(0, self.episode.node * self._deal_codes + self.episode.deal_code)
        else:
            state = torch.cat((self.episode.deal_one_hot, self._public.index_select(0, self.episode.node)), -1)
        if self.hands > 1:
            state = torch.cat((state, self.episode.hand[:, None] / self.hands), -1)
        return state

    def action_masks(self) -> torch.Tensor:
        return self._mask.index_select(0, self.episode.node)

    # ------------------------------------------------------------------ rendering
    def render_ansi(self, env_index: int) -> str:
        rules = self.rules
        state = self.states[int(self.episode.node[env_index])]
        cards = self.episode.cards[env_index].tolist()
        name = "Kuhn poker" if rules.variant == "kuhn" else "Leduc hold'em"
        lines = [
            f"{name}, hand {int(self.episode.hand[env_index]) + 1}/{self.hands}, round {state.round + 1}/{rules.rounds}, pot {state.pot}"
        ]
        if rules.has_board:
            lines.append(f"board: {rules.card_name(cards[-1]) if state.round >= 1 else '??'}")
        for i in range(rules.n_players):
            status = " folded" if state.folded[i] else (" to act" if state.to_act == i else "")
            lines.append(f"player_{i}  {rules.card_name(cards[i])}  in {state.contributions[i]}{status}")
        rounds = [f"round {r + 1}: " + (" ".join(ACTIONS[a] for a in actions) or "-") for r, actions in enumerate(state.history)]
        lines.append("history: " + " | ".join(rounds) + (" (hand over)" if state.terminal else ""))
        return "\n".join(lines) + "\n"
