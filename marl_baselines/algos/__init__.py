"""The algorithms ``marl-train`` knows, by name: one file per family, one registry line per algorithm.

Every algorithm object offers the same small interface to the training loop
(``marl_baselines.train``): ``start(out)``, ``initial_hidden(num_envs)``,
``act(out, hidden, explore, env_steps) -> (actions, hidden)``,
``observe(actions, out, env_steps) -> stats | None`` (stores the step, trains when due),
``state_dict(include_buffer)`` / ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marl_baselines.algos.maddpg import MADDPG, MADDPGConfig
from marl_baselines.algos.madvrl import MADVRL, MADVRLConfig
from marl_baselines.algos.ppo import PPO, PPOConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig, ValueDecomposition

__all__ = ["ALGORITHMS", "AlgorithmSpec"]


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    description: str
    config_class: type
    build: Callable[[Any, Any, int], Any]  # (vec_env, config, seed) -> algorithm
    discrete_only: bool = False
    compilable: bool = False  # offers compile() (torch.compile of its networks and update): --compile on


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec("iql", "independent Q-learning", ValueDecompConfig, lambda env, c, seed: ValueDecomposition(env, c, "none", seed), True),
        AlgorithmSpec("vdn", "value decomposition networks (sum of agent Qs)", ValueDecompConfig, lambda env, c, seed: ValueDecomposition(env, c, "vdn", seed), True),
        AlgorithmSpec("qmix", "QMIX (monotonic hypernetwork mixer)", ValueDecompConfig, lambda env, c, seed: ValueDecomposition(env, c, "qmix", seed), True),
        AlgorithmSpec("mappo", "multi-agent PPO (centralised value on the global state)", PPOConfig, lambda env, c, seed: PPO(env, c, "state", seed), compilable=True),
        AlgorithmSpec("ippo", "independent PPO (each agent's value on its own observation)", PPOConfig, lambda env, c, seed: PPO(env, c, "obs", seed), compilable=True),
        AlgorithmSpec("maddpg", "MADDPG (decentralised actors, centralised critics on the state and all actions)", MADDPGConfig, lambda env, c, seed: MADDPG(env, c, "maddpg", seed)),
        AlgorithmSpec("matd3", "MATD3 (MADDPG with twin critics, target smoothing, delayed actors)", MADDPGConfig, lambda env, c, seed: MADDPG(env, c, "matd3", seed)),
        AlgorithmSpec("madvrl", "MA-DVRL for poker_v0 (variational beliefs, ELBO + PPO, self-play and an opponent pool)", MADVRLConfig, lambda env, c, seed: MADVRL(env, c, seed, variational=True), True),
        AlgorithmSpec("gru_ac", "GRU actor-critic for poker_v0 (MA-DVRL's training without the variational parts)", MADVRLConfig, lambda env, c, seed: MADVRL(env, c, seed, variational=False), True),
    )
}
