"""IA2C / MAA2C and COMA (marl_baselines/algos/a2c.py, coma.py): their losses, COMA's critic input,
counterfactual advantage and TD(lambda) targets worked by hand, A2C as PPO's first pass, the target
critic, and both env sources (the learning tests are in test_learning_a2c.py)."""

from __future__ import annotations

import math

import helpers
import pytest
import torch

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.a2c import A2C, A2CConfig, a2c_loss
from marl_baselines.algos.coma import COMA, COMAConfig, counterfactual_advantage, joint_action_inputs, next_step_bootstrap
from marl_baselines.algos.ppo import PPO, PPOConfig
from marl_baselines.buffers import RolloutBuffer
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env


def test_registered():
    for name in ("ia2c", "maa2c"):
        assert ALGORITHMS[name].config_class is A2CConfig and not ALGORITHMS[name].discrete_only
    assert ALGORITHMS["coma"].config_class is COMAConfig and ALGORITHMS["coma"].discrete_only


def test_a2c_loss_by_hand():
    """Two alive entries and one dead one (weight 0, ignored)."""
    log_prob = torch.tensor([math.log(0.5), math.log(0.25), -7.0], requires_grad=True)
    advantages = torch.tensor([2.0, 1.0, 100.0])
    values = torch.tensor([1.0, 0.0, 5.0], requires_grad=True)
    targets = torch.tensor([3.0, 1.0, 0.0])
    entropy = torch.tensor([0.5, 1.5, 9.0])
    weight = torch.tensor([1.0, 1.0, 0.0])
    loss, stats = a2c_loss(log_prob, advantages, values, targets, entropy, weight, value_coef=0.5, entropy_coef=0.1)
    policy = 2 * math.log(2)  # -(ln(1/2) * 2 + ln(1/4) * 1) / 2
    value = 0.5 * ((1 - 3) ** 2 + (0 - 1) ** 2) / 2  # 1.25
    assert stats["policy_loss"].item() == pytest.approx(policy, abs=1e-6)
    assert stats["value_loss"].item() == pytest.approx(value)
    assert stats["entropy"].item() == pytest.approx(1.0)
    assert loss.item() == pytest.approx(policy + 0.5 * value - 0.1 * 1.0)
    loss.backward()
    # d loss / d log_prob = -A * weight / count; d loss / d V = value_coef * (V - R) * weight / count
    assert log_prob.grad.tolist() == pytest.approx([-1.0, -0.5, 0.0])
    assert values.grad.tolist() == pytest.approx([0.5 * (1 - 3) / 2, 0.5 * (0 - 1) / 2, 0.0])


