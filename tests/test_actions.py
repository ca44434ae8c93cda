"""``ActionSpec`` (one place for checking, sampling and describing actions), ``BatchedEnv.transition`` and the final mechanism."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import ActionSpec, BatchedEnv, ResetNeeded

Discrete, Box = gymnasium.spaces.Discrete, gymnasium.spaces.Box


def test_heterogeneous_discrete_actions_sample_only_what_each_agent_has():
    spec = ActionSpec(["a_0", "b_0"], [Discrete(3), Discrete(5)], "cpu")
    assert spec.discrete and spec.sizes == [3, 5] and spec.width == 5 and spec.heterogeneous
    assert spec.legal().tolist() == [[True, True, True, False, False], [True] * 5]
    actions = spec.sample(4096, generator=torch.Generator().manual_seed(0))
    assert actions.shape == (4096, 2) and actions.dtype == torch.int64
    assert set(actions[:, 0].tolist()) == {0, 1, 2} and set(actions[:, 1].tolist()) == {0, 1, 2, 3, 4}
    mask = torch.ones(4096, 2, 5, dtype=torch.bool)
    mask[:, 1, 4] = False
    assert set(spec.sample(4096, mask, torch.Generator().manual_seed(1))[:, 1].tolist()) == {0, 1, 2, 3}


def test_continuous_sampling_stays_in_bounds_and_zeroes_padding():
    spec = ActionSpec(["a", "b"], [Box(-1, 2, (3,), np.float32), Box(-np.inf, np.inf, (1,), np.float32)], "cpu")
    assert spec.low.tolist() == [[-1, -1, -1], [-np.inf, 0, 0]] and spec.high.tolist() == [[2, 2, 2], [np.inf, 0, 0]]
    actions = spec.sample(2000, generator=torch.Generator().manual_seed(0))
    assert actions.shape == (2000, 2, 3) and actions.dtype == torch.float32
    assert actions[:, 0].min() >= -1 and actions[:, 0].max() <= 2 and actions[:, 0].std() > 0.5
    assert (actions[:, 1, 1:] == 0).all() and actions[:, 1, 0].min() < -1  # unbounded: standard normal


def test_checks_name_the_agent_the_sub_env_the_expected_and_the_received_value():
    spec = ActionSpec(["a_0", "b_0"], [Discrete(3), Discrete(5)], "cpu")
    assert spec.check([[2, 4], [0, 0]], 2).tolist() == [[2, 4], [0, 0]]
    with pytest.raises(ValueError, match=r"agent 'a_0' in copy 1: action 3 is out of range; expected an integer in \[0, 3\)"):
        spec.check(torch.tensor([[0, 0], [3, 0]]), 2, where="copy")
    mask = torch.ones(1, 2, 5, dtype=torch.bool)
    mask[0, 1, 2] = False
    with pytest.raises(ValueError, match=r"agent 'b_0': action 2 is illegal now; legal actions: \[0, 1, 3, 4\]"):
        spec.check(torch.tensor([[0, 2]]), 1, action_mask=mask)
    assert spec.check(torch.tensor([[0, 2]]), 1, action_mask=mask, alive=torch.tensor([[True, False]])).tolist() == [[0, 2]]
    assert spec.check(torch.tensor([[0, 9]]), 1, validate=False).tolist() == [[0, 9]]
    with pytest.raises(TypeError, match=r"discrete actions must be an integer tensor \[1, 2\], got dtype torch.float32"):
        spec.check(torch.zeros(1, 2), 1)
    with pytest.raises(ValueError, match=r"actions must have shape \[1, 2\] \(num_envs, n_agents\), got \[2\]"):
        spec.check(torch.zeros(2, dtype=torch.int64), 1)
    box = ActionSpec(["a", "b"], [Box(-1, 1, (2,), np.float32), Box(0, 3, (1,), np.float32)], "cpu")
    assert box.check(torch.tensor([[[0.5, -1.0], [3.0, float("nan")]]]), 1).shape == (1, 2, 2)  # padding: anything
    with pytest.raises(ValueError, match=r"agent 'b': action \[3.5\] is out of range; expected Box\(0.0, 3.0, \(1,\), float32\)"):
        box.check(torch.tensor([[[0.5, -1.0], [3.5, 0.0]]]), 1)
    with pytest.raises(ValueError, match=r"agent 'a': action \[nan, 0.0\] contains NaN"):
        box.check(torch.tensor([[[float("nan"), 0.0], [1.0, 0.0]]]), 1)


def test_one_agents_pettingzoo_action_is_checked_for_kind_and_shape():
    spec = ActionSpec(["a"], [Discrete(3)], "cpu")
    assert spec.check_agent_action(0, np.int64(2)) == 2
    with pytest.raises(TypeError, match=r"agent 'a': action must be an integer \(Discrete\(3\)\), got 1.0 of type float"):
        spec.check_agent_action(0, 1.0)
    box = ActionSpec(["a"], [Box(-1, 1, (2,), np.float32)], "cpu")
    with pytest.raises(ValueError, match=r"agent 'a': action must be a float array of shape \(2,\)"):
        box.check_agent_action(0, np.zeros(3, np.float32))


def test_mixed_spaces_are_refused():
    with pytest.raises(TypeError, match="unsupported action spaces"):
        ActionSpec(["a", "b"], [Discrete(3), Box(-1, 1, (1,), np.float32)], "cpu")


def test_transition_steps_without_auto_reset_and_refuses_an_ended_sub_env():
    stepped = marl_envs.make_batched("goal_grid_v0", num_envs=3, max_cycles=2)
    moved = marl_envs.make_batched("goal_grid_v0", num_envs=3, max_cycles=2)
    stepped.reset(seed=5), moved.reset(seed=5)
    actions = torch.tensor([[0, 1], [2, 3], [1, 1]])
    a, b = stepped.step(actions), moved.transition(actions)
    for field in ("obs", "state", "reward", "terminated", "truncated", "alive"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert b.final_obs is b.obs
    a, b = stepped.step(actions), moved.transition(actions)  # max_cycles: every episode ends
    assert b.truncated.all() and not b.alive.any() and torch.equal(a.final_obs, b.obs) and not torch.equal(a.obs, b.obs)
    with pytest.raises(ResetNeeded, match="sub-env 0's episode has ended: call reset"):
        moved.transition(actions)
    assert torch.equal(moved.reset(seed=5).obs, marl_envs.make_batched("goal_grid_v0", num_envs=3).reset(seed=5).obs)


def test_the_mechanism_cannot_be_redefined_by_a_subclass():
    with pytest.raises(TypeError, match="Sloppy redefines step, _restart, which BatchedEnv owns"):

        class Sloppy(BatchedEnv):
            def step(self, actions):
                return None

            def _restart(self, env_ids):
                return None
