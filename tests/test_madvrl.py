"""MA-DVRL and its GRU actor-critic ablation (marl_baselines/algos/madvrl.py): networks, the ELBO's
terms, masks, the fixed strategies, the opponent pool, exact evaluation, checkpoints and the
command line, on small runs (the learning tests are in test_learning_madvrl.py)."""

from __future__ import annotations

import csv
import math

import helpers
import numpy as np
import pytest
import torch

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.madvrl import MADVRL, MADVRLConfig
from marl_baselines.algos.madvrl_model import Belief, BeliefNetworks, elbo_terms, gaussian_kl
from marl_baselines.buffers import episode_ended
from marl_baselines.cli import main
from marl_baselines.head_to_head import chips_per_hand, t_interval
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env
from marl_envs.analysis.poker_strategies import FIXED_STRATEGIES, FixedStrategy
from marl_envs.envs.poker_rules import PokerRules
from marl_envs.poker_analysis import InfoSetInputs, game

FOLD, CHECK, CALL, RAISE = range(4)
SMALL = {"hidden_size": 16, "belief_size": 8, "rollout_steps": 8, "minibatches": 2, "exploitability_interval": 0}


def quiet_run(tmp_path, **kwargs):
    return helpers.quiet_run(tmp_path, **{"eval_episodes": 4, **kwargs})


def make(variant="kuhn", num_envs=16, variational=True, seed=0, **config):
    env = make_vec_env("poker_v0", num_envs, variant=variant)
    return MADVRL(env, MADVRLConfig(**{**SMALL, **config}), seed, variational=variational), env


def test_registered():
    for name in ("madvrl", "gru_ac"):
        spec = ALGORITHMS[name]
        assert spec.config_class is MADVRLConfig and spec.discrete_only
    env = make_vec_env("poker_v0", 4)
    assert ALGORITHMS["madvrl"].build(env, MADVRLConfig(**SMALL), 0).variational
    assert not ALGORITHMS["gru_ac"].build(env, MADVRLConfig(**SMALL), 0).variational


# ---------------------------------------------------------------- networks
def test_network_shapes_and_the_ablation_has_no_variational_parts():
    O, N, R, H, L = 49, 2, 3, 16, 8
    obs, last_action = torch.rand(5, N, O), torch.zeros(5, N, 4)
    for variational in (True, False):
        nets = BeliefNetworks(O, N, R, H, L, variational)
        hidden, prior, posterior = nets.step(obs, last_action, torch.zeros(5, N, H))
        assert hidden.shape == (5, N, H) and prior.mean.shape == posterior.mean.shape == (5, N, L)
        noise = torch.randn(5, N, 2 * L) if variational else None
        joint = nets.joint(prior, posterior, noise)
        assert joint.shape == (5, N, 2 * L)  # the joint belief: twice the belief (512 with the defaults)
        assert nets.logits(joint, torch.ones(5, N, 4, dtype=torch.bool)).shape == (5, N, 4)
        assert nets.values(nets.joint(prior, posterior)).shape == (5, N)
        assert (prior.std is None) == (posterior.std is None) == (not variational)
        assert hasattr(nets, "decode_cards") == variational
    default = BeliefNetworks(O, N, R)  # the design note's sizes
    assert default.encoder[0].out_features == default.encoder[2].out_features == 256
    assert default.posterior_mean.out_features == 256 and default.policy[0].in_features == 512
    assert [m.out_features for m in default.policy if isinstance(m, torch.nn.Linear)] == [256, 256, 4]
    assert [m.out_features for m in default.value if isinstance(m, torch.nn.Linear)] == [256, 256, 1]
    _, prior, posterior = default.step(obs, last_action, torch.zeros(5, N, 256))
    assert torch.allclose(prior.std, torch.full_like(prior.std, 0.1), atol=0.02)  # init_std


