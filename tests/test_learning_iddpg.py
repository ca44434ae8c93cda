"""IDDPG learns with local critics: seeded runs with thresholds (marked ``learning``: slow, still run by CI).

Each threshold sits below the worst of several seeds and two thread counts
(``benchmarks/learning_margins.py``, ``benchmarks/results/learning_margins.md``).
"""

from __future__ import annotations

import pytest
from helpers import ci_gap, quiet_run, random_play

from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.config import PRESETS
from marl_baselines.train import train

pytestmark = pytest.mark.learning


def preset_run(tmp_path, env, seed, eval_episodes):
    preset = PRESETS[("iddpg", env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0, "seed": seed})
    return train("iddpg", env, run, MADDPGConfig(**preset["algo"]), preset.get("env", {}))


def test_discrete_iddpg_solves_goal_grid(tmp_path, seed, margin):
    """Gumbel-softmax actors with critics on their own observation and action, the preset (10k env
    steps): every greedy episode ends with both agents on their goals (at least 95% asserted). The
    default layout is fixed, so the 100 greedy episodes are identical. Measured over seeds 0-5 and
    seed 0 on 2 threads: 100% in every run."""
    result = preset_run(tmp_path, "goal_grid_v0", seed, 100)
    margin("greedy success", result.final["success"], at_least=0.95, details=result.final)


def test_continuous_iddpg_beats_random_play_on_coordination(tmp_path, seed, margin):
    """Cooperative coordination with Box actions, the preset (20k env steps): the greedy return (summed
    over agents) beats random play's, 95% CIs over 100 episodes apart. Measured over seeds 0-5 and
    seed 0 on 2 threads: 627-659 apart."""
    random = random_play("coordination_v0", 100)
    trained = preset_run(tmp_path, "coordination_v0", seed, 100).final
    margin("greedy return minus random play's (CIs apart)", ci_gap(trained, random), at_least=0.0, details=(trained, random))
