"""predator_prey_v0 worked by hand: catches, the boundary penalty, speed limits, static obstacles, padding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import predator_prey_v0

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)
STILL = {"adversary_0": NO_OP, "adversary_1": NO_OP, "adversary_2": NO_OP, "agent_0": NO_OP}


def placed(agents, obstacles, velocities=None, **kwargs):
    env = predator_prey_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    velocities = np.zeros_like(agents) if velocities is None else velocities
    env.env.world.place(np.array(agents, float)[None], np.array(velocities, float)[None], np.array(obstacles, float).reshape(1, -1, 2))
    return env


def bound(x):
    """MPE's boundary penalty, as simple_tag writes it."""
    if x < 0.9:
        return 0
    if x < 1.0:
        return (x - 0.9) * 10
    return min(np.exp(2 * x - 2), 10)


def test_catches_reward_every_adversary_and_cost_the_prey():
    # The prey at the origin; adversaries 0 and 1 touch it (0.1 < 0.075 + 0.05), adversary 2 is far.
    agents = [[0.1, 0.0], [0.0, -0.12], [0.7, 0.7], [0.0, 0.0]]
    env = placed(agents, [[-0.6, 0.6], [0.6, -0.6]])
    _, rewards, *_, infos = env.step(STILL)  # positions do not move in the first step
    assert rewards == {"adversary_0": 20.0, "adversary_1": 20.0, "adversary_2": 20.0, "agent_0": -20.0}
    assert [int(infos[a]["collisions"]) for a in env.possible_agents] == [1, 1, 0, 2]


def test_boundary_penalty():
    for x, y in [(0.5, -0.2), (0.95, 0.0), (-0.95, 0.99), (1.0, 0.0), (1.5, -0.93), (3.0, 0.0), (-2.0, -1.2)]:
        env = placed([[0.0, 0.5], [0.0, 0.7], [0.0, 0.9], [x, y]], [[-0.6, -0.6], [0.6, -0.6]])
        _, rewards, *_ = env.step(STILL)
        assert rewards["agent_0"] == pytest.approx(-(bound(abs(x)) + bound(abs(y))), rel=1e-6, abs=1e-6), (x, y)
        assert rewards["adversary_0"] == 0.0
    assert bound(1.5) == pytest.approx(math.e) and bound(3.0) == 10


def test_obstacles_push_agents_and_never_move():
    # An adversary overlapping an obstacle by 0.075: pushed away with force 100 * 0.075, accelerating to 0.75 (< max speed 1).
    env = placed([[0.2, 0.0], [0.7, 0.7], [-0.7, 0.7], [0.7, -0.7]], [[0.0, 0.0], [-0.5, -0.5]])
    obs, *_ = env.step(STILL)
    np.testing.assert_allclose(obs["adversary_0"][:2], [0.75, 0.0], atol=1e-6)
    start = env.env.world.positions(0)[2].copy()
    for t in range(20):
        env.step({a: (t + i) % 5 for i, a in enumerate(env.agents)})
    np.testing.assert_array_equal(env.env.world.positions(0)[2], start)


def test_speeds_are_capped():
    env = placed([[0.0, 0.5], [0.0, 0.0], [0.0, -0.5], [0.5, 0.0]], [[-0.9, 0.9], [0.9, 0.9]], continuous_actions=True)
    push = {a: np.array([0, 0, 1, 0, 1], np.float32) for a in env.possible_agents}  # right and up at once
    speeds = []
    for _ in range(12):
        obs, *_ = env.step(push)
        speeds.append([float(np.hypot(*obs[a][:2])) for a in env.possible_agents])
    speeds = np.array(speeds)
    assert speeds[:, :3].max() == pytest.approx(1.0) and speeds[:, 3].max() == pytest.approx(1.3)
    # uncapped, the good agent would reach 4 * sqrt(2) * 0.1 / 0.25 = 2.26


