"""line_formation_v0 and circle_formation_v0 (mpe2's simple_line_v1, simple_formation_v1) worked by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import circle_formation_v0, line_formation_v0
from marl_envs.envs.formations import matched_distances

NO_OP = 0


def test_the_matching_minimises_the_total_distance_not_each_agents():
    # greedy (agent 0 takes its nearest place, 0) pays 1 + 10; the optimum swaps: 2 + 3
    distances = torch.tensor([[[1.0, 2.0], [10.0, 3.0]]], dtype=torch.float64)
    permutations = torch.tensor(list(itertools.permutations(range(2))))
    assert matched_distances(distances, permutations).tolist() == [[1.0, 3.0]]
    distances = torch.tensor([[[1.0, 2.0], [1.5, 9.0]]], dtype=torch.float64)
    assert matched_distances(distances, permutations).tolist() == [[2.0, 1.5]]


def placed_line(agents, first, second, **kwargs):
    env = line_formation_v0.parallel_env(N=len(agents), **kwargs)
    env.reset(seed=0)
    inner = env.env
    direction = (np.array(second) - np.array(first)) / 1.25
    places = [np.array(first) + i * 1.25 / (len(agents) - 1) * direction for i in range(len(agents))]
    inner.episode.places[0] = torch.tensor(np.array(places))
    inner.world.place(np.array([agents], float), np.zeros((1, len(agents), 2)), np.array([[first, second]], float))
    return env


def test_line_reward_is_minus_the_mean_matched_distance():
    env = placed_line([[1.25, 0.1], [0.0, -0.2]], [0.0, 0.0], [1.25, 0.0])
    obs, rewards, terminations, _, infos = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    assert rewards["agent_0"] == rewards["agent_1"] == pytest.approx(-0.15, rel=1e-6)  # agent_0 to the far end, agent_1 to the near
    assert infos["agent_0"]["mean_distance"] == pytest.approx(0.15, rel=1e-6)
    np.testing.assert_allclose(obs["agent_0"], [0, 0, 1.25, 0.1, -1.25, -0.1, 0.0, -0.1], atol=1e-7)
    assert not any(terminations.values())


def test_success_terminates_unless_the_time_limit_comes_first():
    env = placed_line([[0.0, 0.0], [1.25, 0.01]], [0.0, 0.0], [1.25, 0.0], terminate_on_success=True)
    _, _, terminations, truncations, _ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    assert all(terminations.values()) and not any(truncations.values()) and env.agents == []
    env = placed_line([[0.0, 0.0], [1.25, 0.01]], [0.0, 0.0], [1.25, 0.0], terminate_on_success=True, max_cycles=1)
    _, _, terminations, truncations, _ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    assert all(truncations.values()) and not any(terminations.values())  # as mpe2: the time limit is checked first


def test_the_second_landmark_lies_inside_and_the_places_span_the_segment():
    env = marl_envs.make_batched("line_formation_v0", num_envs=2048, N=5)
    env.reset(seed=1)
    landmarks = env.world.episode.landmark_pos.permute(2, 1, 0)  # [B, 2, 2]
    assert (landmarks[:, 1].abs() < 1).all() and (landmarks[:, 0].abs() <= 0.25).all()
    torch.testing.assert_close((landmarks[:, 1] - landmarks[:, 0]).norm(dim=-1), torch.full((2048,), 1.25, dtype=torch.float64))
    torch.testing.assert_close(env.episode.places[:, 0], landmarks[:, 0])
    torch.testing.assert_close(env.episode.places[:, -1], landmarks[:, 1])


def test_circle_places_start_at_the_smallest_agent_angle():
    env = circle_formation_v0.parallel_env(N=2)
    env.reset(seed=0)
    # angles 0 and 3 pi / 2 around the landmark: places at angle 0 and pi
    env.env.world.place(np.array([[[0.5, 0.0], [0.0, -0.5]]]), np.zeros((1, 2, 2)), np.array([[[0.0, 0.0]]]))
    obs, rewards, *_ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    assert rewards["agent_0"] == pytest.approx(-math.sqrt(0.5) / 2, rel=1e-6)
    np.testing.assert_allclose(obs["agent_1"], [0, 0, 0.0, -0.5, 0.0, 0.5], atol=1e-7)


def test_too_many_agents_are_refused():
    with pytest.raises(ValueError, match="N must be at most 8 \\(the assignment tries all N! matchings\\), got 9"):
        marl_envs.make("circle_formation_v0", N=9)
