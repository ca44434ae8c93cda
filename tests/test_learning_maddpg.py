"""MADDPG and MATD3 learn: seeded runs with thresholds (marked ``learning``: slow, still run by CI).

Each threshold sits below the worst of several seeds and two thread counts
(``benchmarks/learning_margins.py``, ``benchmarks/results/learning_margins.md``).
"""

from __future__ import annotations

import pytest
import torch
from helpers import ci_gap, quiet_run, random_play

from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.config import PRESETS
from marl_baselines.evaluate import evaluate
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env

pytestmark = pytest.mark.learning


class ZeroPolicy:
    """Every agent sends the zero action (continuous envs)."""

    def __init__(self, env):
        self.env = env

    def initial_hidden(self, num_envs):
        return None

    def act(self, out, hidden, explore, env_steps=0):
        return torch.zeros(self.env.num_envs, self.env.n_agents, self.env.action_size, device=self.env.device), None, {}


def preset_run(tmp_path, env, seed, eval_episodes, **run_settings):
    preset = PRESETS[("maddpg", env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0, "seed": seed, **run_settings})
    return train("maddpg", env, run, MADDPGConfig(**preset["algo"]), preset.get("env", {}))


def test_discrete_maddpg_solves_goal_grid(tmp_path, seed, margin):
    """Gumbel-softmax actors on the note's layout, where the note's own MADDPG never converged: the
    preset (10k env steps) succeeds in every greedy episode. The default layout is fixed, so the 100
    greedy episodes are identical. Measured over seeds 0-5 and seed 0 on 2 threads: 100% in every run."""
    result = preset_run(tmp_path, "goal_grid_v0", seed, 100)
    margin("greedy success", result.final["success"], at_least=0.95, details=result.final)


def test_continuous_maddpg_beats_zero_and_random_actions_on_coordination(tmp_path, seed, margin):
    """Cooperative coordination with Box actions, the preset (20k env steps): the greedy return (summed
    over agents) beats both the zero action's and random play's, 95% CIs over 100 episodes apart.
    Measured over seeds 0-5 and seed 0 on 2 threads: 49.5-65.4 (zero) and 602-618 (random) apart."""
    eval_env = make_vec_env("coordination_v0", 100)
    assert not eval_env.discrete
    zero = evaluate(ZeroPolicy(eval_env), eval_env, seed=5)
    random = random_play("coordination_v0", 100)
    trained = preset_run(tmp_path, "coordination_v0", seed, 100).final
    margin("greedy return minus the zero action's (CIs apart)", ci_gap(trained, zero), at_least=0.0, details=(trained, zero))
    margin("greedy return minus random play's (CIs apart)", ci_gap(trained, random), at_least=0.0, details=(trained, random))


def test_matd3_beats_random_play_on_cooperative_navigation(tmp_path, seed, margin):
    """MATD3 with its defaults (discrete actions), 30k env steps: greedy return above random play's,
    the 95% confidence intervals over 100 episodes each apart. Measured over seeds 0-5 and seed 0 on
    2 threads: 4.1-8.2 apart."""
    env_kwargs = {"continuous_actions": False}
    random = random_play("cooperative_navigation_v0", 100, **env_kwargs)
    run = quiet_run(tmp_path, total_steps=30_000, num_envs=16, eval_episodes=100, seed=seed)
    trained = train("matd3", "cooperative_navigation_v0", run, MADDPGConfig(), env_kwargs).final
    margin("greedy return minus random play's (CIs apart)", ci_gap(trained, random), at_least=0.0, details=(trained, random))
