"""smart_grid_v0: the note's production, demand-response, battery, balance and reward rules, worked by hand.

Agents (defaults): producer_0, producer_1, consumer_0..2, storage_0. The day's quantities are
placed by hand in the batched env's tensors (``env.env.episode.capacity[0] = ...``); every expected
number below is a literal or plain arithmetic from the documented formulas:

    production = clamp(a * capacity * r, 0, capacity)     adjusted = demand * (1 + 0.3 a)
    battery: level' = clamp(level - 2 a, 0, 100), power = (level - level') / 0.1
    imbalance = production + power - adjusted demand (summed)
    producer 0.1 p - cost p - 0.01 |imbalance|, consumer 0.1 (d - adjusted) - 2 |a|, battery 0.02 P - 0.001 |P|
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import smart_grid_v0

AGENTS = ["producer_0", "producer_1", "consumer_0", "consumer_1", "consumer_2", "storage_0"]
approx = pytest.approx


def placed(env_kwargs=None, **quantities):
    """A PettingZoo smart grid after reset(seed=0), with the given quantities written into sub-env 0."""
    env = smart_grid_v0.parallel_env(**(env_kwargs or {}))
    env.reset(seed=0)
    for name, value in quantities.items():
        getattr(env.env.episode, name)[0] = torch.tensor(value, dtype=getattr(env.env.episode, name).dtype)
    return env


def act(*levels):
    """Continuous actions for the default agents, in AGENTS order."""
    return {agent: np.array([level], np.float32) for agent, level in zip(AGENTS, levels)}


DAY = dict(capacity=[50.0, 40.0], cost=[0.05, 0.1], renewable=0.8, base_demand=[20.0, 30.0, 10.0], demand=[25.0, 30.0, 8.0], level=[50.0])


# ---------------------------------------------------------------- spaces
def test_agents_and_spaces():
    env = smart_grid_v0.parallel_env()
    assert env.possible_agents == AGENTS and env.max_cycles == 24
    spaces = {agent: env.observation_space(agent) for agent in AGENTS}
    # One object per team; the three teams' spaces are equal in value (SuperSuit needs that).
    assert spaces["producer_0"] is spaces["producer_1"] and spaces["consumer_0"] is spaces["consumer_2"]
    assert spaces["producer_0"] is not spaces["consumer_0"] and spaces["producer_0"] == spaces["consumer_0"] == spaces["storage_0"]
    # h = max(1, n_consumers / 2) = 1.5 with 3 consumers.
    np.testing.assert_array_equal(spaces["storage_0"].low, [0, 0, -1, 0, 0])
    np.testing.assert_array_equal(spaces["storage_0"].high, [1, 1.5, 1.5, 1.5, 1])
    action = env.action_space("consumer_1")
    assert action.shape == (1,) and action.low[0] == -1 and action.high[0] == 1
    # 2 capacities + 2 costs + 3 base demands + 3 demands + 1 level + r + t.
    assert env.state_space.shape == (13,)
    assert env.state_space.high[2:4].tolist() == [1.5, 1.5] and env.state_space.high[:2].tolist() == [1, 1]
    assert smart_grid_v0.parallel_env(n_consumers=5).observation_space("consumer_0").high[3] == 2.5


def test_team_sizes():
    env = smart_grid_v0.parallel_env(n_producers=1, n_consumers=2, n_storage=3)
    assert env.possible_agents == ["producer_0", "consumer_0", "consumer_1", "storage_0", "storage_1", "storage_2"]
    obs, _ = env.reset(seed=0)
    assert env.state().shape == (2 * 1 + 2 * 2 + 3 + 2,)
    assert [obs[f"storage_{k}"][0] for k in range(3)] == [0.5, 0.5, 0.5]  # half full


# ---------------------------------------------------------------- one step by hand
def test_one_step_by_hand():
    env = placed(**DAY)
    obs, rewards, terminations, truncations, infos = env.step(act(0.5, -0.5, 1.0, -1.0, 0.0, 0.5))
    # production: 0.5 * 50 * 0.8 = 20 MW; -0.5 * 40 * 0.8 = -16 -> 0 MW.
    # adjusted demand: 25 * 1.3 = 32.5, 30 * 0.7 = 21, 8 * 1 = 8 -> 61.5 MW.
    # battery: 20 * 0.5 = 10 MW for 0.1 h = 1 MWh out: level 50 -> 49.
    # supply 20 + 0 + 10 = 30; imbalance 30 - 61.5 = -31.5; imbalance penalty 0.01 * 31.5 = 0.315.
    expected = {
        "producer_0": 20 * 0.1 - 20 * 0.05 - 0.315,  # 0.685
        "producer_1": 0 - 0 - 0.315,
        "consumer_0": 25 * 0.1 - 32.5 * 0.1 - 2 * 1.0,  # -2.75
        "consumer_1": 30 * 0.1 - 21 * 0.1 - 2 * 1.0,  # -1.1
        "consumer_2": 8 * 0.1 - 8 * 0.1 - 0.0,  # 0
        "storage_0": 10 * 0.02 - 10 * 0.001,  # 0.19
    }
    assert rewards == {agent: approx(value, abs=1e-5) for agent, value in expected.items()}
    assert not any(terminations.values()) and not any(truncations.values())
    for agent in AGENTS:
        info = infos[agent]
        assert info["total_supply"] == approx(30) and info["total_demand"] == approx(61.5)
        assert info["imbalance"] == approx(-31.5) and info["renewable_factor"] == approx(0.8)
    assert env.env.episode.level[0].tolist() == approx([49.0])

    # After the step: hour 1, demands unchanged [25, 30, 8], D = 63.
    t, sin = 1 / 24, math.sin(2 * math.pi / 24)  # sin(pi / 12) = (sqrt 6 - sqrt 2) / 4 = 0.258819
    by_role = {
        # capacity / 100, cost * 10, r, D / 100, t / 24
        "producer_0": [0.5, 0.5, 0.8, 0.63, t],
        "producer_1": [0.4, 1.0, 0.8, 0.63, t],
        # demand / 50, base / 50, sin(2 pi t / 24), (D - demand) / 100, r
        "consumer_0": [0.5, 0.4, sin, 0.38, 0.8],
        "consumer_1": [0.6, 0.6, sin, 0.33, 0.8],
        "consumer_2": [0.16, 0.2, sin, 0.55, 0.8],
        # level / 100, 100 / 100, D / 100, r, t / 24
        "storage_0": [0.49, 1.0, 0.63, 0.8, t],
    }
    for agent, values in by_role.items():
        assert obs[agent].dtype == np.float32
        np.testing.assert_allclose(obs[agent], values, rtol=1e-6, atol=1e-7, err_msg=agent)
    # capacities / 100, costs * 10, base / 50, demands / 50, level / 100, r, t / 24
    state = [0.5, 0.4, 0.5, 1.0, 0.4, 0.6, 0.2, 0.5, 0.6, 0.16, 0.49, 0.8, t]
    np.testing.assert_allclose(env.state(), state, rtol=1e-6, atol=1e-7)


def test_full_output_and_full_response():
    env = placed(capacity=[70.0, 20.0], cost=[0.15, 0.05], renewable=1.0, demand=[10.0, 10.0, 10.0], level=[50.0])
    _, rewards, _, _, infos = env.step(act(1.0, 1.0, -0.5, 0.5, 0.0, -1.0))
    # r = 1: production 70 and 20 MW (the capacities, never more).
    # demand 10 * 0.85 + 10 * 1.15 + 10 = 30 MW; battery charges 2 MWh: power -20 MW (drawn from the grid).
    # supply 70 + 20 - 20 = 70; imbalance 70 - 30 = +40; penalty 0.4.
    assert infos["producer_0"]["total_supply"] == approx(70) and infos["producer_0"]["total_demand"] == approx(30)
    assert infos["producer_0"]["imbalance"] == approx(40)
    assert rewards["producer_0"] == approx(70 * 0.1 - 70 * 0.15 - 0.4, abs=1e-5)  # -3.9
    assert rewards["producer_1"] == approx(20 * 0.1 - 20 * 0.05 - 0.4, abs=1e-5)  # 0.6
    assert rewards["consumer_0"] == approx(1.0 - 0.85 - 1.0, abs=1e-5)  # demand 10 -> 8.5 saves 0.15, costs 2 * 0.5
    assert rewards["consumer_1"] == approx(1.0 - 1.15 - 1.0, abs=1e-5)
    assert rewards["storage_0"] == approx(-20 * 0.02 - 20 * 0.001, abs=1e-6)  # -0.42
    assert env.env.episode.level[0].tolist() == [52.0]


def test_battery_moves_only_what_it_holds_or_can_take():
    """The fix to the note: power is the energy that really moved, so an empty battery delivers nothing."""
    env = marl_envs.make_batched("smart_grid_v0", num_envs=3)
    env.reset(seed=0)
    env.episode.demand[:] = 10.0
    env.episode.level[:, 0] = torch.tensor([0.0, 1.0, 99.5])
    actions = torch.zeros(3, 6, 1)
    actions[:, 5, 0] = torch.tensor([1.0, 1.0, -1.0])  # discharge, discharge, charge: 2 MWh asked
    out = env.step(actions)
    # sub-env 0: empty, delivers 0 (the note would count 20 MW of supply and pay 0.38 for it);
    # sub-env 1: holds 1 MWh, delivers it in 0.1 h: 10 MW; sub-env 2: takes 0.5 MWh: -5 MW.
    assert env.episode.level[:, 0].tolist() == [0.0, 0.0, 100.0]
    np.testing.assert_allclose(out.info["total_supply"], [0.0, 10.0, -5.0], atol=1e-5)
    np.testing.assert_allclose(out.info["imbalance"], [-30.0, -20.0, -35.0], atol=1e-5)
    np.testing.assert_allclose(out.reward[:, 5], [0.0, 10 * 0.02 - 10 * 0.001, -5 * 0.02 - 5 * 0.001], atol=1e-6)  # 0, 0.19, -0.105
    np.testing.assert_allclose(out.reward[:, 0], [-0.3, -0.2, -0.35], atol=1e-6)  # producers idle: only the penalty
    assert out.obs[:, 5, 0].tolist() == [0.0, 0.0, 1.0]


# ---------------------------------------------------------------- the day
def test_demand_redrawn_exactly_at_6_12_18():
    env = placed(base_demand=[10.0, 20.0, 30.0], demand=[11.0, 21.0, 31.0])
    env.env.episode.demand_factors[0] = torch.tensor([[0.9, 1.1, 1.0], [1.2, 0.8, 0.85], [1.0, 1.0, 1.15]])
    seen = []
    for hour in range(1, 25):
        obs, _, terminations, truncations, _ = env.step(act(0, 0, 0, 0, 0, 0))
        seen.append(env.env.episode.demand[0].tolist())
        assert all(terminations.values()) == (hour == 24) and not any(truncations.values())
        np.testing.assert_allclose(obs["consumer_0"][0], seen[-1][0] / 50, rtol=1e-6)
    hand = [11.0, 21.0, 31.0]
    for hour, demand in enumerate(seen, start=1):
        if hour >= 6:  # base * row 0
            hand = [9.0, 22.0, 30.0]
        if hour >= 12:  # base * row 1
            hand = [12.0, 16.0, 25.5]
        if hour >= 18:  # base * row 2; hour 24 ends the day without a redraw
            hand = [10.0, 20.0, 34.5]
        assert demand == approx(hand), hour
    assert env.agents == []


def test_drawn_demand_changes_only_at_redraws():
    env = smart_grid_v0.parallel_env()
    env.reset(seed=7)
    base = env.env.episode.base_demand[0].clone()
    demands = [env.env.episode.demand[0].clone()]
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
        demands.append(env.env.episode.demand[0].clone())
    changed = [hour for hour in range(1, 25) if not torch.equal(demands[hour], demands[hour - 1])]
    assert changed == [6, 12, 18]
    for demand in demands:
        assert ((demand >= 0.8 * base - 1e-4) & (demand < 1.2 * base + 1e-4)).all()


def test_day_ends_at_24_whatever_max_cycles():
    for max_cycles, steps, terminated in ((30, 24, True), (24, 24, True), (10, 10, False)):
        env = smart_grid_v0.parallel_env(max_cycles=max_cycles)
        obs, _ = env.reset(seed=1)
        for _ in range(steps):
            obs, _, terminations, truncations, _ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert env.agents == []
        assert all(terminations.values()) == terminated and all(truncations.values()) != terminated
        assert obs["producer_0"][4] == approx(steps / 24)


def test_every_reset_draws_a_new_day():
    """The note drew capacities and costs once, unseeded; here every reset draws them from the env's streams."""
    env = marl_envs.make_batched("smart_grid_v0", num_envs=512)
    first = env.reset(seed=0)
    capacity, cost, base, r = (
        env.episode.capacity.clone(),
        env.episode.cost.clone(),
        env.episode.base_demand.clone(),
        env.episode.renewable.clone(),
    )
    assert (capacity >= 20).all() and (capacity < 70).all() and capacity.min() < 21 and capacity.max() > 69
    assert (cost >= 0.05).all() and (cost <= 0.15).all()
    assert (base >= 10).all() and (base <= 40).all() and (r >= 0.5).all() and (r <= 1).all()
    factors = torch.cat((env.episode.demand[:, None] / base[:, None], env.episode.demand_factors), 1)
    assert (factors > 0.8 - 1e-6).all() and (factors < 1.2 + 1e-6).all()
    assert (env.episode.level == 50).all() and (env.episode.hour == 0).all()
    again = env.reset()
    assert not torch.equal(env.episode.capacity, capacity) and not torch.equal(env.episode.cost, cost)
    assert not torch.equal(again.obs, first.obs)
    assert torch.equal(env.reset(seed=0).obs, first.obs)


