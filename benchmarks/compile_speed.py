"""What ``--compile on`` (torch.compile of PPO's networks and minibatch loss) costs and gains.

    python benchmarks/compile_speed.py [--quick] [--presets mappo:cooperative_navigation_v0 ...] [--rounds 2]

Each preset is trained with ``--compile off`` and ``--compile on``, alternated over ``--rounds``
rounds, on this machine's device (CUDA when present, else CPU with ``--threads``), greedy
evaluations at every tenth of the budget (100 episodes, left out of the timings). Per run:

* steady env-steps/s: the env steps of the run's second half over its training time (after the
  compilation, which happens in the first update);
* compilation: the run's training time minus what its env steps take at the steady rate, less the
  same warm-up for the eager run of that round (what compiling adds);
* the final greedy return (the two runs' returns differ only by rounding: see tests/test_compile.py).

The medians over rounds are printed and written to ``benchmarks/results/compile_<device>.md``;
``RunConfig.compile``'s ``auto`` follows these figures. ``--quick`` (tiny budgets, writing only
where ``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, threads_option, use_threads  # noqa: E402

from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig, resolve_device  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

DEFAULT_PRESETS = ("mappo:cooperative_navigation_v0", "ippo:cooperative_navigation_v0")


def timed_run(algo: str, env: str, compile_mode: str, total: int, logs: str, quick: bool) -> dict:
    preset = PRESETS[(algo, env)]
    run = RunConfig(
        **{
            **preset["run"],
            "total_steps": total,
            "eval_interval": max(1, total // 10),
            "eval_episodes": 10 if quick else 100,
            "compile": compile_mode,
            "threads": 0,
            "log_dir": logs,
            "progress": False,
            "tensorboard": False,
            "checkpoint_buffer": False,
        }
    )
    result = train(algo, env, run, ALGORITHMS[algo].config_class(**preset["algo"]), preset.get("env", {}), quiet=True)
    points = [(steps, seconds) for steps, seconds, _ in result.training_curve()]
    (mid_steps, mid_s), (end_steps, end_s) = points[len(points) // 2 - 1] if len(points) > 1 else (0, 0.0), points[-1]
    steady = (end_steps - mid_steps) / max(end_s - mid_s, 1e-9)
    return {"steady": steady, "warm_up": end_s - end_steps / steady, "train_seconds": end_s, "return": result.final["return"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: checks that the script runs")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=list(DEFAULT_PRESETS),
        help="algo:env pairs of marl_baselines.config.PRESETS (compilable algorithms)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (default: the preset's)")
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    threads = use_threads(args.threads)
    if args.quick:
        args.presets, args.rounds = args.presets[:1], 1
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    rows = []
    with tempfile.TemporaryDirectory() as logs:
        for name in args.presets:
            algo, env = name.split(":")
            total = 8_192 if args.quick else (args.steps or PRESETS[(algo, env)]["run"]["total_steps"])
            runs = {"off": [], "on": []}
            for _ in range(args.rounds):
                for mode in runs:
                    runs[mode].append(timed_run(algo, env, mode, total, logs, args.quick))
            compile_seconds = [on["warm_up"] - off["warm_up"] for on, off in zip(runs["on"], runs["off"])]
            eager = statistics.median(r["steady"] for r in runs["off"])
            for mode, results in runs.items():
                steady = statistics.median(r["steady"] for r in results)
                rows.append(
                    (
                        f"{algo} / {env}",
                        f"--compile {mode}",
                        f"{total:,}",
                        f"{steady:,.0f}",
                        f"{steady / eager:.2f}x",
                        f"{statistics.median(compile_seconds):.1f}" if mode == "on" else "",
                        f"{statistics.median(r['train_seconds'] for r in results):.1f}",
                        ", ".join(f"{r['return']:.2f}" for r in results),
                    )
                )
    header = (
        "preset",
        "mode",
        "env steps",
        "steady env-steps/s",
        "vs eager",
        "compilation (s)",
        "training time (s)",
        "final greedy return (per round)",
    )
    device = resolve_device("auto").type  # where marl-train trains by default
    context = f"{machine()}; command: {command()}. Medians over {args.rounds} alternated round(s); {threads} torch thread(s) on CPU; evaluations left out of every time."
    publish("torch.compile of the PPO update", context, markdown_table(header, rows), out / f"compile_{device}.md" if out else None)


if __name__ == "__main__":
    main()
