"""covert_communication_v0 (mpe2's simple_crypto_v3) worked by hand: who hears what, and the decoding errors."""

from __future__ import annotations

import numpy as np
import pytest

import marl_envs
from marl_envs import covert_communication_v0


def started(message, key, **kwargs):
    env = covert_communication_v0.parallel_env(**kwargs)
    observations, _ = env.reset(seed=0)
    env.env.episode.message[0], env.env.episode.key[0] = message, key
    return env


def test_bob_and_eve_hear_alice_and_the_rewards_are_the_squared_errors():
    env = started(message=0, key=1)
    obs, rewards, _, _, infos = env.step({"eve_0": 0, "bob_0": 1, "alice_0": 2})
    np.testing.assert_array_equal(obs["eve_0"], [0, 0, 1, 0])  # what alice said
    np.testing.assert_array_equal(obs["bob_0"], [0, 1, 0, 0, 0, 0, 1, 0])  # the key, what alice said
    np.testing.assert_array_equal(obs["alice_0"], [1, 0, 0, 0, 0, 1, 0, 0])  # the message, the key
    np.testing.assert_array_equal(env.state(), np.concatenate((obs["eve_0"], obs["bob_0"], obs["alice_0"])))
    # eve said the message (error 0), bob e_1 (error 2)
    assert rewards == {"eve_0": 0.0, "bob_0": -2.0, "alice_0": -2.0}
    assert [infos[a]["message_error"] for a in env.possible_agents] == [0.0, 2.0, 2.0]


def test_an_all_zero_message_is_not_counted():
    env = started(message=1, key=0, continuous_actions=True)
    silent = np.zeros(4, np.float32)
    said = np.array([0.0, 0.5, 0.0, 0.0], np.float32)
    _, rewards, *_ = env.step({"eve_0": silent, "bob_0": said, "alice_0": said})
    assert rewards["eve_0"] == 0.0 and rewards["bob_0"] == rewards["alice_0"] == pytest.approx(-0.25)
    _, rewards, *_ = env.step({"eve_0": said, "bob_0": silent, "alice_0": said})
    assert rewards["eve_0"] == pytest.approx(-0.25) and rewards["bob_0"] == pytest.approx(0.25)


def test_the_message_and_the_key_are_independent_and_uniform():
    env = marl_envs.make_batched("covert_communication_v0", num_envs=8192)
    env.reset(seed=0)
    message, key = env.episode.message.float(), env.episode.key.float()
    assert message.mean() == pytest.approx(0.5, abs=0.03) and key.mean() == pytest.approx(0.5, abs=0.03)
    assert (message == key).float().mean() == pytest.approx(0.5, abs=0.03)