def test_sequence_equals_steps_with_resets():
    nets = BeliefNetworks(25, 2, 3, 16, 8)
    T, C = 5, 6
    obs, last_action = torch.rand(T, C, 25), torch.rand(T, C, 4)
    starts = torch.zeros(T, C, dtype=torch.bool)
    starts[2, :3] = True
    initial = torch.randn(C, 16)
    hiddens, prior, posterior = nets.sequence(obs, last_action, initial, starts)
    hidden = initial
    for t in range(T):
        hidden = hidden.masked_fill(starts[t, :, None], 0.0)
        hidden, p, q = nets.step(obs[t], last_action[t], hidden)
        torch.testing.assert_close(hiddens[t], hidden)
        torch.testing.assert_close(posterior.mean[t], q.mean)
        torch.testing.assert_close(prior.std[t], p.std)


# ---------------------------------------------------------------- the ELBO
def test_kl_is_zero_when_posterior_equals_prior_and_matches_torch():
    mean, std = torch.randn(7, 8), torch.rand(7, 8) + 0.1
    same = gaussian_kl(Belief(mean, std), Belief(mean.clone(), std.clone()))
    assert same.shape == (7,) and torch.allclose(same, torch.zeros(7), atol=1e-6)
    other_mean, other_std = torch.randn(7, 8), torch.rand(7, 8) + 0.1
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, std), torch.distributions.Normal(other_mean, other_std)
    ).sum(-1)
    torch.testing.assert_close(gaussian_kl(Belief(mean, std), Belief(other_mean, other_std)), reference)
    assert (reference > 0).all()


def _gradient_norms(nets, loss) -> dict[str, float]:
    nets.zero_grad()
    loss.backward(retain_graph=True)
    parts = {
        "encoder": [*nets.encoder.parameters(), *nets.prior_mean.parameters(), *nets.prior_std.parameters()],
        "inference": [
            *nets.inference_input.parameters(),
            *nets.inference_cell.parameters(),
            *nets.posterior_mean.parameters(),
            *nets.posterior_std.parameters(),
        ],
        "decoders": [
            *nets.decoder.parameters(),
            *nets.decode_obs.parameters(),
            *nets.decode_actions.parameters(),
            *nets.decode_cards.parameters(),
        ],
        "policy": [*nets.policy.parameters(), *nets.value.parameters()],
    }
    return {name: sum(float(p.grad.abs().sum()) for p in params if p.grad is not None) for name, params in parts.items()}


