"""Stable-Baselines3 PPO with one policy shared by every agent, through SuperSuit.

SuperSuit turns a PettingZoo ``ParallelEnv`` whose agents share one observation space and one
action space into a vector env with one slot per agent (``pettingzoo_env_to_vec_env_v1``), and
stacks copies of it (``concat_vec_envs_v1``): SB3 then sees ``num_copies * n_agents`` envs
and learns one policy from every agent's experience (parameter sharing).

    env = marl_envs.make("cooperative_navigation_v0")
    vec_env = ss.pettingzoo_env_to_vec_env_v1(env)                                  # 3 slots
    vec_env = ss.concat_vec_envs_v1(vec_env, 4, num_cpus=0, base_class="stable_baselines3")  # 12 slots
    model = PPO("MlpPolicy", vec_env).learn(5_000)

Where teams differ, pad first: ``ss.pad_observations_v0`` (predator_prey_v0: 16 and 14
entries) and ``ss.pad_action_space_v0``. Not covered here: envs with illegal actions (poker_v0
observes ``{"observation", "action_mask"}`` dicts and refuses illegal actions; SB3's PPO has no
action masking, sb3-contrib's ``MaskablePPO`` does), and envs whose agents leave mid-episode
(SuperSuit's ``black_death_v3`` keeps their slots filled).

Seeding: SB3 >= 2 seeds a vector env through ``VecEnv.seed``, which SuperSuit's (3.11) SB3
wrapper forwards to ``ConcatVecEnv``, which has none: ``PPO(..., seed=s)`` raises
``AttributeError``. So this script seeds SB3 (``set_random_seed``) and the envs
(``reset(seed=s)`` on the concatenated env: copy ``i`` gets ``s + i``) itself; the
PPO's own ``reset()`` then continues those seeded streams.

    python examples/sb3_supersuit.py                              # cooperative_navigation_v0, 20,000 steps
    python examples/sb3_supersuit.py --env goal_grid_v0 --steps 50000
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import supersuit as ss
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed

import marl_envs
from marl_baselines.cli import env_argument


def make_vec_env(env_id: str, copies: int = 4, seed: int = 0, **env_kwargs: Any):
    """``copies`` copies of ``env_id`` as one SB3 vector env with ``copies * n_agents`` slots, seeded."""
    env = marl_envs.make(env_id, **env_kwargs)
    if len({env.observation_space(agent).shape for agent in env.possible_agents}) > 1:
        env = ss.pad_observations_v0(env)  # zero-pads smaller observations to the largest shape
    vec_env = ss.pettingzoo_env_to_vec_env_v1(env)
    # num_cpus=0: every copy in this process (our envs step in microseconds; processes cost more).
    vec_env = ss.concat_vec_envs_v1(vec_env, copies, num_cpus=0, base_class="stable_baselines3")
    vec_env.venv.reset(seed=seed)  # see the module docstring: PPO(seed=...) cannot seed SuperSuit's vector env
    return vec_env


def train(
    env_id: str = "cooperative_navigation_v0",
    steps: int = 20_000,
    copies: int = 4,
    seed: int = 0,
    env_kwargs=None,
    verbose: int = 1,
    **ppo_kwargs: Any,
):
    """Train a shared PPO policy for ``steps`` agent-steps; returns (model, vector env)."""
    set_random_seed(seed)  # Python, NumPy and torch
    vec_env = make_vec_env(env_id, copies, seed, **dict(env_kwargs or {}))
    settings = {"n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 3e-4, "gamma": 0.95, **ppo_kwargs}
    model = PPO("MlpPolicy", vec_env, device="cpu", verbose=verbose, **settings)
    model.action_space.seed(seed)
    model.learn(total_timesteps=steps)
    return model, vec_env


def evaluate(model, vec_env, episodes_per_slot: int = 1) -> float:
    """Mean return per agent over finished episodes, acting greedily."""
    obs = vec_env.reset()
    returns, running = [], np.zeros(vec_env.num_envs)
    while len(returns) < episodes_per_slot * vec_env.num_envs:
        actions, _ = model.predict(obs, deterministic=True)
        obs, rewards, dones, _ = vec_env.step(actions)
        running += rewards
        for slot in np.flatnonzero(dones):
            returns.append(running[slot])
            running[slot] = 0.0
    return float(np.mean(returns))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="cooperative_navigation_v0", choices=marl_envs.list_envs(), help="env name (default: %(default)s)")
    parser.add_argument(
        "--env-arg", type=env_argument, action="append", default=[], metavar="KEY=VALUE", help="env keyword argument (repeatable)"
    )
    parser.add_argument("--steps", type=int, default=20_000, help="agent-steps of training (default: %(default)s)")
    parser.add_argument("--copies", type=int, default=4, help="env copies (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if marl_envs.spec(args.env).batched_class.has_action_mask:
        parser.error(f"{args.env} has illegal actions: SB3's PPO cannot mask them (use sb3-contrib's MaskablePPO)")

    untrained = PPO("MlpPolicy", make_vec_env(args.env, args.copies, args.seed + 1, **dict(args.env_arg)), device="cpu", seed=None)
    before = evaluate(untrained, untrained.get_env())
    model, _ = train(args.env, args.steps, args.copies, args.seed, dict(args.env_arg))
    after = evaluate(model, make_vec_env(args.env, args.copies, args.seed + 1, **dict(args.env_arg)))
    print(f"{args.env}: greedy return per agent {before:.2f} untrained -> {after:.2f} after {args.steps:,} steps")
    return after


if __name__ == "__main__":
    main()
