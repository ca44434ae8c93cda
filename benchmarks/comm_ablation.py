"""Communication ablations: what TarMAC and the GNN agent's messages are worth, where they are needed and where not.

    python benchmarks/comm_ablation.py [--quick] [--seeds 5] [--workers 2] [--out DIR]

MAPPO throughout (decentralised actors, centralised critic on the state; for TarMAC that is the
paper's actor-critic). Every run is one process on one torch thread; ``--workers`` run at once.

1. **Communication necessary**: ``speaker_listener_v0`` and ``reference_v0`` (mpe2's
   ``simple_speaker_listener`` and ``simple_reference``), where an agent's goal is known only to
   another agent. Four ways to train, each on ``--seeds`` seeds:

   (a) *env channel*: MLP agents, the env's own channel on (the ``say`` action is heard): MPE's
       classic setting, where a message is an action learned by reinforcement;
   (b) *learned messages*: TarMAC / the GNN with the env's channel silenced
       (``silence_channel=True``), against the same network with ``--no-comm`` (same seed: same
       envs and initial weights), so messages are differentiable and trained end to end;
   (c) *neither*: MLP agents with the channel silenced: the no-communication floor;

   and random play.
2. **Communication helpful at most**: ``target_grid_v0`` with a 3x3 window, recurrent TarMAC and
   GNN against ``--no-comm`` (kept from the first version of this benchmark, for reference).
3. **Transfer**: the GNN trained with 3 agents on ``cooperative_navigation_v0`` (mpe2's nearest-
   neighbour observations), its weights run unchanged with 6, against random play.

Greedy evaluations of ``EVAL_EPISODES`` episodes along training (whether communication pays
depends on the budget, so the whole curve is reported); returns are summed over agents and steps;
tables give the mean over seeds with a 95% confidence interval (t-distribution, as
``returns_table.py``) and every seed's value. A comparison row pairs runs of the same seed and
gives the mean difference with its CI, how many seeds are ahead, the seed spread (the larger
standard deviation over seeds of the two settings) and the gap in units of three spreads (above 1:
the gap is larger than 3 x the spread). Learning curves are plotted per task. Printed and written
to ``benchmarks/results/comm_ablation.md`` (and ``comm_ablation_<env>.png``); ``--quick`` (2
seeds, tiny budgets, writing only where ``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, save_plot  # noqa: E402
from returns_table import summary  # noqa: E402

from marl_baselines.agents import transfer_agent_network  # noqa: E402
from marl_baselines.algos.ppo import PPO, PPOConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.evaluate import RandomPolicy, evaluate  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_baselines.vec import make_vec_env  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

EVAL_EPISODES = 200
QUICK = {"total_steps": 1_024, "eval_episodes": 16}

# Experiment 1: both tasks with mpe2's defaults and MAPPO's speaker_listener_v0 preset: networks 128
# wide, Adam at 2e-3 (at 5e-4 and 64 wide, TarMAC had not started to use its messages after 400k steps).
NECESSARY = ("speaker_listener_v0", "reference_v0")
NECESSARY_AGENT = PRESETS[("mappo", "speaker_listener_v0")]["algo"]
NECESSARY_RUN = PRESETS[("mappo", "speaker_listener_v0")]["run"]
SILENCED = {"silence_channel": True}
# Experiment 2: the note's 8x8 grid, 20-step episodes, a 3x3 window; GRU agents without an agent id
# (with ids, agents without communication can split the grid by convention; the GNN never takes one).
TARGET_GRID = {"view_radius": 1, "max_cycles": 20}
GRID_AGENT = {"recurrent": True, "agent_id": False}
GRID_RUN = {"total_steps": 60_000, "num_envs": 16, "eval_interval": 10_000}
# Experiment 3
NAVIGATION = {"continuous_actions": False, "num_agent_neighbors": 2, "num_landmark_neighbors": 3}
NAVIGATION_AGENT = {"agent": "gnn"}
NAVIGATION_RUN = {"total_steps": 40_000, "num_envs": 16, "eval_interval": 0}


@dataclass(frozen=True)
class Job:
    """One training run (``kind="train"``), or a GNN trained on 3 agents and evaluated on 3 and 6 (``"transfer"``)."""

    env: str
    label: str
    seed: int
    agent: dict = field(default_factory=dict)
    env_kwargs: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    kind: str = "train"


def run_job(job: Job, logs: str, quick: bool) -> dict:
    """Train (in a worker process, one torch thread); the greedy returns along training and the final record."""
    start = time.perf_counter()
    settings = {
        **job.run,
        "threads": 1,
        "seed": job.seed,
        "eval_episodes": EVAL_EPISODES,
        "log_dir": logs,
        "progress": False,
        "tensorboard": False,
        "checkpoint_buffer": False,
    }
    if quick:
        settings.update(QUICK, eval_interval=512 if job.run.get("eval_interval") else 0)
    config = PPOConfig(**job.agent)
    result = train("mappo", job.env, RunConfig(**settings), config, job.env_kwargs)
    record = {
        "budgets": [e["env_steps"] for e in result.evaluations],
        "returns": [e["return"] for e in result.evaluations],
        "final": result.final,
        "seconds": time.perf_counter() - start,
    }
    if job.kind == "transfer":
        trained = PPO(make_vec_env(job.env, settings["num_envs"], **job.env_kwargs), config, "state", job.seed)
        trained.load_state_dict(torch.load(result.run_dir / "checkpoint.pt", weights_only=False)["algo"])
        episodes = settings["eval_episodes"]
        for n in (3, 6):
            eval_env = make_vec_env(job.env, episodes, **{**job.env_kwargs, "N": n})
            policy = PPO(eval_env, config, "state", job.seed)
            transfer_agent_network(trained, policy)
            record[f"gnn on {n}"] = evaluate(policy, eval_env, seed=job.seed + 1_000_003)["return"]
            record[f"random on {n}"] = evaluate(RandomPolicy(eval_env, job.seed), eval_env, seed=job.seed + 1_000_003)["return"]
    return record


def jobs_for(seeds: int) -> list[Job]:
    """Every run of the three experiments, the longest kinds first (so that workers finish together)."""
    jobs = []
    for seed in range(seeds):
        for env in NECESSARY:
            for agent in ("tarmac", "gnn"):
                for comm in (True, False):
                    label = f"{agent}, env channel silenced" + ("" if comm else ", --no-comm")
                    jobs.append(Job(env, label, seed, {**NECESSARY_AGENT, "agent": agent, "comm": comm}, SILENCED, NECESSARY_RUN))
        for agent in ("tarmac", "gnn"):
            for comm in (True, False):
                label = agent + ("" if comm else ", --no-comm")
                jobs.append(Job("target_grid_v0", label, seed, {**GRID_AGENT, "agent": agent, "comm": comm}, TARGET_GRID, GRID_RUN))
        for env in NECESSARY:
            jobs.append(Job(env, "(a) mlp, env channel", seed, NECESSARY_AGENT, {}, NECESSARY_RUN))
            jobs.append(Job(env, "(c) mlp, env channel silenced", seed, NECESSARY_AGENT, SILENCED, NECESSARY_RUN))
        jobs.append(
            Job("cooperative_navigation_v0", "gnn transfer", seed, NAVIGATION_AGENT, {"N": 3, **NAVIGATION}, NAVIGATION_RUN, "transfer")
        )
    return jobs


def mean_ci(values: list[float]) -> str:
    mean, half, _ = summary(values)
    return f"{mean:.2f} ± {half:.2f}"


def seeds_cell(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def comparison(name: str, comm: list[list[float]], silent: list[list[float]]) -> tuple[str, ...]:
    """The paired comparison row: at each budget the mean difference with its CI; at the last, the details."""
    differences = [[a[i] - b[i] for a, b in zip(comm, silent)] for i in range(len(comm[0]))]
    last = differences[-1]
    spread = max(statistics.stdev([run[-1] for run in comm]), statistics.stdev([run[-1] for run in silent]))
    gap = statistics.fmean(last)
    return (
        f"**{name}: comm - no-comm (same seed)**",
        *(mean_ci(d) for d in differences),
        seeds_cell(last),
        f"{sum(d > 0 for d in last)} of {len(last)} seeds ahead; spread (larger SD) {spread:.2f}; gap / (3 x spread) {gap / (3 * spread):.1f}",
    )


def task_table(
    env: str, records: dict[str, list[dict]], random: list[float], order: list[str], pairs: list[tuple[str, str, str]], out: Path | None
) -> str:
    """One task: a row per setting (mean ± CI at each evaluation, per seed at the last), comparisons, random play."""
    budgets = records[order[0]][0]["budgets"]
    curves = {label: [r["returns"] for r in records[label]] for label in order}
    rows = []
    for label in order:
        at = [[run[i] for run in curves[label]] for i in range(len(budgets))]
        seconds = statistics.fmean(r["seconds"] for r in records[label])
        rows.append((label, *(mean_ci(values) for values in at), seeds_cell(at[-1]), f"{seconds:.0f} s per run"))
    for name, with_comm, without in pairs:
        rows.append(comparison(name, curves[with_comm], curves[without]))
    rows.append(("random policy", *([mean_ci(random)] * len(budgets)), seeds_cell(random), ""))
    header = ("setting", *(f"return at {b:,} steps" for b in budgets), "per seed (last)", "")
    if out is not None:
        series = [(label, budgets, [statistics.fmean(run[i] for run in curves[label]) for i in range(len(budgets))]) for label in order]
        series.append(("random policy", budgets, [statistics.fmean(random)] * len(budgets)))
        save_plot(
            out / f"comm_ablation_{env}.png", series, title=f"{env}: greedy return (mean over seeds)", xlabel="env steps", ylabel="return"
        )
    return markdown_table(header, rows)


def random_returns(env: str, seeds: int, episodes: int, env_kwargs: dict) -> list[float]:
    eval_env = make_vec_env(env, episodes, **env_kwargs)
    return [evaluate(RandomPolicy(eval_env, seed), eval_env, seed=seed + 1_000_003)["return"] for seed in range(seeds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, tiny budgets: checks that the script runs")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="runs at once, one process and one torch thread each (default %(default)s)")
    out_option(parser)
    args = parser.parse_args()
    if args.seeds < 2 or args.workers < 1:
        raise SystemExit(f"--seeds must be >= 2 (confidence intervals) and --workers >= 1, got {args.seeds} and {args.workers}")
    seeds = 2 if args.quick else args.seeds
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    logs = tempfile.mkdtemp(prefix="comm_ablation-")
    torch.set_num_threads(1)
    context = machine()  # the load average before the runs start

    jobs = jobs_for(seeds)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [(job, pool.submit(run_job, job, logs, args.quick)) for job in jobs]
        results: dict[tuple[str, str], list[dict]] = {}
        for job, future in futures:  # in submission order: each setting's list is in seed order
            results.setdefault((job.env, job.label), []).append(future.result())
    wall = time.perf_counter() - start
    episodes = QUICK["eval_episodes"] if args.quick else EVAL_EPISODES

    sections = []
    for env in NECESSARY:
        order = [
            "(a) mlp, env channel",
            "tarmac, env channel silenced",
            "tarmac, env channel silenced, --no-comm",
            "gnn, env channel silenced",
            "gnn, env channel silenced, --no-comm",
            "(c) mlp, env channel silenced",
        ]
        records = {label: results[(env, label)] for label in order}
        pairs = [(agent, f"{agent}, env channel silenced", f"{agent}, env channel silenced, --no-comm") for agent in ("tarmac", "gnn")]
        table = task_table(env, records, random_returns(env, seeds, episodes, {}), order, pairs, out)
        sections.append(f"## {env}: TarMAC and GNN messages against --no-comm, the env's channel, and neither\n\n{table}")
    order = ["tarmac", "tarmac, --no-comm", "gnn", "gnn, --no-comm"]
    records = {label: results[("target_grid_v0", label)] for label in order}
    table = task_table(
        "target_grid_v0",
        records,
        random_returns("target_grid_v0", seeds, episodes, TARGET_GRID),
        order,
        [("tarmac", "tarmac", "tarmac, --no-comm"), ("gnn", "gnn", "gnn, --no-comm")],
        out,
    )
    sections.append(f"## target_grid_v0: TarMAC and GNN against --no-comm (for reference: communication is not necessary here)\n\n{table}")

    transfer = results[("cooperative_navigation_v0", "gnn transfer")]
    figures = {key: [r[key] for r in transfer] for key in ("gnn on 6", "random on 6", "gnn on 3", "random on 3")}
    rows = [
        (
            "gnn trained on 3, evaluated on 6",
            mean_ci(figures["gnn on 6"]),
            seeds_cell(figures["gnn on 6"]),
            f"{statistics.fmean(r['seconds'] for r in transfer):.0f} s (training)",
        ),
        ("random policy on 6", mean_ci(figures["random on 6"]), seeds_cell(figures["random on 6"]), ""),
        ("gnn trained on 3, evaluated on 3", mean_ci(figures["gnn on 3"]), seeds_cell(figures["gnn on 3"]), ""),
        ("random policy on 3", mean_ci(figures["random on 3"]), seeds_cell(figures["random on 3"]), ""),
    ]
    sections.append(
        "## GNN trained on 3 agents, evaluated on 6 (cooperative_navigation_v0)\n\n"
        + markdown_table(("policy", f"greedy return, mean ± 95% CI over {seeds} seeds", "per seed", "time"), rows)
    )

    steps = {
        name: QUICK["total_steps"] if args.quick else run["total_steps"]
        for name, run in (("necessary", NECESSARY_RUN), ("grid", GRID_RUN), ("navigation", NAVIGATION_RUN))
    }
    context += (
        f"; command: {command()}. {len(jobs)} runs, {args.workers} at a time (one process and one torch thread each), "
        f"{wall / 60:.0f} min in all. MAPPO, PPOConfig defaults otherwise. {', '.join(NECESSARY)}: mpe2's defaults, "
        f"networks {NECESSARY_AGENT}, {steps['necessary']:,} env steps per run; silenced: {SILENCED}. target_grid_v0 "
        f"{TARGET_GRID} with {GRID_AGENT}, {steps['grid']:,} env steps per run. cooperative_navigation_v0 {NAVIGATION} "
        f"(N=3 in training), {steps['navigation']:,} env steps per run. Greedy evaluations of {episodes} episodes; returns "
        f"summed over agents and steps; mean ± 95% CI (t) over seeds 0..{seeds - 1}; a comparison pairs runs of the same "
        "seed (same envs and initial weights: the message scales start at 0, so both start as the same network)."
    )
    publish("Communication ablations", context, "\n\n".join(sections), out / "comm_ablation.md" if out else None)


if __name__ == "__main__":
    main()