def test_elbo_terms_use_the_right_tensors_and_reach_encoder_and_inference_network():
    """The must-show test: shapes, which networks each term's gradient reaches, KL 0 at posterior = prior."""
    torch.manual_seed(0)
    N, O, R, L, T, C = 3, 30, 4, 8, 4, 5  # three players: two opponents to predict
    nets = BeliefNetworks(O, N, R, 16, L)
    obs = (torch.rand(T, C, O) < 0.3).float()
    _, prior, posterior = nets.sequence(obs, torch.zeros(T, C, 4), torch.zeros(C, 16), torch.zeros(T, C, dtype=torch.bool))
    noise = torch.randn(T, C, L)
    next_actions = torch.randint(4, (T, C, N - 1))
    next_actions[0] = -1  # no opponent action to predict at t = 0
    cards = torch.randint(R, (T, C, N - 1))
    terms = elbo_terms(nets, prior, posterior, noise, obs, next_actions, cards)
    assert set(terms) == {"obs_nll", "action_nll", "card_nll", "kl"} and all(v.shape == (T, C) for v in terms.values())

    # The reconstructions decode the posterior's sample mean + std * noise (not the prior's, not its mean).
    obs_logits, action_logits, card_logits = nets.decode(posterior.mean + posterior.std * noise)
    assert action_logits.shape == (T, C, N - 1, 4) and card_logits.shape == (T, C, N - 1, R)
    torch.testing.assert_close(
        terms["obs_nll"], torch.nn.functional.binary_cross_entropy_with_logits(obs_logits, obs, reduction="none").sum(-1)
    )
    card_nll = -torch.log_softmax(card_logits, -1).gather(-1, cards[..., None]).squeeze(-1).sum(-1)
    torch.testing.assert_close(terms["card_nll"], card_nll)
    action_nll = -torch.log_softmax(action_logits, -1).gather(-1, next_actions.clamp(min=0)[..., None]).squeeze(-1)
    torch.testing.assert_close(terms["action_nll"], (action_nll * (next_actions >= 0)).sum(-1))
    assert (terms["action_nll"][0] == 0).all()  # missing targets count nothing
    torch.testing.assert_close(terms["kl"], gaussian_kl(posterior, prior))

    # Gradients: reconstructions reach the inference network and the decoders, never the encoder;
    # the KL reaches the encoder and the inference network; nothing here reaches policy or value.
    for name in ("obs_nll", "action_nll", "card_nll"):
        norms = _gradient_norms(nets, terms[name].sum())
        assert norms["inference"] > 0 and norms["decoders"] > 0 and norms["encoder"] == 0 and norms["policy"] == 0, (name, norms)
    norms = _gradient_norms(nets, terms["kl"].sum())
    assert norms["encoder"] > 0 and norms["inference"] > 0 and norms["decoders"] == 0 and norms["policy"] == 0, norms
    # KL balancing splits the KL's gradient; 1: only the prior moves, 0: only the posterior
    only_prior = elbo_terms(nets, prior, posterior, noise, obs, next_actions, cards, kl_balance=1.0)["kl"]
    norms = _gradient_norms(nets, only_prior.sum())
    assert norms["encoder"] > 0 and norms["inference"] == 0
    only_posterior = elbo_terms(nets, prior, posterior, noise, obs, next_actions, cards, kl_balance=0.0)["kl"]
    norms = _gradient_norms(nets, only_posterior.sum())
    assert norms["encoder"] == 0 and norms["inference"] > 0
    torch.testing.assert_close(only_prior, only_posterior)  # the value is the same KL

    # KL is 0 when the posterior equals the prior
    equal = elbo_terms(nets, prior, Belief(prior.mean, prior.std), noise, obs, next_actions, cards)["kl"]
    assert torch.allclose(equal, torch.zeros_like(equal), atol=1e-5)


def test_training_loss_reaches_every_network_and_recomputes_the_acting_policy():
    """One rollout through act/observe: recomputing the sequences in training gives the log-probabilities
    act recorded (the ratio starts at 1), and the total loss's gradient reaches encoder, inference
    network, decoders and heads."""
    algo, env = make("leduc", num_envs=32, fixed_fraction=0.5)
    out = env.reset(seed=0)
    algo.start(out)
    hidden = algo.initial_hidden(32)
    captured = {}
    original = algo.loss

    def capture(batch, initial):
        if not captured:
            captured.update(batch=batch, initial=initial)
        return original(batch, initial)

    algo.loss = capture
    for step in range(algo.config.rollout_steps):
        actions, hidden, act_info = algo.act(out, hidden, explore=True)
        after = env.step(actions)
        stats = algo.observe(out, actions, act_info, after, (step + 1) * 32)
        out = after
        hidden = hidden.masked_fill(episode_ended(out)[:, None, None], 0.0)
    assert stats is not None and stats["approx_kl"] >= 0 and math.isfinite(stats["negative_elbo"])
    # the networks are the ones before the update: restore them to recompute the first minibatch
    batch, initial = captured["batch"], captured["initial"]
    fresh, _ = make("leduc", num_envs=32, fixed_fraction=0.5)
    loss, first = fresh.loss(batch, initial)
    assert abs(float(first["approx_kl"])) < 1e-6 and float(first["clip_fraction"]) == 0
    norms = _gradient_norms(fresh.nets, loss)
    assert all(value > 0 for value in norms.values()), norms


