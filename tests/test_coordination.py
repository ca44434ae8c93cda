"""coordination_v0 against the note's formulas, worked by hand (noise switched off where exact numbers are needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import coordination_v0


def placed(x, **kwargs):
    env = coordination_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.episode.x[0] = torch.tensor(x)
    return env


def test_cooperative_step_by_hand():
    env = placed([1.0, 0.0], n_agents=2, state_dim=2, action_dim=2, noise_std=0.0)
    obs, rewards, terminations, truncations, _ = env.step(
        {"agent_0": np.array([1.0, 0.0], np.float32), "agent_1": np.array([0.0, 1.0], np.float32)}
    )
    # mean action m = (0.5, 0.5); x = 0.9 * (1, 0) + 0.1 * (0.5, 0.5) = (0.95, 0.05)
    np.testing.assert_allclose(obs["agent_0"], [0.95, 0.05], rtol=1e-6)
    np.testing.assert_allclose(obs["agent_1"], [0.95, 0.05], rtol=1e-6)
    # ||x|| = sqrt(0.9025 + 0.0025); each ||a_i - m|| = sqrt(0.5)
    expected = -math.sqrt(0.905) - math.sqrt(0.5)
    assert rewards == {"agent_0": pytest.approx(expected, rel=1e-6), "agent_1": pytest.approx(expected, rel=1e-6)}
    assert not any(terminations.values()) and not any(truncations.values())


def test_competitive_step_by_hand():
    env = placed([0.0], n_agents=3, state_dim=1, action_dim=2, mode="competitive", noise_std=0.0)
    actions = {
        "agent_0": np.array([1.0, 0.0], np.float32),
        "agent_1": np.array([-1.0, 0.0], np.float32),
        "agent_2": np.array([1.0, 1.0], np.float32),
    }
    obs, rewards, *_ = env.step(actions)
    # m[:1] = (1 - 1 + 1) / 3 = 1/3, so x = 0.1 / 3
    x = 0.1 / 3
    assert obs["agent_0"][0] == pytest.approx(x)
    # pairwise distances: |a0 - a1| = 2, |a0 - a2| = 1, |a1 - a2| = sqrt(5)
    assert rewards["agent_0"] == pytest.approx(-abs(x - 1) - 0.1 * (2 + 1), rel=1e-6)
    assert rewards["agent_1"] == pytest.approx(-abs(x + 1) - 0.1 * (2 + math.sqrt(5)), rel=1e-6)
    assert rewards["agent_2"] == pytest.approx(-abs(x - 1) - 0.1 * (1 + math.sqrt(5)), rel=1e-6)
    assert len(set(rewards.values())) == 3  # competitive rewards differ


def test_cooperative_rewards_are_shared_and_competitive_are_not():
    for mode, shared in (("cooperative", True), ("competitive", False)):
        env = marl_envs.make_batched("coordination_v0", num_envs=64, mode=mode)
        env.reset(seed=0)
        out = env.step(torch.rand(64, 3, 4) * 2 - 1)
        assert bool((out.reward == out.reward[:, :1]).all()) == shared


def test_noise_and_start_are_standard_normal():
    env = marl_envs.make_batched("coordination_v0", num_envs=4096, n_agents=1, state_dim=4, action_dim=4)
    start = env.reset(seed=0).state
    assert abs(float(start.mean())) < 0.03 and abs(float(start.std()) - 1) < 0.03
    out = env.step(torch.zeros(4096, 1, 4))
    noise = out.state - 0.9 * start  # zero actions: x' - 0.9 x is the noise alone
    assert abs(float(noise.std()) - 0.1) < 0.003 and abs(float(noise.mean())) < 0.003


def test_discrete_prototypes():
    env = coordination_v0.parallel_env(n_agents=2, state_dim=2, action_dim=2, noise_std=0.0, continuous_actions=False)
    assert env.action_space("agent_0").n == 5
    env.reset(seed=0)
    env.env.episode.x[0] = torch.tensor([0.0, 0.0])
    # action 1 = +e_0, action 4 = -e_1: m = (0.5, -0.5), x = (0.05, -0.05)
    obs, *_ = env.step({"agent_0": 1, "agent_1": 4})
    np.testing.assert_allclose(obs["agent_0"], [0.05, -0.05], rtol=1e-6)


def test_truncation_only():
    env = coordination_v0.parallel_env(max_cycles=3)
    env.reset(seed=0)
    for t in range(3):
        _, _, terminations, truncations, _ = env.step({a: np.zeros(4, np.float32) for a in env.agents})
        assert not any(terminations.values()) and all(truncations.values()) == (t == 2)


def test_bad_arguments():
    for kwargs, message in [
        ({"action_dim": 3}, "action_dim must be >= state_dim = 4"),
        ({"mode": "friendly"}, "mode must be one of \\('cooperative', 'competitive'\\)"),
        ({"noise_std": -0.1}, "noise_std must be a finite number >= 0"),
        ({"state_dim": 0}, "state_dim must be an integer >= 1"),
        ({"continuous_actions": 1}, "continuous_actions must be True or False"),
    ]:
        with pytest.raises(ValueError, match=message):
            coordination_v0.parallel_env(**kwargs)
    env = coordination_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'agent_1': action \\[1.5, 0.0, 0.0, 0.0\\] is out of range"):
        env.step({"agent_0": np.zeros(4, np.float32), "agent_1": np.array([1.5, 0, 0, 0], np.float32), "agent_2": np.zeros(4, np.float32)})
    with pytest.raises(ValueError, match="contains NaN"):
        env.step({"agent_0": np.full(4, np.nan, np.float32), "agent_1": np.zeros(4, np.float32), "agent_2": np.zeros(4, np.float32)})
