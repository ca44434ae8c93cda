"""JaxMARL's side of ``benchmarks/peers.py``: its IPPO-FF on MPE Spread, and its env's throughput.

Runs in the peers' own virtual environment (``make bench-peers`` makes ``.venv-peers`` with the
jax CPU build and ``jaxmarl`` 0.2.0, whose package holds the envs but not the baselines), never
in the suite's. ``peers.py`` calls it as a subprocess; each command prints one JSON object.

    python benchmarks/peers_jax.py train --seed 0 --total-steps 500000 [--eval-every 51200] [--stop-at -60]
    python benchmarks/peers_jax.py throughput --sizes 64 4096 --seconds 2
    python benchmarks/peers_jax.py random --episodes 1000

``train`` is our own JAX implementation of JaxMARL's IPPO-FF for MPE (``baselines/IPPO/ippo_ff_mpe.py``
with ``config/ippo_ff_mpe.yaml`` in JaxMARL's repository), written from its published architecture
and hyper-parameters (``CONFIG`` below):

* one actor-critic shared by the three agents (no agent id): actor and critic are separate MLPs of
  two 64-unit tanh layers, orthogonal initialisation (gain sqrt 2; 0.01 for the policy head, 1 for
  the value head), zero biases; a Categorical policy over the 5 moves;
* 16 envs, 128 steps per rollout, GAE(0.99, 0.95) over each agent's own reward and done flag;
* 4 epochs of 4 minibatches of the shuffled rollout (all agents' samples together): clipped
  surrogate (0.2), value loss 0.5 * max of the plain and clipped (0.2) squared errors, weight 0.5,
  entropy bonus 0.01, advantages standardised per minibatch;
* Adam (eps 1e-5) after clipping the gradient's global norm to 0.5, learning rate 2.5e-4 annealed
  linearly to 0 over the run's updates (so the budget sets the schedule, as in JaxMARL);
* the whole loop (rollout, GAE, update) is one ``jax.jit``-compiled ``lax.scan``; here it runs in
  chunks of ``--eval-every`` env steps so that a greedy evaluation can be taken between chunks,
  outside the timed training. Compilation is timed apart (ahead-of-time ``lower().compile()``).

The env is JaxMARL's ``MPE_simple_spread_v3`` (auto-reset after 25 steps). The greedy evaluation
is the suite's: ``--eval-episodes`` episodes (vmapped), argmax actions, the rewards summed over the
3 agents and the 25 steps, mean and 95% interval.

``throughput``: random actions, env-steps/s at each batch size B, two ways: ``jax.jit(jax.vmap(env.step))``
called once per step from Python (as an env loop would), and a ``lax.scan`` of 128 steps (fewer from B =
8,192 up: at most about 2^20 env steps per call) inside one compiled call. Compilation and a warm-up call are left out of the timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import jax
import jax.numpy as jnp
import jaxmarl
import numpy as np
import optax
from flax import linen as nn
from flax.linen.initializers import constant, orthogonal

# JaxMARL's published IPPO-FF configuration for MPE (config/ippo_ff_mpe.yaml); TOTAL_TIMESTEPS is --total-steps
CONFIG = {
    "LR": 2.5e-4,
    "NUM_ENVS": 16,
    "NUM_STEPS": 128,
    "UPDATE_EPOCHS": 4,
    "NUM_MINIBATCHES": 4,
    "GAMMA": 0.99,
    "GAE_LAMBDA": 0.95,
    "CLIP_EPS": 0.2,
    "ENT_COEF": 0.01,
    "VF_COEF": 0.5,
    "MAX_GRAD_NORM": 0.5,
    "ANNEAL_LR": True,
    "ENV_NAME": "MPE_simple_spread_v3",
}


class Mlp(nn.Module):
    """Two tanh layers of 64, then a linear head of ``size`` with orthogonal gain ``head_gain``."""

    size: int
    head_gain: float

    @nn.compact
    def __call__(self, x):
        for _ in range(2):
            x = jnp.tanh(nn.Dense(64, kernel_init=orthogonal(math.sqrt(2)), bias_init=constant(0.0))(x))
        return nn.Dense(self.size, kernel_init=orthogonal(self.head_gain), bias_init=constant(0.0))(x)


class ActorCritic(nn.Module):
    actions: int

    @nn.compact
    def __call__(self, x):
        logits = Mlp(self.actions, 0.01)(x)
        value = Mlp(1, 1.0)(x)[..., 0]
        return logits, value


def stack_agents(values: dict, agents: list[str]) -> jnp.ndarray:
    """``{agent: [E, ...]}`` -> ``[N * E, ...]``, agent-major (agent i's envs at rows i*E ... i*E+E-1)."""
    return jnp.concatenate([values[a] for a in agents], axis=0)


def split_agents(values: jnp.ndarray, agents: list[str]) -> dict:
    return dict(zip(agents, jnp.split(values, len(agents), axis=0)))


def make_env():
    return jaxmarl.make(CONFIG["ENV_NAME"])


def make_trainer(total_steps: int):
    """env, network, init(key) -> runner, chunk(runner, updates) -> (runner, metrics), and the run's
    number of updates (``total_steps`` // 2,048: the learning-rate schedule's length)."""
    c = CONFIG
    env = make_env()
    agents, E, T = env.agents, c["NUM_ENVS"], c["NUM_STEPS"]
    N = len(agents)
    num_updates = max(1, total_steps // (T * E))
    batch = T * N * E
    minibatch = batch // c["NUM_MINIBATCHES"]
    network = ActorCritic(env.action_space(agents[0]).n)

    def schedule(count):
        done_updates = count // (c["NUM_MINIBATCHES"] * c["UPDATE_EPOCHS"])
        return c["LR"] * (1.0 - done_updates / num_updates)

    optimiser = optax.chain(optax.clip_by_global_norm(c["MAX_GRAD_NORM"]), optax.adam(schedule if c["ANNEAL_LR"] else c["LR"], eps=1e-5))

    def init(key):
        key, init_key, reset_key = jax.random.split(key, 3)
        params = network.init(init_key, jnp.zeros(env.observation_space(agents[0]).shape))
        obs, env_state = jax.vmap(env.reset)(jax.random.split(reset_key, E))
        return (params, optimiser.init(params), env_state, obs, key)

    def env_step(carry, _):
        params, opt_state, env_state, obs, key = carry
        key, act_key, step_key = jax.random.split(key, 3)
        x = stack_agents(obs, agents)
        logits, value = network.apply(params, x)
        action = jax.random.categorical(act_key, logits)
        log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
        obs, env_state, reward, done, _ = jax.vmap(env.step)(jax.random.split(step_key, E), env_state, split_agents(action, agents))
        step = (x, action, log_prob, value, stack_agents(reward, agents), stack_agents(done, agents).astype(jnp.float32))
        return (params, opt_state, env_state, obs, key), step

    def loss_fn(params, x, action, old_log_prob, old_value, advantage, target):
        logits, value = network.apply(params, x)
        log_p = jax.nn.log_softmax(logits)
        log_prob = jnp.take_along_axis(log_p, action[:, None], -1)[:, 0]
        entropy = -(jnp.exp(log_p) * log_p).sum(-1).mean()
        clipped_value = old_value + jnp.clip(value - old_value, -c["CLIP_EPS"], c["CLIP_EPS"])
        value_loss = 0.5 * jnp.maximum(jnp.square(value - target), jnp.square(clipped_value - target)).mean()
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        ratio = jnp.exp(log_prob - old_log_prob)
        policy_loss = -jnp.minimum(ratio * advantage, jnp.clip(ratio, 1 - c["CLIP_EPS"], 1 + c["CLIP_EPS"]) * advantage).mean()
        return policy_loss + c["VF_COEF"] * value_loss - c["ENT_COEF"] * entropy

    grad_fn = jax.grad(loss_fn)

    def update(carry, _):
        carry, rollout = jax.lax.scan(env_step, carry, None, T)
        params, opt_state, env_state, obs, key = carry
        x, action, log_prob, value, reward, done = rollout
        _, last_value = network.apply(params, stack_agents(obs, agents))

        def gae_step(state, step):
            advantage, next_value = state
            reward_t, value_t, done_t = step
            delta = reward_t + c["GAMMA"] * next_value * (1 - done_t) - value_t
            advantage = delta + c["GAMMA"] * c["GAE_LAMBDA"] * (1 - done_t) * advantage
            return (advantage, value_t), advantage

        _, advantages = jax.lax.scan(gae_step, (jnp.zeros_like(last_value), last_value), (reward, value, done), reverse=True)
        targets = advantages + value
        data = tuple(a.reshape((batch,) + a.shape[2:]) for a in (x, action, log_prob, value, advantages, targets))

        def epoch(state, _):
            params, opt_state, key = state
            key, perm_key = jax.random.split(key)
            order = jax.random.permutation(perm_key, batch)
            shuffled = tuple(a[order].reshape((c["NUM_MINIBATCHES"], minibatch) + a.shape[1:]) for a in data)

            def minibatch_step(state, mb):
                params, opt_state = state
                grads = grad_fn(params, *mb)
                updates, opt_state = optimiser.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), None

            (params, opt_state), _ = jax.lax.scan(minibatch_step, (params, opt_state), shuffled)
            return (params, opt_state, key), None

        (params, opt_state, key), _ = jax.lax.scan(epoch, (params, opt_state, key), None, c["UPDATE_EPOCHS"])
        # the rollout's reward per env step summed over agents, times the episode length: its episodes' mean return
        return (params, opt_state, env_state, obs, key), reward.sum() / (T * E) * env.max_steps

    def chunk(runner, updates: int):
        return jax.lax.scan(update, runner, None, updates)

    return env, network, init, chunk, num_updates


def make_evaluator(env, network, episodes: int):
    agents = env.agents

    def evaluate(params, key):
        reset_key, key = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(reset_key, episodes))

        def step(carry, _):
            obs, state, key, total = carry
            key, step_key = jax.random.split(key)
            logits, _ = network.apply(params, jnp.stack([obs[a] for a in agents]))
            actions = {a: logits[i].argmax(-1) for i, a in enumerate(agents)}
            obs, state, reward, _, _ = jax.vmap(env.step)(jax.random.split(step_key, episodes), state, actions)
            return (obs, state, key, total + sum(reward[a] for a in agents)), None

        (_, _, _, total), _ = jax.lax.scan(step, (obs, state, key, jnp.zeros(episodes)), None, env.max_steps)
        return total

    return jax.jit(evaluate)