def test_info_keeps_the_ended_day_through_auto_reset():
    env = marl_envs.make_batched("smart_grid_v0", num_envs=2)
    env.reset(seed=0)
    r = env.episode.renewable.clone()
    for _ in range(23):
        env.step(torch.zeros(2, 6, 1))
    out = env.step(torch.zeros(2, 6, 1))
    assert out.terminated.all() and torch.equal(out.info["renewable_factor"], r)
    assert not torch.equal(env.episode.renewable, r)  # the new day's factor
    assert (out.final_obs[:, 0, 4] == 1).all() and (out.obs[:, 0, 4] == 0).all()


def test_infos_consistent_with_rewards_over_a_random_day():
    """An independent NumPy reading of the rules, checked against every step of a random day."""
    env = smart_grid_v0.parallel_env()
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    grid = env.env
    while env.agents:
        capacity, cost = grid.episode.capacity[0].numpy().copy(), grid.episode.cost[0].numpy().copy()
        demand, level, r = grid.episode.demand[0].numpy().copy(), grid.episode.level[0].numpy().copy(), float(grid.episode.renewable[0])
        a = rng.uniform(-1, 1, 6).astype(np.float32)
        obs, rewards, _, _, infos = env.step({agent: a[i : i + 1] for i, agent in enumerate(AGENTS)})
        production = np.maximum(a[:2] * capacity * r, 0)
        adjusted = demand * (1 + 0.3 * a[2:5])
        power = (level - np.clip(level - 2 * a[5:], 0, 100)) / 0.1
        imbalance = production.sum() + power.sum() - adjusted.sum()
        info = infos["storage_0"]
        assert info["total_supply"] == approx(production.sum() + power.sum(), rel=1e-5)
        assert info["total_demand"] == approx(adjusted.sum(), rel=1e-5)
        assert info["imbalance"] == approx(info["total_supply"] - info["total_demand"], abs=1e-4)
        assert info["imbalance"] == approx(imbalance, abs=1e-4) and info["renewable_factor"] == obs["producer_0"][2]
        expected = np.concatenate(
            (
                production * (0.1 - cost) - 0.01 * abs(info["imbalance"]),
                0.1 * (demand - adjusted) - 2 * np.abs(a[2:5]),
                0.02 * power - 0.001 * np.abs(power),
            )
        )
        np.testing.assert_allclose([rewards[agent] for agent in AGENTS], expected, atol=1e-4)


