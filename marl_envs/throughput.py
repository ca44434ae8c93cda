"""Step-rate measurement shared by the demo (``python -m marl_envs.demo``) and ``benchmarks/env_throughput.py``.

Actions are drawn before the clock starts, so what is timed is the env (and, for the
PettingZoo API, its dict conversions), the same way for our envs and for a peer such as mpe2.
"""

from __future__ import annotations

import time

import numpy as np
import torch

__all__ = [
    "pettingzoo_rate",
    "batched_rate",
    "rollout_rate",
    "per_second",
    "compile_step",
    "compile_rollout",
    "random_action",
    "random_rollout",
]


def random_action(env, agent, observation):
    """A random action of ``agent``, from its action mask when the observation carries one."""
    space = env.action_space(agent)
    if isinstance(observation, dict) and "action_mask" in observation:
        return space.sample(mask=observation["action_mask"])
    return space.sample()


def pettingzoo_rate(env, seconds: float = 1.0, seed: int = 0) -> float:
    """Steps per second of a PettingZoo ``ParallelEnv`` under random actions.

    Without action masks the actions are sampled from the spaces beforehand; with masks
    (dict observations) they are sampled from each step's mask, and that sampling is timed too.
    """
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    observations, _ = env.reset(seed=seed)
    masked = any(isinstance(o, dict) and "action_mask" in o for o in observations.values())
    plans = [] if masked else [{a: env.action_space(a).sample() for a in env.possible_agents} for _ in range(4096)]
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(256):
            if masked:
                actions = {a: random_action(env, a, observations[a]) for a in env.agents}
            else:
                plan = plans[steps % len(plans)]
                actions = {a: plan[a] for a in env.agents}
            observations = env.step(actions)[0]
            if not env.agents:
                observations, _ = env.reset()
            steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def compile_step(env) -> float:
    """Compile ``env``'s step (``BatchedEnv.compile``) and take the compilation out of later timings:
    reset, then two random steps (the first compiles; the second finds the state the first made).
    Returns the seconds the two steps took (the compilation, all but a step's worth)."""
    env.compile().reset(seed=0)
    start = time.perf_counter()
    for _ in range(2):
        env.step(env.random_actions())
    return time.perf_counter() - start


def compile_rollout(env, steps_per_call: int, keep=None) -> float:
    """Compile ``env``'s rollout (``BatchedEnv.compile``) with ``steps_per_call`` steps per call, reset, and
    run one compiled call; return its seconds (the compilation, all but a call's worth)."""
    env.compile(steps_per_call=steps_per_call).reset(seed=0)
    start = time.perf_counter()
    env.rollout(steps_per_call, seed=0, keep=keep)
    return time.perf_counter() - start


def batched_rate(env, seconds: float = 1.0, seed: int = 0) -> float:
    """Env-steps per second (sub-env steps) of a ``BatchedEnv`` under random actions.

    Random numbers are drawn beforehand; for envs with action masks each step takes the argmax
    of pre-drawn scores over the current mask (one cheap op, timed with the step).
    """
    generator = torch.Generator().manual_seed(seed)
    out = env.reset(seed=seed)
    if env.has_action_mask:
        plans = [torch.rand(env.num_envs, env.n_agents, env.action_size, generator=generator).to(env.device) for _ in range(16)]
    else:
        plans = [env.random_actions(generator) for _ in range(16)]

    def actions_from(plan, out):
        return plan.masked_fill(~out.action_mask, -1.0).argmax(-1) if env.has_action_mask else plan

    def steps(some_plans) -> None:
        nonlocal out
        for plan in some_plans:
            out = env.step(actions_from(plan, out))

    with torch.inference_mode():
        steps(plans[:4])  # warm-up: allocator, lazy CUDA initialisation
        return per_second(lambda: steps(plans), len(plans) * env.num_envs, seconds, env.device)


def rollout_rate(env, steps: int, seconds: float = 1.0, seed: int = 0, keep=None) -> float:
    """Env-steps per second (sub-env steps) of ``BatchedEnv.rollout(steps, keep=keep)`` with its random policy.

    Unlike ``batched_rate`` the random actions are drawn inside the timed rollout (from its
    counter-based streams, inside the compiled calls of a compiled env), and the timed work
    includes stacking the kept fields into ``[steps, B, ...]`` tensors. Two rollouts run
    before the clock starts (a compiled env compiles in the first).
    """
    env.reset(seed=seed)
    with torch.inference_mode():
        for _ in range(2):
            env.rollout(steps, seed=seed, keep=keep)
        return per_second(lambda: env.rollout(steps, keep=keep), steps * env.num_envs, seconds, env.device)


def per_second(work, units: int, seconds: float, device: torch.device) -> float:
    """``units`` per second (env steps, elements) of calling ``work()``, which does ``units`` of them,
    repeatedly for ``seconds``, waiting for ``device`` after each call."""
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    synchronize()
    calls, start = 0, time.perf_counter()
    while True:
        work()
        calls += 1
        synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * units / elapsed


def random_rollout(env, episodes: int, seed: int = 0) -> tuple[float, float]:
    """Mean team return (sum over agents, averaged over episodes) and mean length of seeded random episodes."""
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    returns, lengths = [], []
    for episode in range(episodes):
        observations, _ = env.reset(seed=seed + episode)
        total, length = 0.0, 0
        while env.agents:
            observations, rewards, *_ = env.step({a: random_action(env, a, observations[a]) for a in env.agents})
            total += sum(rewards.values())
            length += 1
        returns.append(total)
        lengths.append(length)
    return float(np.mean(returns)), float(np.mean(lengths))