# ---------------------------------------------------------------- acting
@pytest.mark.parametrize("variational", [True, False])
def test_every_action_is_legal_and_the_learner_trains_only_its_seats(variational):
    """poker_v0 refuses illegal actions: a run with pool members and fixed strategies at the table
    shows every seat's action is legal; the learner's rows are the self-play hands and its own seats."""
    algo, env = make("leduc", num_envs=64, variational=variational, fixed_fraction=0.3, pool_fraction=0.3, snapshot_interval=1)
    out = env.reset(seed=1)
    algo.start(out)
    hidden = algo.initial_hidden(64)
    for step in range(3 * algo.config.rollout_steps):
        actions, hidden, act_info = algo.act(out, hidden, explore=True)
        mask = out.action_mask
        assert mask.gather(-1, actions[..., None]).all()
        assert torch.isfinite(act_info["log_prob"]).all()
        self_play = algo.controller == 0
        assert (act_info["learner"].all(1) == self_play).all()
        assert (act_info["learner"].sum(1)[~self_play] == 1).all()
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, (step + 1) * 64)
        out = after
        hidden = hidden.masked_fill(episode_ended(out)[:, None, None], 0.0)
    assert len(algo.pool) == 3  # one checkpoint per update
    greedy, _, _ = algo.act(out, hidden, explore=False)
    assert out.action_mask.gather(-1, greedy[..., None]).all()
    table = algo.policy_table()
    legal = InfoSetInputs(game("leduc")).legal.numpy()
    assert (table[~legal] == 0).all() and np.allclose(table.sum(1), 1)


def test_opponents_are_drawn_per_hand_in_the_configured_proportions():
    algo, _ = make("kuhn", num_envs=4000, pool_fraction=0.3, fixed_fraction=0.2)
    # no checkpoint yet: the pool's share is self-play
    codes = algo.controller
    assert abs(float((codes == 0).float().mean()) - 0.8) < 0.03
    for k in range(len(FIXED_STRATEGIES)):
        assert abs(float((codes == 1 + k).float().mean()) - 0.05) < 0.015
    algo._add_snapshot()
    algo._add_snapshot()
    algo._draw_opponents(torch.ones(4000, dtype=torch.bool))
    codes = algo.controller
    assert abs(float((codes == 0).float().mean()) - 0.5) < 0.03
    assert abs(float((codes == 5).float().mean()) - 0.15) < 0.02 and abs(float((codes == 6).float().mean()) - 0.15) < 0.02
    assert abs(float((algo.learner_seat == 1).float().mean()) - 0.5) < 0.03
    # opponents change only where a hand ended
    before = algo.controller.clone()
    ended = torch.zeros(4000, dtype=torch.bool)
    ended[:100] = True
    algo._draw_opponents(ended)
    assert torch.equal(algo.controller[100:], before[100:]) and not torch.equal(algo.controller[:100], before[:100])


def test_targets_are_the_opponents_next_actions_in_the_hand_and_their_cards():
    algo, env = make("leduc", num_envs=8, rollout_steps=12)
    out = env.reset(seed=3)
    algo.start(out)
    hidden = algo.initial_hidden(8)
    original = algo.train
    seen = {}

    def keep():
        seen.update(algo._targets(), data={k: v.clone() for k, v in algo.buffer.extra.items()})
        return original()

    algo.train = keep
    for step in range(12):
        actions, hidden, act_info = algo.act(out, hidden, explore=True)
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, step)
        out = after
        hidden = hidden.masked_fill(episode_ended(out)[:, None, None], 0.0)
    data = seen["data"]
    acting = data["action_mask"].sum(-1) > 1
    T, B, N = data["actions"].shape
    checked = 0
    for b in range(B):
        for n in range(N):
            for t in range(T):
                opponent = 1 - n
                expected = -1
                for later in range(t, T):  # the opponent's next action in this hand
                    if acting[later, b, opponent]:
                        expected = int(data["actions"][later, b, opponent])
                        break
                    if data["env_ended"][later, b]:
                        break
                assert int(seen["next_actions"][t, b, n, 0]) == expected
                assert int(seen["opponent_cards"][t, b, n, 0]) == int(data["cards"][t, b, opponent])
                checked += expected >= 0
    assert checked > 50


# ---------------------------------------------------------------- fixed strategies
def _strategy_table(name: str, variant: str) -> np.ndarray:
    g = game(variant)
    strategy = FixedStrategy(name, g.rules)

    def policy(info_set):
        mask = torch.zeros(4, dtype=torch.bool)
        mask[list(info_set.legal_actions)] = True
        return strategy.probabilities(torch.from_numpy(info_set.observation), mask).double().numpy()

    return g.policy_array(policy)


