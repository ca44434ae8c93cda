"""poker_v0 against the rules of Kuhn poker and Leduc hold'em, with hands worked by hand.

Actions: 0 fold, 1 check, 2 call, 3 raise. Everyone antes 1. Kuhn: bet 1, one bet at most,
cards J < Q < K (< A with 3 players). Leduc: raises 2 then 4, at most 2 per round, cards
J, Q, K of suits s and h; a pair with the board beats any other hand. Observations are
normalised by C, the most a player can put in (Kuhn 2, Leduc 1 + 2*2 + 2*4 = 13); the pot
by N * C.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import poker_v0

FOLD, CHECK, CALL, RAISE = range(4)
ONLY_CHECK = [False, True, False, False]


def mask_of(*actions):
    return [a in actions for a in range(4)]


def one_hot(index, size):
    return [1.0 if i == index else 0.0 for i in range(size)]


def blocks(env, vector):
    """Split one observation by the documented layout (seat, card, board, round, turn, pot, contributions, folded, history, hand)."""
    rules, hands = env.rules, env.hands
    N, R, rounds = env.n_agents, rules.ranks, rules.rounds
    slots = N + rules.max_raises * (N - 1)  # the documented L
    sizes = [("seat", N), ("card", R)] + ([("board", R)] if rules.variant == "leduc" else [])
    sizes += [("round", rounds), ("turn", N), ("pot", 1), ("contributions", N), ("folded", N), ("history", rounds * slots * 4)]
    sizes += [("hand", 1)] if hands > 1 else []
    vector, out, start = np.asarray(vector), {}, 0
    for name, size in sizes:
        out[name] = vector[start : start + size]
        start += size
    assert start == len(vector), "the documented layout covers the whole observation"
    out["history"] = out["history"].reshape(rounds, slots, 4)
    return out


def history(env, *rounds):
    """The history block for rounds of actions."""
    slots = env.n_agents + env.rules.max_raises * (env.n_agents - 1)
    table = np.zeros((env.rules.rounds, slots, 4), np.float32)
    for r, actions in enumerate(rounds):
        for k, a in enumerate(actions):
            table[r, k, a] = 1
    return table


class Table:
    """One batched sub-env with cards dealt by hand; ``act(seat, action)``: that seat acts, the others check (ignored)."""

    def __init__(self, cards, **kwargs):
        self.env = marl_envs.make_batched("poker_v0", 1, **kwargs)
        self.env.reset(seed=0)
        self.env.set_cards([cards])
        # set_cards replaced the dealt hand: read the observation again
        self.obs, self.mask = self.env.observations(), self.env.action_masks()

    def act(self, seat, action):
        actions = torch.full((1, self.env.n_agents), CHECK)
        actions[0, seat] = action
        self.out = self.env.step(actions)
        self.obs, self.mask = self.out.obs, self.out.action_mask
        return self.out

    def seen(self, seat, final=False):
        return blocks(self.env, (self.out.final_obs if final else self.obs)[0, seat])

    def masks(self):
        return self.mask[0].tolist()


# ---------------------------------------------------------------- Kuhn
def test_kuhn_check_check_showdown():
    table = Table(["Q", "K"], variant="kuhn")
    assert table.masks() == [mask_of(CHECK, RAISE), ONLY_CHECK]
    seen = table.seen(0)
    assert seen["seat"].tolist() == [1, 0] and seen["card"].tolist() == [0, 1, 0]  # Q of J, Q, K
    assert seen["round"].tolist() == [1] and seen["turn"].tolist() == [1, 0]
    assert seen["pot"].tolist() == [0.5] and seen["contributions"].tolist() == [0.5, 0.5]  # 2 / (2 * 2); 1 / 2 each
    assert seen["folded"].tolist() == [0, 0] and not seen["history"].any()
    assert table.seen(1)["card"].tolist() == [0, 0, 1] and table.seen(1)["seat"].tolist() == [0, 1]

    out = table.act(0, CHECK)
    assert out.reward.tolist() == [[0, 0]] and out.terminated.tolist() == [[False, False]]
    assert table.masks() == [ONLY_CHECK, mask_of(CHECK, RAISE)]
    assert table.seen(1)["turn"].tolist() == [0, 1]
    np.testing.assert_array_equal(table.seen(1)["history"], history(table.env, [CHECK]))

    out = table.act(1, CHECK)  # showdown for the pot of 2: K beats Q
    assert out.reward.tolist() == [[-1, 1]] and out.terminated.tolist() == [[True, True]]
    final = table.seen(0, final=True)
    assert final["turn"].tolist() == [0, 0] and final["contributions"].tolist() == [0.5, 0.5]
    np.testing.assert_array_equal(final["history"], history(table.env, [CHECK, CHECK]))


def test_kuhn_bet_fold():
    table = Table(["J", "Q"], variant="kuhn")
    table.act(0, RAISE)  # the bluff: player_0 bets 1 with the jack
    assert table.masks() == [ONLY_CHECK, mask_of(FOLD, CALL)]  # one bet at most: no raise
    seen = table.seen(1)
    assert seen["contributions"].tolist() == [1.0, 0.5] and seen["pot"].tolist() == [0.75]  # 2 and 1 of 2; 3 of 4
    out = table.act(1, FOLD)  # player_1 loses its ante; player_0 takes the pot of 3, 2 of them its own
    assert out.reward.tolist() == [[1, -1]] and out.terminated.tolist() == [[True, True]]
    final = table.seen(0, final=True)
    assert final["folded"].tolist() == [0, 1]
    np.testing.assert_array_equal(final["history"], history(table.env, [RAISE, FOLD]))


def test_kuhn_bet_call():
    table = Table(["Q", "K"], variant="kuhn")
    table.act(0, RAISE)
    out = table.act(1, CALL)  # pot 4, K beats Q: each put in 2
    assert out.reward.tolist() == [[-2, 2]] and out.terminated.tolist() == [[True, True]]
    assert table.seen(0, final=True)["pot"].tolist() == [1.0]


def test_kuhn_check_bet_fold():
    table = Table(["K", "J"], variant="kuhn")
    table.act(0, CHECK)
    table.act(1, RAISE)
    assert table.masks() == [mask_of(FOLD, CALL), ONLY_CHECK]
    out = table.act(0, FOLD)
    assert out.reward.tolist() == [[-1, 1]] and out.terminated.tolist() == [[True, True]]


# ---------------------------------------------------------------- Leduc
def test_leduc_raises_in_both_rounds_and_the_board_after_round_one():
    """The docstring's example: K against Q, board J."""
    table = Table(["Ks", "Qs", "Jh"])
    seen = table.seen(0)
    assert seen["card"].tolist() == [0, 0, 1] and not seen["board"].any() and seen["round"].tolist() == [1, 0]
    assert seen["pot"] == pytest.approx([2 / 26]) and seen["contributions"] == pytest.approx([1 / 13, 1 / 13])
    state = table.env.global_state()[0]
    assert state[:9].tolist() == [0, 0, 1, 0, 1, 0, 1, 0, 0]  # both cards and the board (J), from the deal on

    table.act(0, RAISE)  # 1 + 2 = 3 against 1
    assert table.masks() == [ONLY_CHECK, mask_of(FOLD, CALL, RAISE)]
    assert table.seen(1)["contributions"] == pytest.approx([3 / 13, 1 / 13]) and not table.seen(1)["board"].any()
    out = table.act(1, CALL)  # 3 and 3: round 1 is over, the board is revealed, player_0 acts first again
    assert out.reward.tolist() == [[0, 0]] and out.terminated.tolist() == [[False, False]]
    for seat in (0, 1):
        seen = table.seen(seat)
        assert seen["board"].tolist() == [1, 0, 0] and seen["round"].tolist() == [0, 1] and seen["turn"].tolist() == [1, 0]
        assert seen["pot"] == pytest.approx([6 / 26])
    assert table.masks() == [mask_of(CHECK, RAISE), ONLY_CHECK]  # raises counted afresh in round 2

    table.act(0, CHECK)
    table.act(1, RAISE)  # round 2 raises 4: 3 against 7
    assert table.masks() == [mask_of(FOLD, CALL, RAISE), ONLY_CHECK]
    assert table.seen(0)["contributions"] == pytest.approx([3 / 13, 7 / 13])
    out = table.act(0, CALL)  # 7 and 7; showdown without a pair: the king wins the pot of 14
    assert out.reward.tolist() == [[7, -7]] and out.terminated.tolist() == [[True, True]]
    final = table.seen(1, final=True)
    np.testing.assert_array_equal(final["history"], history(table.env, [RAISE, CALL], [CHECK, RAISE, CALL]))
    assert final["pot"] == pytest.approx([14 / 26]) and final["turn"].tolist() == [0, 0]


