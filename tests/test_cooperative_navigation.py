"""cooperative_navigation_v0 worked by hand: MPE's physics and rewards on worlds small enough to compute on paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import cooperative_navigation_v0

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)


def placed(agents, landmarks, velocities=None, **kwargs):
    env = cooperative_navigation_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    velocities = np.zeros_like(agents) if velocities is None else velocities
    env.env.world.place(np.array(agents, float)[None], np.array(velocities, float)[None], np.array(landmarks, float)[None])
    return env


def test_a_push_accelerates_then_moves():
    """v <- 0.75 v + 5 * action * 0.1, and the position moves with the velocity of the step before."""
    env = placed([[0.0, 0.0]], [[0.5, 0.5]], N=1)
    obs, rewards, *_ = env.step({"agent_0": RIGHT})
    # velocity 0.5 along x; the position has not moved yet (the old velocity was 0)
    np.testing.assert_allclose(obs["agent_0"], [0.5, 0.0, 0.0, 0.0, 0.5, 0.5], atol=1e-7)
    assert rewards["agent_0"] == pytest.approx(-0.5 * math.sqrt(0.5), rel=1e-6)  # (1 - 0.5) * -distance, no one to bump into
    obs, *_ = env.step({"agent_0": UP})
    # position 0.05 along x; velocity (0.375, 0.5)
    np.testing.assert_allclose(obs["agent_0"], [0.375, 0.5, 0.05, 0.0, 0.45, 0.5], atol=1e-7)
    obs, *_ = env.step({"agent_0": NO_OP})
    np.testing.assert_allclose(obs["agent_0"][:4], [0.28125, 0.375, 0.0875, 0.05], atol=1e-7)


def test_continuous_action_is_right_minus_left_and_up_minus_down():
    env = placed([[0.0, 0.0]], [[0.5, 0.5]], N=1, continuous_actions=True)
    # MPE's layout: [no_action, left, right, down, up]
    obs, *_ = env.step({"agent_0": np.array([1.0, 0.25, 1.0, 0.5, 0.0], np.float32)})
    np.testing.assert_allclose(obs["agent_0"][:2], [5 * 0.75 * 0.1, -5 * 0.5 * 0.1], atol=1e-7)


def test_overlapping_agents_push_each_other_apart():
    # centres 0.2 apart, radii 0.15: an overlap of 0.1, so pen = 0.1 + 1e-3 * log1p(exp(-100)) = 0.1
    env = placed([[0.0, 0.0], [0.2, 0.0]], [[0.0, 0.0], [0.2, 0.0]], N=2)
    obs, rewards, *_ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    # force 100 * 0.1 = 10 away from each other: velocity 10 * 0.1 = 1
    np.testing.assert_allclose(obs["agent_0"][:2], [-1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(obs["agent_1"][:2], [1.0, 0.0], atol=1e-6)
    # Positions have not moved yet: each agent sits on a landmark (shared reward 0) and touches
    # the other one (-1): 0.5 * 0 + 0.5 * -1.
    assert rewards == {"agent_0": pytest.approx(-0.5), "agent_1": pytest.approx(-0.5)}


def test_distant_agents_do_not_touch():
    # 0.31 apart: no collision penalty, and a contact force of 100 * 1e-3 * log1p(exp(-10)) ~ 4.5e-6
    env = placed([[0.0, 0.0], [0.31, 0.0]], [[0.0, 0.0], [0.31, 0.0]], N=2)
    obs, rewards, *_ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
    assert rewards == {"agent_0": 0.0, "agent_1": 0.0}
    force = 100 * 1e-3 * math.log1p(math.exp(-10))
    np.testing.assert_allclose(obs["agent_0"][:2], [-force * 0.1, 0.0], rtol=1e-6)


def test_local_ratio_mixes_shared_and_own_rewards():
    # Agents at (0, 0) and (0.2, 0) touch; landmarks at (0, 0) and (1, 0): nearest distances 0 and 0.8.
    for local_ratio in (0.0, 0.25, 1.0):
        env = placed([[0.0, 0.0], [0.2, 0.0]], [[0.0, 0.0], [1.0, 0.0]], N=2, local_ratio=local_ratio)
        _, rewards, *_ = env.step({"agent_0": NO_OP, "agent_1": NO_OP})
        expected = (1 - local_ratio) * -0.8 + local_ratio * -1.0
        assert rewards == {"agent_0": pytest.approx(expected), "agent_1": pytest.approx(expected)}


def test_observation_layout():
    # N=3: [vel, pos, 3 landmarks relative, 2 other agents relative, 2 x 2 zeros of silent communication]
    agents = [[0.1, 0.2], [-0.5, 0.4], [0.9, -0.9]]
    landmarks = [[1.0, 1.0], [0.0, -1.0], [-1.0, 0.0]]
    env = placed(agents, landmarks, velocities=[[0.3, -0.1], [0.0, 0.0], [0.0, 0.0]])
    state = env.state()
    observation = state[:18]
    expected = [0.3, -0.1, 0.1, 0.2, 0.9, 0.8, -0.1, -1.2, -1.1, -0.2, -0.6, 0.2, 0.8, -1.1, 0, 0, 0, 0]
    np.testing.assert_allclose(observation, expected, atol=1e-7)
    assert state.shape == (54,) and state.dtype == np.float32
    np.testing.assert_allclose(state[18 + 2 : 18 + 4], agents[1], atol=1e-7)


def test_info_counts_collisions_and_occupied_landmarks():
    env = placed([[0.0, 0.0], [0.2, 0.0], [0.9, 0.9]], [[0.0, 0.05], [-0.9, 0.0], [0.9, 0.95]])
    *_, infos = env.step({a: NO_OP for a in env.agents})
    assert [int(infos[a]["collisions"]) for a in env.possible_agents] == [1, 1, 0]
    assert int(infos["agent_0"]["occupied_landmarks"]) == 2  # landmarks 0 and 2 have an agent within 0.1


def test_starting_state():
    env = marl_envs.make_batched("cooperative_navigation_v0", num_envs=4096)
    out = env.reset(seed=0)
    world = env.world
    for positions in (world.episode.agent_pos, world.episode.landmark_pos):
        assert float(positions.min()) >= -1.0 and float(positions.max()) < 1.0
        assert abs(float(positions.mean())) < 0.02 and abs(float(positions.std()) - 1 / math.sqrt(3)) < 0.01
    assert not world.episode.agent_vel.any()
    assert (out.obs[:, :, :2] == 0).all() and (out.obs[:, :, -4:] == 0).all()


def test_discrete_action_k_is_continuous_unit_vector_k():
    discrete = marl_envs.make_batched("cooperative_navigation_v0", num_envs=16)
    continuous = marl_envs.make_batched("cooperative_navigation_v0", num_envs=16, continuous_actions=True)
    a, b = discrete.reset(seed=7), continuous.reset(seed=7)
    generator = torch.Generator().manual_seed(0)
    for _ in range(60):
        actions = torch.randint(0, 5, (16, 3), generator=generator)
        a, b = discrete.step(actions), continuous.step(torch.eye(5)[actions])
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward) and torch.equal(a.truncated, b.truncated)


def test_truncated_after_max_cycles_and_never_terminated():
    env = marl_envs.make_batched("cooperative_navigation_v0", num_envs=2, max_cycles=7)
    env.reset(seed=0)
    for t in range(1, 15):
        out = env.step(torch.zeros(2, 3, dtype=torch.int64))
        assert not out.terminated.any()
        assert bool(out.truncated.all()) == (t % 7 == 0)


def test_bad_arguments():
    for bad in ({"N": 0}, {"N": 1.5}, {"local_ratio": 1.5}, {"local_ratio": -0.1}, {"local_ratio": "half"}, {"continuous_actions": "yes"}):
        with pytest.raises(ValueError, match=list(bad)[0]):
            marl_envs.make("cooperative_navigation_v0", **bad)


def test_render():
    env = marl_envs.make("cooperative_navigation_v0", render_mode="rgb_array")
    env.reset(seed=0)
    picture = env.render()
    assert picture.shape == (320, 320, 3) and picture.dtype == np.uint8
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) >= 4  # background, outlines, agents, landmarks
    batched = marl_envs.make_batched("cooperative_navigation_v0")
    batched.reset(seed=0)
    text = batched.render("ansi")
    assert "agent_2" in text and "landmark_2" in text


def test_continuous_variant_passes_the_generic_checks():
    """test_every_env covers the default (discrete) variant; the same API and batched == single checks, continuous."""
    from pettingzoo.test import parallel_api_test
    from test_every_env import check_batched_equals_single

    env = marl_envs.make("cooperative_navigation_v0", continuous_actions=True)
    assert all(env.action_space(agent).shape == (5,) for agent in env.possible_agents)
    parallel_api_test(env, num_cycles=100)
    check_batched_equals_single("cooperative_navigation_v0", same_seed=False, continuous_actions=True)


def test_comm_radius_graph():
    """adjacency[i, j]: agents i != j at most comm_radius apart; None without comm_radius."""
    env = placed([[0.0, 0.0], [0.3, 0.4], [0.0, -0.6]], [[0.5, 0.5]] * 3, N=3, comm_radius=0.55)
    step = env.env.adjacency_matrix()[0]  # distances: 0-1 0.5, 0-2 0.6, 1-2 sqrt(0.09 + 1.0)
    assert step.tolist() == [[False, True, False], [True, False, False], [False, False, False]]
    batched = marl_envs.make_batched("cooperative_navigation_v0", 4, comm_radius=0.55)
    out = batched.reset(seed=0)
    assert batched.has_adjacency and out.adjacency.shape == (4, 3, 3) and not out.adjacency.diagonal(0, 1, 2).any()
    assert torch.equal(out.adjacency, out.adjacency.transpose(1, 2))
    assert marl_envs.make_batched("cooperative_navigation_v0", 2).reset(seed=0).adjacency is None


def test_nearest_neighbours_fix_the_observation_size_whatever_n():
    """mpe2's num_*_neighbors (checked against mpe2 in test_mpe_parity.py): the observation of
    6 agents has the size of 3 agents' with 2 agent and 3 landmark neighbours."""
    kwargs = {"num_agent_neighbors": 2, "num_landmark_neighbors": 3}
    for n in (3, 6, 9):
        env = marl_envs.make_batched("cooperative_navigation_v0", 2, N=n, **kwargs)
        out = env.reset(seed=0)
        assert out.obs.shape == (2, n, 18) and out.state.shape == (2, 18 * n)
    env = placed(
        [[0.0, 0.0], [1.0, 0.0], [0.4, 0.0]], [[0.0, 0.9], [0.0, 0.1], [0.5, 0.0]], N=3, num_agent_neighbors=1, num_landmark_neighbors=2
    )
    obs = env.step({f"agent_{i}": NO_OP for i in range(3)})[0]["agent_0"]
    # own velocity, position; nearest landmarks (0, 0.1) then (0.5, 0); nearest agent (0.4, 0); its silent communication
    np.testing.assert_allclose(obs, [0, 0, 0, 0, 0, 0.1, 0.5, 0, 0.4, 0, 0, 0], atol=1e-6)


def test_bad_graph_and_neighbour_arguments():
    for kwargs, message in [
        ({"comm_radius": 0}, "comm_radius must be None or a finite number > 0, got 0"),
        ({"comm_radius": "far"}, "comm_radius must be None or a finite number > 0"),
        ({"num_agent_neighbors": 0}, "num_agent_neighbors must be None or an integer >= 1, got 0"),
        ({"num_landmark_neighbors": 1.5}, "num_landmark_neighbors must be None or an integer >= 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            marl_envs.make_batched("cooperative_navigation_v0", 1, **kwargs)