@pytest.mark.parametrize("variant", ["kuhn", "leduc"])
def test_fixed_strategies_behave_as_named(variant):
    g = game(variant)
    uniform = g.uniform_policy()
    tables = {name: _strategy_table(name, variant) for name in FIXED_STRATEGIES}
    np.testing.assert_allclose(tables["random"], uniform)
    legal = uniform > 0
    calls = tables["always_call"]
    assert (calls[:, FOLD] == 0).all() and (calls[:, RAISE] == 0).all()
    facing = legal[:, CALL]
    assert (calls[facing, CALL] == 1).all() and (calls[~facing, CHECK] == 1).all()
    raises = tables["always_raise"]
    assert (raises[legal[:, RAISE], RAISE] == 1).all() and (raises[~legal[:, RAISE] & facing, CALL] == 1).all()
    rules = g.rules
    strength = tables["hand_strength"]
    for s in g.information_sets:
        top = s.card[0] == rules.rank_names()[-1]
        pair = s.board is not None and s.board[0] == s.card[0]
        low = rules.rank_names().index(s.card[0]) < (rules.ranks - 1) / 2
        row = strength[s.index]
        if top or pair:
            assert row[RAISE] == 1 or (RAISE not in s.legal_actions and row[CALL] == 1), s.key
        elif low:
            assert row[FOLD] == 1 or (CHECK in s.legal_actions and row[CHECK] == 1), s.key
        else:
            assert row[CHECK] == 1 or row[CALL] == 1, s.key
    # Exact values: the hand-strength rule beats random play; random play is exploitable by 0.458 (Kuhn)
    if variant == "kuhn":
        assert abs(g.exploitability(tables["random"]) - 0.4583333) < 1e-6
    mixed = tables["hand_strength"].copy()
    seat_1 = np.array([s.player == 1 for s in g.information_sets])
    mixed[seat_1] = tables["random"][seat_1]
    assert g.expected_values(mixed)[0] > {"kuhn": 0.15, "leduc": 0.5}[variant]


