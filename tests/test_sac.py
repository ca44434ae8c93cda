"""ISAC / MASAC's core computations worked by hand: the squashed Gaussian's log-density, the soft
targets, the critic, policy and temperature losses on tiny batches with known numbers, and the
config's errors. (Training, checkpoints and resume: tests/test_every_algorithm.py; learning:
tests/test_learning_sac.py.)"""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution

from marl_baselines.algos.sac import SAC, SACConfig, squashed_gaussian
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env

GAMMA, ALPHA = 0.9, 0.5


def frozen_sac(variant: str, continuous: bool) -> SAC:
    """SAC on 2-agent coordination (one state and action dimension; discrete: 3 actions), every
    learning rate 0 so that a training step leaves the networks as the test set them."""
    env = make_vec_env("coordination_v0", 2, n_agents=2, state_dim=1, action_dim=1, continuous_actions=continuous)
    config = SACConfig(gamma=GAMMA, initial_alpha=ALPHA, actor_lr=0.0, critic_lr=0.0, alpha_lr=0.0, grad_clip=0.0)
    return SAC(env, config, variant, seed=0)


@torch.no_grad()
def set_constant(network, values) -> None:
    """Make an agent network output ``values`` whatever its input (output layer: zero weights, that bias)."""
    network.output.weight.zero_()
    network.output.bias.copy_(torch.as_tensor(values))


def batch(sac: SAC, actions: torch.Tensor, **fields) -> dict[str, torch.Tensor]:
    """Two transitions of the 2-agent env: rewards 1 (sample 0) and -1 (sample 1, terminated);
    agent 1 of sample 1 is not alive."""
    b, N = 2, 2
    out = {
        "obs": torch.randn(b, N, 1),
        "state": torch.randn(b, 1),
        "actions": actions,
        "reward": torch.tensor([[1.0, 1.0], [-1.0, -1.0]]),
        "next_obs": torch.randn(b, N, 1),
        "next_state": torch.randn(b, 1),
        "terminated": torch.tensor([[False, False], [True, True]]),
        "alive": torch.tensor([[True, True], [True, False]]),
        "next_alive": torch.tensor([[True, True], [False, False]]),
    }
    return {**out, **fields}


def test_squashed_gaussian_log_density_matches_torch_distributions():
    mean, log_std = torch.tensor([[0.3, -1.0, 2.0]]), torch.tensor([[-1.5, 0.0, 0.5]])
    noise = torch.tensor([[0.7, -2.0, 0.4]])
    scale, center = torch.tensor([0.5, 1.0, 2.0]), torch.tensor([0.5, 0.0, -1.0])
    action, log_prob = squashed_gaussian(mean, log_std, noise, scale, center)
    u = mean + log_std.exp() * noise
    assert torch.allclose(action, center + scale * torch.tanh(u))
    reference = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform(), AffineTransform(center, scale)])
    assert torch.allclose(log_prob, reference.log_prob(action).sum(-1), atol=1e-4)
    # At u = 0 by hand: log N(0; 0, 1) - log(scale) per dimension.
    _, at_zero = squashed_gaussian(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), torch.tensor([0.5, 2.0]), torch.zeros(2))
    assert at_zero.item() == pytest.approx(2 * -0.5 * math.log(2 * math.pi) - math.log(0.5) - math.log(2.0), abs=1e-6)
    # Where tanh saturates (u = 30) the density stays finite: log(1 - tanh^2) is taken without 1 - tanh^2.
    _, saturated = squashed_gaussian(torch.tensor([[30.0]]), torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1), torch.zeros(1))
    assert saturated.item() == pytest.approx(-0.5 * math.log(2 * math.pi) - 2 * (math.log(2) - 30 - math.log1p(math.exp(-60))), rel=1e-5)


@pytest.mark.parametrize("variant", ["isac", "masac"])
def test_discrete_targets_and_losses_by_hand(variant):
    """Policy p = (0.5, 0.25, 0.25) everywhere; critics Q1 = (1, 2, 3), Q2 = (2, 0, 3), so min = (1, 0, 3).
    Soft value V = sum p (min Q - alpha log p) = 1.25 + 0.5 H(p) with H(p) = 1.0397: V = 1.76986."""
    sac = frozen_sac(variant, continuous=False)
    assert sac.n_actions == 3 and sac.target_entropy == pytest.approx(0.98 * math.log(3))
    set_constant(sac.actor, torch.tensor([0.5, 0.25, 0.25]).log())
    for networks in (sac.critics, sac.target_critics):
        set_constant(networks[0], [1.0, 2.0, 3.0])
        set_constant(networks[1], [2.0, 0.0, 3.0])
    actions = torch.tensor([[[1.0, 0, 0], [0, 0, 1.0]], [[1.0, 0, 0], [0, 0, 0]]])  # agent 1 of sample 1 not alive
    data = batch(sac, actions)
    value = 1.25 + ALPHA * 1.0397208
    expected = torch.tensor([[1 + GAMMA * value] * 2, [-1.0, -1.0]])  # sample 1 terminated: no bootstrap
    assert torch.allclose(sac.targets(data), expected, atol=1e-5)

    # An action mask renormalises the policy: p = (2/3, 1/3, 0), V = 2/3 + 0.5 H(2/3, 1/3).
    masked = batch(sac, actions, next_action_mask=torch.tensor([True, True, False]).expand(2, 2, 3))
    assert sac.targets(masked)[0, 0].item() == pytest.approx(1 + GAMMA * (2 / 3 + ALPHA * 0.6365142), abs=1e-5)

    stats = sac.train_step(data)
    # Critic loss over the three alive agents: Q1 and Q2 of the taken actions (1, 2 for action 0; 3, 3 for action 2).
    y = expected[0, 0].item()
    q1_loss = ((1 - y) ** 2 + (3 - y) ** 2 + (1 + 1) ** 2) / 3
    q2_loss = ((2 - y) ** 2 + (3 - y) ** 2 + (2 + 1) ** 2) / 3
    assert stats["critic_loss"].item() == pytest.approx(q1_loss + q2_loss, abs=1e-4)
    assert stats["actor_loss"].item() == pytest.approx(-value, abs=1e-5)  # sum p (alpha log p - min Q) = -V
    assert stats["entropy"].item() == pytest.approx(1.0397208, abs=1e-5)
    # -log(alpha) (sum p log p + target entropy): raises alpha while the entropy is below the target
    assert stats["alpha_loss"].item() == pytest.approx(-math.log(ALPHA) * (-1.0397208 + 0.98 * math.log(3)), abs=1e-5)


