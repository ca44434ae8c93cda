"""Step-rate measurement shared by the demo (``python -m marl_envs.demo``) and ``benchmarks/env_throughput.py``.

Actions are drawn before the clock starts, so what is timed is the env (and, for the
PettingZoo API, its dict conversions), the same way for our envs and for a peer such as mpe2.
"""

from __future__ import annotations

import time

import numpy as np
import torch

__all__ = ["pettingzoo_rate", "batched_rate", "random_rollout"]


def pettingzoo_rate(env, seconds: float = 1.0, seed: int = 0) -> float:
    """Steps per second of a PettingZoo ``ParallelEnv`` under random actions (sampled from its spaces beforehand)."""
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    plans = [{agent: env.action_space(agent).sample() for agent in env.possible_agents} for _ in range(4096)]
    env.reset(seed=seed)
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(256):
            plan = plans[steps % len(plans)]
            env.step({agent: plan[agent] for agent in env.agents})
            if not env.agents:
                env.reset()
            steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def batched_rate(env, seconds: float = 1.0, seed: int = 0) -> float:
    """Env-steps per second (sub-env steps) of a ``BatchedEnv`` under random actions (drawn beforehand)."""
    generator = torch.Generator().manual_seed(seed)
    env.reset(seed=seed)
    plans = [env.random_actions(generator) for _ in range(16)]
    synchronize = torch.cuda.synchronize if env.device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for actions in plans[:4]:  # warm-up: allocator, lazy CUDA initialisation
            env.step(actions)
        synchronize()
        steps, start = 0, time.perf_counter()
        while True:
            for actions in plans:
                env.step(actions)
            steps += len(plans)
            synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return steps * env.num_envs / elapsed


def random_rollout(env, episodes: int, seed: int = 0) -> tuple[float, float]:
    """Mean team return (sum over agents, averaged over episodes) and mean length of seeded random episodes."""
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    returns, lengths = [], []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total, length = 0.0, 0
        while env.agents:
            _, rewards, *_ = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
            total += sum(rewards.values())
            length += 1
        returns.append(total)
        lengths.append(length)
    return float(np.mean(returns)), float(np.mean(lengths))