# ---------------------------------------------------------------- observation bounds
@pytest.mark.parametrize("n_consumers", [1, 3, 5])
def test_extreme_days_lie_inside_the_spaces(n_consumers):
    C = n_consumers
    for capacity, cost, base, demand, level, r, hour in (
        (70.0, 0.15, 40.0, 48.0, 100.0, 1.0, 24),  # every quantity at its top
        (20.0, 0.05, 10.0, 8.0, 0.0, 0.5, 0),  # and at its bottom
        (20.0, 0.05, 10.0, 8.0, 0.0, 0.5, 18),  # sin(2 pi 18 / 24) = -1
    ):
        env = smart_grid_v0.parallel_env(n_consumers=C)
        env.reset(seed=0)
        grid = env.env
        grid.episode.capacity[:], grid.episode.cost[:], grid.episode.base_demand[:], grid.episode.demand[:] = capacity, cost, base, demand
        grid.episode.level[:], grid.episode.renewable[:], grid.episode.hour[:] = level, r, hour
        obs = grid.observations()[0].numpy()
        for i, agent in enumerate(env.possible_agents):
            assert env.observation_space(agent).contains(obs[i]), (agent, obs[i])
        assert env.state_space.contains(env.state())


# ---------------------------------------------------------------- discrete actions
def test_discrete_mode_applies_the_five_levels():
    env = marl_envs.make_batched("smart_grid_v0", num_envs=5, continuous_actions=False)
    env.reset(seed=0)
    env.episode.capacity[:] = 50.0
    env.episode.renewable[:] = 1.0
    env.episode.demand[:] = 10.0
    out = env.step(torch.arange(5)[:, None].expand(5, 6))  # sub-env k: every agent plays action k
    levels = [-1.0, -0.5, 0.0, 0.5, 1.0]
    # production max(0, level * 50) per producer; demand 10 * (1 + 0.3 level) per consumer; battery 20 level MW.
    supply = [2 * max(0.0, 50 * x) + 20 * x for x in levels]  # [-20, -10, 0, 60, 120]
    demand = [3 * 10 * (1 + 0.3 * x) for x in levels]  # [21, 25.5, 30, 34.5, 39]
    np.testing.assert_allclose(out.info["total_supply"], supply, atol=1e-4)
    np.testing.assert_allclose(out.info["total_demand"], demand, atol=1e-4)
    assert env.episode.level[:, 0].tolist() == approx([52.0, 51.0, 50.0, 49.0, 48.0])
    # The same step with the continuous levels gives the same rewards: one set of rules.
    continuous = marl_envs.make_batched("smart_grid_v0", num_envs=5)
    continuous.reset(seed=0)
    continuous.episode.capacity[:], continuous.episode.renewable[:], continuous.episode.demand[:] = 50.0, 1.0, 10.0
    same = continuous.step(torch.tensor(levels)[:, None, None].expand(5, 6, 1).contiguous())
    assert torch.equal(same.reward, out.reward)


