"""target_grid_v0: windows, collection, rewards and episode end, worked by hand.

Actions: 0 stay, 1 up, 2 down, 3 left, 4 right. Default 8x8 grid, view radius 2 (5x5 windows).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import target_grid_v0

STAY, UP, DOWN, LEFT, RIGHT = range(5)


def placed(agents, targets, **kwargs):
    """A PettingZoo target grid whose sub-env holds the given agent and target cells."""
    env = target_grid_v0.parallel_env(n_agents=len(agents), n_targets=len(targets), **kwargs)
    env.reset(seed=0)
    env.env.episode.positions[0] = torch.tensor(agents)
    env.env.episode.targets[0] = torch.tensor(targets)
    return env


def window(*cells):
    """A 5x5 window (flattened) with ones at the given (row, col) window cells."""
    grid = np.zeros((5, 5), np.float32)
    for r, c in cells:
        grid[r, c] = 1
    return grid.ravel()


def test_observation_by_hand():
    env = placed(agents=[(0, 0), (1, 2), (5, 5)], targets=[(2, 1), (0, 3), (7, 7)])
    obs, *_ = env.step({"agent_0": STAY, "agent_1": STAY, "agent_2": STAY})
    # agent 0 at (0, 0): agent 1 is 1 down and 2 right -> window cell (2+1, 2+2); target (2, 1) -> (4, 3);
    # window rows and columns -2 and -1 lie outside the grid.
    outside = window(*[(r, c) for r in range(5) for c in range(5) if r < 2 or c < 2])
    np.testing.assert_array_equal(obs["agent_0"], np.concatenate([window((3, 4)), window((4, 3)), outside, [0, 0, 1]]))
    # agent 1 at (1, 2): agent 0 at (-1, -2) -> (1, 0); targets (2, 1) -> (3, 1) and (0, 3) -> (1, 3); row -1 is outside.
    outside = window(*[(0, c) for c in range(5)])
    expected = np.concatenate([window((1, 0)), window((3, 1), (1, 3)), outside, [1 / 7, 2 / 7, 1]])
    np.testing.assert_allclose(obs["agent_1"], expected, rtol=1e-6)
    # agent 2 at (5, 5) sees no one: target (7, 7) -> (4, 4); nothing is outside.
    np.testing.assert_allclose(obs["agent_2"], np.concatenate([window(), window((4, 4)), window(), [5 / 7, 5 / 7, 1]]), rtol=1e-6)
    adjacency = env.env.adjacency_matrix()[0]
    assert adjacency.tolist() == [[False, True, False], [True, False, False], [False, False, False]]
    state = env.state()
    np.testing.assert_allclose(state, np.array([0, 0, 1, 2, 5, 5, 2, 1, 0, 3, 7, 7, 7 * 1, 7, 7]) / 7, rtol=1e-6)


def test_collecting_targets_and_the_end():
    env = placed(agents=[(0, 0), (1, 2)], targets=[(2, 1), (0, 3)])
    _, rewards, *_ = env.step({"agent_0": UP, "agent_1": LEFT})  # agent 0 stays inside the grid, unpunished
    assert rewards == {"agent_0": pytest.approx(-0.01), "agent_1": pytest.approx(-0.01)}
    assert env.env.episode.positions[0].tolist() == [[0, 0], [1, 1]]
    obs, rewards, terminations, _, infos = env.step({"agent_0": RIGHT, "agent_1": DOWN})
    assert rewards["agent_0"] == pytest.approx(0.99) and not any(terminations.values())
    assert infos["agent_0"]["targets_collected"] == 1 and obs["agent_0"][-1] == pytest.approx(0.5)
    assert env.state()[-2:].tolist() == [0, 1]
    # Standing on, or coming back to, a collected target pays nothing.
    _, rewards, *_ = env.step({"agent_0": RIGHT, "agent_1": STAY})
    assert rewards["agent_0"] == pytest.approx(-0.01)
    _, rewards, terminations, truncations, infos = env.step({"agent_0": RIGHT, "agent_1": STAY})
    assert rewards["agent_0"] == pytest.approx(0.99)
    assert all(terminations.values()) and not any(truncations.values()) and env.agents == []
    assert infos["agent_1"]["targets_collected"] == 2


def test_two_agents_on_one_target_collect_it_once():
    env = placed(agents=[(0, 2), (1, 3)], targets=[(0, 3), (7, 7)])
    _, rewards, *_ = env.step({"agent_0": RIGHT, "agent_1": UP})
    assert rewards["agent_0"] == pytest.approx(0.99)
    assert env.env.episode.positions[0].tolist() == [[0, 3], [0, 3]]  # agents may share a cell


def test_two_targets_at_once_pay_two():
    env = placed(agents=[(3, 3), (5, 5)], targets=[(3, 4), (5, 4), (0, 0)])
    _, rewards, *_ = env.step({"agent_0": RIGHT, "agent_1": LEFT})
    assert rewards["agent_0"] == pytest.approx(1.99)


def test_random_starts_are_distinct_cells_and_vary():
    env = marl_envs.make_batched("target_grid_v0", num_envs=512)
    env.reset(seed=1)
    cells = torch.cat((env.episode.positions, env.episode.targets), 1)
    flat = (cells[..., 0] * 8 + cells[..., 1]).tolist()
    assert all(len(set(row)) == 6 for row in flat)
    counts = np.bincount(np.ravel(flat), minlength=64)
    assert counts.min() > 0  # every cell is used somewhere
    # roughly uniform over cells: 512 * 6 / 64 = 48 per cell on average
    assert counts.max() < 100


def test_truncation_and_auto_reset_in_the_batch():
    env = marl_envs.make_batched("target_grid_v0", num_envs=2, max_cycles=3)
    first = env.reset(seed=0)
    for t in range(3):
        out = env.step(torch.zeros(2, 3, dtype=torch.int64))
    assert out.truncated.all() and not out.terminated.any()
    # same-step auto-reset: final_obs is the last one of the old episode, obs the new episode's first
    assert torch.equal(out.final_obs, first.obs) and not torch.equal(out.obs, first.obs)
    assert env.step_count.tolist() == [0, 0]


def test_bad_arguments():
    for kwargs, message in [
        ({"grid_size": (8,)}, "grid_size must be an int or a pair"),
        ({"grid_size": 1}, "grid_size\\[0\\] must be an integer >= 2"),
        ({"n_targets": 0}, "n_targets must be an integer >= 1"),
        ({"view_radius": -1}, "view_radius must be an integer >= 0"),
        ({"grid_size": 2, "n_agents": 3, "n_targets": 2}, "do not fit in a 2x2 grid"),
    ]:
        with pytest.raises(ValueError, match=message):
            target_grid_v0.parallel_env(**kwargs)
