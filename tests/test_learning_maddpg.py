"""MADDPG learns: seeded runs of its tuned presets with thresholds (marked ``learning``: slow, still run by CI)."""

from __future__ import annotations

import pytest
import torch
from helpers import quiet_run

from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.config import PRESETS
from marl_baselines.train import RandomPolicy, evaluate, train
from marl_baselines.vec import make_vec_env

pytestmark = pytest.mark.learning




class ZeroPolicy:
    """Every agent sends the zero action (continuous envs)."""

    def __init__(self, env):
        self.env = env

    def initial_hidden(self, num_envs):
        return None

    def act(self, out, hidden, explore, env_steps=0):
        return torch.zeros(self.env.num_envs, self.env.n_agents, self.env.action_size, device=self.env.device), None


def preset_run(tmp_path, env, eval_episodes):
    preset = PRESETS[("maddpg", env)]
    run = quiet_run(tmp_path, **{**preset["run"], "eval_episodes": eval_episodes, "eval_interval": 0})
    return train("maddpg", env, run, MADDPGConfig(**preset["algo"]), preset.get("env", {}))


def test_discrete_maddpg_solves_goal_grid(tmp_path):
    """Gumbel-softmax actors on the note's layout, where the note's own MADDPG never converged.
    The default layout is fixed, so the 100 greedy episodes are identical."""
    result = preset_run(tmp_path, "goal_grid_v0", 100)
    assert result.final["success"] >= 0.95, result.final


def test_continuous_maddpg_beats_zero_and_random_actions_on_coordination(tmp_path):
    """Cooperative coordination with Box actions: the greedy return (summed over agents) beats both
    the zero action's and random play's, 95% CIs over 100 episodes apart."""
    eval_env = make_vec_env("coordination_v0", 100)
    assert not eval_env.discrete
    zero = evaluate(ZeroPolicy(eval_env), eval_env, seed=5)
    random = evaluate(RandomPolicy(eval_env), eval_env, seed=5)
    trained = preset_run(tmp_path, "coordination_v0", 100).final
    for baseline in (zero, random):
        assert trained["return"] - trained["return_ci95"] > baseline["return"] + baseline["return_ci95"], (trained, zero, random)


def test_matd3_beats_random_play_on_cooperative_navigation(tmp_path):
    """MATD3 with its defaults (60k env steps, discrete actions): greedy return above random play's,
    the 95% confidence intervals over 100 episodes each apart."""
    env_kwargs = {"continuous_actions": False}
    eval_env = make_vec_env("cooperative_navigation_v0", 100, **env_kwargs)
    random = evaluate(RandomPolicy(eval_env), eval_env, seed=5)
    run = quiet_run(tmp_path, total_steps=60_000, num_envs=16, eval_episodes=100)
    trained = train("matd3", "cooperative_navigation_v0", run, MADDPGConfig(), env_kwargs).final
    assert trained["return"] - trained["return_ci95"] > random["return"] + random["return_ci95"], (trained, random)
