"""MAPPO and IPPO learn: seeded runs with thresholds (marked ``learning``: slow, still run by CI).

Each threshold sits below the worst of several seeds and two thread counts
(``benchmarks/learning_margins.py``, ``benchmarks/results/learning_margins.md``).
"""

from __future__ import annotations

import pytest
from helpers import TARGETS_OVER_RANDOM, ci_gap, quiet_run, random_play, random_targets

from marl_baselines.algos.ppo import PPOConfig
from marl_baselines.config import PRESETS
from marl_baselines.train import train

pytestmark = pytest.mark.learning


def preset_run(tmp_path, algo, env, seed, eval_episodes, env_kwargs=None, **run_settings):
    preset = PRESETS[(algo, env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0, "seed": seed, **run_settings})
    env_kwargs = {**preset.get("env", {}), **(env_kwargs or {})}
    return train(algo, env, run, PPOConfig(**preset["algo"]), env_kwargs), env_kwargs


def test_mappo_collects_far_more_targets_than_random_play(tmp_path, seed, margin):
    """target_grid_v0 with 20-step episodes, where random play collects about 1.2 of the 3 targets
    (MLP agents: each agent's observation already shows the targets near it); 30k env steps: at
    least 1.5 times random play's. Measured over seeds 0-5 and seed 0 on 2 threads: 2.25-2.99."""
    env_kwargs = {"max_cycles": 20}
    result, _ = preset_run(tmp_path, "mappo", "target_grid_v0", seed, 100, env_kwargs, total_steps=30_000)
    margin(
        "targets collected",
        result.final["info/targets_collected"],
        at_least=TARGETS_OVER_RANDOM * random_targets(**env_kwargs),
        details=result.final,
    )


def test_recurrent_mappo_collects_far_more_targets_than_random_play_when_it_sees_little(tmp_path, seed, margin):
    """GRU actors (recurrent=True) on target_grid_v0 with a 3x3 window (view_radius=1) and 20-step
    episodes, 40k env steps: at least 1.5 times random play's targets (1.24 of 3). Measured over
    seeds 0-5 and seed 0 on 2 threads: 2.44-2.93."""
    env_kwargs = {"view_radius": 1, "max_cycles": 20}
    run = quiet_run(tmp_path, total_steps=40_000, num_envs=16, eval_episodes=100, seed=seed)
    result = train("mappo", "target_grid_v0", run, PPOConfig(recurrent=True), env_kwargs)
    margin(
        "targets collected",
        result.final["info/targets_collected"],
        at_least=TARGETS_OVER_RANDOM * random_targets(**env_kwargs),
        details=result.final,
    )


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_ppo_beats_random_play_on_discrete_cooperative_navigation(tmp_path, algo, seed, margin):
    """The preset (500k env steps): the greedy return (summed over agents) beats random play's, 95% CIs
    over 400 episodes apart. Measured over seeds 0-5 and seed 0 on 2 threads: the CIs 20.9-23.5
    (MAPPO) and 21.6-23.4 (IPPO) apart."""
    result, env_kwargs = preset_run(tmp_path, algo, "cooperative_navigation_v0", seed, 400)
    assert env_kwargs == {"continuous_actions": False}
    random = random_play("cooperative_navigation_v0", 400, **env_kwargs)
    margin("greedy return minus random play's (CIs apart)", ci_gap(result.final, random), at_least=0.0, details=(result.final, random))


def test_ippo_beats_random_play_on_continuous_coordination(tmp_path, seed, margin):
    """Continuous Box actions (clipped into [-1, 1]) in the cooperative mode, the preset's 20k env
    steps: 95% CIs over 100 episodes apart. Measured over seeds 0-5 and seed 0 on 2 threads: 480-532 apart."""
    random = random_play("coordination_v0", 100)
    result, _ = preset_run(tmp_path, "ippo", "coordination_v0", seed, 100)
    margin("greedy return minus random play's (CIs apart)", ci_gap(result.final, random), at_least=0.0, details=(result.final, random))


def test_same_preset_through_the_pettingzoo_source_on_mpe2_simple_spread(tmp_path, seed, margin):
    """MAPPO's cooperative_navigation_v0 preset, unchanged, trains on mpe2's own simple_spread_v3
    stepped as 256 PettingZoo copies (the first 100k of its 500k env steps), and beats random play
    with the 95% CIs (400 episodes each) apart. Measured over seeds 0-5 and seed 0 on 2 threads: 19.4-21.2 apart."""
    from mpe2 import simple_spread_v3

    random = random_play(simple_spread_v3.parallel_env, 400)
    preset = PRESETS[("mappo", "cooperative_navigation_v0")]
    run = quiet_run(tmp_path, **{**preset["run"], "total_steps": 100_000, "eval_episodes": 400, "eval_interval": 0, "seed": seed})
    result = train("mappo", simple_spread_v3.parallel_env, run, PPOConfig(**preset["algo"]))
    assert result.env == "simple_spread_v3"
    margin("greedy return minus random play's (CIs apart)", ci_gap(result.final, random), at_least=0.0, details=(result.final, random))
