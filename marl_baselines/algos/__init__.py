"""The algorithms ``marl-train`` knows, by name: one file per family, one registry line per algorithm.

Every algorithm object offers the same small interface to the training loop
(``marl_baselines.train``), which holds each transition and hands it to the algorithm whole::

    out = env.reset(seed=seed)                   # EnvStep: obs [B, N, O], state [B, S], ...
    algo.start(out)
    hidden = algo.initial_hidden(env.num_envs)   # [B, N, H], or None
    while training:
        actions, hidden, act_info = algo.act(out, hidden, explore=True, env_steps=env_steps)
        after = env.step(actions)
        stats = algo.observe(out, actions, act_info, after, env_steps)  # None, or training statistics
        out = after                              # (and hidden reset to zeros where an episode ended)

* ``act(out, hidden, explore, env_steps=0) -> (actions, hidden, act_info)``: actions ``[B, N]``
  (discrete) or ``[B, N, A]`` for the observations of ``out``, the new hidden state, and
  ``act_info``, a dict of the tensors the algorithm needs again to record this step (log-probabilities,
  values, noise, the hidden state it acted with), ``{}`` if none. With ``explore=False`` (greedy
  evaluation, recorded by nobody) it may be ``{}``.
* ``observe(before, actions, act_info, after, env_steps) -> stats | None``: the step taken with
  ``actions`` at ``before`` (the EnvStep ``act`` saw), ``act_info`` as ``act`` returned it, and
  ``after`` the EnvStep ``env.step(actions)`` returned; stores the step and trains when due.
  ``env_steps`` counts the steps including this one.

Nothing of a step waits inside the algorithm between ``act`` and ``observe``: the loop holds it. An
algorithm's state is its networks, optimisers, buffers and counters, which ``state_dict`` saves, so
a checkpoint taken between steps together with the loop's ``out`` and ``hidden`` resumes exactly.

The rest: ``start(out)`` (the envs were reset, or a run resumed without its buffer),
``initial_hidden(num_envs)``, ``state_dict(include_buffer)`` / ``load_state_dict``, and
``data_parallel_parts()``: what its ranks share under torchrun
(:class:`~marl_baselines.distributed.DataParallelParts`).

What an algorithm needs of an env (discrete actions, an episode limit, one particular env) is
declared on its :class:`AlgorithmSpec` and checked by :meth:`AlgorithmSpec.check` before the
algorithm is built, so a constructor may assume it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from marl_baselines.algos.a2c import A2C, A2CConfig
from marl_baselines.algos.coma import COMA, COMAConfig
from marl_baselines.algos.maddpg import MADDPG, MADDPGConfig
from marl_baselines.algos.madvrl import MADVRL, MADVRLConfig
from marl_baselines.algos.ppo import PPO, PPOConfig
from marl_baselines.algos.sac import SAC, SACConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig, ValueDecomposition
from marl_baselines.algos.wqmix import WeightedQMIX, WQMIXConfig

__all__ = ["ALGORITHMS", "AlgorithmSpec"]


@dataclass(frozen=True)
class AlgorithmSpec:
    """One registered algorithm: its name, its config, how to build it, and what it needs."""

    name: str
    description: str
    config_class: type
    constructor: Callable[[Any, Any, int], Any]
    """``(vec_env, config, seed) -> algorithm``; :meth:`build` checks the env first."""
    discrete_only: bool = False
    """Needs discrete actions."""
    needs_episode_limit: bool = False
    """Needs the env to report its episode limit (``max_cycles``): it stores whole episodes."""
    required_env: str | None = None
    """The one registered env it trains on, through the native source (it reads that env's state layout)."""
    compilable: bool = False
    """Offers ``compile()`` (torch.compile of its networks and update): ``--compile on``."""

    def check(self, env, env_arguments: Collection[str] = (), compile: str = "off") -> None:
        """A one-line ValueError naming this algorithm, the env and what it lacks, unless ``env`` (a
        VecEnv) has what the algorithm needs. ``env_arguments``: the env's constructor arguments (to
        name the one that switches continuous actions off); ``compile``: the run's ``--compile``."""
        if compile == "on" and not self.compilable:
            supported = ", ".join(name for name, other in ALGORITHMS.items() if other.compilable)
            raise ValueError(f"--compile on: {self.name} has no compiled update (supported: {supported}); pass --compile off or auto")
        if self.required_env is not None and (env.name != self.required_env or env.source != "native"):
            raise ValueError(f"{self.name} trains on {self.required_env} through the native source, got {env.name!r} ({env.source} source)")
        if self.discrete_only and not env.discrete:
            switch = "continuous_actions" if "continuous_actions" in env_arguments else None
            hint = f" (pass --env-arg {switch}=False)" if switch else ""
            raise ValueError(f"{self.name} needs discrete actions, and {env.name} has continuous ones{hint}")
        if self.needs_episode_limit and env.max_episode_steps is None:
            raise ValueError(f"{self.name} needs an episode limit for its episode buffer, and {env.name} reports none (no max_cycles)")

    def build(self, env, config, seed: int = 0):
        """The algorithm for ``env`` (a VecEnv) after :meth:`check`."""
        self.check(env)
        return self.constructor(env, config, seed)


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "iql",
            "independent Q-learning",
            ValueDecompConfig,
            lambda env, c, seed: ValueDecomposition(env, c, "none", seed),
            discrete_only=True,
            needs_episode_limit=True,
        ),
        AlgorithmSpec(
            "vdn",
            "value decomposition networks (sum of agent Qs)",
            ValueDecompConfig,
            lambda env, c, seed: ValueDecomposition(env, c, "vdn", seed),
            discrete_only=True,
            needs_episode_limit=True,
        ),
        AlgorithmSpec(
            "qmix",
            "QMIX (monotonic hypernetwork mixer)",
            ValueDecompConfig,
            lambda env, c, seed: ValueDecomposition(env, c, "qmix", seed),
            discrete_only=True,
            needs_episode_limit=True,
        ),
        AlgorithmSpec(
            "mappo",
            "multi-agent PPO (centralised value on the global state)",
            PPOConfig,
            lambda env, c, seed: PPO(env, c, "state", seed),
            compilable=True,
        ),
        AlgorithmSpec(
            "ippo",
            "independent PPO (each agent's value on its own observation)",
            PPOConfig,
            lambda env, c, seed: PPO(env, c, "obs", seed),
            compilable=True,
        ),
        AlgorithmSpec(
            "maddpg",
            "MADDPG (decentralised actors, centralised critics on the state and all actions)",
            MADDPGConfig,
            lambda env, c, seed: MADDPG(env, c, "maddpg", seed),
        ),
        AlgorithmSpec(
            "matd3",
            "MATD3 (MADDPG with twin critics, target smoothing, delayed actors)",
            MADDPGConfig,
            lambda env, c, seed: MADDPG(env, c, "matd3", seed),
        ),
        AlgorithmSpec(
            "madvrl",
            "MA-DVRL for poker_v0 (variational beliefs, ELBO + PPO, self-play and an opponent pool)",
            MADVRLConfig,
            lambda env, c, seed: MADVRL(env, c, seed, variational=True),
            discrete_only=True,
            required_env="poker_v0",
        ),
        AlgorithmSpec(
            "gru_ac",
            "GRU actor-critic for poker_v0 (MA-DVRL's training without the variational parts)",
            MADVRLConfig,
            lambda env, c, seed: MADVRL(env, c, seed, variational=False),
            discrete_only=True,
            required_env="poker_v0",
        ),
        AlgorithmSpec(
            "isac",
            "independent SAC (each agent's twin critics on its own observation and action, learned temperature)",
            SACConfig,
            lambda env, c, seed: SAC(env, c, "isac", seed),
        ),
        AlgorithmSpec(
            "masac",
            "multi-agent SAC (twin critics on the state and all actions, learned temperature)",
            SACConfig,
            lambda env, c, seed: SAC(env, c, "masac", seed),
        ),
        AlgorithmSpec(
            "ia2c", "independent A2C (each agent's value on its own observation)", A2CConfig, lambda env, c, seed: A2C(env, c, "obs", seed)
        ),
        AlgorithmSpec(
            "maa2c", "multi-agent A2C (centralised value on the global state)", A2CConfig, lambda env, c, seed: A2C(env, c, "state", seed)
        ),
        AlgorithmSpec(
            "coma",
            "COMA (counterfactual advantage from a centralised critic of every own action)",
            COMAConfig,
            lambda env, c, seed: COMA(env, c, seed),
            discrete_only=True,
        ),
        AlgorithmSpec(
            "cw_qmix",
            "centrally-weighted QMIX (QMIX's loss weighted towards the better joint actions, by an unrestricted Q*)",
            WQMIXConfig,
            lambda env, c, seed: WeightedQMIX(env, c, "cw", seed),
            discrete_only=True,
            needs_episode_limit=True,
        ),
        AlgorithmSpec(
            "ow_qmix",
            "optimistically-weighted QMIX (QMIX's loss weighted towards its underestimates)",
            WQMIXConfig,
            lambda env, c, seed: WeightedQMIX(env, c, "ow", seed),
            discrete_only=True,
            needs_episode_limit=True,
        ),
        AlgorithmSpec(
            "iddpg",
            "independent DDPG (MADDPG with each agent's critic on its own observation and action)",
            MADDPGConfig,
            lambda env, c, seed: MADDPG(env, c, "iddpg", seed),
        ),
    )
}
