"""Run settings common to every algorithm, presets, and the attribute docstrings behind ``--help``.

A preset is a tuned starting point for one algorithm on one env: run settings, algorithm
hyper-parameters and env arguments. ``marl-train ALGO ENV`` applies the preset of that pair
(when there is one) and then the command line's ``--key value`` options on top.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from dataclasses import dataclass
from functools import cache

import torch

from marl_envs.core.checks import checked_device

__all__ = ["RunConfig", "PRESETS", "field_docs", "check_ranges", "resolve_device"]


def resolve_device(name: str | torch.device, index: int | None = None) -> torch.device:
    """The torch device a ``device`` setting names. ``auto``: CUDA when this machine has it
    (``cuda:index`` given an index, as each torchrun rank's), else the CPU. A one-line ValueError
    for a name torch does not know, or for CUDA where there is none."""
    if name == "auto":
        name = ("cuda" if index is None else f"cuda:{index}") if torch.cuda.is_available() else "cpu"
    return checked_device(name)


def check_ranges(config, at_least_one=(), non_negative=(), unit_interval=()) -> None:
    """Raise a ValueError naming the first field of ``config`` outside its range."""
    for name in at_least_one:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in non_negative:
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
    for name in unit_interval:
        if not 0 <= getattr(config, name) <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {getattr(config, name)}")


@dataclass
class RunConfig:
    """Settings of a training run, whatever the algorithm."""

    total_steps: int = 200_000
    """Env steps to train for (sub-env steps: one vectorised step of 8 envs counts 8; under torchrun, every rank's together)."""
    num_envs: int = 8
    """Envs stepped together while collecting experience (under torchrun: on each rank)."""
    seed: int = 0
    """Seed of the networks, the exploration and the envs (sub-env b is seeded seed + b; under torchrun rank r's sub-env b, seed + r * num_envs + b)."""
    device: str = "auto"
    """Training device: auto (cuda when present), cpu or cuda."""
    threads: int = 1
    """Torch intra-op CPU threads for the run (0: torch's default, one per core). One is fastest for these small networks, several times so on a shared machine (benchmarks/results/threads_cpu.md)."""
    source: str = "native"
    """native: the env's batched implementation; pettingzoo: num_envs copies of its PettingZoo env."""
    eval_interval: int = 20_000
    """Env steps between greedy evaluations (0: only at the end)."""
    eval_episodes: int = 100
    """Episodes per greedy evaluation (one per eval env, run in parallel)."""
    checkpoint_interval: int = 0
    """Env steps between checkpoints (0: only at the end)."""
    checkpoint_buffer: bool = True
    """Store the replay buffer (or the rollout in progress) in checkpoints, so that a resumed run continues exactly; false: smaller checkpoints, and a resumed run continues with an empty replay buffer (a new rollout), so it no longer equals an uninterrupted run."""
    log_dir: str = "runs"
    """Runs are logged under LOG_DIR/<env>/<algo>/<seed>-<time>/ (CSV, TensorBoard, checkpoint)."""
    tensorboard: bool = True
    """Also write TensorBoard event files."""
    progress: bool = True
    """Show a progress bar."""
    sync_free: str = "auto"
    """auto|on|off: keep each step free of host-device syncs (the env's auto-reset and action checks, the replay buffer's bookkeeping); auto: on for CUDA, off on CPU (where a host read costs nothing)."""
    compile: str = "auto"
    """auto|on|off: torch.compile the algorithm's networks and minibatch loss (mappo, ippo; compilation happens in the first update); auto: off, because on CPU the compiled update measured slower than eager and its compilation takes seconds (benchmarks/results/compile_cpu.md; most of the loss is inductor's -fno-tree-loop-vectorize for GCC, which slows every bool a kernel stores: benchmarks/results/inductor_bools_cpu.md), and on CUDA it is not yet measured (benchmarks/gpu_check.py measures it)."""
    check_syncs: bool = False
    """Debug: fail at the first host-device sync inside a training step (act, env step, store, update); implies sync_free."""

    def check(self) -> None:
        check_ranges(
            self,
            at_least_one=("num_envs", "eval_episodes"),
            non_negative=("total_steps", "eval_interval", "checkpoint_interval", "threads"),
        )
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.source not in ("native", "pettingzoo"):
            raise ValueError(f"source must be 'native' or 'pettingzoo', got {self.source!r}")
        for name in ("sync_free", "compile"):
            if getattr(self, name) not in ("auto", "on", "off"):
                raise ValueError(f"{name} must be auto, on or off, got {getattr(self, name)!r}")
        if self.check_syncs and (self.sync_free == "off" or self.source == "pettingzoo"):
            raise ValueError("check_syncs needs sync_free auto or on and the native source (PettingZoo envs step on the host)")


# (algorithm, env) -> {"run": RunConfig fields, "algo": algorithm config fields, "env": env arguments}
PRESETS: dict[tuple[str, str], dict[str, dict]] = {
    # The quick-start job (make demo); its returns: benchmarks/results/returns_table.md.
    ("qmix", "goal_grid_v0"): {
        "run": {"total_steps": 60_000, "num_envs": 16, "eval_interval": 10_000},
        "algo": {
            "epsilon_anneal_steps": 20_000,
            "learning_starts": 2_000,
            "train_every": 2,
            "batch_size": 32,
            "target_update_interval": 100,
            "lr": 1e-3,
        },
    },
    # GRU agents, since each agent sees a 5x5 window of the grid; TD(lambda) targets carry a
    # target's reward back along the episode. The 20-step env of tests/test_learning_value_decomp.py
    # and the full 50-step env train with the same settings.
    **{
        (algo, "target_grid_v0"): {
            "run": {"total_steps": 30_000, "num_envs": 16, "eval_interval": 10_000},
            "algo": {"recurrent": True, "epsilon_anneal_steps": 15_000, "learning_starts": 2_000, "train_every": 4, "td_lambda": 0.6},
        }
        for algo in ("iql", "vdn", "qmix")
    },
    # MAPPO with PPOConfig's defaults; tests/test_learning_ppo.py trains it on the 20-step grid
    # (--env-arg max_cycles=20).
    ("mappo", "target_grid_v0"): {"run": {"total_steps": 60_000, "num_envs": 16, "eval_interval": 20_000}, "algo": {}},
    # speaker_listener_v0: networks 128 wide and Adam at 2e-3, because at PPOConfig's 64 and 5e-4 the
    # listener stays between the landmarks for hundreds of thousands of steps. The agents learn to use
    # the env's channel, or with --agent tarmac / gnn and --env-arg silence_channel=true their own
    # messages (benchmarks/results/comm_ablation.md; tests/test_learning_comm.py).
    ("mappo", "speaker_listener_v0"): {
        "run": {"total_steps": 240_000, "num_envs": 16, "eval_interval": 60_000},
        "algo": {"lr": 2e-3, "hidden_size": 128},
    },
    # Discrete cooperative navigation (mpe2's simple_spread_v3), sized for throughput: 256 envs, short
    # rollouts, few large minibatches, Adam at 7e-3 annealed to 0 over the run's 500k env steps, and
    # gamma 0.95 for the 25-step episodes (benchmarks/peers.py against JaxMARL; tests/test_learning_ppo.py).
    # The learning rate: greedy return after 500k (1,000 episodes, mean of seeds 0-4, MAPPO / IPPO)
    # -56.2 / -55.7 at 2e-3, -54.8 / -54.5 at 5e-3, -54.3 / -54.0 at 7e-3, -53.5 / -53.9 at 1e-2,
    # so 7e-3 stands below rates that still learn steadily.
    **{
        (algo, "cooperative_navigation_v0"): {
            "run": {"total_steps": 500_000, "num_envs": 256, "eval_interval": 100_000},
            "algo": {"rollout_steps": 16, "epochs": 2, "minibatches": 2, "lr": 7e-3, "lr_anneal_steps": 500_000, "gamma": 0.95},
            "env": {"continuous_actions": False},
        }
        for algo in ("mappo", "ippo")
    },
    # Continuous coordination (cooperative), with PPOConfig's defaults (benchmarks/results/returns_table.md).
    **{
        (algo, "coordination_v0"): {"run": {"total_steps": 20_000, "num_envs": 16, "eval_interval": 10_000}, "algo": {}}
        for algo in ("mappo", "ippo")
    },
    # Discrete MADDPG (Gumbel-softmax actors) on the note's fixed layout, with a slow target (tau 0.01)
    # and a short horizon (gamma 0.95) (tests/test_learning_maddpg.py).
    ("maddpg", "goal_grid_v0"): {
        "run": {"total_steps": 10_000, "num_envs": 16, "eval_interval": 5_000},
        "algo": {"learning_starts": 2_000, "train_every": 2, "gamma": 0.95, "tau": 0.01},
    },
    # Discrete cooperative navigation with the algorithms' defaults (benchmarks/results/returns_table.md).
    **{
        (algo, "cooperative_navigation_v0"): {
            "run": {"total_steps": 60_000, "num_envs": 16, "eval_interval": 20_000},
            "algo": {},
            "env": {"continuous_actions": False},
        }
        for algo in ("maddpg", "matd3")
    },
    # Continuous MADDPG on cooperative coordination (benchmarks/results/returns_table.md). Every agent
    # sees the same state, so agents without an id act alike and pay no disagreement penalty: agent_id=False.
    ("maddpg", "coordination_v0"): {
        "run": {"total_steps": 20_000, "num_envs": 16, "eval_interval": 10_000},
        "algo": {"learning_starts": 2_000, "gradient_steps": 4, "noise_anneal_steps": 10_000, "gamma": 0.9, "tau": 0.01, "agent_id": False},
    },
    # MA-DVRL and its GRU actor-critic ablation on 2-player Leduc hold'em (poker_v0's default variant),
    # sized for a CPU (the config's defaults are the design note's 256-wide networks); exploitability
    # over training: benchmarks/madvrl_poker.py. Kuhn poker: --env-arg variant=kuhn --total-steps 250000
    # (tests/test_learning_madvrl.py).
    **{
        (algo, "poker_v0"): {
            "run": {"total_steps": 1_000_000, "num_envs": 256, "eval_interval": 100_000},
            "algo": {"hidden_size": 64, "belief_size": 32, "gamma": 1.0, "exploitability_interval": 50_000},
        }
        for algo in ("madvrl", "gru_ac")
    },
    # ISAC and MASAC (continuous), short runs that still learn (tests/test_learning_sac.py). Two gradient
    # steps per vectorised step and a faster target (tau 0.02) than SACConfig's, so that the critics
    # catch up within the run; on coordination, MADDPG's short horizon (gamma 0.9) and no agent id
    # (every agent sees the same state: agents that act alike pay no disagreement penalty); on
    # cooperative navigation, the 25-step episodes' gamma 0.95 and the env's Box actions.
    **{
        (algo, "coordination_v0"): {
            "run": {"total_steps": 10_000, "num_envs": 16, "eval_interval": 5_000},
            "algo": {"learning_starts": 1_000, "gradient_steps": 2, "gamma": 0.9, "tau": 0.02, "agent_id": False},
        }
        for algo in ("isac", "masac")
    },
    **{
        (algo, "cooperative_navigation_v0"): {
            "run": {"total_steps": 12_000, "num_envs": 16, "eval_interval": 4_000},
            "algo": {"learning_starts": 1_000, "gradient_steps": 2, "gamma": 0.95, "tau": 0.02},
            "env": {"continuous_actions": True},
        }
        for algo in ("isac", "masac")
    },
    # IA2C, MAA2C and COMA (tests/test_learning_a2c.py): one gradient step per rollout, so short
    # rollouts (8 steps of 16 envs) and Adam at 3e-3 give many updates; a short horizon (gamma 0.95)
    # for the short episodes, as the PPO preset on the navigation. COMA's counterfactual advantages
    # are small and noisy while its critic is young: standardised, that noise drives some seeds'
    # policies onto one action, so COMA keeps them raw, pays a larger entropy bonus (at the A2C
    # default some seeds still collapsed) and looks less far ahead on the grid (gamma 0.9).
    **{
        (algo, env): {
            "run": {"total_steps": 100_000, "num_envs": 16, "eval_interval": 50_000},
            "algo": {
                "rollout_steps": 8,
                "lr": 3e-3,
                "gamma": 0.9 if (algo, env) == ("coma", "target_grid_v0") else 0.95,
                **({"normalize_advantages": False, "entropy_coef": 0.05} if algo == "coma" else {}),
            },
            **({"env": {"continuous_actions": False}} if env == "cooperative_navigation_v0" else {}),
        }
        for algo in ("ia2c", "maa2c", "coma")
        for env in ("target_grid_v0", "cooperative_navigation_v0")
    },
    # Weighted QMIX (algos/wqmix.py) and IDDPG (algos/maddpg.py). On target_grid_v0, QMIX's preset:
    # GRU agents and TD(lambda) targets for the 20-step grid of benchmarks/returns_table.py.
    **{
        (algo, "target_grid_v0"): {
            "run": {"total_steps": 30_000, "num_envs": 16, "eval_interval": 10_000},
            "algo": {"recurrent": True, "epsilon_anneal_steps": 15_000, "learning_starts": 2_000, "train_every": 4, "td_lambda": 0.6},
        }
        for algo in ("cw_qmix", "ow_qmix")
    },
    # The penalty game (k=100, one-step episodes), where QMIX settles on the safe joint action and
    # CW-QMIX finds an optimum (tests/test_learning_wqmix.py; QMIX's row is the contrast). Four
    # gradient steps per env step on a small mixer, exploration annealed quickly so that the data
    # gathers on the joint action found; alpha 0.01 rather than the reference's 0.1, because with
    # k=100 a miscoordination's weighted error (alpha * 110^2) would otherwise rival the optimum's.
    # OW-QMIX's row shows its failure there: its optimism raises both optima's actions alike, and
    # the agents' greedy actions can miscoordinate.
    **{
        (algo, "matrix_game_v0"): {
            "run": {"total_steps": 6_000, "num_envs": 16, "eval_interval": 2_000},
            "algo": {
                "learning_starts": 500,
                "lr": 1e-3,
                "gradient_steps": 4,
                "target_update_interval": 50,
                "mixer_embed": 16,
                "epsilon_anneal_steps": 4_000,
                **({} if algo == "qmix" else {"alpha": 0.01}),
            },
            "env": {"game": "penalty"},
        }
        for algo in ("qmix", "cw_qmix", "ow_qmix")
    },
    # IDDPG with MADDPG's presets: the same runs with local critics.
    ("iddpg", "goal_grid_v0"): {
        "run": {"total_steps": 10_000, "num_envs": 16, "eval_interval": 5_000},
        "algo": {"learning_starts": 2_000, "train_every": 2, "gamma": 0.95, "tau": 0.01},
    },
    ("iddpg", "coordination_v0"): {
        "run": {"total_steps": 20_000, "num_envs": 16, "eval_interval": 10_000},
        "algo": {"learning_starts": 2_000, "gradient_steps": 4, "noise_anneal_steps": 10_000, "gamma": 0.9, "tau": 0.01, "agent_id": False},
    },
}


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a dataclass (the string literal under each field), its bases'
    included (a config that takes shared options from a base dataclass documents them there)."""
    docs = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body
        for node, following in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
                    docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def fields(cls: type) -> list[dataclasses.Field]:
    return list(dataclasses.fields(cls))
