"""marl_envs: multi-agent environments with a PettingZoo API, each written once as batched torch code.

    import marl_envs
    env = marl_envs.make("goal_grid_v0")                                   # PettingZoo ParallelEnv
    batched = marl_envs.make_batched("goal_grid_v0", num_envs=4096, device="cpu")
    marl_envs.list_envs()

Importing the package also registers every env with PettingZoo (>= 1.27) as
``marl_envs/<name>-v<k>``, parallel and AEC forms:
``pettingzoo.make("parallel", "marl_envs/goal_grid-v0")``.
"""

from __future__ import annotations

from marl_envs.core import threads as _threads  # noqa: F401  (registers the after-fork hook: one torch thread in forked children)
from marl_envs.core.actions import ActionSpec
from marl_envs.core.batched import BatchedEnv, EnvStep, ResetNeeded, Rollout
from marl_envs.core.episode import EpisodeState
from marl_envs.core.parallel import BatchedParallelEnv
from marl_envs.core.registry import REGISTRY, EnvSpec, list_envs, make, make_batched, register, spec

__all__ = [
    "ActionSpec",
    "BatchedEnv",
    "BatchedParallelEnv",
    "EnvSpec",
    "EnvStep",
    "EpisodeState",
    "ResetNeeded",
    "Rollout",
    "list_envs",
    "make",
    "make_batched",
    "spec",
]

# One line per environment; registering creates its module marl_envs.<id> (env, raw_env, parallel_env, make_batched).
register(EnvSpec("goal_grid", 0, "marl_envs.envs.goal_grid:GoalGridEnv"))
register(EnvSpec("target_grid", 0, "marl_envs.envs.target_grid:TargetGridEnv"))
register(EnvSpec("coordination", 0, "marl_envs.envs.coordination:CoordinationEnv", renamed={"continuous": "continuous_actions"}))
register(EnvSpec("matrix_game", 0, "marl_envs.envs.matrix_game:MatrixGameEnv"))
register(
    EnvSpec(
        "resource_allocation", 0, "marl_envs.envs.resource_allocation:ResourceAllocationEnv", renamed={"continuous": "continuous_actions"}
    )
)
register(
    EnvSpec(
        "autonomous_vehicles", 0, "marl_envs.envs.autonomous_vehicles:AutonomousVehiclesEnv", renamed={"continuous": "continuous_actions"}
    )
)
register(EnvSpec("smart_grid", 0, "marl_envs.envs.smart_grid:SmartGridEnv", renamed={"continuous": "continuous_actions"}))
register(EnvSpec("poker", 0, "marl_envs.envs.poker:PokerEnv", renamed={"n_players": "n_agents"}))
register(EnvSpec("cooperative_navigation", 0, "marl_envs.envs.cooperative_navigation:CooperativeNavigationEnv"))
register(EnvSpec("predator_prey", 0, "marl_envs.envs.predator_prey:PredatorPreyEnv"))
register(EnvSpec("speaker_listener", 0, "marl_envs.envs.speaker_listener:SpeakerListenerEnv"))
register(EnvSpec("reference", 0, "marl_envs.envs.reference:ReferenceEnv"))
register(EnvSpec("reach_landmark", 0, "marl_envs.envs.reach_landmark:ReachLandmarkEnv"))
register(EnvSpec("physical_deception", 0, "marl_envs.envs.physical_deception:PhysicalDeceptionEnv"))
register(EnvSpec("keep_away", 0, "marl_envs.envs.keep_away:KeepAwayEnv"))
register(EnvSpec("covert_communication", 0, "marl_envs.envs.covert_communication:CovertCommunicationEnv"))
register(EnvSpec("line_formation", 0, "marl_envs.envs.line_formation:LineFormationEnv"))
register(EnvSpec("circle_formation", 0, "marl_envs.envs.circle_formation:CircleFormationEnv"))
register(EnvSpec("predator_prey_comm", 0, "marl_envs.envs.predator_prey_comm:PredatorPreyCommEnv"))
register(EnvSpec("collect_treasure", 0, "marl_envs.envs.collect_treasure:CollectTreasureEnv"))


def _register_with_pettingzoo() -> None:
    try:
        from pettingzoo import register as pettingzoo_register
    except ImportError:  # PettingZoo < 1.27 has no registry: marl_envs.make still works
        return
    for env_id, env_spec in REGISTRY.items():
        name = f"marl_envs/{env_spec.name}-v{env_spec.version}"
        pettingzoo_register("parallel", name, entry_point=f"marl_envs.{env_id}:parallel_env")
        pettingzoo_register("aec", name, entry_point=f"marl_envs.{env_id}:env")


_register_with_pettingzoo()
