"""Training speed against torch's thread count, on an idle CPU and beside a competing process.

    python benchmarks/threads.py [--quick] [--threads 1 2] [--rounds 2] [--steps 20000] [--presets mappo:cooperative_navigation_v0 ...]

Why ``marl-train`` defaults to one thread (``--threads``). Each preset's run (``marl_baselines.config.PRESETS``,
``--steps`` env steps, no evaluation but the final one, whose time is left out) is repeated for every
thread count, alternating them (1, 2, 1, 2, ... for ``--rounds`` rounds) so that a drift of the machine's
speed touches every count alike. This is done twice: on the machine as it is ("idle" when nothing else
runs: the load average is recorded), then beside a competing process that keeps one core busy (a
Python busy loop, started by this script and stopped after), the situation of a CI runner or a
workstation doing something else. The final greedy return is printed too: another thread count
sums floats in another order, and training amplifies the difference, so returns differ a little
(as they would on another CPU) but not systematically.

Printed and written to ``benchmarks/results/threads_cpu.md``; ``--quick`` checks that the script runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish  # noqa: E402

from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

DEFAULT_PRESETS = ("mappo:cooperative_navigation_v0", "qmix:goal_grid_v0", "maddpg:goal_grid_v0")


def rate(algo: str, env: str, threads: int, steps: int, logs: str) -> tuple[float, float]:
    """Training env-steps/s (the final evaluation left out) and the final greedy return of one preset run."""
    preset = PRESETS[(algo, env)]
    run = RunConfig(
        **{
            **preset["run"],
            "total_steps": steps,
            "threads": threads,
            "eval_interval": 0,
            "eval_episodes": 16,
            "log_dir": logs,
            "progress": False,
            "tensorboard": False,
            "checkpoint_buffer": False,
            "device": "cpu",
        }
    )
    result = train(algo, env, run, ALGORITHMS[algo].config_class(**preset["algo"]), preset.get("env", {}))
    return result.env_steps / result.training_seconds, result.final["return"]


def measure(presets: list[tuple[str, str]], counts: list[int], rounds: int, steps: int, logs: str, condition: str) -> list[tuple]:
    rates: dict[tuple[str, str, int], list[float]] = {}
    returns: dict[tuple[str, str, int], float] = {}
    load = os.getloadavg()[0]
    for _ in range(rounds):
        for algo, env in presets:
            for threads in counts:
                speed, final = rate(algo, env, threads, steps, logs)
                rates.setdefault((algo, env, threads), []).append(speed)
                returns[(algo, env, threads)] = final
                print(f"{condition}: {algo} {env} {threads} thread(s): {speed:,.0f} env-steps/s", flush=True)
    rows = []
    for algo, env in presets:
        base = statistics.fmean(rates[(algo, env, counts[0])])
        for threads in counts:
            values = rates[(algo, env, threads)]
            mean = statistics.fmean(values)
            rows.append(
                (
                    f"{algo} / {env}",
                    f"{condition} (load {load:.1f})",
                    str(threads),
                    ", ".join(f"{v:,.0f}" for v in values),
                    f"{mean:,.0f}",
                    f"{mean / base:.2f}x",
                    f"{returns[(algo, env, threads)]:.2f}",
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one preset, one round, tiny budget: checks that the script runs")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to alternate (the first is the reference)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per run")
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS), help="ALGO:ENV pairs with a preset")
    out_option(parser)
    args = parser.parse_args()
    if args.quick:
        args.presets, args.rounds, args.steps = args.presets[:1], 1, 512
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    presets = [tuple(pair.split(":", 1)) for pair in args.presets]
    for pair in presets:
        if pair not in PRESETS:
            raise SystemExit(f"no preset for {':'.join(pair)}; presets: {', '.join(a + ':' + e for a, e in PRESETS)}")
    logs = tempfile.mkdtemp(prefix="threads-")

    header_context = machine()
    rows = measure(presets, args.threads, args.rounds, args.steps, logs, "as found")
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        rows += measure(presets, args.threads, args.rounds, args.steps, logs, "beside a busy process")
    finally:
        competitor.kill()
        competitor.wait()

    header = ("preset", "machine", "threads", "env-steps/s per run (alternated)", "mean", "vs first count", "final greedy return")
    context = (
        f"{header_context}; command: {command()}. Each run: the preset, {args.steps:,} env steps, no evaluation "
        f'but the final one (16 episodes, left out of the rate). "beside a busy process": one Python busy loop '
        f"(one core) runs throughout."
    )
    publish("Training speed against torch threads", context, markdown_table(header, rows), out / "threads_cpu.md" if out else None)


if __name__ == "__main__":
    main()
