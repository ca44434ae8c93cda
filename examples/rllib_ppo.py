"""RLlib PPO on one of our envs, by name, with one policy shared by every agent.

RLlib learns on any PettingZoo ``ParallelEnv`` through ``ParallelPettingZooEnv``; the env is
made by name in a creator registered with ``ray.tune.registry.register_env``, so RLlib's
env runners (local, or remote processes on a cluster) build their own copies from the name:

    register_env("goal_grid_v0", lambda config: ParallelPettingZooEnv(marl_envs.make("goal_grid_v0", **config)))

Settings are small and CPU-friendly: sampling in the driver process (``num_env_runners=0``),
learning in it too (``num_learners=0``), a few hundred env steps per iteration. For a real run,
raise ``--env-runners`` (one process each) and ``--batch-size``.

Needs the ``[ray]`` extra (``pip install -e ".[ray]"``: ``ray[rllib]``, which pins its own
gymnasium version).

    python examples/rllib_ppo.py                                  # goal_grid_v0, 30 iterations
    python examples/rllib_ppo.py --env cooperative_navigation_v0 --iterations 5
    python examples/rllib_ppo.py --env matrix_game_v0 --env-arg game=climbing
    python examples/rllib_ppo.py --env poker_v0 --env-arg variant=kuhn    # masked actions

Prints one line per iteration: env steps so far, mean episode return (summed over agents;
NaN until the first episode ends) and mean episode length. The default run (30 iterations,
12,000 env steps, about two minutes on a busy 2-core CPU) took goal_grid_v0's return from -99
(episodes of 58 steps) to +17 (4 steps: both agents walk straight to their goals).

Envs with illegal actions (poker_v0) get RLlib's action-masking module; see ``RLlibMaskKeys``
and ``build_config``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from typing import Any

import gymnasium
from pettingzoo.utils.wrappers import BaseParallelWrapper

import marl_envs
from marl_baselines.cli import env_argument


def env_creator(env_id: str):
    """The creator ``register_env`` stores: ``env_config`` (a dict) holds the env's keyword arguments."""

    def create(env_config: dict[str, Any]):
        # Imported here so the function also works inside Ray worker processes that have not
        # imported RLlib's wrappers yet (``register_env`` pickles this function).
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

        env = marl_envs.make(env_id, **dict(env_config))
        if marl_envs.spec(env_id).batched_class.has_action_mask:
            env = RLlibMaskKeys(env)
        return ParallelPettingZooEnv(env)

    return create


class RLlibMaskKeys(BaseParallelWrapper):
    """Renames the observation key for RLlib's action-masking module.

    Envs with illegal actions (poker_v0) observe ``{"observation", "action_mask"}``, PettingZoo's
    convention; RLlib's ``ActionMaskingTorchRLModule`` reads ``{"observations", "action_mask"}``.
    """

    def __init__(self, env):
        super().__init__(env)
        shared: dict[int, gymnasium.spaces.Dict] = {}  # agents that share a space keep sharing one
        self._spaces = {}
        for agent in env.possible_agents:
            space = env.observation_space(agent)
            if id(space) not in shared:
                shared[id(space)] = gymnasium.spaces.Dict({"observations": space["observation"], "action_mask": space["action_mask"]})
            self._spaces[agent] = shared[id(space)]

    def observation_space(self, agent):
        return self._spaces[agent]

    def reset(self, seed=None, options=None):
        observations, infos = self.env.reset(seed=seed, options=options)
        return self._renamed(observations), infos

    def step(self, actions):
        observations, *rest = self.env.step(actions)
        return (self._renamed(observations), *rest)

    @staticmethod
    def _renamed(observations):
        return {agent: {"observations": o["observation"], "action_mask": o["action_mask"]} for agent, o in observations.items()}