def test_chips_per_hand_agrees_with_the_exact_values_and_t_interval():
    mean, half = t_interval(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and abs(half - 3.182446 * math.sqrt(5 / 3) / 2) < 1e-5  # t(0.975, 3) s / sqrt(n)
    rules = PokerRules("kuhn")
    result = chips_per_hand(FixedStrategy("hand_strength", rules), FixedStrategy("random", rules), hands=20_000, seed=0, variant="kuhn")
    g = game("kuhn")
    strength, random = _strategy_table("hand_strength", "kuhn"), _strategy_table("random", "kuhn")
    seat_0 = np.array([s.player == 0 for s in g.information_sets])
    as_first = g.expected_values(np.where(seat_0[:, None], strength, random))[0]
    as_second = g.expected_values(np.where(seat_0[:, None], random, strength))[1]
    exact = (as_first + as_second) / 2
    assert result["hands"] == 20_000 and abs(result["mean"] - exact) < result["ci95"] and result["ci95"] < 0.05, (result, exact)


# ---------------------------------------------------------------- exact evaluation
@pytest.mark.parametrize("variant", ["kuhn", "leduc"])
def test_policy_table_is_the_policy_the_network_plays_in_the_env(variant):
    """Replaying the public path to an information set gives the probabilities the recurrent
    network computes when it plays the env; exploitability of the initial near-uniform policy is
    that of the uniform policy."""
    algo, env = make(variant, num_envs=1, variational=False, hidden_size=32)
    g = game(variant)
    table = algo.policy_table()
    index = {s.key: s.index for s in g.information_sets}
    names = g.rules.rank_names()
    generator = torch.Generator().manual_seed(0)
    compared = 0
    for hand in range(30):
        out = env.reset(seed=hand)
        hidden = algo.initial_hidden(1)
        history: list[list[str]] = [[]]
        while True:
            node = env.env.states[int(env.env.episode.node[0])]
            seat = node.to_act
            cards = env.env.episode.cards[0].tolist()
            H = algo.config.hidden_size
            state, logits, _, _ = algo._forward(algo.policy_nets, out.obs, hidden[..., H:], hidden[..., :H], out.action_mask, None)
            probabilities = torch.softmax(logits[0, seat], -1).double().numpy()
            board = names[cards[-1] % g.rules.ranks] if g.rules.has_board and node.round >= 1 else ""
            key = f"{names[cards[seat] % g.rules.ranks]}{board}:" + "/".join("".join(round_) for round_ in history)
            np.testing.assert_allclose(probabilities, table[index[key]], atol=1e-5)
            compared += 1
            actions = torch.multinomial(torch.softmax(logits[0], -1), 1, generator=generator).T
            if node.round + 1 > len(history):
                history.append([])
            history[node.round].append("fkcr"[int(actions[0, seat])])
            hidden = algo._next_hidden(state, actions, out.action_mask)
            out = env.step(actions)
            if bool(episode_ended(out).any()):
                break
            if env.env.states[int(env.env.episode.node[0])].round > node.round:
                history.append([])
    assert compared > 60
    uniform = g.exploitability(g.uniform_policy())
    assert abs(algo.exploitability() - uniform) < 0.02 * uniform


def test_exploitability_is_logged_in_the_training_statistics(tmp_path):
    config = MADVRLConfig(**{**SMALL, "exploitability_interval": 256})
    result = train("madvrl", "poker_v0", quiet_run(tmp_path, total_steps=1024, num_envs=32, eval_interval=512), config, {"variant": "kuhn"})
    rows = list(csv.DictReader((result.run_dir / "train.csv").open()))
    assert [int(r["env_steps"]) for r in rows] == [512, 1024]
    for row in rows:
        assert 0.3 < float(row["exploitability"]) < 0.5 and 0.3 < float(row["exploitability_trained"]) < 0.5  # near uniform's 0.458
        for key in ("obs_nll", "action_nll", "card_nll", "kl", "chips_per_hand/random", "chips_per_hand/pool", "pool_size"):
            assert key in row
    checkpoint = torch.load(result.run_dir / "checkpoint.pt", weights_only=False)
    assert [steps for steps, _, _ in checkpoint["algo"]["exploitability_curve"]] == [256, 512, 768, 1024]


# ---------------------------------------------------------------- checkpoints, configuration, command line
@pytest.mark.parametrize("algo", ["madvrl", "gru_ac"])
def test_resume_continues_exactly(tmp_path, algo):
    config = {**SMALL, "exploitability_interval": 512, "snapshot_interval": 2, "fixed_fraction": 0.3, "pool_fraction": 0.4}
    run = {"num_envs": 16, "seed": 3}
    first = train(algo, "poker_v0", quiet_run(tmp_path / "a", total_steps=1200, **run), MADVRLConfig(**config), {"variant": "leduc"})
    resumed = train(
        algo,
        "poker_v0",
        quiet_run(tmp_path / "a", total_steps=2400, **run),
        MADVRLConfig(**config),
        {"variant": "leduc"},
        resume=first.run_dir,
    )
    whole = train(algo, "poker_v0", quiet_run(tmp_path / "b", total_steps=2400, **run), MADVRLConfig(**config), {"variant": "leduc"})
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert a["updates"] == b["updates"] == 2400 // (16 * 8) and len(a["pool"]) == len(b["pool"]) > 1
    for part in ("nets", "average"):
        for name in a[part]:
            torch.testing.assert_close(a[part][name], b[part][name], rtol=0, atol=0)
    for snapshot_a, snapshot_b in zip(a["pool"], b["pool"]):
        for name in snapshot_a:
            torch.testing.assert_close(snapshot_a[name], snapshot_b[name], rtol=0, atol=0)
    assert torch.equal(a["controller"], b["controller"]) and a["exploitability_curve"] == b["exploitability_curve"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hidden_size": 0}, "hidden_size must be >= 1, got 0"),
        ({"lr": -1.0}, "lr must be >= 0, got -1.0"),
        ({"entropy_coef": -0.1}, "entropy_coef must be >= 0, got -0.1"),
        ({"kl_balance": 1.5}, "kl_balance must lie in \\[0, 1\\], got 1.5"),
        ({"min_std": 0.0}, "min_std must be > 0, got 0.0"),
        ({"init_std": 0.005}, "init_std must be > min_std \\(0.01\\), got 0.005"),
        ({"average_decay": 1.0}, "average_decay must be < 1 \\(1 would freeze the learned policy\\), got 1.0"),
        (
            {"pool_fraction": 0.7, "fixed_fraction": 0.5},
            "pool_fraction \\+ fixed_fraction must be <= 1 \\(the rest is self-play\\), got 0.7 \\+ 0.5",
        ),
        (
            {"fixed_strategies": "random,always_fold"},
            "fixed_strategies must be distinct names from random, always_call, always_raise, hand_strength separated by commas, got 'random,always_fold'",
        ),
        ({"fixed_strategies": ""}, "fixed_strategies must name at least one strategy when fixed_fraction > 0, got ''"),
    ],
)
def test_bad_configuration_names_the_field_the_expected_and_the_received(fields, message):
    with pytest.raises(ValueError, match=message):
        MADVRLConfig(**fields).check()