def test_discrete_pettingzoo_view():
    env = smart_grid_v0.parallel_env(continuous_actions=False)
    env.reset(seed=0)
    assert env.action_space("storage_0").n == 5 and env.action_space("producer_0") is env.action_space("consumer_0")
    env.env.episode.level[0] = 10.0
    env.step({agent: 0 for agent in AGENTS})  # level -1: the battery charges 2 MWh
    assert env.env.episode.level[0].tolist() == [12.0]
    with pytest.raises(ValueError, match="agent 'consumer_1': action 5 is out of range; expected an integer in \\[0, 5\\)"):
        env.step({**{agent: 0 for agent in AGENTS}, "consumer_1": 5})


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_producers": 0}, "n_producers must be an integer >= 1, got 0"),
        ({"n_consumers": 0}, "n_consumers must be an integer >= 1, got 0"),
        ({"n_storage": -1}, "n_storage must be an integer >= 1, got -1"),
        ({"n_producers": 1.5}, "n_producers must be an integer >= 1, got 1.5"),
        ({"n_consumers": "3"}, "n_consumers must be an integer >= 1, got '3'"),
        ({"continuous_actions": "yes"}, "continuous_actions must be True or False, got 'yes'"),
        ({"max_cycles": 0}, "max_cycles must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        smart_grid_v0.parallel_env(**kwargs)


def test_actions_out_of_range_are_rejected_not_clipped():
    env = placed(**DAY)
    before = env.state().copy()
    with pytest.raises(ValueError, match="agent 'consumer_2': action \\[1.5\\] is out of range"):
        env.step(act(0, 0, 0, 0, 1.5, 0))
    with pytest.raises(ValueError, match="agent 'storage_0': action \\[nan\\] contains NaN"):
        env.step(act(0, 0, 0, 0, 0, float("nan")))
    np.testing.assert_array_equal(env.state(), before)


# ---------------------------------------------------------------- pictures and pickling
def test_render():
    env = smart_grid_v0.parallel_env(render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.startswith("hour 0/24") and "producer_1: capacity" in text and "storage_0:  50.0 / 100 MWh" in text
    image = smart_grid_v0.parallel_env(render_mode="rgb_array")
    image.reset(seed=0)
    picture = image.render()
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3


def test_pickle_keeps_the_drawn_day():
    env = placed(**DAY)
    env.step(act(0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
    copy = pickle.loads(pickle.dumps(env))
    assert torch.equal(copy.env.episode.demand_factors, env.env.episode.demand_factors)
    for _ in range(10):
        a = act(0.1, 0.2, 0.3, -0.4, 0.5, -0.6)
        assert env.step(a)[1] == copy.step(a)[1]