def test_observation_layout_and_padding():
    agents = [[0.1, 0.0], [0.0, -0.3], [0.7, 0.7], [-0.2, 0.4]]
    obstacles = [[-0.6, 0.6], [0.6, -0.6]]
    velocities = [[0.1, 0.2], [0.0, 0.0], [0.0, 0.0], [-0.4, 0.3]]
    env = placed(agents, obstacles, velocities=velocities)
    obs = env.env.observations()[0].numpy()  # batched layout [N, 16], the good agent's padded
    expected_adversary_0 = [0.1, 0.2, 0.1, 0.0, -0.7, 0.6, 0.5, -0.6, -0.1, -0.3, 0.6, 0.7, -0.3, 0.4, -0.4, 0.3]
    np.testing.assert_allclose(obs[0], expected_adversary_0, atol=1e-7)
    expected_good = [-0.4, 0.3, -0.2, 0.4, -0.4, 0.2, 0.8, -1.0, 0.3, -0.4, 0.2, -0.7, 0.9, 0.3]
    np.testing.assert_allclose(obs[3], expected_good + [0.0, 0.0], atol=1e-7)
    state = env.state()
    assert state.shape == (62,)
    np.testing.assert_allclose(state[48:], expected_good, atol=1e-7)
    np.testing.assert_allclose(state[:16], expected_adversary_0, atol=1e-7)


def test_spaces_and_state_size_follow_the_arguments():
    env = marl_envs.make("predator_prey_v0", num_good=2, num_adversaries=2, num_obstacles=1)
    assert env.possible_agents == ["adversary_0", "adversary_1", "agent_0", "agent_1"]
    # common part: 4 + 2 * 1 + 2 * 3 = 12; adversaries see 2 good velocities, good agents 1
    assert env.observation_space("adversary_0").shape == (16,) and env.observation_space("agent_1").shape == (14,)
    assert env.observation_space("adversary_0") is env.observation_space("adversary_1")
    assert env.state_space.shape == (2 * 16 + 2 * 14,)
    obs, _ = env.reset(seed=0)
    assert obs["agent_1"].shape == (14,) and env.state().shape == (60,)


def test_starting_state():
    env = marl_envs.make_batched("predator_prey_v0", num_envs=4096)
    env.reset(seed=0)
    world = env.world
    assert float(world.episode.agent_pos.abs().max()) <= 1.0 and float(world.episode.agent_pos.abs().max()) > 0.99
    assert float(world.episode.landmark_pos.abs().max()) <= 0.9 and float(world.episode.landmark_pos.abs().max()) > 0.89
    assert not world.episode.agent_vel.any()


def test_without_adversaries_or_obstacles():
    env = marl_envs.make_batched("predator_prey_v0", num_envs=3, num_good=2, num_adversaries=0, num_obstacles=0)
    out = env.reset(seed=0)
    assert out.obs.shape == (3, 2, 4 + 2 + 2)
    for _ in range(30):
        out = env.step(env.random_actions())
        assert torch.isfinite(out.obs).all() and (out.reward <= 0).all()


def test_bad_arguments():
    for bad in ({"num_good": 0}, {"num_adversaries": -1}, {"num_obstacles": 1.5}, {"continuous_actions": 1}):
        with pytest.raises(ValueError, match=list(bad)[0]):
            marl_envs.make("predator_prey_v0", **bad)


def test_render():
    env = marl_envs.make("predator_prey_v0", render_mode="rgb_array")
    env.reset(seed=0)
    picture = env.render()
    assert picture.shape == (320, 320, 3) and len(np.unique(picture.reshape(-1, 3), axis=0)) >= 5
    batched = marl_envs.make_batched("predator_prey_v0")
    batched.reset(seed=0)
    text = batched.render("ansi")
    assert "adversary_2" in text and "agent_0" in text and "obstacle_1" in text


def test_continuous_variant_passes_the_generic_checks():
    """test_every_env covers the default (discrete) variant; the same API and batched == single checks, continuous."""
    from pettingzoo.test import parallel_api_test
    from test_every_env import check_batched_equals_single

    env = marl_envs.make("predator_prey_v0", continuous_actions=True)
    assert all(env.action_space(agent).shape == (5,) for agent in env.possible_agents)
    parallel_api_test(env, num_cycles=100)
    check_batched_equals_single("predator_prey_v0", same_seed=False, continuous_actions=True)


def test_comm_radius_graph_links_predators_and_prey():
    env = marl_envs.make_batched("predator_prey_v0", 8, comm_radius=0.6)
    out = env.reset(seed=0)
    assert env.has_adjacency and out.adjacency.shape == (8, 4, 4)
    positions = env.world.episode.agent_pos.permute(2, 1, 0)  # [B, N, 2]
    expected = (torch.cdist(positions, positions) <= 0.6) & ~torch.eye(4, dtype=torch.bool)
    assert torch.equal(out.adjacency, expected)
    assert marl_envs.make_batched("predator_prey_v0", 1).reset(seed=0).adjacency is None
    with pytest.raises(ValueError, match="comm_radius must be None or a finite number > 0, got -1"):
        marl_envs.make_batched("predator_prey_v0", 1, comm_radius=-1)