def build_config(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    batch_size: int = 400,
    minibatch_size: int = 100,
    num_epochs: int = 5,
    lr: float = 3e-4,
    env_runners: int = 0,
    seed: int = 0,
):
    """A PPO config on ``env_id`` (already registered under that name) with one shared policy."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    module = RLModuleSpec()
    masked = marl_envs.spec(env_id).batched_class.has_action_mask
    if masked:
        # RLlib's default PPO module ignores action masks: an env with illegal actions (poker_v0)
        # takes RLlib's action-masking module, which sets illegal actions' logits to -inf.
        from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule

        module = RLModuleSpec(module_class=ActionMaskingTorchRLModule)
    return (
        PPOConfig()
        # RLlib's env check steps the env once with actions sampled without the mask, which our
        # env refuses (an illegal action is an error, never silently replaced): skip it there.
        .environment(env_id, env_config=dict(env_kwargs or {}), disable_env_checking=masked)
        .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=1, rollout_fragment_length="auto")
        .learners(num_learners=0)
        # Every agent maps to the one policy "shared": parameter sharing, RLlib's way. Agents must
        # then have observations and actions of one shape: true of every env but predator_prey_v0
        # (adversaries observe 16 entries, the prey 14), which needs a policy per team.
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kwargs: "shared")
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={"shared": module}))
        .training(train_batch_size_per_learner=batch_size, minibatch_size=minibatch_size, num_epochs=num_epochs, lr=lr)
        .debugging(seed=seed)
    )


def train(
    env_id: str = "goal_grid_v0",
    iterations: int = 30,
    env_kwargs: dict[str, Any] | None = None,
    *,
    num_cpus: int = 2,
    verbose: bool = True,
    **config_kwargs: Any,
) -> list[dict[str, float]]:
    """Train for ``iterations`` PPO iterations on a local Ray instance; one metrics dict per iteration.

    Starts Ray (``num_cpus``, no dashboard) unless it is already running, and shuts it down
    at the end if it started it.
    """
    import ray
    from ray.tune.registry import register_env

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    algo = None
    try:
        register_env(env_id, env_creator(env_id))
        algo = build_config(env_id, env_kwargs, **config_kwargs).build_algo()
        history = []
        for iteration in range(1, iterations + 1):
            result = algo.train()
            metrics = _summary(result)
            history.append(metrics)
            if verbose:
                print(
                    f"iteration {iteration:3d}  env steps {metrics['env_steps']:7.0f}  "
                    f"return {metrics['episode_return_mean']:8.3f}  length {metrics['episode_len_mean']:6.1f}"
                )
        return history
    finally:
        if algo is not None:
            logdir = algo.logdir
            algo.stop()
            with contextlib.suppress(OSError):
                os.rmdir(logdir)  # RLlib makes ~/ray_results/<time> for every algorithm, here left empty
        if started_ray:
            ray.shutdown()


def _summary(result: dict) -> dict[str, float]:
    """The few numbers worth printing from RLlib's (large, nested) result dict."""
    runners = result.get("env_runners", {})
    learner = result.get("learners", {}).get("shared", {})
    return {
        "env_steps": float(result.get("num_env_steps_sampled_lifetime", runners.get("num_env_steps_sampled_lifetime", math.nan))),
        "episode_return_mean": float(runners.get("episode_return_mean", math.nan)),
        "episode_len_mean": float(runners.get("episode_len_mean", math.nan)),
        "num_episodes": float(runners.get("num_episodes", 0)),
        "total_loss": float(learner.get("total_loss", math.nan)),
        "policy_loss": float(learner.get("policy_loss", math.nan)),
        "vf_loss": float(learner.get("vf_loss", math.nan)),
    }


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="goal_grid_v0", choices=marl_envs.list_envs(), help="env name (default: %(default)s)")
    parser.add_argument(
        "--env-arg", type=env_argument, action="append", default=[], metavar="KEY=VALUE", help="env keyword argument (repeatable)"
    )
    parser.add_argument("--iterations", type=int, default=30, help="PPO iterations (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=400, help="env steps per iteration (default: %(default)s)")
    parser.add_argument("--minibatch-size", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over each batch (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=3e-4, help="(default: %(default)s)")
    parser.add_argument(
        "--env-runners", type=int, default=0, help="remote sampling processes; 0 samples in the driver (default: %(default)s)"
    )
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs given to the local Ray instance (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return train(
        args.env,
        args.iterations,
        dict(args.env_arg),
        num_cpus=args.num_cpus,
        batch_size=args.batch_size,
        minibatch_size=args.minibatch_size,
        num_epochs=args.epochs,
        lr=args.lr,
        env_runners=args.env_runners,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