def test_leduc_two_raise_cap_and_pair_beats_high_card():
    table = Table(["Jh", "Qs", "Js"])  # player_0's jack pairs the board
    table.act(0, RAISE)  # 3, 1
    table.act(1, RAISE)  # 3, 5: the second raise of the round
    assert table.masks() == [mask_of(FOLD, CALL), ONLY_CHECK]
    with pytest.raises(ValueError, match="agent 'player_0': action 3 is illegal now; legal actions: \\[0, 2\\]"):
        table.act(0, RAISE)
    table.act(0, CALL)  # 5, 5
    table.act(0, RAISE)  # round 2: 9, 5
    table.act(1, RAISE)  # 9, 13
    assert table.masks() == [mask_of(FOLD, CALL), ONLY_CHECK]
    out = table.act(0, CALL)  # 13, 13: the most anyone can put in; the pair of jacks beats the queen
    assert out.reward.tolist() == [[13, -13]]
    final = table.seen(0, final=True)
    assert final["contributions"].tolist() == [1, 1] and final["pot"].tolist() == [1]
    np.testing.assert_array_equal(final["history"], history(table.env, [RAISE, RAISE, CALL], [RAISE, RAISE, CALL]))


def test_leduc_pair_beats_a_higher_card():
    table = Table(["Ks", "Jh", "Js"])
    for seat in (0, 1, 0, 1):
        out = table.act(seat, CHECK)
    assert out.reward.tolist() == [[-1, 1]] and out.terminated.tolist() == [[True, True]]


