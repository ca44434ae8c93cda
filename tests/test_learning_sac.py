"""ISAC and MASAC learn: seeded runs with thresholds (marked ``learning``: slow, still run by CI).

Each threshold sits below the worst of several seeds and two thread counts
(``benchmarks/learning_margins.py``, ``benchmarks/results/learning_margins.md``).
"""

from __future__ import annotations

import pytest
from helpers import ci_gap, quiet_run, random_play
from test_learning_maddpg import ZeroPolicy

from marl_baselines.algos.sac import SACConfig
from marl_baselines.config import PRESETS
from marl_baselines.evaluate import evaluate
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env

pytestmark = pytest.mark.learning


def preset_run(tmp_path, algo, env, seed, eval_episodes, **run_settings):
    preset = PRESETS[(algo, env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0, "seed": seed, **run_settings})
    return train(algo, env, run, SACConfig(**preset["algo"]), preset.get("env", {}))


@pytest.mark.parametrize("algo", ["isac", "masac"])
def test_continuous_sac_beats_zero_and_random_actions_on_coordination(tmp_path, algo, seed, margin):
    """Cooperative coordination with Box actions, the preset (10k env steps): the greedy return (summed
    over agents) beats both the zero action's and random play's, 95% CIs over 100 episodes apart.
    Measured over seeds 0-5 and seed 0 on 2 threads: ISAC 48.5-59.2 (zero) and 601-611 (random)
    apart, MASAC 81.2-88.7 (zero) and 633-641 (random)."""
    eval_env = make_vec_env("coordination_v0", 100)
    assert not eval_env.discrete
    zero = evaluate(ZeroPolicy(eval_env), eval_env, seed=5)
    random = random_play("coordination_v0", 100)
    trained = preset_run(tmp_path, algo, "coordination_v0", seed, 100).final
    margin("greedy return minus the zero action's (CIs apart)", ci_gap(trained, zero), at_least=0.0, details=(trained, zero))
    margin("greedy return minus random play's (CIs apart)", ci_gap(trained, random), at_least=0.0, details=(trained, random))


@pytest.mark.parametrize("algo", ["isac", "masac"])
def test_continuous_sac_beats_random_play_on_cooperative_navigation(tmp_path, algo, seed, margin):
    """Cooperative navigation with Box actions (the preset: continuous_actions=True, 12k env steps):
    the greedy return beats random play's, 95% CIs over 100 episodes apart. Measured over seeds 0-5
    and seed 0 on 2 threads: ISAC 6.5-9.4 apart, MASAC 7.0-8.3."""
    preset = PRESETS[(algo, "cooperative_navigation_v0")]
    assert preset["env"] == {"continuous_actions": True}
    random = random_play("cooperative_navigation_v0", 100, **preset["env"])
    trained = preset_run(tmp_path, algo, "cooperative_navigation_v0", seed, 100).final
    margin("greedy return minus random play's (CIs apart)", ci_gap(trained, random), at_least=0.0, details=(trained, random))


@pytest.mark.parametrize("algo", ["isac", "masac"])
def test_discrete_sac_solves_goal_grid(tmp_path, algo, seed, margin):
    """The discrete path (categorical policies, critics with one value per action, expectations over
    the policy) on goal_grid_v0's fixed layout, 5k env steps: every greedy episode reaches the goal,
    and the greedy return beats random play's (95% CIs apart). Measured over seeds 0-5 and seed 0 on
    2 threads: 100% success and 133 apart in every run, ISAC and MASAC."""
    random = random_play("goal_grid_v0", 100)
    run = quiet_run(tmp_path, total_steps=5_000, num_envs=16, eval_episodes=100, seed=seed)
    result = train(algo, "goal_grid_v0", run, SACConfig(learning_starts=2_000, train_every=2, gamma=0.95, tau=0.01))
    assert make_vec_env("goal_grid_v0", 1).discrete
    margin("greedy success", result.final["success"], at_least=0.95, details=result.final)
    margin("greedy return minus random play's (CIs apart)", ci_gap(result.final, random), at_least=0.0, details=(result.final, random))