@pytest.mark.parametrize("variant", ["isac", "masac"])
def test_continuous_targets_and_losses_by_hand(variant):
    """Actor mean 0.3 and log std -5 + 0.5 * 7 * (tanh(0) + 1) = -1.5 everywhere; critics 1 and 2
    whatever they see, so min Q = 1 and y = r + gamma (1 - terminated) (1 - alpha log pi(a'))."""
    sac = frozen_sac(variant, continuous=True)
    assert sac.target_entropy == -1.0
    set_constant(sac.actor, [0.3, 0.0])
    for networks in (sac.critics, sac.target_critics):
        set_constant(networks[0], [1.0])
        set_constant(networks[1], [2.0])
    data = batch(sac, torch.tensor([[[0.5], [-0.5]], [[0.2], [0.0]]]))
    generator = torch.Generator().set_state(sac.generator.get_state())
    noise = torch.randn((2, 2, 1), generator=generator)[..., 0]
    u = 0.3 + math.exp(-1.5) * noise
    log_prob = -0.5 * noise**2 + 1.5 - 0.5 * math.log(2 * math.pi) - torch.log(1 - torch.tanh(u) ** 2)  # Box [-1, 1]: scale 1
    expected = torch.stack((1 + GAMMA * (1 - ALPHA * log_prob[0]), torch.tensor([-1.0, -1.0])))
    assert torch.allclose(sac.targets(data), expected, atol=1e-4)

    stats = sac.train_step(data)
    # The policy loss alpha log pi - min Q on the agents alive: train_step's targets drew once more, then the actor step.
    torch.randn((2, 2, 1), generator=generator)
    noise = torch.randn((2, 2, 1), generator=generator)[..., 0]
    u = 0.3 + math.exp(-1.5) * noise
    log_prob = -0.5 * noise**2 + 1.5 - 0.5 * math.log(2 * math.pi) - torch.log(1 - torch.tanh(u) ** 2)
    alive = data["alive"]
    assert stats["actor_loss"].item() == pytest.approx((ALPHA * log_prob - 1)[alive].mean().item(), abs=1e-4)
    assert stats["alpha_loss"].item() == pytest.approx((-math.log(ALPHA) * (log_prob - 1.0))[alive].mean().item(), abs=1e-4)


def test_greedy_actions_are_the_modes_within_the_box():
    sac = frozen_sac("isac", continuous=True)
    set_constant(sac.actor, [5.0, 0.0])
    out = make_vec_env("coordination_v0", 2, n_agents=2, state_dim=1, action_dim=1).reset(seed=0)
    greedy = sac.act(out, None, explore=False)[0]
    assert torch.allclose(greedy, torch.full((2, 2, 1), math.tanh(5.0)))
    sampled = sac.act(out, None, explore=True)[0]
    assert ((sampled >= -1) & (sampled <= 1)).all() and not torch.equal(sampled, greedy)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("initial_alpha", 0.0, "initial_alpha must be > 0, got 0.0"),
        ("log_std_min", 3.0, "log_std_min must be below log_std_max, got 3.0 and 2.0"),
        ("critic_input", "both", "critic_input must be 'state' or 'obs', got 'both'"),
        ("target_entropy_fraction", 1.5, "target_entropy_fraction must lie in [0, 1], got 1.5"),
        ("alpha_lr", -1.0, "alpha_lr must be >= 0, got -1.0"),
    ],
)
def test_bad_options_are_refused_by_name(field, value, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        SACConfig(**{field: value}).check()


def test_trains_through_the_pettingzoo_source(tmp_path):
    """The PettingZoo source (num_envs copies of the ParallelEnv) trains, with Box actions."""
    from helpers import quiet_run

    run = quiet_run(tmp_path, total_steps=96, num_envs=2, eval_episodes=2, source="pettingzoo")
    result = train("masac", "coordination_v0", run, SACConfig(batch_size=8, learning_starts=32), {"max_cycles": 10})
    assert result.env_steps == 96 and math.isfinite(result.final["return"])
