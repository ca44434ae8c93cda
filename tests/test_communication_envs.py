"""speaker_listener_v0 and reference_v0 worked by hand: who hears what, when, and what it earns.

Parity with mpe2 over whole episodes is in ``tests/test_mpe_parity.py``; these tests pin the
rules on worlds small enough to compute on paper, and the ``silence_channel`` ablation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import reference_v0, speaker_listener_v0

NO_OP, LEFT, RIGHT, DOWN, UP = range(5)


def placed(module, agents, landmarks, goal, **kwargs):
    env = module.parallel_env(**kwargs)
    env.reset(seed=0)
    env.env.world.place(np.array(agents, float)[None], np.zeros((1, 2, 2)), np.array(landmarks, float)[None])
    env.env.episode.goal[0] = torch.as_tensor(goal)
    return env


LANDMARKS = [[0.5, 0.0], [0.0, 0.5], [-0.5, -0.5]]


def test_speaker_sees_the_goal_colour_and_the_listener_hears_the_message_one_step_later():
    env = placed(speaker_listener_v0, [[0.9, 0.9], [0.0, 0.0]], LANDMARKS, goal=1)
    assert env.state()[:3].tolist() == pytest.approx([0.15, 0.65, 0.15])  # green: landmark 1
    obs, rewards, *_ = env.step({"speaker_0": 2, "listener_0": RIGHT})
    np.testing.assert_allclose(obs["speaker_0"], [0.15, 0.65, 0.15], atol=1e-7)
    # listener: velocity (0.5, 0) after one push, landmarks relative to it (it has not moved yet), message e_2
    np.testing.assert_allclose(obs["listener_0"], [0.5, 0.0, 0.5, 0.0, 0.0, 0.5, -0.5, -0.5, 0.0, 0.0, 1.0], atol=1e-7)
    assert rewards == {"speaker_0": pytest.approx(-0.25), "listener_0": pytest.approx(-0.25)}  # -(0^2 + 0.5^2)
    obs, rewards, *_ = env.step({"speaker_0": 0, "listener_0": NO_OP})
    # moved 0.05 right: to landmark 1 at (0, 0.5) the squared distance is 0.05^2 + 0.5^2
    assert rewards["listener_0"] == pytest.approx(-(0.05**2 + 0.25), rel=1e-6)
    np.testing.assert_allclose(obs["listener_0"][-3:], [1.0, 0.0, 0.0])


def test_the_speaker_never_moves():
    env = placed(speaker_listener_v0, [[0.9, 0.9], [0.0, 0.0]], LANDMARKS, goal=0, continuous_actions=True)
    for _ in range(5):
        env.step({"speaker_0": np.ones(3, np.float32), "listener_0": np.array([0, 1, 0, 1, 0], np.float32)})
    positions, velocities, _ = env.env.world.positions(0)
    np.testing.assert_array_equal(positions[0], [0.9, 0.9])
    np.testing.assert_array_equal(velocities[0], [0.0, 0.0])
    assert positions[1][0] < 0 and positions[1][1] < 0  # the listener went left and down


def test_reference_action_is_word_times_five_plus_move_and_the_other_agent_hears_it():
    env = placed(reference_v0, [[0.0, 0.0], [0.2, 0.2]], LANDMARKS, goal=[2, 0])
    obs, rewards, *_ = env.step({"agent_0": 7 * 5 + UP, "agent_1": 3 * 5 + NO_OP})
    np.testing.assert_allclose(obs["agent_0"][:2], [0.0, 0.5], atol=1e-7)  # agent_0 pushed up
    np.testing.assert_allclose(obs["agent_1"][:2], [0.0, 0.0], atol=1e-7)
    # each hears the other's word, one-hot over 10, after its own goal-colour cue
    assert obs["agent_1"][-10:].tolist() == [0.0] * 7 + [1.0] + [0.0] * 2
    assert obs["agent_0"][-10:].tolist() == [0.0] * 3 + [1.0] + [0.0] * 6
    # agent_0 sees agent_1's goal (landmark 0, red), agent_1 sees agent_0's (landmark 2, blue)
    np.testing.assert_allclose(obs["agent_0"][8:11], [0.75, 0.25, 0.25], atol=1e-7)
    np.testing.assert_allclose(obs["agent_1"][8:11], [0.25, 0.25, 0.75], atol=1e-7)
    # d_0: agent_0 to landmark 2 = |(-0.5, -0.5)|; d_1: agent_1 to landmark 0 = |(0.3, -0.2)|
    d0, d1 = math.sqrt(0.5), math.sqrt(0.13)
    shared = -(d0 + d1) / 2
    assert rewards["agent_0"] == pytest.approx(0.5 * shared - 0.5 * d1, rel=1e-6)  # own: how close the other is to the goal agent_0 knows
    assert rewards["agent_1"] == pytest.approx(0.5 * shared - 0.5 * d0, rel=1e-6)


@pytest.mark.parametrize("env_id", ["speaker_listener_v0", "reference_v0"])
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_silence_channel_zeroes_what_is_heard_and_nothing_else(env_id, continuous):
    spoken = marl_envs.make_batched(env_id, 8, continuous_actions=continuous)
    silent = marl_envs.make_batched(env_id, 8, continuous_actions=continuous, silence_channel=True)
    words = 3 if env_id == "speaker_listener_v0" else 10
    heard = spoken.obs_sizes[-1] - words  # the message is the last part of a listening observation
    listeners = [1] if env_id == "speaker_listener_v0" else [0, 1]
    a, b = spoken.reset(seed=4), silent.reset(seed=4)
    generator = torch.Generator().manual_seed(0)
    messages = 0
    for _ in range(60):
        actions = spoken.random_actions(generator)
        a, b = spoken.step(actions), silent.step(actions)
        torch.testing.assert_close(a.reward, b.reward, rtol=0, atol=0)
        assert torch.equal(a.obs[:, :, :heard], b.obs[:, :, :heard])
        assert not b.obs[:, listeners, heard:].any()
        messages += int(a.obs[:, listeners, heard:].ne(0).any(-1).sum())
    assert messages > 0


@pytest.mark.parametrize("env_id", ["speaker_listener_v0", "reference_v0"])
def test_bad_arguments_are_refused(env_id):
    with pytest.raises((TypeError, ValueError), match="silence_channel"):
        marl_envs.make(env_id, silence_channel="yes")
    if env_id == "reference_v0":
        with pytest.raises(ValueError, match="local_ratio"):
            marl_envs.make(env_id, local_ratio=1.5)


def test_goals_are_uniform_over_the_landmarks():
    env = marl_envs.make_batched("reference_v0", 3000)
    env.reset(seed=0)
    counts = torch.bincount(env.episode.goal.flatten(), minlength=3) / env.episode.goal.numel()
    assert torch.allclose(counts, torch.full((3,), 1 / 3), atol=0.02), counts
    assert (env.episode.goal[:, 0] == env.episode.goal[:, 1]).float().mean() == pytest.approx(1 / 3, abs=0.03)  # drawn independently
