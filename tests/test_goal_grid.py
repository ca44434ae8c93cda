"""goal_grid_v0 against the rules of the MADDPG design note, with examples worked by hand.

Cells are (row, col); actions 0 up, 1 down, 2 left, 3 right. Reward when not every agent is
on its goal: -0.05 - 0.1 * (sum of Manhattan distances) - 0.5 per wall hit or colliding pair.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import goal_grid_v0

UP, DOWN, LEFT, RIGHT = range(4)


def step(env, *actions):
    return env.step({f"agent_{i}": a for i, a in enumerate(actions)})


def test_defaults_reproduce_the_note():
    env = goal_grid_v0.parallel_env()
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == ["agent_0", "agent_1"] and env.max_cycles == 100
    assert env.action_space("agent_0").n == 4
    # agent 0 at (0, 0), goal (4, 0); agent 1 at (4, 4), goal (0, 4); all divided by 4.
    np.testing.assert_array_equal(obs["agent_0"], [0, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(obs["agent_1"], [1, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(env.state(), [0, 0, 1, 1, 1, 0, 0, 1])


def test_down_left_from_reset():
    env = goal_grid_v0.parallel_env()
    env.reset(seed=0)
    obs, rewards, terminations, truncations, _ = step(env, DOWN, LEFT)
    # agent 0 -> (1, 0): distance to (4, 0) is 3; agent 1 -> (4, 3): distance to (0, 4) is 4 + 1 = 5.
    np.testing.assert_allclose(obs["agent_0"], [0.25, 0.0, 1.0, 0.75, 1.0, 0.0])
    np.testing.assert_allclose(obs["agent_1"], [1.0, 0.75, 0.25, 0.0, 0.0, 1.0])
    assert rewards == {"agent_0": pytest.approx(-0.85), "agent_1": pytest.approx(-0.85)}
    assert not any(terminations.values()) and not any(truncations.values())


def test_leaving_the_grid_costs_half_and_stays():
    env = goal_grid_v0.parallel_env()
    env.reset(seed=0)
    obs, rewards, *_ = step(env, UP, RIGHT)  # both would leave the grid
    np.testing.assert_array_equal(obs["agent_0"][:4], [0, 0, 1, 1])
    # distances 4 + 4, two wall hits: -0.05 - 0.8 - 1.0
    assert rewards["agent_0"] == pytest.approx(-1.85)


def test_two_agents_onto_one_cell_bounce_back():
    env = goal_grid_v0.parallel_env(starts=[(0, 0), (0, 2)], goals=[(2, 2), (2, 0)])
    env.reset(seed=0)
    obs, rewards, *_ = step(env, RIGHT, LEFT)  # both aim at (0, 1)
    np.testing.assert_array_equal(obs["agent_0"][:4], [0, 0, 0, 0.5])
    # distances 4 + 4, one colliding pair: -0.05 - 0.8 - 0.5
    assert rewards["agent_0"] == pytest.approx(-1.35)


def test_agents_may_swap_cells():
    env = goal_grid_v0.parallel_env(starts=[(0, 0), (0, 1)], goals=[(4, 4), (4, 0)])
    env.reset(seed=0)
    obs, rewards, *_ = step(env, RIGHT, LEFT)
    np.testing.assert_array_equal(obs["agent_0"][:4], [0, 0.25, 0, 0])
    # distances |0-4| + |1-4| = 7 and 4 + 0 = 4
    assert rewards["agent_0"] == pytest.approx(-0.05 - 1.1)


def test_an_agent_on_its_goal_does_not_move():
    env = goal_grid_v0.parallel_env(starts=[(4, 0), (0, 0)], goals=[(4, 0), (0, 4)])
    env.reset(seed=0)
    obs, rewards, *_ = step(env, DOWN, RIGHT)  # agent 0 would leave the grid, but it stays, unpunished
    np.testing.assert_array_equal(obs["agent_0"][:4], [1, 0, 0, 0.25])
    assert rewards["agent_0"] == pytest.approx(-0.05 - 0.3)
    # A moving agent bumping into one that rests on its goal: both stay, -0.5.
    env = goal_grid_v0.parallel_env(starts=[(4, 0), (3, 0)], goals=[(4, 0), (0, 4)])
    env.reset(seed=0)
    obs, rewards, *_ = step(env, UP, DOWN)
    np.testing.assert_array_equal(obs["agent_1"][:2], [0.75, 0])
    assert rewards["agent_0"] == pytest.approx(-0.05 - 0.1 * 7 - 0.5)


def test_success_pays_ten_and_terminates():
    env = goal_grid_v0.parallel_env(starts=[(3, 0), (0, 3)])
    env.reset(seed=0)
    obs, rewards, terminations, truncations, _ = step(env, DOWN, RIGHT)
    assert rewards == {"agent_0": 10.0, "agent_1": 10.0}
    assert all(terminations.values()) and not any(truncations.values())
    assert env.agents == []
    # Only one agent arriving is not success: the other's distance counts.
    env.reset(seed=0)
    _, rewards, terminations, *_ = step(env, DOWN, LEFT)
    assert rewards["agent_0"] == pytest.approx(-0.05 - 0.1 * 2) and not any(terminations.values())


def test_three_agents_cascade_of_bounces():
    # agent 0 rests on its goal (0, 2); agent 2 at (0, 1) moves onto it and is sent back;
    # agent 1 at (0, 0) moved into (0, 1), so it clashes with agent 2 and is sent back too.
    env = goal_grid_v0.parallel_env(n_agents=3, starts=[(0, 2), (0, 0), (0, 1)], goals=[(0, 2), (4, 0), (4, 1)])
    obs, _ = env.reset(seed=0)
    assert obs["agent_1"].shape == (8,)
    # agent 1 sees itself, then agents 0 and 2, then its goal
    np.testing.assert_array_equal(obs["agent_1"], np.array([0, 0, 0, 2, 0, 1, 4, 0]) / 4)
    obs, rewards, *_ = step(env, DOWN, RIGHT, RIGHT)
    np.testing.assert_array_equal(env.state()[:6], np.array([0, 2, 0, 0, 0, 1]) / 4)
    # distances 0 + 4 + 4; two colliding pairs
    assert rewards["agent_0"] == pytest.approx(-0.05 - 0.8 - 1.0)


def test_truncation_at_max_cycles():
    env = goal_grid_v0.parallel_env(max_cycles=3)
    env.reset(seed=0)
    for t in range(3):
        _, _, terminations, truncations, _ = step(env, UP, RIGHT)
        assert all(truncations.values()) == (t == 2) and not any(terminations.values())
    assert env.agents == []


def test_randomized_layouts_are_distinct_and_vary():
    env = marl_envs.make_batched("goal_grid_v0", num_envs=256, n_agents=3, size=4, randomize=True)
    env.reset(seed=0)
    cells = torch.cat((env.episode.positions, env.episode.goals), 1)  # [B, 6, 2]
    flat = cells[..., 0] * 4 + cells[..., 1]
    assert all(len(set(row)) == 6 for row in flat.tolist())
    assert len({tuple(row) for row in flat.tolist()}) > 200
    assert flat.min() >= 0 and flat.max() < 16


def test_bad_arguments():
    for kwargs, message in [
        ({"size": 1}, "size must be an integer >= 2"),
        ({"n_agents": 1}, "n_agents must be an integer >= 2"),
        ({"n_agents": 3}, "fixed layout is for 2 agents"),
        ({"randomize": "yes"}, "randomize must be True or False"),
        ({"randomize": True, "starts": [(0, 0), (1, 1)]}, "do not pass starts"),
        ({"size": 2, "n_agents": 3, "randomize": True}, "needs 2 \\* n_agents = 6 distinct cells"),
        ({"starts": [(0, 0), (0, 0)]}, "starts must be distinct"),
        ({"goals": [(0, 0), (9, 0)]}, "outside the 5x5 grid"),
        ({"goals": [(0, 0)]}, "must hold 2 \\(row, col\\) pairs"),
    ]:
        with pytest.raises(ValueError, match=message):
            goal_grid_v0.parallel_env(**kwargs)