def test_bad_setups_fail_before_training(tmp_path):
    with pytest.raises(ValueError, match="madvrl trains on poker_v0 through the native source"):
        train("madvrl", "poker_v0", quiet_run(tmp_path, total_steps=64, num_envs=2, source="pettingzoo"), MADVRLConfig(**SMALL))
    with pytest.raises(ValueError, match="madvrl trains on poker_v0"):
        train("madvrl", "goal_grid_v0", quiet_run(tmp_path, total_steps=64, num_envs=2), MADVRLConfig(**SMALL))
    with pytest.raises(ValueError, match="exploitability_interval must be 0 for matches of several hands \\(hands=3\\)"):
        train(
            "madvrl",
            "poker_v0",
            quiet_run(tmp_path, total_steps=64, num_envs=2),
            MADVRLConfig(**{**SMALL, "exploitability_interval": 100}),
            {"hands": 3},
        )
    with pytest.raises(ValueError, match="minibatches=64 exceeds the rollout's 8 seat sequences"):
        train("gru_ac", "poker_v0", quiet_run(tmp_path, total_steps=64, num_envs=4), MADVRLConfig(**{**SMALL, "minibatches": 64}))
    assert not any(tmp_path.iterdir())
    # matches of several hands train when exploitability is off
    result = train(
        "madvrl", "poker_v0", quiet_run(tmp_path, total_steps=256, num_envs=8), MADVRLConfig(**SMALL), {"hands": 3, "variant": "kuhn"}
    )
    assert result.env_steps == 256


def test_command_line_trains_with_the_preset_and_documents_the_options(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for expected in (
        "madvrl",
        "gru_ac",
        "--belief-size",
        "--kl-balance",
        "--fixed-strategies",
        "--exploitability-interval",
        "madvrl poker_v0",
    ):
        assert expected in text
    assert (
        main(
            [
                "madvrl",
                "poker_v0",
                "--env-arg",
                "variant=kuhn",
                "--total-steps",
                "512",
                "--num-envs",
                "16",
                "--eval-episodes",
                "4",
                "--rollout-steps",
                "8",
                "--exploitability-interval",
                "256",
                "--eval-interval",
                "256",
                "--log-dir",
                str(tmp_path),
                "--progress",
                "false",
                "--tensorboard",
                "false",
            ]
        )
        == 0
    )
    (run_dir,) = (tmp_path / "poker_v0" / "madvrl").iterdir()
    config = (run_dir / "config.json").read_text()
    assert '"hidden_size": 64' in config and '"variant": "kuhn"' in config  # the preset, then the options
    assert "exploitability" in (run_dir / "train.csv").read_text().splitlines()[0]
