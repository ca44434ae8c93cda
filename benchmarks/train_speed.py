"""Training speed: QMIX on goal_grid_v0, native batched source vs PettingZoo source, and time to target.

    python benchmarks/train_speed.py [--quick]

Figures from one process on this machine:
* training env-steps/s (acting, env steps, replay, gradient steps, all included) of QMIX with the
  same settings and number of envs (16, 64, 256), once with the env's batched implementation
  (``--source native``) and once with that many copies of its PettingZoo env (``--source pettingzoo``);
* wall time from scratch to 95% greedy success (100 evaluation episodes) with the tuned preset.

The table is printed and written to ``benchmarks/results/train_speed_<device>.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marl_baselines.algos.value_decomp import ValueDecompConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from report import machine, publish  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check that the script runs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    preset = PRESETS[("qmix", "goal_grid_v0")]
    steps = 1_024 if args.quick else 16_384
    logs = tempfile.mkdtemp(prefix="train_speed-")
    quiet = {"log_dir": logs, "progress": False, "tensorboard": False, "eval_interval": 0, "eval_episodes": 1, "checkpoint_buffer": False}
    rates = {}
    for num_envs in (16, 64, 256):
        for source in ("native", "pettingzoo"):
            run = RunConfig(**{**preset["run"], **quiet, "total_steps": max(steps, 4 * num_envs), "num_envs": num_envs, "source": source})
            result = train("qmix", "goal_grid_v0", run, ValueDecompConfig(**{**preset["algo"], "learning_starts": 0}))
            rates[num_envs, source] = result.env_steps / result.seconds

    run = RunConfig(**{**preset["run"], **quiet, "eval_episodes": 100, "eval_interval": 2_000 if args.quick else 5_000, "total_steps": 4_000 if args.quick else preset["run"]["total_steps"]})
    result = train("qmix", "goal_grid_v0", run, ValueDecompConfig(**preset["algo"]))
    reached = next((e for e in result.evaluations if e["success"] >= 0.95), None)
    to_target = f"{reached['seconds']:.1f} s ({reached['env_steps']:,} env steps)" if reached else f"not reached in {result.env_steps:,} env steps"

    header = ("algorithm / env", "envs", "native env-steps/s", "PettingZoo env-steps/s", "native / PettingZoo")
    rows = [
        ("qmix / goal_grid_v0", str(n), f"{rates[n, 'native']:,.0f}", f"{rates[n, 'pettingzoo']:,.0f}", f"{rates[n, 'native'] / rates[n, 'pettingzoo']:.1f}x")
        for n in (16, 64, 256)
    ]
    context = (
        f"{machine()}; command: python benchmarks/train_speed.py{' --quick' if args.quick else ''}. "
        f"Training rates over {steps:,} env steps with the preset's settings (a gradient step every "
        f"{preset['algo']['train_every']} vectorised steps, from the first step), so more envs mean more env steps per gradient step."
    )
    table = markdown_table(header, rows) + f"\n\nTime from scratch to 95% greedy success (preset, {run.num_envs} envs, evaluated every {run.eval_interval:,} env steps): {to_target}."
    name = "train_speed_cuda.md" if torch.cuda.is_available() else "train_speed_cpu.md"
    publish("Training speed", context, table, None if args.quick else args.out / name)


if __name__ == "__main__":
    main()
