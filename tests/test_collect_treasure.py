"""collect_treasure_v0 (mpe2's collect_treasure_v1) worked by hand: pickups, deliveries, respawns, rewards, observations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import collect_treasure_v0

NO_OP = 0


def placed(agents, treasures, types, holding=None, **kwargs):
    """A PettingZoo view at rest in this world (agents ``[N, 2]``, treasures ``[T, 2]`` and their types)."""
    env = collect_treasure_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.world.place(np.array([agents], float), np.zeros((1, len(agents), 2)), np.array([treasures], float))
    env.env.episode.treasure_type[:, 0] = torch.tensor(types)
    if holding is not None:
        env.env.episode.holding[:, 0] = torch.tensor(holding)
    return env


def respawn_at(env, positions, types):
    """Make the next respawns land here (the hook the parity tests use)."""
    env.env.draw_respawns = lambda: (torch.tensor([positions], dtype=torch.float64), torch.tensor([types]))


def still(env):
    return {agent: NO_OP for agent in env.agents}


SMALL = {"num_collectors": 2, "num_deposits": 2, "num_treasures": 2}


def test_a_pickup_pays_everyone_and_changes_what_is_seen():
    # collector_0 at the origin touches treasure_0 (type 1, 0.05 away); collector_1 is 0.3 from treasure_1 (type 0)
    env = placed([[0.0, 0.0], [0.6, 0.0], [0.0, -0.4], [0.0, 0.8]], [[0.05, 0.0], [0.6, 0.3]], [1, 0], **SMALL)
    obs, rewards, _, _, infos = env.step(still(env))
    assert [infos[a]["holding"] for a in env.agents] == [1, -1, -1, -1]
    assert infos["collector_0"]["pickups"] == 1 and infos["collector_0"]["deliveries"] == 0
    assert rewards["collector_0"] == pytest.approx(5 - 0.1 * 0.8, rel=1e-6)  # on to deposit_1, 0.8 away
    assert rewards["collector_1"] == pytest.approx(5 - 0.1 * 0.3, rel=1e-6)  # treasure_0 is gone: treasure_1
    assert rewards["deposit_0"] == pytest.approx(5 - 0.1 * 0.5, rel=1e-6)  # nobody holds type 0: the centroid (0.3, 0)
    assert rewards["deposit_1"] == pytest.approx(5 - 0.1 * 0.8, rel=1e-6)  # collector_0 holds type 1
    expected = [0, 0, 0, 0, 0, 1]  # position, velocity, holds type 1
    expected += [0, -0.4, 0, 0, 1, 0, 0, 0]  # deposit_0 (0.4 away): it accepts type 0
    expected += [0.6, 0, 0, 0, 0, 0, 0, 0]  # collector_1 (0.6 away): holds nothing
    expected += [0, 0.8, 0, 0, 0, 1, 0, 0]  # deposit_1 (0.8 away): it accepts type 1
    expected += [0.6, 0.3, 1, 0, 0, 0, 0, 0]  # treasure_1 (type 0), then treasure_0, just picked up: zeros
    np.testing.assert_allclose(obs["collector_0"], expected, atol=1e-7)
    expected = [0, 0.8, 0, 0]  # deposit_1's position and velocity (a deposit holds nothing: no holding part)
    expected += [0, -0.8, 0, 0, 0, 0, 0, 1]  # collector_0 (0.8 away), holding type 1
    expected += [0.6, -0.8, 0, 0, 0, 0, 0, 0]  # collector_1 (1.0 away)
    expected += [0, -1.2, 0, 0, 1, 0, 0, 0]  # deposit_0 (1.2 away)
    expected += [0.6, -0.5, 1, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(obs["deposit_1"], expected, atol=1e-7)
    assert obs["collector_0"].shape == (38,) and obs["deposit_1"].shape == (36,)
    np.testing.assert_allclose(env.state(), np.concatenate([obs[a] for a in env.agents]))


def test_a_treasure_respawns_at_the_next_step_and_cannot_be_picked_up_before_the_one_after():
    env = placed([[0.0, 0.0], [0.6, 0.0], [0.0, -0.4], [0.0, 0.8]], [[0.05, 0.0], [0.6, 0.3]], [1, 0], **SMALL)
    env.step(still(env))  # collector_0 picks up treasure_0
    respawn_at(env, [[0.6, 0.0], [0.9, 0.9]], [0, 1])  # treasure_0 reappears on collector_1; treasure_1 is present: not moved
    obs, rewards, _, _, infos = env.step(still(env))
    assert infos["collector_0"]["pickups"] == 0 and [infos[a]["holding"] for a in env.agents] == [1, -1, -1, -1]
    assert rewards["collector_1"] == pytest.approx(0.0, abs=1e-7)  # standing on a present treasure: no shaping, no event
    np.testing.assert_allclose(obs["collector_1"][-8:], [0, 0, 1, 0, 0, 0.3, 1, 0], atol=1e-7)  # treasure_0 (type 0), treasure_1
    obs, rewards, _, _, infos = env.step(still(env))
    assert infos["collector_1"]["pickups"] == 1 and [infos[a]["holding"] for a in env.agents] == [1, 0, -1, -1]
    assert rewards["collector_1"] == pytest.approx(5 - 0.1 * math.hypot(0.6, 0.4), rel=1e-6)  # on to deposit_0


def test_pickups_go_treasure_by_treasure_to_the_first_free_collector():
    # collector_0 touches both treasures, collector_1 both too; treasure_0 goes to collector_0, treasure_1 to collector_1
    agents = [[0.02, 0.0], [0.06, 0.0], [0.9, 0.9], [-0.9, 0.9]]
    env = placed(agents, [[0.0, 0.0], [0.04, 0.0]], [1, 0], **SMALL)
    _, rewards, _, _, infos = env.step(still(env))
    assert [infos[a]["holding"] for a in env.agents] == [1, 0, -1, -1]
    assert infos["collector_0"]["pickups"] == 2
    # both pickups are shared; the collectors, 0.04 apart, overlap: -5 each
    to_deposit_1 = math.hypot(0.92, 0.9)
    assert rewards["collector_0"] == pytest.approx(10 - 5 - 0.1 * to_deposit_1, rel=1e-6)
    assert rewards["deposit_0"] == pytest.approx(10 - 0.1 * math.hypot(0.84, 0.9), rel=1e-6)  # its carrier, collector_1


def test_a_collector_can_pick_up_and_deliver_in_one_step():
    # one type: both collectors pick up a treasure and touch deposit_0 (0.1 and 0.108 away, below 0.125)
    agents = [[0.02, 0.0], [0.06, 0.0], [0.02, 0.1]]
    env = placed(agents, [[0.0, 0.0], [0.04, 0.0]], [0, 0], num_collectors=2, num_deposits=1, num_treasures=2)
    _, rewards, _, _, infos = env.step(still(env))
    assert infos["deposit_0"]["pickups"] == 2 and infos["deposit_0"]["deliveries"] == 2
    assert [infos[a]["holding"] for a in env.agents] == [-1, -1, -1]
    # 4 events; no treasure present, so no collector shaping; the deposit looks at the centroid (0.04, 0)
    assert rewards["collector_0"] == rewards["collector_1"] == pytest.approx(20 - 5, rel=1e-6)
    assert rewards["deposit_0"] == pytest.approx(20 - 0.1 * math.hypot(0.02, 0.1), rel=1e-6)


def test_only_the_deposit_of_the_held_type_takes_the_treasure():
    # collector_0 holds type 0 and touches deposit_1, not deposit_0
    agents = [[0.0, 0.0], [0.8, 0.8], [-0.5, 0.0], [0.1, 0.0]]
    env = placed(agents, [[0.9, -0.9], [-0.9, -0.9]], [0, 0], holding=[0, -1], **SMALL)
    _, rewards, _, _, infos = env.step(still(env))
    assert infos["collector_0"]["deliveries"] == 0 and infos["collector_0"]["holding"] == 0
    assert rewards["collector_0"] == pytest.approx(-0.1 * 0.5, rel=1e-6)
    assert rewards["deposit_0"] == pytest.approx(-0.1 * 0.5, rel=1e-6)  # towards its carrier
    # next to deposit_0 it delivers
    env.env.world.place(np.array([[[-0.45, 0.0], *agents[1:]]]), np.zeros((1, 4, 2)), np.array([[[0.9, -0.9], [-0.9, -0.9]]]))
    _, rewards, _, _, infos = env.step(still(env))
    assert infos["collector_0"]["deliveries"] == 1 and infos["collector_0"]["holding"] == -1
    assert rewards["collector_0"] == pytest.approx(5 - 0.1 * math.hypot(0.45, 0.9), rel=1e-6)  # on to the nearer treasure


def test_deposits_are_heavier():
    # the same push moves a deposit (mass 2.25) 2.25 times less than a collector (mass 1)
    env = collect_treasure_v0.parallel_env(num_collectors=1, num_deposits=1, num_treasures=1)
    env.reset(seed=0)
    before = env.env.world.positions(0)[0].copy()
    env.step({"collector_0": 2, "deposit_0": 2})  # right
    velocity = env.env.world.positions(0)[1]
    assert velocity[0, 0] == pytest.approx(1.5 * 0.1, rel=1e-12) and velocity[1, 0] == pytest.approx(1.5 / 2.25 * 0.1, rel=1e-12)
    np.testing.assert_array_equal(env.env.world.positions(0)[0], before)  # positions move with the old velocity (zero)


def test_respawns_are_fresh_draws_within_the_arena():
    env = marl_envs.make_batched("collect_treasure_v0", 64, num_treasures=3)
    env.reset(seed=1)
    positions, types = env.draw_respawns()
    again, _ = env.draw_respawns()
    assert positions.shape == (64, 3, 2) and types.shape == (64, 3)
    assert positions.abs().max() <= 0.95 and set(types.unique().tolist()) == {0, 1}
    assert not torch.equal(positions, again)  # every step draws anew


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_deposits must be at most 6"):
        marl_envs.make("collect_treasure_v0", num_deposits=7)
    with pytest.raises(ValueError, match="num_collectors must be an integer >= 1, got 0"):
        marl_envs.make("collect_treasure_v0", num_collectors=0)
    with pytest.raises(ValueError, match="num_treasures"):
        marl_envs.make("collect_treasure_v0", num_treasures=0)