def test_a2c_update_is_ppos_first_pass_without_clipping():
    """On the rollout it collected, PPO's ratio is 1, where its clipped surrogate has the policy
    gradient's gradient: one A2C update equals one PPO update of one pass in one batch (value_clip 0)."""
    torch.manual_seed(0)
    results = []
    for algo_class, config in (
        (A2C, A2CConfig(rollout_steps=8)),
        (PPO, PPOConfig(rollout_steps=8, epochs=1, minibatches=1, value_clip=0.0)),
    ):
        env = make_vec_env("target_grid_v0", 4, max_cycles=5)
        algo = algo_class(env, config, "state", seed=3)
        out = env.reset(seed=3)
        algo.start(out)
        stats = None
        while stats is None:
            actions, _, info = algo.act(out, None, explore=True)
            after = env.step(actions)
            stats = algo.observe(out, actions, info, after, 0)
            out = after
        results.append((algo, stats))
    (a2c, a2c_stats), (ppo, ppo_stats) = results
    assert ppo_stats["clip_fraction"] == 0
    # the policy losses' values differ (-log pi * A against ratio * A), their gradients do not
    for name in ("value_loss", "entropy"):
        assert float(a2c_stats[name]) == pytest.approx(float(ppo_stats[name]), rel=1e-5, abs=1e-7)
    for mine, theirs in zip(a2c.parameters, ppo.parameters):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_joint_action_inputs_by_hand():
    """Two agents, three actions: row a holds the state, agent a's observation and the one-hot
    actions of every agent with agent a's own zeroed."""
    state = torch.tensor([[7.0, 8.0]])
    obs = torch.tensor([[[0.5], [0.25]]])
    actions = torch.tensor([[2, 0]])
    inputs = joint_action_inputs(state, obs, actions, 3)
    assert inputs.tolist() == [[[7.0, 8.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0], [7.0, 8.0, 0.25, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]]


def test_counterfactual_advantage_by_hand():
    """Q(s, (u^-a, .)) = [1, 2, 4], pi_a = [0.5, 0.25, 0.25]: the baseline is 0.5 + 0.5 + 1 = 2, so
    taking action 2 has advantage 4 - 2 = 2 and action 0 has -1; the advantage averages to 0 under pi."""
    q = torch.tensor([[1.0, 2.0, 4.0]])
    probs = torch.tensor([[0.5, 0.25, 0.25]])
    assert counterfactual_advantage(q, probs, torch.tensor([2])).tolist() == [2.0]
    assert counterfactual_advantage(q, probs, torch.tensor([0])).tolist() == [-1.0]
    every = torch.stack([counterfactual_advantage(q, probs, torch.tensor([u])) for u in range(3)], -1)
    assert (every * probs).sum().item() == pytest.approx(0.0)


def test_coma_td_lambda_targets_by_hand():
    """One env, one agent, a 3-step rollout: an episode that truncates after step 1 and one that goes
    on past the rollout. Q^- of the taken actions 1, 2, 3; the expected bootstraps stored after each
    step 10, 20, 30; rewards 1, 0, 2; gamma 0.5, lambda 0.5.

    Step 1 (index 0) did not end: its bootstrap is the next step's Q^- = 2, so
    G_0 = r_0 + gamma ((1 - lambda) Q_1 + lambda G_1). Step 2 truncated: G_1 = r_1 + gamma * 20
    (its own bootstrap, nothing after it). Step 3 is the rollout's last: G_2 = r_2 + gamma * 30.
    """
    value = torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1)
    final = torch.tensor([10.0, 20.0, 30.0]).view(3, 1, 1)
    ended = torch.tensor([False, True, False]).view(3, 1, 1)
    bootstrap = next_step_bootstrap(value, final, ended)
    assert bootstrap.flatten().tolist() == [2.0, 20.0, 30.0]
    buffer = RolloutBuffer(3, 1, 1)
    for t, reward in enumerate((1.0, 0.0, 2.0)):
        buffer.add(value[t], torch.tensor([[reward]]), bootstrap[t], torch.tensor([[False]]), ended[t])
    _, returns = buffer.advantages(gamma=0.5, lam=0.5)
    g2 = 2 + 0.5 * 30  # 17
    g1 = 0 + 0.5 * 20  # 10
    g0 = 1 + 0.5 * (0.5 * 2 + 0.5 * g1)  # 1 + 0.5 * 6 = 4
    assert returns.flatten().tolist() == pytest.approx([g0, g1, g2])


def test_coma_terminal_step_bootstraps_nothing():
    value = torch.tensor([1.0, 2.0]).view(2, 1, 1)
    final = torch.tensor([9.0, 9.0]).view(2, 1, 1)
    ended = torch.tensor([True, False]).view(2, 1, 1)
    buffer = RolloutBuffer(2, 1, 1)
    bootstrap = next_step_bootstrap(value, final, ended)
    buffer.add(value[0], torch.tensor([[1.0]]), bootstrap[0], torch.tensor([[True]]), torch.tensor([[False]]))
    buffer.add(value[1], torch.tensor([[0.0]]), bootstrap[1], torch.tensor([[False]]), torch.tensor([[False]]))
    _, returns = buffer.advantages(gamma=0.9, lam=0.7)
    assert returns[0].item() == pytest.approx(1.0)


def test_coma_target_critic_refreshes_every_interval():
    env = make_vec_env("target_grid_v0", 4, max_cycles=5)
    algo = COMA(env, COMAConfig(rollout_steps=4, target_update_interval=3), seed=0)
    out = env.reset(seed=0)
    algo.start(out)

    def same() -> bool:
        return all(torch.equal(a, b) for a, b in zip(algo.critic.state_dict().values(), algo.target_critic.state_dict().values()))

    seen = []
    while algo.updates < 6:
        actions, _, info = algo.act(out, None, explore=True)
        after = env.step(actions)
        if algo.observe(out, actions, info, after, 0) is not None:
            seen.append((algo.updates, same()))
        out = after
    assert seen == [(1, False), (2, False), (3, True), (4, False), (5, False), (6, True)]


@pytest.mark.parametrize("algo", ["ia2c", "maa2c", "coma"])
def test_trains_through_the_pettingzoo_source(tmp_path, algo):
    """The same algorithm on num_envs copies of the PettingZoo env: it updates and evaluates."""
    run = helpers.quiet_run(tmp_path, total_steps=128, num_envs=2, eval_episodes=2, source="pettingzoo")
    config = ALGORITHMS[algo].config_class(rollout_steps=16, hidden_size=16)
    result = train(algo, "target_grid_v0", run, config, {"max_cycles": 10})
    assert math.isfinite(result.final["return"])


def test_coma_refuses_continuous_actions():
    env = make_vec_env("cooperative_navigation_v0", 1, continuous_actions=True)
    with pytest.raises(ValueError, match="coma needs discrete actions.*continuous_actions=False"):
        ALGORITHMS["coma"].check(env, env_arguments=("continuous_actions",))
