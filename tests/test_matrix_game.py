"""matrix_game_v0 against the payoff tables, with single steps worked by hand.

Observation of a 2-player, A-action game: [player 0's previous action one-hot (A), player 1's (A),
step / episode_length]; for two_step the last part is the state one-hot (1, 2A, 2B).
Expected numbers are literals copied from the tables, not computed by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs
from marl_envs import matrix_game_v0

# Full reward tables, rows player 0's action, columns player 1's: (player 0, player 1).
TABLES = {
    "prisoners_dilemma": [[(-1, -1), (-3, 0)], [(0, -3), (-2, -2)]],
    "coordination": [[(2, 2), (0, 0)], [(0, 0), (1, 1)]],
    "climbing": [[(11, 11), (-30, -30), (0, 0)], [(-30, -30), (7, 7), (0, 0)], [(0, 0), (6, 6), (5, 5)]],
    "penalty": [[(-100, -100), (0, 0), (10, 10)], [(0, 0), (2, 2), (0, 0)], [(10, 10), (0, 0), (-100, -100)]],
    "non_monotonic": [[(8, 8), (-12, -12), (-12, -12)], [(-12, -12), (0, 0), (0, 0)], [(-12, -12), (0, 0), (0, 0)]],
    "matching_pennies": [[(1, -1), (-1, 1)], [(-1, 1), (1, -1)]],
    # 0 rock, 1 paper, 2 scissors
    "rock_paper_scissors": [[(0, 0), (-1, 1), (1, -1)], [(1, -1), (0, 0), (-1, 1)], [(-1, 1), (1, -1), (0, 0)]],
}
COOPERATIVE = ["coordination", "climbing", "penalty", "non_monotonic", "two_step"]
ZERO_SUM = ["matching_pennies", "rock_paper_scissors"]


def step(env, *actions):
    return env.step({f"player_{i}": a for i, a in enumerate(actions)})


def all_joint_actions(n_actions):
    """int64 [A * A, 2]: sub-env b plays (b // A, b % A)."""
    b = torch.arange(n_actions * n_actions)
    return torch.stack((b // n_actions, b % n_actions), -1)


def volunteers_dilemma():
    """3 players, action 1 volunteers (cost 1); everyone gets 2 if anyone volunteers, else 0."""
    payoffs = np.zeros((2, 2, 2, 3))
    payoffs[0, 0, 1] = (2, 2, 1)
    payoffs[0, 1, 0] = (2, 1, 2)
    payoffs[0, 1, 1] = (2, 1, 1)
    payoffs[1, 0, 0] = (1, 2, 2)
    payoffs[1, 0, 1] = (1, 2, 1)
    payoffs[1, 1, 0] = (1, 1, 2)
    payoffs[1, 1, 1] = (1, 1, 1)
    return payoffs


# ---------------------------------------------------------------- defaults and the worked example
def test_defaults():
    env = matrix_game_v0.parallel_env()
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == ["player_0", "player_1"] and env.max_cycles == 1000
    assert env.action_space("player_0").n == 2
    assert env.observation_space("player_0").shape == (5,)
    np.testing.assert_array_equal(obs["player_0"], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(env.state(), [0, 0, 0, 0, 0])


def test_prisoners_dilemma_cooperate_against_defect():
    env = matrix_game_v0.parallel_env(game="prisoners_dilemma")
    env.reset(seed=0)
    obs, rewards, terminations, truncations, _ = step(env, 0, 1)
    assert rewards == {"player_0": -3.0, "player_1": 0.0}
    # player 0 cooperated [1, 0], player 1 defected [0, 1], step 1 of 1.
    for agent in env.possible_agents:
        np.testing.assert_array_equal(obs[agent], [1, 0, 0, 1, 1])
    np.testing.assert_array_equal(env.state(), [1, 0, 0, 1, 1])
    assert terminations == {"player_0": True, "player_1": True}
    assert truncations == {"player_0": False, "player_1": False}
    assert env.agents == []


# ---------------------------------------------------------------- every entry of every table
@pytest.mark.parametrize("game", list(TABLES))
def test_every_joint_action_pays_its_table_entry(game):
    table = torch.tensor(TABLES[game], dtype=torch.float32)  # [A, A, 2]
    A = table.shape[0]
    env = marl_envs.make_batched("matrix_game_v0", num_envs=A * A, game=game)
    env.reset(seed=0)
    actions = all_joint_actions(A)
    out = env.step(actions)
    torch.testing.assert_close(out.reward, table.reshape(A * A, 2), rtol=0, atol=0)
    assert out.terminated.all() and not out.truncated.any()
    # The final observation: player 0's one-hot, player 1's one-hot, then step 1/1.
    expected = torch.zeros(A * A, 2 * A + 1)
    expected[torch.arange(A * A), actions[:, 0]] = 1
    expected[torch.arange(A * A), A + actions[:, 1]] = 1
    expected[:, -1] = 1
    torch.testing.assert_close(out.final_obs, expected[:, None].expand(-1, 2, -1), rtol=0, atol=0)
    torch.testing.assert_close(out.final_state, expected, rtol=0, atol=0)
    # Auto-reset: the next episode starts from zeros.
    assert (out.obs == 0).all() and (out.state == 0).all()


def test_one_hot_layout_of_a_three_action_game():
    env = matrix_game_v0.parallel_env(game="climbing")
    env.reset(seed=0)
    obs, rewards, *_ = step(env, 2, 1)
    np.testing.assert_array_equal(obs["player_1"], [0, 0, 1, 0, 1, 0, 1])
    assert rewards == {"player_0": 6.0, "player_1": 6.0}


def test_penalty_size_k():
    env = matrix_game_v0.parallel_env(game="penalty", k=25)
    env.reset(seed=0)
    assert step(env, 0, 0)[1] == {"player_0": -25.0, "player_1": -25.0}
    env.reset()
    assert step(env, 2, 0)[1] == {"player_0": 10.0, "player_1": 10.0}
    env = matrix_game_v0.parallel_env(game="penalty", k=0)
    env.reset(seed=0)
    assert step(env, 2, 2)[1] == {"player_0": 0.0, "player_1": 0.0}


def test_env_reads_the_tables_of_game_theory():
    from marl_envs.game_theory import game_payoffs

    for game in TABLES:
        np.testing.assert_array_equal(marl_envs.make_batched("matrix_game_v0", game=game).payoffs, game_payoffs(game))


# ---------------------------------------------------------------- kinds of game
@pytest.mark.parametrize("game", ZERO_SUM)
def test_zero_sum_rewards_sum_to_zero(game):
    env = marl_envs.make_batched("matrix_game_v0", num_envs=64, game=game, episode_length=5)
    assert env.zero_sum and not env.common_payoff
    env.reset(seed=1)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = env.step(torch.randint(0, env.n_actions, (64, 2), generator=generator))
        assert (out.reward.sum(-1) == 0).all()
        assert (out.reward != 0).any()


@pytest.mark.parametrize("game", COOPERATIVE)
def test_cooperative_games_give_identical_rewards(game):
    env = marl_envs.make_batched("matrix_game_v0", num_envs=64, game=game)
    assert env.common_payoff and not env.zero_sum
    env.reset(seed=1)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = env.step(torch.randint(0, env.n_actions, (64, 2), generator=generator))
        assert torch.equal(out.reward[:, 0], out.reward[:, 1])


def test_prisoners_dilemma_is_neither():
    env = marl_envs.make_batched("matrix_game_v0", game="prisoners_dilemma")
    assert not env.common_payoff and not env.zero_sum


# ---------------------------------------------------------------- two_step
def test_two_step_state_transition_and_payoffs():
    env = marl_envs.make_batched("matrix_game_v0", num_envs=8, game="two_step")
    assert env.episode_length == 2 and env.obs_size == 7
    out = env.reset(seed=0)
    # [player 0's one-hot, player 1's one-hot, state 1, 2A, 2B]
    assert torch.equal(out.obs[0, 0], torch.tensor([0.0, 0, 0, 0, 1, 0, 0]))
    # Sub-envs 0-3: player 0 picks 0 (-> 2A); 4-7: picks 1 (-> 2B). Player 1's first action varies.
    first = torch.tensor([[0, 0], [0, 1], [0, 0], [0, 1], [1, 0], [1, 1], [1, 1], [1, 0]])
    out = env.step(first)
    assert (out.reward == 0).all() and not out.terminated.any()
    assert torch.equal(out.obs[1, 1], torch.tensor([1.0, 0, 0, 1, 0, 1, 0]))  # (0, 1), now in 2A
    assert torch.equal(out.obs[5, 0], torch.tensor([0.0, 1, 0, 1, 0, 0, 1]))  # (1, 1), now in 2B
    assert torch.equal(out.state[:, 4:], torch.tensor([[0.0, 1, 0]] * 4 + [[0.0, 0, 1]] * 4))
    # Second step: every joint action in each state.
    second = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [0, 1], [1, 0], [1, 1]])
    out = env.step(second)
    expected = torch.tensor([7.0, 7, 7, 7, 0, 1, 1, 8])  # 2A pays 7; 2B pays [[0, 1], [1, 8]]
    assert torch.equal(out.reward, expected[:, None].expand(8, 2))
    assert out.terminated.all() and not out.truncated.any()
    # The final observation is past the last state: the state part is all zeros.
    assert torch.equal(out.final_obs[7, 0], torch.tensor([0.0, 1, 0, 1, 0, 0, 0]))
    # Auto-reset: back in state 1.
    assert torch.equal(out.obs[:, 0, 4:], torch.tensor([[1.0, 0, 0]] * 8))


def test_two_step_single_episode():
    env = matrix_game_v0.parallel_env(game="two_step")
    env.reset(seed=0)
    obs, rewards, terminations, *_ = step(env, 1, 0)
    assert rewards == {"player_0": 0.0, "player_1": 0.0} and not any(terminations.values())
    obs, rewards, terminations, *_ = step(env, 1, 1)
    assert rewards == {"player_0": 8.0, "player_1": 8.0} and all(terminations.values())
    assert env.agents == []


# ---------------------------------------------------------------- episode length
def test_episode_length_and_normalised_step():
    env = matrix_game_v0.parallel_env(game="coordination", episode_length=4)
    env.reset(seed=0)
    for t, value in enumerate([0.25, 0.5, 0.75], start=1):
        obs, rewards, terminations, truncations, _ = step(env, 1, 0)
        np.testing.assert_array_equal(obs["player_0"], [0, 1, 1, 0, value])
        assert rewards["player_0"] == 0.0 and not any(terminations.values()) and not any(truncations.values())
    obs, rewards, terminations, truncations, _ = step(env, 0, 0)
    np.testing.assert_array_equal(obs["player_1"], [1, 0, 1, 0, 1])
    assert rewards == {"player_0": 2.0, "player_1": 2.0}
    assert all(terminations.values()) and not any(truncations.values())


def test_batched_episode_length_terminates_every_sub_env_together():
    env = marl_envs.make_batched("matrix_game_v0", num_envs=3, game="climbing", episode_length=25)
    env.reset(seed=0)
    actions = torch.tensor([[0, 0], [1, 1], [2, 2]])
    for t in range(1, 25):
        out = env.step(actions)
        assert not out.terminated.any()
        assert torch.equal(out.obs[:, :, -1], torch.full((3, 2), t / 25))
    out = env.step(actions)
    assert out.terminated.all() and not out.truncated.any()
    assert torch.equal(out.reward[:, 0], torch.tensor([11.0, 7.0, 5.0]))
    assert (out.final_obs[:, :, -1] == 1).all() and (out.obs == 0).all()


def test_max_cycles_truncates_before_the_horizon():
    env = matrix_game_v0.parallel_env(episode_length=25, max_cycles=10)
    env.reset(seed=0)
    for _ in range(9):
        _, _, terminations, truncations, _ = step(env, 0, 0)
        assert not any(truncations.values())
    obs, _, terminations, truncations, _ = step(env, 0, 0)
    assert all(truncations.values()) and not any(terminations.values())
    assert obs["player_0"][-1] == pytest.approx(10 / 25)
    # At the horizon itself the episode terminates: it is not truncated as well.
    env = matrix_game_v0.parallel_env(episode_length=3, max_cycles=3)
    env.reset(seed=0)
    for _ in range(3):
        _, _, terminations, truncations, _ = step(env, 0, 0)
    assert all(terminations.values()) and not any(truncations.values())


# ---------------------------------------------------------------- games of your own
def test_payoffs_for_a_three_player_game():
    env = matrix_game_v0.parallel_env(payoffs=volunteers_dilemma())
    assert env.possible_agents == ["player_0", "player_1", "player_2"]
    assert env.observation_space("player_2").shape == (7,)
    env.reset(seed=0)
    obs, rewards, terminations, *_ = env.step({"player_0": 1, "player_1": 0, "player_2": 0})
    assert rewards == {"player_0": 1.0, "player_1": 2.0, "player_2": 2.0}
    np.testing.assert_array_equal(obs["player_2"], [0, 1, 1, 0, 1, 0, 1])
    assert all(terminations.values())
    batched = marl_envs.make_batched("matrix_game_v0", num_envs=3, payoffs=torch.tensor(volunteers_dilemma()))
    batched.reset(seed=0)
    out = batched.step(torch.tensor([[0, 0, 0], [1, 1, 0], [0, 1, 1]]))
    assert torch.equal(out.reward, torch.tensor([[0.0, 0, 0], [1, 1, 2], [2, 1, 1]]))
    assert not batched.common_payoff and not batched.zero_sum


def test_payoffs_with_fractions_and_many_actions():
    payoffs = np.zeros((4, 4, 2))
    payoffs[3, 1] = (0.5, -0.25)
    env = matrix_game_v0.parallel_env(payoffs=payoffs)
    env.reset(seed=0)
    obs, rewards, *_ = step(env, 3, 1)
    assert rewards == {"player_0": 0.5, "player_1": -0.25}
    np.testing.assert_array_equal(obs["player_0"], [0, 0, 0, 1, 0, 1, 0, 0, 1])


# ---------------------------------------------------------------- rendering
def test_render_marks_the_last_joint_action():
    env = matrix_game_v0.parallel_env(game="prisoners_dilemma", episode_length=2, render_mode="ansi")
    env.reset(seed=0)
    step(env, 1, 0)
    text = env.render()
    assert "step 1/2" in text and "last joint action: (1, 0)" in text
    assert "[0, -3]" in text and "(-1, -1)" in text
    image = matrix_game_v0.parallel_env(render_mode="rgb_array")
    image.reset(seed=0)
    assert image.render().shape[2] == 3


# ---------------------------------------------------------------- bad arguments
def test_bad_arguments_give_clear_errors():
    with pytest.raises(
        ValueError,
        match="unknown game 'chess'; valid games: prisoners_dilemma, coordination, climbing, penalty, "
        "non_monotonic, matching_pennies, rock_paper_scissors, two_step",
    ):
        matrix_game_v0.parallel_env(game="chess")
    with pytest.raises(ValueError, match="either game= .* or payoffs= .* not both"):
        matrix_game_v0.parallel_env(game="climbing", payoffs=np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"payoffs must have shape .*got shape \[2, 2\]"):
        matrix_game_v0.parallel_env(payoffs=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"payoffs must have shape .*got shape \[2, 2, 3\]"):
        matrix_game_v0.parallel_env(payoffs=np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"same number A of actions.*got shape \[2, 3, 2\]"):
        matrix_game_v0.parallel_env(payoffs=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"N >= 2 players.*got shape \[3, 1\]"):
        matrix_game_v0.parallel_env(payoffs=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="numeric"):
        matrix_game_v0.parallel_env(payoffs="climbing")
    with pytest.raises(ValueError, match="finite"):
        matrix_game_v0.parallel_env(payoffs=np.full((2, 2, 2), np.inf))
    with pytest.raises(ValueError, match="k .* must be a finite number >= 0, got -5"):
        matrix_game_v0.parallel_env(game="penalty", k=-5)
    with pytest.raises(ValueError, match="k .* must be a finite number >= 0, got 'big'"):
        matrix_game_v0.parallel_env(game="penalty", k="big")
    with pytest.raises(ValueError, match="k .* only for game='penalty', got game='climbing'"):
        matrix_game_v0.parallel_env(game="climbing", k=50)
    with pytest.raises(ValueError, match="episode_length must be an integer >= 1, got 0"):
        matrix_game_v0.parallel_env(episode_length=0)
    with pytest.raises(ValueError, match="episode_length must be an integer >= 1, got 2.5"):
        matrix_game_v0.parallel_env(episode_length=2.5)
    with pytest.raises(ValueError, match="two_step is a game of exactly 2 steps: episode_length must be 2 .*got 25"):
        matrix_game_v0.parallel_env(game="two_step", episode_length=25)
    assert matrix_game_v0.parallel_env(game="two_step", episode_length=2).max_cycles == 1000
    with pytest.raises(TypeError, match="unknown argument\\(s\\) 'n_agents'; valid arguments: .*episode_length"):
        matrix_game_v0.parallel_env(game="climbing", n_agents=3)
