"""autonomous_vehicles_v0 against the design note's rules, with steps worked by hand.

dt = 0.1, acceleration = 3 * action, speed clamped to [0, 25], then position += speed * dt.
Reward: -0.1 |v - v_target| + 0.05 v, and -10 while the nearest other vehicle is closer than 2.
Observation: [x / L, v / 20, v_target / 20, (x_near - x) / L, (v_near - v) / 20, |x_near - x| / 20].
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import autonomous_vehicles_v0

BRAKE, KEEP, ACCELERATE = range(3)


def placed(positions, speeds, targets, **kwargs):
    """A PettingZoo env whose sub-env holds the given vehicles."""
    env = autonomous_vehicles_v0.parallel_env(n_vehicles=len(positions), **kwargs)
    env.reset(seed=0)
    env.env.episode.positions[0] = torch.tensor(positions, dtype=torch.float32)
    env.env.episode.speeds[0] = torch.tensor(speeds, dtype=torch.float32)
    env.env.episode.target_speeds[0] = torch.tensor(targets, dtype=torch.float32)
    return env


def accelerations(*values):
    return {f"vehicle_{i}": np.array([v], np.float32) for i, v in enumerate(values)}


def test_defaults_and_starting_state():
    env = autonomous_vehicles_v0.parallel_env()
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == [f"vehicle_{i}" for i in range(4)] and env.max_cycles == 100
    space = env.action_space("vehicle_0")
    assert space.shape == (1,) and space.low.tolist() == [-1] and space.high.tolist() == [1]
    assert env.observation_space("vehicle_0").shape == (6,) and env.state_space.shape == (12,)
    assert all(o[1] == 0.25 for o in obs.values())  # every vehicle starts at 5 m/s: 5 / 20
    batched = marl_envs.make_batched("autonomous_vehicles_v0", num_envs=2048)
    batched.reset(seed=0)
    positions, targets = batched.episode.positions, batched.episode.target_speeds
    assert positions.min() >= 0 and positions.max() < 30  # U[0, 0.3 * 100)
    assert targets.min() >= 10 and targets.max() <= 20  # U[10, 20)
    assert abs(float(positions.mean()) - 15) < 0.3 and abs(float(targets.mean()) - 15) < 0.1
    assert (batched.episode.speeds == 5).all()


def test_one_step_by_hand():
    env = placed([10, 20, 50, 80], [5, 10, 25, 0], [15, 10, 20, 12])
    obs, rewards, terminations, truncations, _ = env.step(accelerations(1, 0, 1, -1))
    # speeds: 5 + 3 * 0.1 = 5.3; 10; 25.3 -> 25 (speed limit); -0.3 -> 0
    # positions: 10 + 0.53 = 10.53; 20 + 1 = 21; 50 + 2.5 = 52.5; 80 + 0 = 80
    # rewards: -0.1 * 9.7 + 0.05 * 5.3 = -0.705; 0 + 0.5; -0.1 * 5 + 1.25 = 0.75; -0.1 * 12 + 0 = -1.2
    assert rewards == {
        "vehicle_0": pytest.approx(-0.705, abs=1e-5),
        "vehicle_1": pytest.approx(0.5, abs=1e-5),
        "vehicle_2": pytest.approx(0.75, abs=1e-5),
        "vehicle_3": pytest.approx(-1.2, abs=1e-5),
    }
    # vehicle 0's nearest is vehicle 1, 21 - 10.53 = 10.47 ahead, 10 - 5.3 = 4.7 faster
    np.testing.assert_allclose(obs["vehicle_0"], [0.1053, 5.3 / 20, 0.75, 0.1047, 4.7 / 20, 10.47 / 20], rtol=1e-5)
    # vehicle 2's nearest is vehicle 3 (80 - 52.5 = 27.5 ahead) rather than vehicle 1 (31.5 behind)
    np.testing.assert_allclose(obs["vehicle_2"], [0.525, 1.25, 1.0, 0.275, -25 / 20, 27.5 / 20], rtol=1e-5)
    np.testing.assert_allclose(obs["vehicle_3"], [0.8, 0, 0.6, -0.275, 25 / 20, 27.5 / 20], rtol=1e-5)
    np.testing.assert_allclose(env.state(), [0.1053, 0.21, 0.525, 0.8, 5.3 / 20, 0.5, 1.25, 0, 0.75, 0.5, 1.0, 0.6], rtol=1e-5)
    assert not any(terminations.values()) and not any(truncations.values())


def test_nearest_tie_goes_to_the_lowest_index():
    # standing still, vehicle 0 at 10 is 5 from vehicle 1 (behind, at 5) and from vehicle 2 (ahead, at 15):
    # the tie goes to vehicle 1, so the relative position is -5 / 100 and the distance 5 / 20
    env = placed([10, 5, 15], [0, 0, 0], [10, 10, 10])
    obs, *_ = env.step(accelerations(0, 0, 0))
    np.testing.assert_allclose(obs["vehicle_0"][3:], [-0.05, 0, 0.25], rtol=1e-6)
    # vehicle 0 at 1 m/s moves to 10.1: vehicle 2 is now the nearer (4.9 ahead, 1 slower) than vehicle 1 (5.1)
    env = placed([10, 5, 15], [1, 0, 0], [10, 10, 10])
    obs, *_ = env.step(accelerations(0, 0, 0))
    np.testing.assert_allclose(obs["vehicle_0"][3:], [0.049, -1 / 20, 4.9 / 20], rtol=1e-5)


def test_safety_penalty_while_closer_than_two():
    env = placed([10, 11.5, 30, 32], [0, 0, 0, 0], [15, 15, 15, 15])
    for _ in range(2):  # the penalty holds at every step while they stay close
        _, rewards, *_ = env.step(accelerations(0, 0, 0, 0))
        # vehicles 0 and 1 are 1.5 apart: -0.1 * 15 - 10 = -11.5; vehicles 2 and 3 exactly 2 apart: -1.5
        assert rewards == {
            "vehicle_0": pytest.approx(-11.5),
            "vehicle_1": pytest.approx(-11.5),
            "vehicle_2": pytest.approx(-1.5),
            "vehicle_3": pytest.approx(-1.5),
        }


def test_penalty_uses_the_positions_after_the_move():
    env = placed([10, 12.5], [10, 0], [10, 10])
    _, rewards, *_ = env.step(accelerations(0, 0))
    # vehicle 0 moves to 11, 1.5 behind vehicle 1: both pay -10; vehicle 0: 0 + 0.5 - 10, vehicle 1: -1 + 0 - 10
    assert rewards == {"vehicle_0": pytest.approx(-9.5), "vehicle_1": pytest.approx(-11.0)}


def test_reaching_the_end_terminates_everyone():
    env = placed([99.5, 10, 40, 60], [5, 5, 5, 5], [10, 10, 10, 10])
    obs, _, terminations, truncations, _ = env.step(accelerations(0, 0, 0, 0))
    # vehicle 0: 99.5 + 0.5 = 100 >= 100
    assert all(terminations.values()) and not any(truncations.values()) and env.agents == []
    assert obs["vehicle_0"][0] == pytest.approx(1.0)


def test_time_limit_truncates():
    env = placed([10, 20], [0, 0], [10, 10], continuous_actions=False)
    for t in range(100):
        _, _, terminations, truncations, _ = env.step({"vehicle_0": KEEP, "vehicle_1": KEEP})
        assert not any(terminations.values())
        assert all(truncations.values()) == (t == 99)
    assert env.agents == []


def test_discrete_actions_brake_keep_accelerate():
    env = autonomous_vehicles_v0.parallel_env(n_vehicles=3, continuous_actions=False)
    assert env.action_space("vehicle_0").n == 3
    env.reset(seed=0)
    obs, *_ = env.step({"vehicle_0": BRAKE, "vehicle_1": KEEP, "vehicle_2": ACCELERATE})
    # speeds 5 - 0.3, 5, 5 + 0.3
    speeds = [obs[f"vehicle_{i}"][1] * 20 for i in range(3)]
    np.testing.assert_allclose(speeds, [4.7, 5.0, 5.3], rtol=1e-6)


def test_speed_limit_is_a_rule_but_actions_are_not_clipped():
    env = placed([10, 50], [24.9, 0.1], [20, 20])
    obs, *_ = env.step(accelerations(1, -1))
    assert obs["vehicle_0"][1] * 20 == pytest.approx(25) and obs["vehicle_1"][1] == 0
    with pytest.raises(ValueError, match="agent 'vehicle_1': action \\[-1.5\\] is out of range"):
        env.step(accelerations(0, -1.5))


def test_render():
    env = placed([10, 20], [0, 0], [10, 10], render_mode="ansi")
    text = env.render()
    assert "vehicle_1: x   20.00 m" in text
    image = marl_envs.make("autonomous_vehicles_v0", render_mode="rgb_array")
    image.reset(seed=0)
    assert image.render().dtype == np.uint8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_vehicles": 1}, "n_vehicles must be an integer >= 2, got 1"),
        ({"n_vehicles": 2.0}, "n_vehicles must be an integer >= 2"),
        ({"road_length": 0}, "road_length must be a positive finite number, got 0"),
        ({"road_length": -100}, "road_length must be a positive finite number"),
        ({"road_length": float("inf")}, "road_length must be a positive finite number"),
        ({"road_length": float("nan")}, "road_length must be a positive finite number"),
        ({"road_length": "100"}, "road_length must be a positive finite number, got '100'"),
        ({"road_length": True}, "road_length must be a positive finite number"),
        ({"continuous_actions": 1}, "continuous_actions must be True or False"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        autonomous_vehicles_v0.parallel_env(**kwargs)
