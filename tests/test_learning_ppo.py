"""MAPPO and IPPO learn: seeded runs with thresholds (marked ``learning``: slow, still run by CI).

Each runs its tuned preset (marl_baselines/config.py) in well under a minute on a 2-core CPU.
"""

from __future__ import annotations

import pytest
import torch
from helpers import quiet_run

from marl_baselines.algos.ppo import PPOConfig
from marl_baselines.config import PRESETS
from marl_baselines.train import RandomPolicy, evaluate, train
from marl_baselines.vec import make_vec_env

pytestmark = pytest.mark.learning




def preset_run(tmp_path, algo, env, eval_episodes, env_kwargs=None):
    preset = PRESETS[(algo, env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0})
    env_kwargs = {**preset.get("env", {}), **(env_kwargs or {})}
    return train(algo, env, run, PPOConfig(**preset["algo"]), env_kwargs), env_kwargs


def test_mappo_collects_twice_the_targets_of_random_play(tmp_path):
    """target_grid_v0 with 20-step episodes, where random play collects about 1.2 of the 3 targets
    (MLP agents: each agent's observation already shows the targets near it)."""
    env_kwargs = {"max_cycles": 20}
    eval_env = make_vec_env("target_grid_v0", 100, **env_kwargs)
    random_targets = evaluate(RandomPolicy(eval_env), eval_env, seed=5)["info/targets_collected"]
    result, _ = preset_run(tmp_path, "mappo", "target_grid_v0", 100, env_kwargs)
    assert result.final["info/targets_collected"] >= 2 * random_targets, (result.final, random_targets)


def test_recurrent_mappo_collects_twice_the_targets_of_random_play_when_it_sees_little(tmp_path):
    """GRU actors (recurrent=True) on target_grid_v0 with a 3x3 window (view_radius=1) and 20-step
    episodes: random play collects about 1.2 of the 3 targets; 60k env steps (~35 s on one thread)
    reach about 2.7-2.9 (seeds 0-2)."""
    env_kwargs = {"view_radius": 1, "max_cycles": 20}
    eval_env = make_vec_env("target_grid_v0", 100, **env_kwargs)
    random_targets = evaluate(RandomPolicy(eval_env), eval_env, seed=5)["info/targets_collected"]
    run = quiet_run(tmp_path, total_steps=60_000, num_envs=16, eval_episodes=100, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the GRU's step-by-step replay runs several times faster on one thread of a busy 2-core machine
    try:
        result = train("mappo", "target_grid_v0", run, PPOConfig(recurrent=True), env_kwargs)
    finally:
        torch.set_num_threads(threads)
    assert result.final["info/targets_collected"] >= 2 * random_targets, (result.final, random_targets)


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_ppo_beats_random_play_on_discrete_cooperative_navigation(tmp_path, algo):
    """The greedy return (summed over agents) beats random play's, 95% CIs over 400 episodes apart."""
    result, env_kwargs = preset_run(tmp_path, algo, "cooperative_navigation_v0", 400)
    assert env_kwargs == {"continuous_actions": False}
    eval_env = make_vec_env("cooperative_navigation_v0", 400, **env_kwargs)
    random = evaluate(RandomPolicy(eval_env), eval_env, seed=5)
    trained = result.final
    assert trained["return"] - trained["return_ci95"] > random["return"] + random["return_ci95"], (trained, random)


def test_ippo_beats_random_play_on_continuous_coordination(tmp_path):
    """Continuous Box actions (clipped into [-1, 1]) in the cooperative mode: 95% CIs over 100 episodes apart."""
    eval_env = make_vec_env("coordination_v0", 100)
    assert not eval_env.discrete
    random = evaluate(RandomPolicy(eval_env), eval_env, seed=5)
    result, _ = preset_run(tmp_path, "ippo", "coordination_v0", 100)
    trained = result.final
    assert trained["return"] - trained["return_ci95"] > random["return"] + random["return_ci95"], (trained, random)


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_same_preset_through_the_pettingzoo_source_on_mpe2_simple_spread(tmp_path, algo):
    """The cooperative_navigation_v0 preset, unchanged, trains on mpe2's own simple_spread_v3 stepped
    as 16 PettingZoo copies, and beats random play with the 95% CIs (400 episodes each) apart."""
    from mpe2 import simple_spread_v3

    eval_env = make_vec_env(simple_spread_v3.parallel_env, 400)
    random = evaluate(RandomPolicy(eval_env), eval_env, seed=5)
    preset = PRESETS[(algo, "cooperative_navigation_v0")]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": 400, "eval_interval": 0})
    result = train(algo, simple_spread_v3.parallel_env, run, PPOConfig(**preset["algo"]))
    trained = result.final
    assert trained["return"] - trained["return_ci95"] > random["return"] + random["return_ci95"], (trained, random)