def test_leduc_tie_splits_the_pot():
    table = Table(["Qs", "Qh", "Ks"])
    table.act(0, RAISE)
    table.act(1, CALL)
    table.act(0, CHECK)
    out = table.act(1, CHECK)  # queens against queens: each takes back its 3
    assert out.reward.tolist() == [[0, 0]] and out.terminated.tolist() == [[True, True]]


def test_leduc_fold_in_round_two():
    table = Table(["Js", "Kh", "Qs"])
    table.act(0, CHECK)
    table.act(1, CHECK)
    table.act(0, RAISE)  # round 2: 5 against 1
    out = table.act(1, FOLD)
    assert out.reward.tolist() == [[1, -1]] and out.terminated.tolist() == [[True, True]]


def test_three_players_one_folds_and_leaves_while_the_others_play_on():
    """Leduc with 3 players: ranks J, Q, K, A of two suits; C = 13, pot / 39, L = 3 + 2 * 2 = 7 slots."""
    env = poker_v0.parallel_env(n_agents=3)
    env.reset(seed=0)
    env.env.set_cards([["As", "Ks", "Qs", "Jh"]])
    p0, p1, p2 = env.possible_agents

    def step(**acting):
        actions = {agent: acting.get(agent, CHECK) for agent in env.agents}
        return env.step(actions)

    obs, rewards, terminations, _, _ = step(player_0=RAISE)  # 3, 1, 1
    assert obs[p1]["action_mask"].tolist() == [1, 0, 1, 1] and obs[p2]["action_mask"].tolist() == [0, 1, 0, 0]
    obs, rewards, terminations, _, _ = step(player_1=FOLD)  # player_1 pays its ante and leaves
    assert rewards == {p0: 0, p1: -1, p2: 0} and terminations == {p0: False, p1: True, p2: False}
    assert env.agents == [p0, p2]
    assert blocks(env.env, obs[p0]["observation"])["folded"].tolist() == [0, 1, 0]
    assert obs[p2]["action_mask"].tolist() == [1, 0, 1, 1]  # player_2 answers the raise
    obs, rewards, *_ = step(player_2=CALL)  # 3, 1, 3: round 2, player_0 (the first still in) acts
    assert rewards == {p0: 0, p2: 0}
    seen = blocks(env.env, obs[p2]["observation"])
    assert seen["board"].tolist() == [1, 0, 0, 0] and seen["turn"].tolist() == [1, 0, 0] and seen["card"].tolist() == [0, 1, 0, 0]
    assert seen["pot"] == pytest.approx([7 / 39]) and seen["contributions"] == pytest.approx([3 / 13, 1 / 13, 3 / 13])
    step(player_0=CHECK)
    obs, *_ = step(player_2=RAISE)  # 3, 1, 7
    assert obs[p0]["action_mask"].tolist() == [1, 0, 1, 1]
    obs, rewards, terminations, _, _ = step(player_0=CALL)  # 7, 1, 7: ace against queen for the pot of 15
    assert rewards == {p0: 8, p2: -7} and terminations == {p0: True, p2: True}
    assert env.agents == []  # with player_1's -1, the hand sums to zero


