"""keep_away_v0 (mpe2's simple_push_v3) worked by hand: what each side sees, the rewards, and the push."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marl_envs
from marl_envs import keep_away_v0

NO_OP, LEFT, RIGHT = range(3)


def placed(agents, landmarks, goal, **kwargs):
    env = keep_away_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.episode.goal[0] = goal
    env.env.world.place(np.array([agents], float), np.zeros((1, 2, 2)), np.array([landmarks], float))
    return env


def test_only_the_agent_knows_the_goal_and_wears_its_colour():
    env = placed([[0.0, 0.0], [0.5, 0.0]], [[0.5, 0.3], [-0.4, 0.0]], goal=1)
    obs, rewards, _, _, infos = env.step({"adversary_0": NO_OP, "agent_0": NO_OP})
    # velocity, landmarks, the agent
    np.testing.assert_allclose(obs["adversary_0"], [0, 0, 0.5, 0.3, -0.4, 0.0, 0.5, 0.0], atol=1e-7)
    expected = [0, 0, -0.9, 0.0, 0.25, 0.25, 0.75, 0.0, 0.3, -0.9, 0.0, 0.1, 0.9, 0.1, 0.1, 0.1, 0.9, -0.5, 0.0]
    np.testing.assert_allclose(obs["agent_0"], expected, atol=1e-7)  # velocity, goal, colour, landmarks, their colours, the adversary
    np.testing.assert_allclose(env.state(), np.concatenate((obs["adversary_0"], obs["agent_0"])))
    assert rewards["agent_0"] == pytest.approx(-0.9, rel=1e-6)
    assert rewards["adversary_0"] == pytest.approx(0.9 - 0.4, rel=1e-6)  # the agent's distance minus its own
    assert infos["adversary_0"]["goal_distance"] == pytest.approx(0.4, rel=1e-6)


def test_agents_push_each_other():
    env = placed([[0.0, 0.0], [0.05, 0.0]], [[0.5, 0.5], [-0.5, -0.5]], goal=0)  # overlapping: 0.05 apart, radii 0.05 each
    obs, *_ = env.step({"adversary_0": NO_OP, "agent_0": NO_OP})
    assert obs["adversary_0"][0] < 0 < obs["agent_0"][0]  # pushed apart along x
    assert obs["adversary_0"][0] == pytest.approx(-obs["agent_0"][0], rel=1e-6)


def test_goal_colour_and_landmark_colours_follow_the_goal():
    env = placed([[0.0, 0.0], [0.5, 0.0]], [[0.5, 0.3], [-0.4, 0.0]], goal=0)
    obs, *_ = env.step({"adversary_0": NO_OP, "agent_0": NO_OP})
    np.testing.assert_allclose(obs["agent_0"][4:7], [0.25, 0.75, 0.25], atol=1e-7)
    assert math.isclose(float(np.linalg.norm(obs["agent_0"][2:4])), 0.3, rel_tol=1e-6)
    assert marl_envs.make("keep_away_v0").observation_space("agent_0").shape == (19,)
