"""Returns table: final greedy return of each algorithm on cooperative_navigation_v0, over seeds.

    python benchmarks/returns_table.py [--quick] [--seeds 5] [--steps 60000]

Each algorithm trains with its preset for the env where it has one (else its defaults, with the
step budget below), on ``cooperative_navigation_v0`` with discrete actions (mpe2
simple_spread_v3's dynamics and rewards, 25-step episodes). The return of an episode is summed
over the 3 agents and the 25 steps (EPyMARL's convention for MPE). Per seed, the final greedy
evaluation averages 100 episodes; the table gives the mean over seeds with a 95% confidence
interval (t-distribution) and the interquartile mean, next to a uniformly random policy.
Printed and written to ``benchmarks/results/returns_table.md``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.train import RandomPolicy, evaluate, train  # noqa: E402
from marl_baselines.vec import make_vec_env  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from report import machine, publish  # noqa: E402

ENV = "cooperative_navigation_v0"
ENV_KWARGS = {"continuous_actions": False}
ALGOS = ("mappo", "ippo", "maddpg", "matd3")
# Student t quantiles (two-sided 95%) for n - 1 degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}

def summary(values: list[float]) -> tuple[float, float, float]:
    """Mean, 95% CI half-width, interquartile mean."""
    n = len(values)
    mean = statistics.fmean(values)
    half = T95.get(n - 1, 1.96) * statistics.stdev(values) / math.sqrt(n) if n > 1 else float("nan")
    ordered = sorted(values)
    cut = n // 4
    middle = ordered[cut : n - cut] or ordered
    return mean, half, statistics.fmean(middle)

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, tiny budgets: checks that the script runs")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60_000, help="env steps for algorithms without a preset on this env")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    seeds = 2 if args.quick else args.seeds
    logs = tempfile.mkdtemp(prefix="returns_table-")

    rows = []
    eval_env = make_vec_env(ENV, 100, **ENV_KWARGS)
    random_returns = [evaluate(RandomPolicy(eval_env, seed), eval_env, seed=seed)["return"] for seed in range(seeds)]
    mean, half, iqm = summary(random_returns)
    rows.append(("random policy", f"{mean:.2f} ± {half:.2f}", f"{iqm:.2f}", "", ""))
    for algo in ALGOS:
        preset = PRESETS.get((algo, ENV), {})
        config_class = ALGORITHMS[algo].config_class
        returns, seconds = [], []
        for seed in range(seeds):
            run = {"total_steps": args.steps, "num_envs": 16, **preset.get("run", {})}
            if args.quick:
                run["total_steps"] = 512
            run.update(seed=seed, eval_interval=0, eval_episodes=100, log_dir=logs, progress=False, tensorboard=False, checkpoint_buffer=False)
            start = time.perf_counter()
            result = train(algo, ENV, RunConfig(**run), config_class(**preset.get("algo", {})), {**ENV_KWARGS, **preset.get("env", {})})
            seconds.append(time.perf_counter() - start)
            returns.append(result.final["return"])
        mean, half, iqm = summary(returns)
        budget = f"{run['total_steps']:,}" + (" (preset)" if preset else " (defaults)")
        rows.append((algo, f"{mean:.2f} ± {half:.2f}", f"{iqm:.2f}", budget, f"{statistics.fmean(seconds):.0f} s"))

    header = ("algorithm", f"return, mean ± 95% CI over {seeds} seeds", "IQM", "env steps per run", "time per run")
    context = (
        f"{machine()}; command: python benchmarks/returns_table.py{' --quick' if args.quick else ''}. "
        f"{ENV} (discrete), returns summed over agents and steps, final greedy evaluation of 100 episodes per seed."
    )
    publish(f"Returns on {ENV}", context, markdown_table(header, rows), None if args.quick else args.out / "returns_table.md")

if __name__ == "__main__":
    main()
