"""marl_envs.game_theory against answers worked by hand (expected numbers are literals, not the code's)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from marl_envs.game_theory import (
    MATRIX_GAMES,
    as_payoffs,
    best_response,
    game_payoffs,
    is_common_payoff,
    is_pareto_optimal,
    is_zero_sum,
    pure_nash_equilibria,
    solve_zero_sum,
    two_step_payoffs,
)

COOPERATE, DEFECT = 0, 1


def volunteers_dilemma() -> np.ndarray:
    """3 players; action 1 volunteers (cost 1). Everyone gets 2 if at least one volunteers, else 0.

    Written out entry by entry: payoffs[a0, a1, a2] = (player 0's, player 1's, player 2's).
    """
    table = {
        (0, 0, 0): (0, 0, 0),
        (0, 0, 1): (2, 2, 1),
        (0, 1, 0): (2, 1, 2),
        (0, 1, 1): (2, 1, 1),
        (1, 0, 0): (1, 2, 2),
        (1, 0, 1): (1, 2, 1),
        (1, 1, 0): (1, 1, 2),
        (1, 1, 1): (1, 1, 1),
    }
    payoffs = np.zeros((2, 2, 2, 3))
    for profile, values in table.items():
        payoffs[profile] = values
    return payoffs


# ---------------------------------------------------------------- the named tables
def test_prisoners_dilemma_table_is_the_notes():
    payoffs = game_payoffs("prisoners_dilemma")
    assert payoffs.shape == (2, 2, 2)
    np.testing.assert_array_equal(payoffs[..., 0], [[-1, -3], [0, -2]])
    np.testing.assert_array_equal(payoffs[..., 1], [[-1, 0], [-3, -2]])


def test_penalty_size_and_fresh_arrays():
    np.testing.assert_array_equal(game_payoffs("penalty")[..., 1], [[-100, 0, 10], [0, 2, 0], [10, 0, -100]])
    np.testing.assert_array_equal(game_payoffs("penalty", k=25)[..., 0], [[-25, 0, 10], [0, 2, 0], [10, 0, -25]])
    first = game_payoffs("coordination")
    first[0, 0] = 99
    assert game_payoffs("coordination")[0, 0, 0] == 2, "every call returns its own array"


def test_kinds_of_the_named_games():
    common = {g for g in MATRIX_GAMES if is_common_payoff(game_payoffs(g))}
    zero_sum = {g for g in MATRIX_GAMES if is_zero_sum(game_payoffs(g))}
    assert common == {"coordination", "climbing", "penalty", "non_monotonic"}
    assert zero_sum == {"matching_pennies", "rock_paper_scissors"}


def test_two_step_stage_payoffs():
    stages = two_step_payoffs()
    assert stages.shape == (3, 2, 2, 2)
    np.testing.assert_array_equal(stages[0, ..., 0], [[0, 0], [0, 0]])
    np.testing.assert_array_equal(stages[1, ..., 0], [[7, 7], [7, 7]])
    np.testing.assert_array_equal(stages[2, ..., 0], [[0, 1], [1, 8]])
    np.testing.assert_array_equal(stages[..., 0], stages[..., 1])


# ---------------------------------------------------------------- pure equilibria and Pareto optimality
def test_prisoners_dilemma_defect_defect_is_the_only_equilibrium_and_not_pareto_optimal():
    payoffs = game_payoffs("prisoners_dilemma")
    assert pure_nash_equilibria(payoffs) == [(DEFECT, DEFECT)]
    assert not is_pareto_optimal(payoffs, (DEFECT, DEFECT))  # (C, C) pays (-1, -1) > (-2, -2)
    for profile in [(COOPERATE, COOPERATE), (COOPERATE, DEFECT), (DEFECT, COOPERATE)]:
        assert is_pareto_optimal(payoffs, profile)


def test_the_notes_two_matrix_form_still_works_through_stacking():
    # The note passed [matrix_a, matrix_b]; here the same game is one array with a players' axis.
    prisoner_a = np.array([[-1, -3], [0, -2]])
    prisoner_b = np.array([[-1, 0], [-3, -2]])
    assert pure_nash_equilibria(np.stack((prisoner_a, prisoner_b), -1)) == [(1, 1)]


@pytest.mark.parametrize(
    "game, equilibria",
    [
        ("coordination", [(0, 0), (1, 1)]),
        # (2, 2) pays 5, but in row 2 player 1 prefers column 1, which pays 6.
        ("climbing", [(0, 0), (1, 1)]),
        ("penalty", [(0, 2), (1, 1), (2, 0)]),
        # Every joint action of {1, 2} x {1, 2} pays 0, and deviating from it pays -12.
        ("non_monotonic", [(0, 0), (1, 1), (1, 2), (2, 1), (2, 2)]),
        ("matching_pennies", []),
        ("rock_paper_scissors", []),
    ],
)
def test_pure_equilibria_of_the_named_games(game, equilibria):
    assert pure_nash_equilibria(game_payoffs(game)) == equilibria


def test_coordination_only_the_better_equilibrium_is_pareto_optimal():
    payoffs = game_payoffs("coordination")
    assert is_pareto_optimal(payoffs, (0, 0)) and not is_pareto_optimal(payoffs, (1, 1))


def test_three_player_volunteers_dilemma():
    payoffs = volunteers_dilemma()
    # Exactly one volunteer: the volunteer gets 1 (0 if it stopped), the others 2 (1 if they volunteered too).
    assert pure_nash_equilibria(payoffs) == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]
    assert is_pareto_optimal(payoffs, (1, 0, 0))  # (1, 2, 2): any other outcome lowers someone
    assert not is_pareto_optimal(payoffs, (1, 1, 0))  # (1, 1, 2) < (1, 2, 2)
    assert not is_pareto_optimal(payoffs, (0, 0, 0))
    assert not is_pareto_optimal(payoffs, (1, 1, 1))


def test_ties_within_tolerance_count_as_equal():
    payoffs = np.stack((np.array([[1.0, 0.0], [1.0 + 1e-12, 0.0]]),) * 2, -1)
    assert pure_nash_equilibria(payoffs) == [(0, 0), (1, 0)]


# ---------------------------------------------------------------- best responses
def test_best_response_in_prisoners_dilemma():
    payoffs = game_payoffs("prisoners_dilemma")
    response = best_response(payoffs, 0, [None, [0.5, 0.5]])
    # cooperate: (-1 - 3) / 2 = -2; defect: (0 - 2) / 2 = -1
    np.testing.assert_allclose(response.expected_payoffs, [-2.0, -1.0])
    assert response.best_actions == (DEFECT,)
    # Player 1, the others given without the None placeholder.
    response = best_response(payoffs, 1, [[1.0, 0.0]])
    np.testing.assert_allclose(response.expected_payoffs, [-1.0, 0.0])
    assert response.best_actions == (DEFECT,)


def test_best_response_reports_every_tied_action():
    # Against (1/3, 2/3): action 0 pays 2/3, action 1 pays 2/3.
    response = best_response(game_payoffs("coordination"), 0, [None, [1 / 3, 2 / 3]])
    np.testing.assert_allclose(response.expected_payoffs, [2 / 3, 2 / 3])
    assert response.best_actions == (0, 1)


def test_best_response_with_three_players():
    payoffs = volunteers_dilemma()
    # Player 1; player 0 volunteers with probability 3/4, player 2 never.
    # Stay out: someone volunteers with probability 3/4, so 2 * 3/4 = 1.5. Volunteer: 1.
    response = best_response(payoffs, 1, [[0.25, 0.75], None, [1.0, 0.0]])
    np.testing.assert_allclose(response.expected_payoffs, [1.5, 1.0])
    assert response.best_actions == (0,)
    # The symmetric mixed equilibrium: the others volunteer with p = 1 - 1/sqrt(2), so nobody
    # volunteers with probability (1 - p)^2 = 1/2, staying out pays 2 * 1/2 = 1 = volunteering.
    p = 1 - 1 / math.sqrt(2)
    response = best_response(payoffs, 2, [[1 - p, p], [1 - p, p]])
    np.testing.assert_allclose(response.expected_payoffs, [1.0, 1.0])
    assert response.best_actions == (0, 1)


def test_best_response_in_a_game_with_unequal_action_counts():
    matrix = np.array([[1.0, -1.0, 3.0], [-1.0, 1.0, 3.0]])  # 2 actions for player 0, 3 for player 1
    payoffs = np.stack((matrix, -matrix), -1)
    response = best_response(payoffs, 1, [[1.0, 0.0], None])  # player 1 receives [-1, 1, -3]
    np.testing.assert_allclose(response.expected_payoffs, [-1.0, 1.0, -3.0])
    assert response.best_actions == (1,)
    response = best_response(payoffs, 0, [[0.0, 0.0, 1.0]])  # column 2 pays player 0 3 either way
    assert response.best_actions == (0, 1)


# ---------------------------------------------------------------- zero-sum games by linear programming
def test_matching_pennies_value_zero_half_half():
    solution = solve_zero_sum(game_payoffs("matching_pennies"))
    np.testing.assert_allclose(solution.strategies[0], [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(solution.strategies[1], [0.5, 0.5], atol=1e-9)
    assert solution.value == pytest.approx(0.0, abs=1e-9)


def test_rock_paper_scissors_uniform_value_zero():
    solution = solve_zero_sum(game_payoffs("rock_paper_scissors"))
    for strategy in solution.strategies:
        np.testing.assert_allclose(strategy, [1 / 3, 1 / 3, 1 / 3], atol=1e-9)
    assert solution.value == pytest.approx(0.0, abs=1e-9)


def test_a_game_with_a_nonzero_value():
    # Row player's x = (p, 1 - p): column 0 pays 3p - 1, column 1 pays 1 - 2p; equal at p = 2/5,
    # value 1/5. Columns likewise: q = 2/5.
    solution = solve_zero_sum(np.array([[2.0, -1.0], [-1.0, 1.0]]))
    np.testing.assert_allclose(solution.strategies[0], [0.4, 0.6], atol=1e-9)
    np.testing.assert_allclose(solution.strategies[1], [0.4, 0.6], atol=1e-9)
    assert solution.value == pytest.approx(0.2, abs=1e-9)


def test_saddle_point_and_dominated_column():
    # Row 1 dominates row 0; player 1 then takes column 1 (2 < 4): a pure saddle point of value 2.
    solution = solve_zero_sum([[3, 1], [4, 2]])
    np.testing.assert_allclose(solution.strategies[0], [0, 1], atol=1e-9)
    np.testing.assert_allclose(solution.strategies[1], [0, 1], atol=1e-9)
    assert solution.value == pytest.approx(2.0)
    # Column 2 (payoff 3 to player 0) is never played: what is left is matching pennies.
    solution = solve_zero_sum(torch.tensor([[1.0, -1.0, 3.0], [-1.0, 1.0, 3.0]]))
    np.testing.assert_allclose(solution.strategies[0], [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(solution.strategies[1], [0.5, 0.5, 0.0], atol=1e-9)
    assert solution.value == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- bad input
def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="unknown game 'chess'; named games: prisoners_dilemma, coordination, climbing"):
        game_payoffs("chess")
    with pytest.raises(ValueError, match="two_step_payoffs"):
        game_payoffs("two_step")
    with pytest.raises(ValueError, match="k .* must be a finite number >= 0, got -1"):
        game_payoffs("penalty", k=-1)
    with pytest.raises(ValueError, match=r"shape \[A_0, \.\.\., A_\{N-1\}, N\].*got shape \[2, 2\]"):
        pure_nash_equilibria(np.zeros((2, 2)))  # the note's single matrix: no players' axis
    with pytest.raises(ValueError, match=r"got shape \[2, 2, 3\]"):
        as_payoffs(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="finite"):
        as_payoffs([[[np.nan, 0.0]]])
    payoffs = game_payoffs("prisoners_dilemma")
    with pytest.raises(ValueError, match=r"profile must hold 2 action indices in \[0, 2\), \[0, 2\)"):
        is_pareto_optimal(payoffs, (0, 2))
    with pytest.raises(ValueError, match=r"player 1's strategy must be 2 probabilities >= 0 summing to 1"):
        best_response(payoffs, 0, [None, [0.5, 0.6]])
    with pytest.raises(ValueError, match="player 1's strategy must be 2 probabilities"):
        best_response(payoffs, 0, [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="the entry of player 0 .* must be None"):
        best_response(payoffs, 0, [[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"player must be an integer in \[0, 2\), got 2"):
        best_response(payoffs, 2, [[1.0, 0.0]])
    with pytest.raises(ValueError, match="zero-sum"):
        solve_zero_sum(payoffs)
    with pytest.raises(ValueError, match="two-player"):
        solve_zero_sum(volunteers_dilemma())
