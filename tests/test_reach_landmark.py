"""reach_landmark_v0 (mpe2's simple_v3) worked by hand: one agent, one landmark, MPE's physics and the squared-distance reward."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marl_envs
from marl_envs import reach_landmark_v0

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)


def placed(agent, landmark, **kwargs):
    env = reach_landmark_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.world.place(np.array([[agent]], float), np.zeros((1, 1, 2)), np.array([[landmark]], float))
    return env


def test_reward_is_minus_the_squared_distance_after_the_step():
    env = placed([0.0, 0.0], [0.3, 0.4])
    obs, rewards, terminations, truncations, infos = env.step({"agent_0": RIGHT})
    # velocity 0.5 along x (5 * 0.1); the position moves with the velocity of the step before: still 0
    np.testing.assert_allclose(obs["agent_0"], [0.5, 0.0, 0.3, 0.4], atol=1e-7)
    assert rewards["agent_0"] == pytest.approx(-0.25, rel=1e-6)
    assert infos["agent_0"]["landmark_distance"] == pytest.approx(0.5, rel=1e-6)
    assert not terminations["agent_0"] and not truncations["agent_0"]
    obs, rewards, *_ = env.step({"agent_0": NO_OP})
    # velocity damped to 0.375; position 0.05 along x
    np.testing.assert_allclose(obs["agent_0"], [0.375, 0.0, 0.25, 0.4], atol=1e-7)
    assert rewards["agent_0"] == pytest.approx(-(0.25**2 + 0.4**2), rel=1e-6)
    np.testing.assert_array_equal(env.state(), obs["agent_0"])


def test_continuous_force_is_right_minus_left_and_up_minus_down():
    env = placed([0.0, 0.0], [0.5, 0.5], continuous_actions=True)
    obs, *_ = env.step({"agent_0": np.array([0.0, 0.25, 1.0, 0.5, 0.0], np.float32)})
    np.testing.assert_allclose(obs["agent_0"][:2], [5 * 0.75 * 0.1, -5 * 0.5 * 0.1], atol=1e-7)


def test_truncated_after_max_cycles_and_starts_inside_the_square():
    env = reach_landmark_v0.parallel_env(max_cycles=3)
    obs, _ = env.reset(seed=4)
    for _ in range(3):
        obs, _, terminations, truncations, _ = env.step({"agent_0": UP})
    assert truncations == {"agent_0": True} and terminations == {"agent_0": False} and env.agents == []
    batched = marl_envs.make_batched("reach_landmark_v0", num_envs=4096)
    out = batched.reset(seed=0)
    for positions in (batched.world.episode.agent_pos, batched.world.episode.landmark_pos):
        assert positions.min() >= -1 and positions.max() < 1 and positions.std() == pytest.approx(1 / math.sqrt(3), rel=0.05)
    assert (out.obs[:, 0, :2] == 0).all()  # velocities start at zero
