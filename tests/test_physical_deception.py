"""physical_deception_v0 (mpe2's simple_adversary_v3) worked by hand: who sees the goal, and the rewards' distances."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marl_envs
from marl_envs import physical_deception_v0

NO_OP = 0


def placed(agents, landmarks, goal, **kwargs):
    env = physical_deception_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.episode.goal[0] = goal
    env.env.world.place(np.array([agents], float), np.zeros((1, len(agents), 2)), np.array([landmarks], float))
    return env


def test_the_good_agent_sees_the_goal_and_the_adversary_does_not():
    env = placed([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.5]], goal=0, N=1)
    obs, rewards, _, _, infos = env.step({"adversary_0": NO_OP, "agent_0": NO_OP})
    np.testing.assert_allclose(obs["adversary_0"], [0.0, 0.5, 1.0, 0.0], atol=1e-7)  # the landmark, then agent_0
    np.testing.assert_allclose(obs["agent_0"], [-1.0, 0.5, -1.0, 0.5, -1.0, 0.0], atol=1e-7)  # the goal, the landmark, the adversary
    np.testing.assert_allclose(env.state(), np.concatenate((obs["adversary_0"], obs["agent_0"])))
    assert rewards["adversary_0"] == pytest.approx(-0.5, rel=1e-6)
    assert rewards["agent_0"] == pytest.approx(-math.sqrt(1.25) + 0.5, rel=1e-6)
    assert infos["agent_0"]["goal_distance"] == pytest.approx(math.sqrt(1.25), rel=1e-6)


def test_good_agents_share_the_closest_ones_distance():
    # agent_1 stands on the goal (landmark 1), agent_0 far away; the adversary at distance 0.6 from it
    env = placed([[0.0, 0.4], [0.9, 0.9], [0.0, -0.2]], [[0.5, 0.5], [0.0, -0.2]], goal=1, N=2)
    obs, rewards, *_ = env.step({agent: NO_OP for agent in env.agents})
    assert rewards["adversary_0"] == pytest.approx(-0.6, rel=1e-6)
    assert rewards["agent_0"] == rewards["agent_1"] == pytest.approx(0.6, rel=1e-6)
    np.testing.assert_allclose(obs["agent_0"][:2], [-0.9, -1.1], atol=1e-7)  # the goal, seen from agent_0
    np.testing.assert_allclose(obs["agent_1"][:2], [0.0, 0.0], atol=1e-7)


def test_partial_observability_keeps_the_goal_and_the_nearest_landmark():
    env = placed([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.5]], goal=0, N=1, num_landmark_neighbors=2, num_agent_neighbors=1)
    obs, *_ = env.step({"adversary_0": NO_OP, "agent_0": NO_OP})
    # 2 landmark slots for 1 landmark: zero-padded
    np.testing.assert_allclose(obs["agent_0"], [-1.0, 0.5, -1.0, 0.5, 0.0, 0.0, -1.0, 0.0], atol=1e-7)
    assert env.observation_space("adversary_0").shape == (6,) and env.observation_space("agent_0").shape == (8,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="N must be an integer >= 1, got 0"):
        marl_envs.make("physical_deception_v0", N=0)
    with pytest.raises(ValueError, match="num_agent_neighbors"):
        marl_envs.make("physical_deception_v0", num_agent_neighbors=0)
