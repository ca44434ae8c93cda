"""marl_envs.poker_analysis: information sets, best responses and exploitability, checked against
numbers worked by hand and published figures, and the exact game tree checked against poker_v0.

Policies are probabilities over (fold, check, call, raise).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs.envs.poker_rules import ACTIONS, observation_vector
from marl_envs.poker_analysis import PokerGame, game, information_sets, kuhn_equilibrium

FOLD, CHECK, CALL, RAISE = range(4)


def test_kuhn_information_sets():
    infosets = information_sets("kuhn")
    # Player 0 acts at the root and after check-raise, player 1 after a check or a raise; 3 cards each.
    assert sorted(s.key for s in infosets) == sorted(["J:", "Q:", "K:", "J:kr", "Q:kr", "K:kr", "J:k", "Q:k", "K:k", "J:r", "Q:r", "K:r"])
    assert [s.player for s in infosets].count(0) == [s.player for s in infosets].count(1) == 6
    by_key = {s.key: s for s in infosets}
    assert by_key["K:"].legal_actions == (CHECK, RAISE) and by_key["K:kr"].legal_actions == (FOLD, CALL)
    assert by_key["Q:r"].player == 1 and by_key["Q:r"].card == "Q" and by_key["Q:r"].board is None


def test_leduc_information_set_counts():
    """By rank: per player 3 round-1 nodes x 3 cards + 5 round-2 entries x 3 nodes x 9 (card, board) = 144.

    Round 1 has 3 decision nodes per player ("", kr, rr for player 0; k, r, krr for player 1) and
    5 betting sequences lead to round 2 (kk, rc, krc, rrc, krrc), each followed by the same 3 + 3
    decision nodes. So 2 * (9 + 135) = 288 information sets: the literature's 288 (Kroer's
    sequence-form Leduc: 144 per player, 337 sequences each). Distinguishing suits, as OpenSpiel
    does, gives 6 cards and 6 x 5 (card, board) pairs: 2 * (3 * 6 + 15 * 30) = 936, the often
    quoted "936 information sets".
    """
    leduc = game("leduc")
    assert len(leduc.information_sets) == 288
    assert sum(s.player == 0 for s in leduc.information_sets) == 144
    for player in (0, 1):  # sequences: the empty one and one per (information set, legal action)
        assert 1 + sum(len(s.legal_actions) for s in leduc.information_sets if s.player == player) == 337
    with_suits = game("leduc", suits=True)
    assert len(with_suits.information_sets) == 936
    assert sum(s.player == 1 for s in with_suits.information_sets) == 468
    keys = {s.key for s in leduc.information_sets}
    assert {"J:", "QK:rc/", "QK:rc/kr", "KK:krrc/rr"} <= keys and "Js:" in {s.key for s in with_suits.information_sets}


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.2, 1 / 3])
def test_kuhn_equilibrium_family_is_unexploitable_with_value_minus_one_eighteenth(alpha):
    # The family as published (Kuhn 1950), written out here independently of kuhn_equilibrium():
    # player 0 bets J with alpha, Q never, K with 3 alpha; after check-bet calls Q with alpha + 1/3
    # and K always; player 1 after a check bets J with 1/3 and K always, facing a bet calls Q with
    # 1/3 and K always. J never calls.
    policy = {
        "J:": [0, 1 - alpha, 0, alpha],
        "Q:": [0, 1, 0, 0],
        "K:": [0, 1 - 3 * alpha, 0, 3 * alpha],
        "J:kr": [1, 0, 0, 0],
        "Q:kr": [2 / 3 - alpha, 0, alpha + 1 / 3, 0],
        "K:kr": [0, 0, 1, 0],
        "J:k": [0, 2 / 3, 0, 1 / 3],
        "Q:k": [0, 1, 0, 0],
        "K:k": [0, 0, 0, 1],
        "J:r": [1, 0, 0, 0],
        "Q:r": [2 / 3, 0, 1 / 3, 0],
        "K:r": [0, 0, 1, 0],
    }
    kuhn = game("kuhn")
    np.testing.assert_allclose(kuhn.policy_array(policy), kuhn.policy_array(kuhn_equilibrium(alpha)))
    np.testing.assert_allclose(kuhn.expected_values(policy), [-1 / 18, 1 / 18], atol=1e-12)
    np.testing.assert_allclose(kuhn.best_response_values(policy), [-1 / 18, 1 / 18], atol=1e-12)
    assert abs(kuhn.exploitability(policy)) < 1e-9


def test_always_raise_is_exploitable_by_exactly_one_third():
    """Always raise (bet) where raising is legal, else call. Worked by hand:

    Both players always bet or call, so every hand is a showdown for 2 chips: by symmetry the
    value is 0 for both. Player 1's best response to "player 0 always bets": fold J (-1 rather
    than calling into a sure loss of 2), call with Q (+2 against J, -2 against K: 0 > -1), call
    with K (+2): (-1 + 0 + 2) / 3 = 1/3. Player 0's best response to "player 1 bets after a
    check and calls a bet": with J check and fold to the bet (-1, better than -2), with Q bet
    (0), with K bet (+2): also 1/3. NashConv = 1/3 + 1/3 - 0 = 2/3; exploitability = 1/3.
    """

    def always_raise(info_set):
        return {"raise": 1.0} if RAISE in info_set.legal_actions else {"call": 1.0}

    kuhn = game("kuhn")
    np.testing.assert_allclose(kuhn.expected_values(always_raise), [0, 0], atol=1e-15)
    np.testing.assert_allclose(kuhn.best_response_values(always_raise), [1 / 3, 1 / 3], atol=1e-15)
    assert kuhn.nash_conv(always_raise) == pytest.approx(2 / 3, abs=1e-15)
    assert kuhn.exploitability(always_raise) == pytest.approx(1 / 3, abs=1e-15)
    response = kuhn.best_response(always_raise, player=1).policy
    assert response[kuhn.index["J:r"]].tolist() == [1, 0, 0, 0]  # fold the jack
    assert response[kuhn.index["Q:r"]].tolist() == [0, 0, 1, 0]  # call with the queen
    leduc = game("leduc")
    assert leduc.exploitability(always_raise) > 0.5


def test_uniform_policy_same_exploitability_through_dict_array_and_callable():
    for variant, nash_conv in (("kuhn", 11 / 12), ("leduc", 4.747222222222222)):  # OpenSpiel's published figures
        g = game(variant)
        array = g.uniform_policy()
        as_dict = {s.key: array[s.index].tolist() for s in g.information_sets}
        queried = []

        def uniform(info_set):
            queried.append(info_set.key)
            return {a: 1 / len(info_set.legal_actions) for a in info_set.legal_actions}

        values = [g.exploitability(p) for p in (array, as_dict, uniform, torch.as_tensor(array))]
        assert values[0] > 0 and values == pytest.approx([nash_conv / 2] * 4, abs=1e-12)
        assert sorted(queried) == sorted(s.key for s in g.information_sets)  # each information set, once


def test_sequence_form_solution():
    kuhn = game("kuhn").solve()
    assert kuhn.value == pytest.approx(-1 / 18, abs=1e-9)
    assert game("kuhn").exploitability(kuhn.policy) < 1e-9
    leduc = game("leduc").solve()
    assert leduc.value == pytest.approx(-0.0856, abs=5e-5)  # the published game value of Leduc hold'em
    assert game("leduc").exploitability(leduc.policy) < 1e-8
    np.testing.assert_allclose(game("leduc").expected_values(leduc.policy), [leduc.value, -leduc.value], atol=1e-8)


def test_bad_policies_give_clear_errors():
    kuhn = game("kuhn")
    policy = kuhn_equilibrium(0.1)
    with pytest.raises(ValueError, match="no entry for 1 of the 12 information sets, e.g. \\['K:r'\\]"):
        kuhn.exploitability({k: v for k, v in policy.items() if k != "K:r"})
    with pytest.raises(ValueError, match="unknown information set\\(s\\) \\['A:'\\]"):
        kuhn.exploitability({**policy, "A:": [0, 1, 0, 0]})
    with pytest.raises(ValueError, match="'K:r' \\(player 1\\): probability 1 on illegal action raise; legal: fold, call"):
        kuhn.exploitability({**policy, "K:r": [0, 0, 0, 1]})
    with pytest.raises(ValueError, match="'K:' \\(player 0\\): probabilities must sum to 1"):
        kuhn.exploitability({**policy, "K:": [0, 0.5, 0, 0.4]})
    with pytest.raises(ValueError, match="shape \\[12, 4\\]"):
        kuhn.exploitability(np.ones((12, 3)))
    with pytest.raises(ValueError, match="alpha must lie in \\[0, 1/3\\]"):
        kuhn_equilibrium(0.5)
    with pytest.raises(ValueError, match="unknown variant 'holdem'; valid variants: kuhn, leduc"):
        PokerGame("holdem")


# ---------------------------------------------------------------- the tree against the env
def flat(history):
    return [a for round_actions in history for a in round_actions]


def play_paths(variant, n_players, sample=None, seed=0):
    """Play (deal, betting path) pairs in poker_v0 and compare every step with the exact tree.

    Each sub-env gets a deal by hand and follows one path from the root to a terminal node of
    the tree; at every step its masks and every player's observation must be the tree's, and
    at the end its summed rewards must be the tree's payoffs for that deal. Returns
    ``(pairs, returns)``.
    """
    g = PokerGame(variant, n_players)
    rules, N = g.rules, n_players
    terminals = [u for u, s in enumerate(g.states) if s.terminal]
    pairs = [(d, z) for d in range(len(g.deals)) for z in terminals]
    if sample is not None:
        rng = np.random.default_rng(seed)
        pairs = [pairs[i] for i in rng.choice(len(pairs), sample, replace=False)]
    B = len(pairs)
    env = marl_envs.make_batched("poker_v0", B, variant=variant, n_agents=N)
    env.reset(seed=seed)
    env.set_cards(g.deals[[d for d, _ in pairs]])
    paths = [flat(g.states[z].history) for _, z in pairs]
    ranks = g.deals % rules.ranks
    obs, mask = env.observations(), env.action_masks()  # set_cards replaced the hands: observe again
    node = np.zeros(B, np.int64)
    returns = torch.zeros(B, N)
    generator = torch.Generator().manual_seed(seed)
    cache = {}

    def expected_obs(u, d, i):
        board = int(ranks[d, N]) if rules.has_board else None
        key = (u, i, int(ranks[d, i]), board)
        if key not in cache:
            cache[key] = observation_vector(rules, g.states[u], i, int(ranks[d, i]), board)
        return cache[key]

    check_only = [False, True, False, False]
    for t in range(max(map(len, paths))):
        live = [b for b in range(B) if t < len(paths[b])]
        live_t = torch.tensor(live)
        actions = env.random_actions(generator)  # sub-envs past their path play on legally
        expected_mask = []
        for b in live:
            state = g.states[node[b]]
            legal = [a in g.children[node[b]] for a in range(4)]
            expected_mask.append([legal if i == state.to_act else check_only for i in range(N)])
            actions[b, state.to_act] = paths[b][t]
        assert mask[live_t].tolist() == expected_mask, t
        expected = np.stack([[expected_obs(node[b], pairs[b][0], i) for i in range(N)] for b in live])
        np.testing.assert_array_equal(obs[live_t].numpy(), expected)
        out = env.step(actions)
        returns[live_t] += out.reward[live_t]
        for b in live:
            node[b] = g.children[node[b]][paths[b][t]]
        ended = [[True] * N if g.states[node[b]].terminal else list(g.states[node[b]].folded) for b in live]
        assert out.terminated[live_t].tolist() == ended, t
        expected = np.stack([[expected_obs(node[b], pairs[b][0], i) for i in range(N)] for b in live])
        np.testing.assert_array_equal(out.final_obs[live_t].numpy(), expected)
        obs, mask = out.obs, out.action_mask
    for b, (d, z) in enumerate(pairs):
        np.testing.assert_allclose(returns[b].numpy(), g.payoffs[z][:, d], atol=1e-6, err_msg=str((d, z)))
    return g, pairs, returns


@pytest.mark.parametrize(
    "variant, n_players, sample",
    [("kuhn", 2, None), ("leduc", 2, None), ("kuhn", 3, None), ("leduc", 3, 3000)],
    ids=["kuhn-2", "leduc-2", "kuhn-3", "leduc-3-sampled"],
)
def test_env_and_tree_agree_on_every_deal_and_path(variant, n_players, sample):
    g, pairs, returns = play_paths(variant, n_players, sample)
    assert abs(float(returns.sum(1).abs().max())) < 1e-5  # zero-sum on every path
    if sample is None:
        # The env's returns averaged over every deal and path, weighted by a policy's path
        # probabilities, are the tree's expected values (uniform random and an equilibrium).
        policies = [g.uniform_policy()] + ([g.policy_array(kuhn_equilibrium(0.25))] if (variant, n_players) == ("kuhn", 2) else [])
        for table in policies:
            weights = []
            for d, z in pairs:
                p, u = 1.0, 0
                for a in flat(g.states[z].history):
                    p *= table[g.infoset_at[u][d], a]
                    u = g.children[u][a]
                weights.append(p / len(g.deals))
            np.testing.assert_allclose(
                torch.as_tensor(weights, dtype=torch.float64) @ returns.double(), g.expected_values(table), atol=1e-6
            )


def test_observations_joined_from_pieces_agree_too(monkeypatch):
    """Games whose (node, seat, card, board) observation table would be large (4-player Leduc) join smaller tables."""
    from marl_envs.envs import poker

    assert marl_envs.make_batched("poker_v0", 1, n_agents=4)._obs_table is None
    monkeypatch.setattr(poker, "_OBS_TABLE_LIMIT", 0)
    play_paths("leduc", 2)
    play_paths("kuhn", 3)


def test_info_set_observation_is_what_the_env_shows():
    """A policy network trained on the env can be evaluated exactly: InfoSet.observation is its input."""
    g = game("leduc")
    by_key = {s.key: s for s in g.information_sets}
    env = marl_envs.make_batched("poker_v0", 1)
    env.reset(seed=0)
    env.set_cards([["Qs", "Jh", "Kh"]])
    for seat, action in ((0, RAISE), (1, CALL), (0, CHECK)):
        actions = torch.ones(1, 2, dtype=torch.int64)
        actions[0, seat] = action
        out = env.step(actions)
    # player_1 holds J, the board is K; round 1 raise-call, round 2 check: its turn.
    np.testing.assert_array_equal(out.obs[0, 1].numpy(), by_key["JK:rc/k"].observation)
    assert by_key["JK:rc/k"].player == 1 and ACTIONS[by_key["JK:rc/k"].legal_actions[-1]] == "raise"