# ---------------------------------------------------------------- random play
CONFIGS = [("kuhn", 2), ("leduc", 2), ("kuhn", 3), ("leduc", 3)]


@pytest.mark.parametrize("variant, n_players", CONFIGS)
def test_random_play_is_zero_sum_and_masks_follow_the_rules(variant, n_players):
    """Masks, checked against the observation: the actor may check xor fold/call, raise while raises remain; others only check."""
    env = marl_envs.make_batched("poker_v0", 256, variant=variant, n_agents=n_players)
    out = env.reset(seed=1)
    generator = torch.Generator().manual_seed(1)
    episode = torch.zeros(256, dtype=torch.float64)
    cap = 1 if variant == "kuhn" else 2
    ended, seen_masks = 0, set()
    for _ in range(150):
        for b in range(0, 256, 7):
            for i in range(n_players):
                parts = blocks(env, out.obs[b, i])
                actor = int(np.argmax(parts["turn"]))
                if i != actor:
                    assert out.action_mask[b, i].tolist() == ONLY_CHECK
                    continue
                facing = parts["contributions"][actor] < parts["contributions"].max()
                this_round = int(np.argmax(parts["round"]))
                raises = int(parts["history"][this_round, :, RAISE].sum())
                expected = mask_of(*((FOLD, CALL) if facing else (CHECK,)), *((RAISE,) if raises < cap else ()))
                assert out.action_mask[b, i].tolist() == expected
                seen_masks.add(tuple(expected))
        out = env.step(env.random_actions(generator))
        episode += out.reward.double().sum(1)
        done = (out.terminated | out.truncated).all(1)
        assert bool((episode[done].abs() < 1e-6).all())
        episode[done] = 0
        ended += int(done.sum())
    # Kuhn: check-or-raise, fold-or-call; Leduc also fold-call-raise (a raise remains when facing one)
    assert ended > 1000 and len(seen_masks) == (2 if variant == "kuhn" else 3)


@pytest.mark.parametrize("variant, n_players", CONFIGS)
def test_lookup_tables_and_joined_pieces_agree(variant, n_players, monkeypatch):
    """Observations and states come from one (node, cards) lookup table when it is small, else are joined from pieces."""
    from marl_envs.envs import poker

    def rollout():
        env = marl_envs.make_batched("poker_v0", 64, variant=variant, n_agents=n_players, hands=2)
        generator = torch.Generator().manual_seed(3)
        outs = [env.reset(seed=3)]
        for _ in range(40):
            outs.append(env.step(env.random_actions(generator)))
        return env, outs

    table_env, by_table = rollout()
    monkeypatch.setattr(poker, "_OBS_TABLE_LIMIT", 0)
    pieces_env, by_pieces = rollout()
    assert table_env._obs_table is not None and pieces_env._obs_table is None and pieces_env._state_table is None
    for a, b in zip(by_table, by_pieces):
        for field in ("obs", "state", "final_obs", "final_state", "action_mask", "reward"):
            assert torch.equal(getattr(a, field), getattr(b, field)), field


