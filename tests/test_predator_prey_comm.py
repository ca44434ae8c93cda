"""predator_prey_comm_v0 (mpe2's simple_world_comm_v3) worked by hand: the leader's words, who hides in which forest, the rewards."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marl_envs
from marl_envs import predator_prey_comm_v0

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)
AGENTS = ["leadadversary_0", "adversary_0", "adversary_1", "adversary_2", "agent_0", "agent_1"]
STILL = dict.fromkeys(AGENTS, NO_OP)


def placed(agents, landmarks, velocities=None, **kwargs):
    """The default world (4 adversaries, 2 good agents; landmarks: obstacle_0, food_0, food_1, forest_0, forest_1) at these positions."""
    env = predator_prey_comm_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    velocities = np.zeros_like(agents) if velocities is None else velocities
    env.env.world.place(np.array(agents, float)[None], np.array(velocities, float)[None], np.array(landmarks, float)[None])
    return env


def test_names_spaces_and_sizes():
    env = marl_envs.make("predator_prey_comm_v0")
    assert env.possible_agents == AGENTS
    assert env.action_space("leadadversary_0").n == 20 and env.action_space("adversary_0").n == env.action_space("agent_1").n == 5
    # adversaries: 4 + 2 * 5 landmarks + 2 * 5 others + 2 * 2 good velocities + 2 forests + 4 words = 34; good: 4 + 10 + 10 + 2 + 2 = 28
    assert env.observation_space("leadadversary_0").shape == env.observation_space("adversary_2").shape == (34,)
    assert env.observation_space("agent_0").shape == (28,) and env.state_space.shape == (4 * 34 + 2 * 28,)
    continuous = marl_envs.make("predator_prey_comm_v0", continuous_actions=True)
    assert continuous.action_space("leadadversary_0").shape == (9,) and continuous.action_space("agent_0").shape == (5,)
    small = marl_envs.make("predator_prey_comm_v0", num_good=3, num_adversaries=2, num_obstacles=0, num_food=1, num_forests=3)
    assert small.possible_agents == ["leadadversary_0", "adversary_0", "agent_0", "agent_1", "agent_2"]
    # 4 landmarks, 5 agents: common part 4 + 8 + 8 + 3 forests = 23; adversaries + 6 velocities + 4 words, good agents + 4 velocities
    assert small.observation_space("adversary_0").shape == (33,) and small.observation_space("agent_2").shape == (27,)
    obs, _ = small.reset(seed=0)
    assert obs["agent_2"].shape == (27,) and small.state().shape == (2 * 33 + 3 * 27,)


def test_the_leader_moves_and_speaks_with_one_discrete_action():
    agents = [[-0.8, 0.8], [0.0, 0.8], [0.8, 0.8], [-0.8, 0.0], [0.8, -0.8], [-0.8, -0.8]]
    landmarks = [[0.0, 0.0], [0.3, 0.0], [0.0, 0.3], [0.4, -0.4], [-0.4, 0.4]]  # both forests hold nobody
    env = placed(agents, landmarks)
    obs, *_ = env.step({**STILL, "leadadversary_0": 3 * 5 + RIGHT, "adversary_0": UP, "agent_0": LEFT})
    np.testing.assert_allclose(obs["leadadversary_0"][:2], [0.3, 0.0], atol=1e-7)  # force 3 for dt 0.1
    np.testing.assert_allclose(obs["adversary_0"][:2], [0.0, 0.3], atol=1e-7)
    np.testing.assert_allclose(obs["agent_0"][:2], [-0.4, 0.0], atol=1e-7)  # good agents push with 4
    for adversary in AGENTS[:4]:  # word 3, heard by every adversary, the leader too
        np.testing.assert_array_equal(obs[adversary][-4:], [0.0, 0.0, 0.0, 1.0])
    obs, *_ = env.step({**STILL, "leadadversary_0": 1 * 5 + NO_OP})
    np.testing.assert_array_equal(obs["adversary_2"][-4:], [0.0, 1.0, 0.0, 0.0])
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs["adversary_2"][-4:], [0.0, 0.0, 0.0, 0.0])  # silence at the start of an episode


def test_the_continuous_leader_says_its_last_four_numbers():
    env = marl_envs.make("predator_prey_comm_v0", continuous_actions=True)
    env.reset(seed=0)
    still = {a: np.zeros(5, np.float32) for a in AGENTS}
    said = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.0, 1.0], np.float32)
    obs, *_ = env.step({**still, "leadadversary_0": said})
    np.testing.assert_array_equal(obs["adversary_1"][-4:], said[5:])


# forest_0 at (0.5, 0.5) holds adversary_0 and agent_0; forest_1 at (-0.5, -0.5) holds adversary_2; the others are outside.
FOREST_AGENTS = [[-0.8, 0.8], [0.55, 0.5], [0.0, 0.8], [-0.5, -0.6], [0.5, 0.3], [0.8, -0.8]]
FOREST_LANDMARKS = [[-0.2, 0.2], [0.0, -0.3], [0.3, -0.6], [0.5, 0.5], [-0.5, -0.5]]
FOREST_VELOCITIES = [[0.0, 0.0]] * 4 + [[0.1, -0.2], [0.3, 0.0]]


def forest_observations():
    env = placed(FOREST_AGENTS, FOREST_LANDMARKS, velocities=FOREST_VELOCITIES)
    return env, env.env.observations()[0].numpy()  # batched layout [6, 34], good agents padded


def test_forests_hide_the_agents_inside_from_the_others():
    _, obs = forest_observations()
    others, good_velocities, in_forest = slice(14, 24), slice(24, 28), slice(28, 30)  # of an adversary's observation
    # adversary_0, inside forest_0, sees only agent_0, inside the same forest: (-0.05, -0.2) away, velocity (0.1, -0.2)
    np.testing.assert_allclose(obs[1, others], [0, 0, 0, 0, 0, 0, -0.05, -0.2, 0, 0], atol=1e-7)
    np.testing.assert_allclose(obs[1, good_velocities], [0.1, -0.2, 0.0, 0.0], atol=1e-7)
    np.testing.assert_array_equal(obs[1, in_forest], [1, -1])
    # adversary_1, outside, sees the other agents outside: the leader and agent_1
    np.testing.assert_allclose(obs[2, others], [-0.8, 0.0, 0, 0, 0, 0, 0, 0, 0.8, -1.6], atol=1e-7)
    np.testing.assert_allclose(obs[2, good_velocities], [0.0, 0.0, 0.3, 0.0], atol=1e-7)
    np.testing.assert_array_equal(obs[2, in_forest], [-1, -1])
    # adversary_2, alone in forest_1, sees nobody
    np.testing.assert_array_equal(obs[3, others], np.zeros(10))
    np.testing.assert_array_equal(obs[3, good_velocities], np.zeros(4))
    np.testing.assert_array_equal(obs[3, in_forest], [-1, 1])
    # the leader sees everyone
    expected = [1.35, -0.3, 0.8, 0.0, 0.3, -1.4, 1.3, -0.5, 1.6, -1.6]
    np.testing.assert_allclose(obs[0, others], expected, atol=1e-7)
    np.testing.assert_allclose(obs[0, good_velocities], [0.1, -0.2, 0.3, 0.0], atol=1e-7)


def test_a_good_agents_observation_in_a_forest():
    env, obs = forest_observations()
    landmarks = [-0.7, -0.1, -0.5, -0.6, -0.2, -0.9, 0.0, 0.2, -1.0, -0.8]  # obstacle, food, forests relative to (0.5, 0.3)
    others = [0, 0, 0.05, 0.2, 0, 0, 0, 0, 0, 0]  # only adversary_0, in forest_0 with it
    expected_agent_0 = [0.1, -0.2, 0.5, 0.3, *landmarks, *others, 1, -1, 0.0, 0.0]  # agent_1's velocity hidden
    np.testing.assert_allclose(obs[4], expected_agent_0 + [0.0] * 6, atol=1e-7)
    # agent_1, outside, sees the leader and adversary_1; agent_0's velocity is hidden
    np.testing.assert_allclose(obs[5, 14:24], [-1.6, 1.6, 0, 0, -0.8, 1.6, 0, 0, 0, 0], atol=1e-7)
    np.testing.assert_array_equal(obs[5, 24:28], [-1, -1, 0.0, 0.0])
    state = env.state()
    assert state.shape == (192,)
    np.testing.assert_allclose(state[4 * 34 : 4 * 34 + 28], expected_agent_0, atol=1e-7)
    np.testing.assert_allclose(state[:34], obs[0], atol=0)


def test_the_leader_in_a_forest_still_sees_everyone_and_is_seen_there():
    agents = [[-0.45, -0.5], *FOREST_AGENTS[1:]]  # the leader joins adversary_2 in forest_1
    env = placed(agents, FOREST_LANDMARKS, velocities=FOREST_VELOCITIES)
    obs = env.env.observations()[0].numpy()
    assert (obs[0, 14:24] != 0).all() and (obs[0, 24:28] != 0).sum() == 3  # every position; agent_0's (0.1, -0.2), agent_1's (0.3, 0)
    np.testing.assert_allclose(obs[3, 14:16], [0.05, 0.1], atol=1e-7)  # adversary_2 sees the leader beside it
    np.testing.assert_array_equal(obs[3, 16:24], np.zeros(8))
    np.testing.assert_array_equal(obs[2, 14:16], [0, 0])  # adversary_1, outside, no longer sees it


def test_rewards():
    # agent_0 at the origin, touched by the leader (0.11 away) and adversary_0 (0.1 away), on food_0 (0.05 away);
    # agent_1 near the corner (0.95, -1.2), far from everyone.
    agents = [[0.0, -0.11], [0.1, 0.0], [-0.5, 0.5], [0.5, -0.5], [0.0, 0.0], [0.95, -1.2]]
    landmarks = [[-0.6, 0.0], [0.05, 0.0], [0.0, 0.5], [-0.7, -0.7], [0.7, 0.7]]
    env = placed(agents, landmarks)
    _, rewards, *_, infos = env.step(STILL)  # positions do not move in the first step
    catches = 2 * 5.0  # two touching pairs, shared by every adversary
    assert rewards["leadadversary_0"] == pytest.approx(catches - 0.1 * 0.11, rel=1e-6)
    assert rewards["adversary_0"] == pytest.approx(catches - 0.1 * 0.1, rel=1e-6)
    assert rewards["adversary_1"] == pytest.approx(catches - 0.1 * math.sqrt(0.5), rel=1e-6)
    assert rewards["adversary_2"] == pytest.approx(catches - 0.1 * math.sqrt(0.5), rel=1e-6)  # agent_1 is 0.83 away
    assert rewards["agent_0"] == pytest.approx(-2 * 5.0 + 2.0 - 0.05 * 0.05, rel=1e-6)
    boundary = 2 * ((0.95 - 0.9) * 10 + math.exp(2 * 1.2 - 2))  # twice MPE's bound of each coordinate
    assert rewards["agent_1"] == pytest.approx(-boundary - 0.05 * 1.5, rel=1e-6)  # food_0 is 1.5 away
    assert [int(infos[a]["collisions"]) for a in AGENTS] == [1, 1, 0, 0, 2, 0]


def test_obstacles_push_but_food_and_forests_do_not():
    # agent_0 overlaps the obstacle by 0.045; adversary_0 sits on food_0 and in forest_0.
    agents = [[-0.8, 0.8], [0.5, 0.5], [0.0, 0.8], [-0.8, -0.2], [0.2, 0.0], [0.8, -0.8]]
    landmarks = [[0.0, 0.0], [0.51, 0.5], [0.0, -0.6], [0.5, 0.52], [-0.5, -0.8]]
    env = placed(agents, landmarks)
    obs, *_ = env.step(STILL)
    np.testing.assert_allclose(obs["agent_0"][:2], [0.45, 0.0], atol=1e-6)  # force 100 x 0.045 for dt 0.1
    np.testing.assert_allclose(obs["adversary_0"][:2], [0.0, 0.0], atol=1e-9)


def test_starting_state():
    env = marl_envs.make_batched("predator_prey_comm_v0", num_envs=4096)
    env.reset(seed=0)
    world = env.world
    assert 0.99 < float(world.episode.agent_pos.abs().max()) <= 1.0
    assert 0.89 < float(world.episode.landmark_pos.abs().max()) <= 0.9
    assert not world.episode.agent_vel.any() and not env.episode.message.any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_adversaries must be an integer >= 1, got 0"):
        marl_envs.make("predator_prey_comm_v0", num_adversaries=0)
    with pytest.raises(ValueError, match="num_food must be an integer >= 1, got 0"):
        marl_envs.make("predator_prey_comm_v0", num_food=0)
    with pytest.raises(ValueError, match="num_good must be an integer >= 1, got 0"):
        marl_envs.make("predator_prey_comm_v0", num_good=0)
    with pytest.raises(ValueError, match="num_forests must be an integer >= 0, got -1"):
        marl_envs.make("predator_prey_comm_v0", num_forests=-1)