def mean_ci(returns: np.ndarray) -> tuple[float, float]:
    """Mean and 95% normal-interval half-width of many episodes' returns."""
    return float(returns.mean()), float(1.96 * returns.std(ddof=1) / math.sqrt(len(returns)))


def train(args) -> dict:
    steps_per_update = CONFIG["NUM_STEPS"] * CONFIG["NUM_ENVS"]
    env, network, init, chunk, num_updates = make_trainer(args.total_steps)
    chunk_updates = min(num_updates, max(1, args.eval_every // steps_per_update))
    evaluate = make_evaluator(env, network, args.eval_episodes)
    runner = jax.jit(init)(jax.random.PRNGKey(args.seed))
    # every chunk is chunk_updates long but the last, which ends the schedule exactly (one more compilation)
    lengths = sorted({chunk_updates, num_updates % chunk_updates} - {0})
    began = time.perf_counter()
    compiled = {n: jax.jit(chunk, static_argnums=1).lower(runner, n).compile() for n in lengths}
    compile_seconds = time.perf_counter() - began
    evaluations, train_seconds, updates = [], 0.0, 0
    eval_key = jax.random.PRNGKey(args.seed + 1_000_003)
    while updates < num_updates:
        n = min(chunk_updates, num_updates - updates)
        began = time.perf_counter()
        runner, _ = compiled[n](runner)
        jax.block_until_ready(runner)
        train_seconds += time.perf_counter() - began
        updates += n
        mean, ci = mean_ci(np.asarray(evaluate(runner[0], eval_key)))
        evaluations.append({"env_steps": updates * steps_per_update, "train_seconds": train_seconds, "return": mean, "return_ci95": ci})
        if args.stop_at is not None and mean >= args.stop_at:
            break
    return {
        "seed": args.seed,
        "total_steps": args.total_steps,
        "env_steps": updates * steps_per_update,
        "compile_seconds": compile_seconds,
        "train_seconds": train_seconds,
        "steps_per_second": updates * steps_per_update / train_seconds,
        "evaluations": evaluations,
    }


def throughput(args) -> dict:
    env = make_env()
    agents = env.agents
    n_actions = env.action_space(agents[0]).n

    def random_step(carry, _):
        state, key = carry
        key, action_key, step_key = jax.random.split(key, 3)
        B = jax.tree.leaves(state)[0].shape[0]
        actions = jax.random.randint(action_key, (len(agents), B), 0, n_actions)
        _, state, _, _, _ = jax.vmap(env.step)(jax.random.split(step_key, B), state, dict(zip(agents, actions)))
        return (state, key), None

    step_once = jax.jit(lambda carry: random_step(carry, None)[0])
    rates = {"step": {}, "scan": {}}
    for B in args.sizes:
        scan_steps = max(4, min(128, 2**20 // B))  # a call of at most ~1M env steps
        scan = jax.jit(lambda carry: jax.lax.scan(random_step, carry, None, scan_steps)[0])
        _, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.PRNGKey(0), B))
        for name, fn, steps in (("step", step_once, 1), ("scan", scan, scan_steps)):
            carry = jax.block_until_ready(fn((state, jax.random.PRNGKey(1))))  # compile and warm up
            calls, began = 0, time.perf_counter()
            while True:
                carry = fn(carry)
                calls += 1
                if calls % 8 == 0 or steps > 1:
                    jax.block_until_ready(carry)
                    elapsed = time.perf_counter() - began
                    if elapsed >= args.seconds:
                        break
            rates[name][B] = calls * steps * B / elapsed
    return rates


def random_return(args) -> dict:
    """Mean return (summed over agents and steps) of uniform random play, over ``--episodes`` episodes."""
    env = make_env()
    agents, n_actions = env.agents, env.action_space(env.agents[0]).n

    def play(key):
        reset_key, key = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(reset_key, args.episodes))

        def step(carry, _):
            state, key, total = carry
            key, action_key, step_key = jax.random.split(key, 3)
            actions = jax.random.randint(action_key, (len(agents), args.episodes), 0, n_actions)
            _, state, reward, _, _ = jax.vmap(env.step)(jax.random.split(step_key, args.episodes), state, dict(zip(agents, actions)))
            return (state, key, total + sum(reward[a] for a in agents)), None

        return jax.lax.scan(step, (state, key, jnp.zeros(args.episodes)), None, env.max_steps)[0][2]

    mean, ci = mean_ci(np.asarray(jax.jit(play)(jax.random.PRNGKey(args.seed))))
    return {"return": mean, "return_ci95": ci}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--total-steps", type=int, default=500_000, help="the run's budget (also the length of the learning-rate schedule)")
    t.add_argument(
        "--eval-every", type=int, default=51_200, help="env steps between greedy evaluations (rounded down to whole updates of 2,048)"
    )
    t.add_argument("--eval-episodes", type=int, default=1000)
    t.add_argument("--stop-at", type=float, default=None, help="stop at the first evaluation with at least this greedy return")
    p = commands.add_parser("throughput")
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 4096])
    p.add_argument("--seconds", type=float, default=2.0)
    r = commands.add_parser("random")
    r.add_argument("--episodes", type=int, default=1000)
    r.add_argument("--seed", type=int, default=0)
    commands.add_parser("versions")
    args = parser.parse_args()
    result = {"train": train, "throughput": throughput, "random": random_return, "versions": lambda args: {}}[args.command](args)
    result["versions"] = {
        "jax": jax.__version__,
        "jaxmarl": getattr(jaxmarl, "__version__", "?"),
        "backend": jax.default_backend(),
        "devices": jax.device_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
