"""The intrinsic curiosity module (marl_baselines/icm.py)."""

from __future__ import annotations

import pytest
import torch

from marl_baselines.icm import ICM, Curiosity, ICMOptions


def transitions(count: int, seed: int, obs_size: int = 10, actions: int = 5):
    generator = torch.Generator().manual_seed(seed)
    obs = torch.randn(count, 3, obs_size, generator=generator)
    action = torch.randint(actions, (count, 3), generator=generator)
    next_obs = obs + 0.5 * torch.randn(count, 3, obs_size, generator=generator)
    return obs, action, next_obs


def test_intrinsic_reward_decreases_on_transitions_seen_repeatedly():
    torch.manual_seed(0)
    curiosity = Curiosity(ICMOptions(icm_eta=1.0), 10, 5, True, torch.device("cpu"))
    seen, novel = transitions(64, seed=1), transitions(64, seed=2)
    alive = torch.ones(64, 3, dtype=torch.bool)
    before_seen = curiosity.reward(*seen, alive).mean()
    before_novel = curiosity.reward(*novel, alive).mean()
    for _ in range(300):
        curiosity.update(*seen, alive)
    after_seen = curiosity.reward(*seen, alive).mean()
    after_novel = curiosity.reward(*novel, alive).mean()
    assert after_seen < 0.2 * before_seen, (before_seen, after_seen)
    assert after_seen < 0.5 * after_novel, (after_seen, after_novel)  # what was not seen stays surprising
    assert before_novel > 0


def test_reward_shape_scale_and_dead_agents():
    torch.manual_seed(0)
    obs, action, next_obs = transitions(4, seed=3)
    module = ICM(10, 5, True, eta=1.0)
    reward = module.intrinsic_reward(obs, action, next_obs)
    assert reward.shape == (4, 3) and (reward > 0).all()
    module.eta = 0.5
    torch.testing.assert_close(module.intrinsic_reward(obs, action, next_obs), 0.5 * reward)
    curiosity = Curiosity(ICMOptions(), 10, 5, True, torch.device("cpu"))
    alive = torch.tensor([[True, False, True]] * 4)
    assert (curiosity.reward(obs, action, next_obs, alive)[:, 1] == 0).all()


def test_beta_weighs_the_forward_against_the_inverse_loss():
    """beta = 0: only the inverse model learns (the forward model gets no gradient); beta = 1: the
    reverse; both train the encoder, and the loss is (1 - beta) L_inverse + beta L_forward."""
    obs, action, next_obs = transitions(8, seed=4)
    weight = torch.ones(8, 3)

    def gradient(module: torch.nn.Module) -> float:
        return float(sum(p.grad.abs().sum() for p in module.parameters() if p.grad is not None))

    for beta in (0.0, 1.0, 0.2):
        torch.manual_seed(0)
        module = ICM(10, 5, True, beta=beta)
        loss, stats = module.loss(obs, action, next_obs, weight)
        loss.backward()
        assert (gradient(module.forward_model) > 0) == (beta > 0)
        assert (gradient(module.inverse_model) > 0) == (beta < 1)
        assert gradient(module.encoder) > 0
        expected = (1 - beta) * stats["icm_inverse_loss"] + beta * stats["icm_forward_loss"]
        assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)


def test_continuous_actions_and_checkpoints():
    torch.manual_seed(0)
    obs, _, next_obs = transitions(16, seed=5)
    actions = torch.rand(16, 3, 4)
    options = ICMOptions(icm_feature_size=8)
    curiosity = Curiosity(options, 10, 4, False, torch.device("cpu"))
    alive = torch.ones(16, 3, dtype=torch.bool)
    stats = curiosity.update(obs, actions, next_obs, alive)
    assert stats["icm_inverse_loss"] > 0
    copy = Curiosity(options, 10, 4, False, torch.device("cpu"))
    copy.load_state_dict(curiosity.state_dict())
    torch.testing.assert_close(copy.reward(obs, actions, next_obs, alive), curiosity.reward(obs, actions, next_obs, alive))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("icm_eta", -1.0, "icm_eta must be >= 0, got -1.0"),
        ("icm_beta", 1.5, "icm_beta must lie in \\[0, 1\\], got 1.5"),
        ("icm_feature_size", 0, "icm_feature_size must be >= 1, got 0"),
    ],
)
def test_bad_icm_options(field, value, message):
    with pytest.raises(ValueError, match=message):
        ICMOptions(**{field: value}).check_icm()
