"""Communication ablations: TarMAC and the GNN agent against themselves with --no-comm, and the GNN on more agents.

    python benchmarks/comm_ablation.py [--quick] [--seeds 3] [--threads 1] [--out DIR]

Three experiments, one run per seed each, all with MAPPO (decentralised actors, centralised
critic on the state; for TarMAC that is the paper's actor-critic):

1. ``target_grid_v0`` with a 3x3 window (``view_radius=1``, see ``TARGET_GRID``): recurrent
   TarMAC with and without communication (``comm=False``: its received messages are zero), the
   same network and training budget otherwise;
2. the same with the recurrent graph-attention agent (``comm=False``: no edges but self-loops);
3. ``cooperative_navigation_v0`` with mpe2's nearest-neighbour observations (the nearest 2 agents
   and 3 landmarks, so the observation size does not depend on N): the GNN agent trained with 3
   agents, then its weights unchanged on 6 agents (``transfer_agent_network``), against random play
   on 6 (and on 3).

Greedy evaluations of ``EVAL_EPISODES`` episodes every ``EVAL_INTERVAL`` env steps (whether
communication pays depends on the budget, so the whole curve is reported); tables give the mean
over seeds with a 95% confidence interval (t-distribution, as ``returns_table.py``) and every
seed's value; the comm - no-comm difference is also given per seed (same seed: same envs, same
initial weights). Returns are summed over agents and steps. Printed and written to
``benchmarks/results/comm_ablation.md``; ``--quick`` (2 seeds, tiny budgets, writing only where
``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marl_baselines.algos.ppo import PPO, PPOConfig  # noqa: E402
from marl_baselines.comm import transfer_agent_network  # noqa: E402
from marl_baselines.config import RunConfig  # noqa: E402
from marl_baselines.train import RandomPolicy, evaluate, train  # noqa: E402
from marl_baselines.vec import make_vec_env  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from report import command, machine, publish, threads_option, use_threads  # noqa: E402
from returns_table import summary  # noqa: E402

EVAL_EPISODES = 200
# Experiments 1 and 2: the env (the note's 8x8 grid, 20-step episodes, a 3x3 window), the agents
# (GRU memory; no agent id: with ids, agents without communication can split the grid by convention,
# and the GNN never takes one) and the budget, evaluated every EVAL_INTERVAL env steps.
TARGET_GRID = {"view_radius": 1, "max_cycles": 20}
GRID_AGENT = {"recurrent": True, "agent_id": False}
GRID_RUN = {"total_steps": 60_000, "num_envs": 16}
EVAL_INTERVAL = 10_000
# Experiment 3
NAVIGATION = {"continuous_actions": False, "num_agent_neighbors": 2, "num_landmark_neighbors": 3}
NAVIGATION_AGENT = {"agent": "gnn"}
NAVIGATION_RUN = {"total_steps": 40_000, "num_envs": 16}


def mean_ci(values: list[float]) -> str:
    mean, half, _ = summary(values)
    return f"{mean:.2f} ± {half:.2f}"


def seeds_cell(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def quiet(run: dict, seed: int, logs: str, quick: bool, eval_interval: int = 0) -> RunConfig:
    settings = {**run, "threads": 0, "seed": seed, "eval_episodes": EVAL_EPISODES, "eval_interval": eval_interval, "log_dir": logs, "progress": False, "tensorboard": False, "checkpoint_buffer": False}
    if quick:
        settings.update(total_steps=1_024, eval_episodes=16, eval_interval=512 if eval_interval else 0)
    return RunConfig(**settings)


def ablation(agent: str, seeds: int, logs: str, quick: bool) -> tuple[list[int], list[tuple[str, ...]]]:
    """Experiment 1 or 2: the evaluation budgets, and rows (mean ± CI of the greedy return at each budget)."""
    returns: dict[bool, list[list[float]]] = {}  # comm -> per seed, the return at each evaluation
    targets: dict[bool, list[float]] = {}
    seconds: dict[bool, list[float]] = {}
    for comm in (True, False):
        returns[comm], targets[comm], seconds[comm] = [], [], []
        for seed in range(seeds):
            start = time.perf_counter()
            config = PPOConfig(agent=agent, comm=comm, **GRID_AGENT)
            result = train("mappo", "target_grid_v0", quiet(GRID_RUN, seed, logs, quick, EVAL_INTERVAL), config, TARGET_GRID)
            seconds[comm].append(time.perf_counter() - start)
            returns[comm].append([e["return"] for e in result.evaluations])
            targets[comm].append(result.final["info/targets_collected"])
            budgets = [e["env_steps"] for e in result.evaluations]
    rows = []
    for comm in (True, False):
        label = f"mappo, {agent}" + ("" if comm else " --no-comm")
        at = [[run[i] for run in returns[comm]] for i in range(len(budgets))]
        rows.append((label, *(mean_ci(values) for values in at), seeds_cell(at[-1]), mean_ci(targets[comm]), f"{statistics.fmean(seconds[comm]):.0f} s"))
    differences = [[a[i] - b[i] for a, b in zip(returns[True], returns[False])] for i in range(len(budgets))]
    rows.append((f"{agent}: comm - no-comm (same seed)", *(f"{mean_ci(d)} ({seeds_cell(d)})" for d in differences), seeds_cell(differences[-1]), "", ""))
    return budgets, rows


def transfer(seeds: int, logs: str, quick: bool) -> list[tuple[str, ...]]:
    """Experiment 3: the GNN trained on 3 agents, evaluated on 3 and on 6."""
    figures = {key: [] for key in ("gnn on 3", "gnn on 6", "random on 3", "random on 6")}
    episodes = 16 if quick else EVAL_EPISODES
    seconds = []
    for seed in range(seeds):
        start = time.perf_counter()
        config = PPOConfig(**NAVIGATION_AGENT)
        run = quiet(NAVIGATION_RUN, seed, logs, quick)
        env3 = make_vec_env("cooperative_navigation_v0", run.num_envs, N=3, **NAVIGATION)
        trained = PPO(env3, config, "state", seed)
        result = train("mappo", "cooperative_navigation_v0", run, config, {"N": 3, **NAVIGATION})
        trained.load_state_dict(torch.load(result.run_dir / "checkpoint.pt", weights_only=False)["algo"])
        seconds.append(time.perf_counter() - start)
        for n in (3, 6):
            eval_env = make_vec_env("cooperative_navigation_v0", episodes, N=n, **NAVIGATION)
            policy = PPO(eval_env, config, "state", seed)
            transfer_agent_network(trained, policy)
            figures[f"gnn on {n}"].append(evaluate(policy, eval_env, seed=seed + 1_000_003)["return"])
            figures[f"random on {n}"].append(evaluate(RandomPolicy(eval_env, seed), eval_env, seed=seed + 1_000_003)["return"])
    rows = [
        ("gnn trained on 3, evaluated on 6", mean_ci(figures["gnn on 6"]), seeds_cell(figures["gnn on 6"]), f"{statistics.fmean(seconds):.0f} s (training)"),
        ("random policy on 6", mean_ci(figures["random on 6"]), seeds_cell(figures["random on 6"]), ""),
        ("gnn trained on 3, evaluated on 3", mean_ci(figures["gnn on 3"]), seeds_cell(figures["gnn on 3"]), ""),
        ("random policy on 3", mean_ci(figures["random on 3"]), seeds_cell(figures["random on 3"]), ""),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, tiny budgets: checks that the script runs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/results; --quick writes nothing unless given)")
    threads_option(parser)
    args = parser.parse_args()
    use_threads(args.threads)
    seeds = 2 if args.quick else args.seeds
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    logs = tempfile.mkdtemp(prefix="comm_ablation-")

    grid_rows, budgets = [], []
    for agent in ("tarmac", "gnn"):
        budgets, rows = ablation(agent, seeds, logs, args.quick)
        grid_rows += rows
    eval_env = make_vec_env("target_grid_v0", 16 if args.quick else EVAL_EPISODES, **TARGET_GRID)
    random = [evaluate(RandomPolicy(eval_env, seed), eval_env, seed=seed + 1_000_003) for seed in range(seeds)]
    random_returns = [r["return"] for r in random]
    grid_rows.append(("random policy", *([mean_ci(random_returns)] * len(budgets)), seeds_cell(random_returns), mean_ci([r["info/targets_collected"] for r in random]), ""))
    header = ("agent", *(f"return at {b:,} steps" for b in budgets), "per seed (last)", "targets collected (of 3, last)", "time per run")
    transfer_rows = transfer(seeds, logs, args.quick)

    context = (
        f"{machine()}; command: {command()}. MAPPO (PPOConfig defaults otherwise) on target_grid_v0 {TARGET_GRID} "
        f"with {GRID_AGENT}, {budgets[-1]:,} env steps per run, greedy evaluations every {budgets[0]:,}; on "
        f"cooperative_navigation_v0 {NAVIGATION} (N=3 in training), {1_024 if args.quick else NAVIGATION_RUN['total_steps']:,} "
        f"env steps per run. Greedy evaluations of {16 if args.quick else EVAL_EPISODES} episodes; returns summed over "
        f"agents and steps; mean ± 95% CI (t) over seeds 0..{seeds - 1}; comm - no-comm pairs runs of the same seed "
        "(same envs and initial weights: the message scales start at 0, so both start as the same network)."
    )
    table = (
        "## TarMAC and GNN against --no-comm (target_grid_v0), greedy return along training\n\n"
        + markdown_table(header, grid_rows)
        + "\n\n## GNN trained on 3 agents, evaluated on 6 (cooperative_navigation_v0)\n\n"
        + markdown_table(("policy", f"greedy return, mean ± 95% CI over {seeds} seeds", "per seed", "time"), transfer_rows)
    )
    publish("Communication ablations", context, table, out / "comm_ablation.md" if out else None)


if __name__ == "__main__":
    main()
