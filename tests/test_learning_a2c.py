"""IA2C, MAA2C and COMA learn: seeded runs of their presets with thresholds (marked ``learning``).

Each threshold sits below the worst of seeds 0-5 and of seed 0 on two threads
(``benchmarks/learning_margins.py``).
"""

from __future__ import annotations

import pytest
from helpers import ci_gap, quiet_run, random_play, random_targets

from marl_baselines.algos import ALGORITHMS
from marl_baselines.config import PRESETS
from marl_baselines.train import train

pytestmark = pytest.mark.learning


def preset_run(tmp_path, algo, env, seed, eval_episodes, env_kwargs=None):
    preset = PRESETS[(algo, env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0, "seed": seed})
    env_kwargs = {**preset.get("env", {}), **(env_kwargs or {})}
    return train(algo, env, run, ALGORITHMS[algo].config_class(**preset["algo"]), env_kwargs), env_kwargs


@pytest.mark.parametrize("algo", ["ia2c", "maa2c", "coma"])
def test_a2c_beats_random_play_on_discrete_cooperative_navigation(tmp_path, algo, seed, margin):
    """The preset (100k env steps): the greedy return (summed over agents) beats random play's,
    95% CIs over 400 episodes apart. Measured over seeds 0-5 and seed 0 on 2 threads: the CIs
    14.6-18.2 (IA2C), 14.9-19.5 (MAA2C) and 8.5-19.7 (COMA) apart."""
    result, env_kwargs = preset_run(tmp_path, algo, "cooperative_navigation_v0", seed, 400)
    assert env_kwargs == {"continuous_actions": False}
    random = random_play("cooperative_navigation_v0", 400, **env_kwargs)
    margin("greedy return minus random play's (CIs apart)", ci_gap(result.final, random), at_least=0.0, details=(result.final, random))


@pytest.mark.parametrize("algo", ["ia2c", "maa2c", "coma"])
def test_a2c_collects_twice_random_plays_targets(tmp_path, algo, seed, margin):
    """target_grid_v0 with 20-step episodes, where random play collects about 1.24 of the 3 targets;
    the preset (100k env steps, MLP agents): at least twice random play's targets, the issue's bar
    (2.48). Measured over seeds 0-5 and seed 0 on 2 threads: 2.77-2.98 (IA2C), 2.73-3.00 (MAA2C)
    and 2.61-2.78 (COMA)."""
    env_kwargs = {"max_cycles": 20}
    result, _ = preset_run(tmp_path, algo, "target_grid_v0", seed, 100, env_kwargs)
    margin("targets collected", result.final["info/targets_collected"], at_least=2 * random_targets(**env_kwargs), details=result.final)
