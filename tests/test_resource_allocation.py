"""resource_allocation_v0 against the design note's rules, with steps worked by hand.

A request is a fraction of what remains of each resource; over-subscribed resources are handed
out in proportion to the requests. Reward = the agent's utility weights . what it received.
Observation: [own allocation, remaining, total allocated, own utility weights], R numbers each.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import resource_allocation_v0


def requests(*rows):
    return {f"agent_{i}": np.array(row, np.float32) for i, row in enumerate(rows)}


def test_defaults():
    env = resource_allocation_v0.parallel_env()
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == ["agent_0", "agent_1", "agent_2", "agent_3"] and env.max_cycles == 20
    space = env.action_space("agent_0")
    assert space.shape == (3,) and space.low.tolist() == [0, 0, 0] and space.high.tolist() == [1, 1, 1]
    assert env.observation_space("agent_0").shape == (12,) and env.state_space.shape == (2 * 4 * 3 + 3,)
    for agent in env.agents:
        np.testing.assert_array_equal(obs[agent][:9], [0, 0, 0, 10, 10, 10, 0, 0, 0])
        assert ((obs[agent][9:] >= 0) & (obs[agent][9:] < 2)).all()
    # each agent has its own tastes
    assert len({tuple(o[9:]) for o in obs.values()}) == 4


def test_utilities_are_drawn_per_episode_from_the_seed():
    env = resource_allocation_v0.parallel_env()
    first, _ = env.reset(seed=3)
    second, _ = env.reset()
    again, _ = env.reset(seed=3)
    assert not np.array_equal(first["agent_0"][9:], second["agent_0"][9:])
    np.testing.assert_array_equal(first["agent_0"], again["agent_0"])
    batched = marl_envs.make_batched("resource_allocation_v0", num_envs=2048)
    batched.reset(seed=0)
    weights = batched.episode.utilities
    assert weights.min() >= 0 and weights.max() < 2
    assert abs(float(weights.mean()) - 1.0) < 0.02  # U[0, 2) has mean 1


def test_proportional_sharing_by_hand():
    env = resource_allocation_v0.parallel_env(n_agents=2, n_resources=2, utilities=[[1.0, 2.0], [0.5, 1.5]])
    env.reset(seed=0)
    obs, rewards, terminations, truncations, infos = env.step(requests([0.8, 0.2], [0.4, 0.3]))
    # resource 0: asks 8 + 4 = 12 > 10, so it is shared: 10 * 0.8 / 1.2 = 20/3 and 10 * 0.4 / 1.2 = 10/3; nothing left.
    # resource 1: asks 2 + 3 = 5 <= 10, so both get what they asked for; 5 left.
    np.testing.assert_allclose(obs["agent_0"], [20 / 3, 2, 0, 5, 10, 5, 1, 2], rtol=1e-6)
    np.testing.assert_allclose(obs["agent_1"], [10 / 3, 3, 0, 5, 10, 5, 0.5, 1.5], rtol=1e-6)
    # agent 0: 1 * 20/3 + 2 * 2 = 32/3; agent 1: 0.5 * 10/3 + 1.5 * 3 = 5/3 + 4.5 = 37/6
    assert rewards == {"agent_0": pytest.approx(32 / 3, rel=1e-6), "agent_1": pytest.approx(37 / 6, rel=1e-6)}
    assert infos["agent_0"]["social_welfare"] == pytest.approx(32 / 3 + 37 / 6, rel=1e-6)
    assert not any(terminations.values()) and not any(truncations.values())
    np.testing.assert_allclose(env.state(), [20 / 3, 2, 10 / 3, 3, 0, 5, 1, 2, 0.5, 1.5], rtol=1e-6)

    obs, rewards, terminations, truncations, infos = env.step(requests([1.0, 0.5], [0.0, 0.5]))
    # resource 0 is empty: asking for all of nothing gives nothing. resource 1: 2.5 + 2.5 = 5 = 5 left,
    # not over-subscribed: each gets 2.5, and nothing is left anywhere, so the episode terminates.
    assert rewards == {"agent_0": pytest.approx(2 * 2.5), "agent_1": pytest.approx(1.5 * 2.5)}
    assert all(terminations.values()) and not any(truncations.values()) and env.agents == []
    np.testing.assert_allclose(obs["agent_0"], [20 / 3, 4.5, 0, 0, 10, 10, 1, 2], rtol=1e-6)
    np.testing.assert_allclose(obs["agent_1"], [10 / 3, 5.5, 0, 0, 10, 10, 0.5, 1.5], rtol=1e-6)
    assert infos["agent_1"]["social_welfare"] == pytest.approx(32 / 3 + 37 / 6 + 5 + 3.75, rel=1e-6)


def test_requests_are_fractions_of_what_remains():
    env = resource_allocation_v0.parallel_env(n_agents=1, n_resources=1, capacities=[8.0], utilities=[[1.0]])
    env.reset(seed=0)
    _, rewards, *_ = env.step(requests([0.5]))  # 0.5 * 8 = 4, 4 left
    assert rewards["agent_0"] == pytest.approx(4)
    obs, rewards, *_ = env.step(requests([0.5]))  # 0.5 * 4 = 2, 2 left
    assert rewards["agent_0"] == pytest.approx(2)
    np.testing.assert_allclose(obs["agent_0"], [6, 2, 6, 1])


def test_social_welfare_is_the_sum_of_rewards_so_far():
    env = marl_envs.make_batched("resource_allocation_v0", num_envs=64)
    env.reset(seed=1)
    generator = torch.Generator().manual_seed(0)
    so_far = torch.zeros(64)
    ended = 0
    for _ in range(60):
        # small requests, so that episodes last several steps
        out = env.step(torch.rand(64, 4, 3, generator=generator) * 0.3)
        so_far += out.reward.sum(-1)
        torch.testing.assert_close(out.info["social_welfare"], so_far, rtol=1e-5, atol=1e-4)
        done = (out.terminated | out.truncated).all(-1)
        ended += int(done.sum())
        so_far[done] = 0
    assert ended > 64


def test_running_out_terminates_the_time_limit_truncates():
    env = resource_allocation_v0.parallel_env(n_agents=2)
    env.reset(seed=0)
    # all of resource 0 and 1, none of resource 2: one resource still has 10 left
    _, _, terminations, *_ = env.step(requests([1, 1, 0], [0, 0, 0]))
    assert not any(terminations.values())
    _, _, terminations, truncations, _ = env.step(requests([0, 0, 0.5], [0, 0, 0.5]))  # 5 + 5 = 10 of 10
    assert all(terminations.values()) and not any(truncations.values())

    env.reset(seed=0)
    for t in range(20):
        # 1% of what remains per agent: 10 * 0.98^20 = 6.7 left, never depleted
        _, _, terminations, truncations, _ = env.step(requests([0.01] * 3, [0.01] * 3))
        assert not any(terminations.values())
        assert all(truncations.values()) == (t == 19)
    assert env.agents == []


def test_depletion_means_at_most_a_tenth():
    env = resource_allocation_v0.parallel_env(n_agents=1, n_resources=2, capacities=[0.1, 0.4])
    env.reset(seed=0)
    # resource 0 starts at 0.1 (depleted already); resource 1: 0.4 - 0.5 * 0.4 = 0.2 > 0.1 left
    _, _, terminations, *_ = env.step(requests([0, 0.5]))
    assert not terminations["agent_0"]
    _, _, terminations, *_ = env.step(requests([0, 0.75]))  # 0.2 - 0.15 = 0.05
    assert terminations["agent_0"]


def test_termination_wins_over_truncation_on_the_last_step():
    env = resource_allocation_v0.parallel_env(n_agents=1, max_cycles=1)
    env.reset(seed=0)
    _, _, terminations, truncations, _ = env.step(requests([1, 1, 1]))
    assert terminations == {"agent_0": True} and truncations == {"agent_0": False}


def test_utilities_fix_the_weights():
    weights = [[0.0, 1.0, 2.0], [3.0, 0.5, -1.0]]
    env = resource_allocation_v0.parallel_env(n_agents=2, utilities=weights)
    for seed in (0, 1):
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(obs["agent_0"][9:], weights[0])
        np.testing.assert_array_equal(obs["agent_1"][9:], weights[1])
    space = env.observation_space("agent_0")
    # utility bounds: per resource, the smallest and largest fixed weight
    assert space.low[9:].tolist() == [0, 0.5, -1] and space.high[9:].tolist() == [3, 1, 2]
    _, rewards, *_ = env.step(requests([1, 0, 1], [0, 1, 1]))
    # resource 0 -> agent 0 gets 10 (weight 0); resource 1 -> agent 1 gets 10 (weight 0.5);
    # resource 2 -> 5 each: agent 0 2 * 5 = 10, agent 1 -1 * 5 = -5
    assert rewards == {"agent_0": pytest.approx(10), "agent_1": pytest.approx(5 - 5)}


def test_discrete_actions_map_to_the_documented_prototypes():
    env = resource_allocation_v0.parallel_env(n_agents=1, continuous_actions=False)
    assert env.action_space("agent_0").n == 9
    # from a fresh episode (10 of each), the allocation after one step is 10 * the prototype
    expected = [[0, 0, 0], [5, 0, 0], [10, 0, 0], [0, 5, 0], [0, 10, 0], [0, 0, 5], [0, 0, 10], [5, 5, 5], [10, 10, 10]]
    for action, allocation in enumerate(expected):
        env.reset(seed=0)
        obs, *_ = env.step({"agent_0": action})
        np.testing.assert_array_equal(obs["agent_0"][:3], allocation)

    single = resource_allocation_v0.parallel_env(n_agents=1, n_resources=1, continuous_actions=False)
    assert single.action_space("agent_0").n == 5  # one resource: 5 evenly spaced levels
    for action, allocation in enumerate([0, 2.5, 5, 7.5, 10]):
        single.reset(seed=0)
        obs, *_ = single.step({"agent_0": action})
        assert obs["agent_0"][0] == allocation


def test_discrete_batched_shares_like_continuous():
    env = marl_envs.make_batched("resource_allocation_v0", num_envs=2, n_agents=2, continuous_actions=False)
    env.reset(seed=0)
    out = env.step(torch.tensor([[8, 2], [7, 0]]))
    allocation = out.final_obs[..., :3]  # sub-env 0 terminated and was auto-reset: its last obs is in final_obs
    # sub-env 0: all of everything vs all of resource 0: resource 0 split 5 / 5, the rest to agent 0
    torch.testing.assert_close(allocation[0], torch.tensor([[5.0, 10, 10], [5, 0, 0]]))
    # sub-env 1: half of everything vs nothing
    torch.testing.assert_close(allocation[1], torch.tensor([[5.0, 5, 5], [0, 0, 0]]))
    assert out.terminated[0].all() and not out.terminated[1].any()


def test_out_of_range_requests_are_refused_not_clipped():
    env = resource_allocation_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'agent_1': action \\[0.5, 1.5, 0.0\\] is out of range"):
        env.step(requests([0, 0, 0], [0.5, 1.5, 0], [0, 0, 0], [0, 0, 0]))
    with pytest.raises(ValueError, match="out of range"):
        env.step(requests([0, 0, 0], [0, 0, 0], [0, -0.1, 0], [0, 0, 0]))


def test_render():
    env = resource_allocation_v0.parallel_env(render_mode="ansi", n_agents=2, utilities=[[1, 1, 1], [1, 1, 1]])
    env.reset(seed=0)
    env.step(requests([0.5, 0, 0], [0, 0, 0]))
    text = env.render()
    assert "5.00/10.00" in text and "agent_1" in text
    image = marl_envs.make("resource_allocation_v0", render_mode="rgb_array")
    image.reset(seed=0)
    assert image.render().dtype == np.uint8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"capacities": [10, -1, 10]}, "every capacity must be positive and finite"),
        ({"capacities": [10, 0, 10]}, "every capacity must be positive and finite"),
        ({"capacities": [10, float("nan"), 10]}, "every capacity must be positive and finite"),
        ({"capacities": -5}, "every capacity must be positive and finite"),
        ({"capacities": [10, 10]}, "list of n_resources=3 positive numbers, got 2"),
        ({"capacities": [[10, 10, 10]]}, "list of n_resources=3 positive numbers, got shape"),
        ({"capacities": "ten"}, "capacities must be a positive number"),
        ({"capacities": [0.1, 0.05, 0.1]}, "at least one capacity must exceed 0.1"),
        ({"utilities": [[1, 1, 1]] * 3}, "utilities must have shape \\[n_agents, n_resources\\] = \\[4, 3\\], got shape \\[3, 3\\]"),
        ({"utilities": [1, 1, 1]}, "got shape \\[3\\]"),
        ({"utilities": [[1, 1, float("inf")]] * 4}, "utilities must be finite"),
        ({"n_resources": 0}, "n_resources must be an integer >= 1"),
        ({"n_agents": 0}, "n_agents must be an integer >= 1"),
        ({"continuous_actions": "yes"}, "continuous_actions must be True or False"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resource_allocation_v0.parallel_env(**kwargs)
