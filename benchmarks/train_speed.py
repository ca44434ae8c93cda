"""Training speed: env-steps/s and time to a target, native batched source vs PettingZoo source.

    python benchmarks/train_speed.py [--quick] [--algos qmix mappo ...]

Figures from one process on this machine:

* QMIX on ``goal_grid_v0``: training env-steps/s (acting, env steps, replay, gradient steps, all
  included) with the same settings and number of envs (16, 64, 256), once with the env's batched
  implementation (``--source native``) and once with that many copies of its PettingZoo env
  (``--source pettingzoo``).
* Every algorithm on its preset env (``TARGETS``): the preset run from scratch through each
  source, its training env-steps/s (the time spent evaluating left out), and the wall time
  (evaluations included) until the greedy policy first reaches the target (evaluated every tenth
  of the budget, 100 episodes, through the same source).

Printed and written to ``benchmarks/results/train_speed_<device>.md``; ``--quick`` (tiny budgets,
writing only where ``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, threads_option, use_threads  # noqa: E402

from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.algos.value_decomp import ValueDecompConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

# algorithm -> (its preset env, env arguments, the evaluation metric, the target); random play's level in comments
TARGETS = {
    "qmix": ("goal_grid_v0", {}, "success", 0.95),  # random: 0
    "maddpg": ("goal_grid_v0", {}, "success", 0.95),
    "iql": ("target_grid_v0", {"max_cycles": 20}, "info/targets_collected", 2.2),  # random: 1.1 of 3 targets
    "vdn": ("target_grid_v0", {"max_cycles": 20}, "info/targets_collected", 2.2),
    "mappo": ("cooperative_navigation_v0", {}, "return", -65.0),  # random: -76.5
    "ippo": ("cooperative_navigation_v0", {}, "return", -65.0),
    "matd3": ("cooperative_navigation_v0", {}, "return", -65.0),
}


def native_vs_pettingzoo(args, logs: str) -> list[tuple]:
    preset = PRESETS[("qmix", "goal_grid_v0")]
    steps = 256 if args.quick else 16_384
    quiet = {
        "threads": 0,
        "log_dir": logs,
        "progress": False,
        "tensorboard": False,
        "eval_interval": 0,
        "eval_episodes": 1,
        "checkpoint_buffer": False,
    }
    rows = []
    for num_envs in (16, 64) if args.quick else (16, 64, 256):
        rates = {}
        for source in ("native", "pettingzoo"):
            run = RunConfig(**{**preset["run"], **quiet, "total_steps": max(steps, 4 * num_envs), "num_envs": num_envs, "source": source})
            result = train("qmix", "goal_grid_v0", run, ValueDecompConfig(**{**preset["algo"], "learning_starts": 0}))
            rates[source] = result.env_steps / result.seconds
        rows.append(
            (
                "qmix / goal_grid_v0",
                str(num_envs),
                f"{rates['native']:,.0f}",
                f"{rates['pettingzoo']:,.0f}",
                f"{rates['native'] / rates['pettingzoo']:.1f}x",
            )
        )
    return rows


def time_to_target(algo: str, args, logs: str) -> tuple:
    env, env_kwargs, metric, target = TARGETS[algo]
    preset = PRESETS[(algo, env)]
    total = 256 if args.quick else preset["run"]["total_steps"]
    cells = [f"{algo} / {env}", f"{metric} >= {target:g}", f"{total:,}"]
    rates, reached = [], []
    for source in ("native", "pettingzoo"):
        run = RunConfig(
            **{
                **preset["run"],
                "total_steps": total,
                "eval_interval": 0 if args.quick else total // 10,
                "eval_episodes": 4 if args.quick else 100,
                "source": source,
                "threads": 0,
                "log_dir": logs,
                "progress": False,
                "tensorboard": False,
                "checkpoint_buffer": False,
            }
        )
        result = train(algo, env, run, ALGORITHMS[algo].config_class(**preset["algo"]), {**env_kwargs, **preset.get("env", {})})
        rates.append(result.env_steps / result.training_seconds)
        hit = next((e for e in result.evaluations if e[metric] >= target), None)
        reached.append(f"{hit['seconds']:.1f} s ({hit['env_steps']:,})" if hit else f"not reached ({result.final[metric]:.2f})")
    return (*cells, f"{rates[0]:,.0f}", f"{rates[1]:,.0f}", f"{rates[0] / rates[1]:.1f}x", *reached)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check that the script runs")
    parser.add_argument("--algos", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    use_threads(args.threads)
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    logs = tempfile.mkdtemp(prefix="train_speed-")
    algos = args.algos[:2] if args.quick else args.algos

    speed = markdown_table(
        ("algorithm / env", "envs", "native env-steps/s", "PettingZoo env-steps/s", "native / PettingZoo"), native_vs_pettingzoo(args, logs)
    )
    header = (
        "algorithm / env",
        "target (greedy)",
        "budget",
        "native env-steps/s",
        "PettingZoo env-steps/s",
        "ratio",
        "native: time to target (env steps)",
        "PettingZoo: time to target",
    )
    targets = markdown_table(header, [time_to_target(algo, args, logs) for algo in algos])
    context = (
        f"{machine()}; command: {command()}. First table: QMIX with its goal_grid_v0 preset, a gradient step every "
        f"{PRESETS[('qmix', 'goal_grid_v0')]['algo']['train_every']} vectorised steps from the first step, so more envs mean more env steps "
        "per gradient step. Second table: each algorithm's preset (marl_baselines/config.py) from scratch through each source; "
        "env-steps/s leave the evaluations out, times to target include them (every tenth of the budget, 100 episodes, through the same source)."
    )
    name = "train_speed_cuda.md" if torch.cuda.is_available() else "train_speed_cpu.md"
    publish("Training speed", context, speed + "\n\n" + targets, out / name if out else None)


if __name__ == "__main__":
    main()
