"""Where a training run's time goes: env step, acting, storage, update, evaluation, the loop's own Python.

    python benchmarks/profile_training.py [--quick] [--presets mappo:cooperative_navigation_v0 qmix:goal_grid_v0] [--steps 30000] [--threads 1]

Each preset (``marl_baselines.config.PRESETS``, with ``--steps`` env steps, one greedy evaluation
of 100 episodes at the end) is trained after a one-step warm-up (first-call costs), with timers
around the calls the loop of ``marl_baselines/train.py`` makes (on the CPU every call is
synchronous, so a call's wall time is its cost; a profiler's per-call cost would distort the
Python-heavy parts this is meant to show):

- env step: ``VecEnv.step`` (the batched env's step, auto-reset and action checks included);
- act: ``algo.act`` (the acting forward pass and sampling);
- storage: ``algo.observe`` minus the update (values of the next observation, buffer writes);
- update: the gradient steps (``PPO.train``, ``train_step`` of the off-policy algorithms);
- evaluation and logging: the final greedy evaluation (its own acting and stepping included), the CSV rows;
- the rest: building the env and the algorithm, the checkpoint, and the loop's bookkeeping per step.

A second table lists, per preset, the torch operators that take the most CPU time (``--ops`` of
them, by self time, ``torch.profiler`` over a third run of the same budget; the profiler's cost per
operator inflates the total, so shares are of the profiled run).

Printed and written to ``benchmarks/results/profile_training_cpu.md``; ``--quick`` (tiny budgets,
writing only where ``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, threads_option, use_threads  # noqa: E402

import marl_baselines.train as training  # noqa: E402
from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.vec import NativeVecEnv  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

DEFAULT_PRESETS = ("mappo:cooperative_navigation_v0", "qmix:goal_grid_v0")
NAMED = ("env step", "act", "storage", "update", "evaluation", "logging")


@contextmanager
def timers():
    """Time the loop's calls while inside; yields the seconds per phase (see the module doc)."""
    seconds: dict[str, float] = defaultdict(float)
    patched = []
    inside_evaluation = False

    def wrap(owner, name: str, phase: str, marks_evaluation: bool = False) -> None:
        original = owner.__dict__[name]

        def timed(*args, **kwargs):
            nonlocal inside_evaluation
            if inside_evaluation:  # the evaluation's own acting and stepping count as evaluation
                return original(*args, **kwargs)
            inside_evaluation = marks_evaluation
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[phase] += time.perf_counter() - start
                inside_evaluation = False

        setattr(owner, name, timed)
        patched.append((owner, name, original))

    build = training.__dict__["build"]

    def build_and_time(*args, **kwargs):  # the algorithm's class is known once train() has built it
        algo, env, eval_env = build(*args, **kwargs)
        owner = type(algo)
        wrap(owner, "act", "act")
        wrap(owner, "observe", "observe")
        wrap(owner, "train" if "train" in owner.__dict__ else "train_step", "update")
        return algo, env, eval_env

    training.build = build_and_time
    patched.append((training, "build", build))
    wrap(NativeVecEnv, "step", "env step")
    wrap(training, "evaluate", "evaluation", marks_evaluation=True)
    wrap(training._Logger, "log", "logging")
    try:
        yield seconds
    finally:
        for owner, name, original in reversed(patched):  # last patched first: a double wrap unwinds to the original
            setattr(owner, name, original)


def profile(algo: str, env: str, steps: int, logs: str, ops: int) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Phase rows and operator rows for one preset."""
    preset = PRESETS[(algo, env)]
    config = ALGORITHMS[algo].config_class(**preset["algo"])
    settings = {
        **preset["run"],
        "total_steps": steps,
        "eval_interval": 0,
        "eval_episodes": 100,
        "log_dir": logs,
        "progress": False,
        "tensorboard": False,
        "threads": 0,
    }
    warm_up = {**settings, "total_steps": settings["num_envs"], "eval_episodes": 4}
    training.train(algo, env, RunConfig(**warm_up), config, preset.get("env", {}))
    with timers() as seconds:
        start = time.perf_counter()
        training.train(algo, env, RunConfig(**settings), config, preset.get("env", {}))
        whole = time.perf_counter() - start
    seconds["storage"] = seconds["observe"] - seconds["update"]
    seconds["the rest"] = whole - sum(seconds[p] for p in NAMED)
    rows = [
        (f"{algo} / {env}", phase, f"{seconds[phase]:.3f}", f"{seconds[phase] / whole:.0%}", f"{seconds[phase] / steps * 1e6:.1f}")
        for phase in (*NAMED, "the rest")
    ]
    rows.append(
        (f"{algo} / {env}", f"**whole run** ({steps / whole:,.0f} env steps/s)", f"{whole:.3f}", "100%", f"{whole / steps * 1e6:.1f}")
    )
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        training.train(algo, env, RunConfig(**settings), config, preset.get("env", {}))
    events = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    op_rows = [
        (f"{algo} / {env}", e.key, f"{e.self_cpu_time_total / total:.0%}", f"{e.count:,}", f"{e.self_cpu_time_total / max(e.count, 1):.1f}")
        for e in events[:ops]
    ]
    return rows, op_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: checks that the script runs")
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS), help="algo:env pairs of marl_baselines.config.PRESETS")
    parser.add_argument("--steps", type=int, default=30_000, help="env steps per run (default %(default)s)")
    parser.add_argument("--ops", type=int, default=10, help="operators listed per preset (default %(default)s)")
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    threads = use_threads(args.threads)
    pairs = []
    for item in args.presets:
        algo, _, env = item.partition(":")
        if (algo, env) not in PRESETS:
            raise SystemExit(f"--presets: no preset {item!r}; presets are {', '.join(f'{a}:{e}' for a, e in PRESETS)}")
        pairs.append((algo, env))
    steps = 8_192 if args.quick else args.steps  # quick: two rollouts of the 256-env PPO preset, so its update runs
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    logs = tempfile.mkdtemp(prefix="profile_training-")

    rows, op_rows = [], []
    for algo, env in pairs:
        phases, operators = profile(algo, env, steps, logs, args.ops)
        rows += phases
        op_rows += operators
    context = (
        f"{machine()}; command: {command()}. Each preset (marl_baselines.config.PRESETS) trained for {steps:,} env steps "
        f"with {threads} torch thread(s), one greedy evaluation of 100 episodes at the end; phases timed around the "
        "training loop's calls (see the script's docstring); per env step: microseconds per sub-env step of training."
    )
    table = (
        markdown_table(("preset", "phase", "seconds", "share", "µs per env step"), rows)
        + f"\n\n## The {args.ops} torch operators with the most CPU time (torch.profiler, self time)\n\n"
        + markdown_table(("preset", "operator", "share of operator time", "calls", "µs per call"), op_rows)
    )
    publish("Where training time goes (CPU)", context, table, out / "profile_training_cpu.md" if out else None)


if __name__ == "__main__":
    main()