@pytest.mark.parametrize("variant, n_players", [("leduc", 4), ("kuhn", 10)])
def test_the_largest_tables_play_zero_sum(variant, n_players):
    env = marl_envs.make_batched("poker_v0", 64, variant=variant, n_agents=n_players)
    out = env.reset(seed=0)
    assert out.obs.shape == (64, n_players, env.obs_size)
    generator = torch.Generator().manual_seed(0)
    episode = torch.zeros(64, dtype=torch.float64)
    for _ in range(60):
        out = env.step(env.random_actions(generator))
        episode += out.reward.double().sum(1)
        done = out.terminated.all(1)
        assert bool((episode[done].abs() < 1e-6).all())
        episode[done] = 0


def test_illegal_actions_name_the_agent():
    env = marl_envs.make_batched("poker_v0", 2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'player_1' in sub-env 1: action 3 is illegal now; legal actions: \\[1\\]"):
        env.step(torch.tensor([[CHECK, CHECK], [CHECK, RAISE]]))  # player_1 is not to act
    with pytest.raises(ValueError, match="agent 'player_0' in sub-env 0: action 0 is illegal now; legal actions: \\[1, 3\\]"):
        env.step(torch.tensor([[FOLD, CHECK], [CHECK, CHECK]]))  # nothing to fold to
    view = poker_v0.parallel_env()
    view.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'player_0': action 2 is illegal now; legal actions: \\[1, 3\\]"):
        view.step({"player_0": CALL, "player_1": CHECK})


def test_unvalidated_illegal_actions_play_the_passive_action():
    table = Table(["Ks", "Qs", "Jh"], validate_actions=False)
    table.act(0, RAISE)
    table.act(1, RAISE)
    table.act(0, RAISE)  # a third raise: played as a call
    seen = table.seen(0)
    assert seen["round"].tolist() == [0, 1] and seen["contributions"] == pytest.approx([5 / 13, 5 / 13])
    table.act(0, FOLD)  # nothing to fold to: played as a check
    np.testing.assert_array_equal(table.seen(1)["history"], history(table.env, [RAISE, RAISE, CALL], [CHECK]))
    actions = torch.tensor([[RAISE, CHECK]])  # player_0 is not to act: its raise is ignored
    out = table.env.step(actions)
    assert out.reward.tolist() == [[5, -5]] and out.terminated.all()  # check-check: K wins the pot of 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variant": "holdem"}, "unknown variant 'holdem'; valid variants: kuhn, leduc"),
        ({"n_agents": 1}, "n_agents must be an integer >= 2, got 1"),
        ({"n_agents": 5}, "n_agents must be at most 4 for leduc"),
        ({"variant": "kuhn", "n_agents": 11}, "n_agents must be at most 10 for kuhn"),
        (
            {"n_agents": 4, "ranks": 2},
            "too many players for the deck: leduc with ranks=2 has 4 cards, but n_agents=4 needs 5 \\(one card per player and the board\\)",
        ),
        (
            {"variant": "kuhn", "n_agents": 3, "ranks": 2},
            "too many players for the deck: kuhn with ranks=2 has 2 cards, but n_agents=3 needs 3 \\(one card per player\\)",
        ),
        ({"ranks": 14}, "ranks must be at most 13"),
        ({"ranks": 0}, "ranks must be an integer >= 1, got 0"),
        ({"hands": 0}, "hands must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        marl_envs.make_batched("poker_v0", 1, **kwargs)


def test_bad_cards():
    env = marl_envs.make_batched("poker_v0", 1)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="a leduc card is written like 'Kh' \\(ranks JQK, suits sh\\), got 'Ad'"):
        env.set_cards([["Ad", "Ks", "Qs"]])
    with pytest.raises(ValueError, match="3 distinct cards"):
        env.set_cards([["Ks", "Ks", "Qs"]])
    with pytest.raises(ValueError, match="cards must be \\[1, 3\\] \\(one row per sub-env\\), got shape \\[3\\]"):
        env.set_cards(["Ks", "Qs", "Jh"])


def test_card_ids_are_integers_or_names():
    env = marl_envs.make_batched("poker_v0", 2)
    env.reset(seed=0)
    env.set_cards([[0, np.int64(1), "Kh"], [3, 4, 5]])
    assert env.episode.cards.tolist() == [[0, 1, 5], [3, 4, 5]]
    env.set_cards(torch.tensor([[5, 4, 3], [2, 1, 0]]))
    env.set_cards(np.array([[1, 0, 2]], np.int8), env_ids=[1])
    env.set_cards([[2, 3, 4]], env_ids=torch.tensor([0]))
    assert env.episode.cards.tolist() == [[2, 3, 4], [1, 0, 2]]


@pytest.mark.parametrize(
    "cards, env_ids, error, message",
    [
        (
            [[0.5, 1, 2]],
            [0],
            TypeError,
            "cards\\[0\\]\\[0\\] must be a card id \\(an integer in \\[0, 6\\)\\) or a name such as 'Kh', got 0.5 \\(float\\)",
        ),
        ([[0, 1.0, 2]], [0], TypeError, "cards\\[0\\]\\[1\\] must be a card id .*, got 1.0 \\(float\\)"),
        ([[0, 1, True]], [0], TypeError, "cards\\[0\\]\\[2\\] must be a card id .*, got True \\(bool\\)"),
        ([[0, 1, np.bool_(True)]], [0], TypeError, "cards\\[0\\]\\[2\\] must be a card id .*\\(bool\\)"),
        ([[0, 1, None]], [0], TypeError, "cards\\[0\\]\\[2\\] must be a card id .*, got None \\(NoneType\\)"),
        (np.array([[0.0, 1.0, 2.0]]), [0], TypeError, "cards\\[0\\]\\[0\\] must be a card id .*, got 0.0 \\(float\\)"),
        (torch.tensor([[0.0, 1.0, 2.0]]), [0], TypeError, "cards\\[0\\]\\[0\\] must be a card id .*, got 0.0 \\(float\\)"),
        (torch.tensor([[False, True, True]]), [0], TypeError, "cards\\[0\\]\\[0\\] must be a card id .*, got False \\(bool\\)"),
        ([[0, 1, 6]], [0], ValueError, "each sub-env needs 3 distinct cards in \\[0, 6\\), got \\[0, 1, 6\\]"),
        ([[0, 1, 2]], [0.5], TypeError, "env_ids must be None, an int or a sequence of ints \\(sub-env indices\\), got \\[0.5\\]"),
        ([[0, 1, 2]], torch.tensor([True]), TypeError, "env_ids must be None, an int or a sequence of ints .*, got tensor\\(\\[True\\]\\)"),
        ([[0, 1, 2]], [2], ValueError, "env_ids must be distinct sub-env indices in \\[0, 2\\), got \\[2\\]"),
        ([[0, 1, 2], [3, 4, 5]], [1, 1], ValueError, "env_ids must be distinct sub-env indices in \\[0, 2\\), got \\[1, 1\\]"),
    ],
)
def test_bad_card_ids_are_refused_and_change_nothing(cards, env_ids, error, message):
    env = marl_envs.make_batched("poker_v0", 2)
    env.reset(seed=0)
    before = env.episode.cards.clone(), env.episode.strength.clone(), env.episode.private_view.clone()
    with pytest.raises(error, match=f"^{message}$") as caught:
        env.set_cards(cards, env_ids)
    assert "\n" not in str(caught.value)
    assert all(torch.equal(a, b) for a, b in zip(before, (env.episode.cards, env.episode.strength, env.episode.private_view)))


# ---------------------------------------------------------------- matches of several hands
def test_a_match_of_three_hands():
    table = Table(["J", "Q"], variant="kuhn", hands=3)
    assert table.env.obs_size == 26 and table.seen(0)["hand"].tolist() == [0]
    table.act(0, RAISE)
    out = table.act(1, FOLD)  # hand 1: the bluff works; the match goes on
    assert out.reward.tolist() == [[1, -1]] and out.terminated.tolist() == [[False, False]] and out.alive.all()
    seen = table.seen(1)
    assert seen["hand"] == pytest.approx([1 / 3]) and not seen["history"].any() and seen["turn"].tolist() == [1, 0]
    table.env.set_cards([["Q", "K"]])
    table.act(0, CHECK)
    out = table.act(1, CHECK)  # hand 2: showdown, K beats Q
    assert out.reward.tolist() == [[-1, 1]] and not out.terminated.any()
    table.env.set_cards([["K", "J"]])
    table.act(0, RAISE)
    out = table.act(1, CALL)  # hand 3, the last: the match is over
    assert out.reward.tolist() == [[2, -2]] and out.terminated.tolist() == [[True, True]]
    assert table.seen(0, final=True)["hand"] == pytest.approx([2 / 3]) and table.seen(0)["hand"].tolist() == [0]


def test_a_folded_player_sits_out_the_hand_but_stays_in_the_match():
    env = poker_v0.parallel_env(variant="kuhn", n_agents=3, hands=2)
    env.reset(seed=0)
    env.env.set_cards([["J", "Q", "K"]])
    env.step({"player_0": RAISE, "player_1": CHECK, "player_2": CHECK})  # 2, 1, 1
    obs, rewards, terminations, *_ = env.step({"player_0": CHECK, "player_1": FOLD, "player_2": CHECK})
    assert rewards == {"player_0": 0, "player_1": -1, "player_2": 0} and not any(terminations.values())
    assert env.agents == env.possible_agents and obs["player_1"]["action_mask"].tolist() == [0, 1, 0, 0]
    obs, rewards, *_ = env.step({"player_0": CHECK, "player_1": CHECK, "player_2": CALL})  # K beats J for the pot of 5
    assert rewards == {"player_0": -2, "player_1": 0, "player_2": 3}
    assert blocks(env.env, obs["player_0"]["observation"])["hand"] == pytest.approx([0.5])


# ---------------------------------------------------------------- spaces, deals, rendering
@pytest.mark.parametrize(
    "variant, n_players, obs_size, state_size", [("kuhn", 2, 25, 26), ("leduc", 2, 49, 50), ("kuhn", 3, 38, 43), ("leduc", 3, 79, 84)]
)
def test_sizes_follow_the_documented_formulas(variant, n_players, obs_size, state_size):
    env = poker_v0.parallel_env(variant=variant, n_agents=n_players)
    space = env.observation_space("player_0")
    assert space["observation"].shape == (obs_size,) and env.state_space.shape == (state_size,)
    assert space["action_mask"].shape == (4,) and env.action_space("player_0").n == 4
    N, R, rounds = n_players, n_players + 1, 1 if variant == "kuhn" else 2
    slots = N + (1 if variant == "kuhn" else 2) * (N - 1)
    board = R if variant == "leduc" else 0
    assert obs_size == N + R + board + rounds + 3 * N + 1 + rounds * slots * 4
    assert state_size == N * R + board + rounds + 3 * N + 1 + rounds * slots * 4


def test_deals_are_distinct_and_uniform():
    env = marl_envs.make_batched("poker_v0", 6000)
    env.reset(seed=0)
    cards = env.episode.cards
    assert all(len(set(row)) == 3 for row in cards.tolist())
    for position in range(3):
        frequency = torch.bincount(cards[:, position], minlength=6).double() / 6000
        assert (frequency - 1 / 6).abs().max() < 0.02


def test_render_ansi():
    table = Table(["Ks", "Qs", "Jh"])
    text = table.env.render("ansi")
    assert "Leduc hold'em, hand 1/1, round 1/2, pot 2" in text and "board: ??" in text
    assert "player_0  Ks  in 1 to act" in text and "player_1  Qs  in 1" in text
    table.act(0, RAISE)
    table.act(1, CALL)
    text = table.env.render("ansi")
    assert "board: Jh" in text and "pot 6" in text and "history: round 1: raise call | round 2: -" in text
