"""Returns table: final greedy return of each algorithm on each env, over seeds, next to random play.

    python benchmarks/returns_table.py [--quick] [--seeds 5] [--envs cooperative_navigation_v0 ...] [--algos ...]

For each env, every algorithm with a preset for that env (``marl_baselines.config.PRESETS``)
trains with that preset, one run per seed. The pairs of an env are grouped by their env
arguments (the presets'): each group gets its own random-policy row, with those arguments, and
its own plot. Where the presets of an env differ in its arguments, the env column (and the plot's
name) carries each group's, e.g. ``cooperative_navigation_v0 (continuous_actions=False)`` and
``returns_cooperative_navigation_v0-continuous_actions=False.png``. The return of an episode is
summed over the agents and the steps (EPyMARL's convention for MPE). Per seed, the final greedy evaluation averages 100 episodes; the
table gives the mean over seeds with a 95% confidence interval (t-distribution) and the
interquartile mean (IQM). Learning curves (greedy return at each evaluation, mean over seeds,
with the random policy's level) are plotted per env and group of env arguments. Printed and
written to ``benchmarks/results/returns_table.md`` and ``returns_<env>.png``; ``--quick`` (2
seeds, tiny budgets, writing only where ``--out`` says) checks that the script runs.
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

from report import command, machine, out_option, publish, save_plot, threads_option, use_threads  # noqa: E402

from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.evaluate import RandomPolicy, evaluate  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_baselines.vec import make_vec_env  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

ENVS = ("cooperative_navigation_v0", "target_grid_v0", "goal_grid_v0", "coordination_v0", "matrix_game_v0")
# target_grid_v0's presets are tuned for (and its random level only leaves room to double on) 20-step episodes
ENV_KWARGS = {"target_grid_v0": {"max_cycles": 20}}
# What a reader of the table needs to know about an env's rows
ENV_NOTES = {
    "coordination_v0": "on coordination_v0 every agent observes the whole state, so MAPPO's centralised critic and IPPO's local one read the same input and their runs are the same computation",
    "goal_grid_v0": "goal_grid_v0's default layout is fixed, so every greedy episode is the same (no spread over seeds once solved)",
    "matrix_game_v0": "matrix_game_v0's presets play the penalty game (k=100) in one-step episodes: a return is the 2 players' payoffs, 20 at an optimum, 4 at the safe joint action, -200 on a miscoordination",
}
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


def argument_groups(env: str, pairs: list[tuple[str, dict]]) -> list[tuple[dict, list[tuple[str, dict]]]]:
    """The (algorithm, preset) pairs of ``env`` grouped by the env arguments they train with (the
    preset's, over ``ENV_KWARGS``), in the order the presets come: ``[(env_kwargs, pairs), ...]``."""
    groups: list[tuple[dict, list[tuple[str, dict]]]] = []
    for algo, preset in pairs:
        env_kwargs = {**ENV_KWARGS.get(env, {}), **preset.get("env", {})}
        for kwargs, group in groups:
            if kwargs == env_kwargs:
                group.append((algo, preset))
                break
        else:
            groups.append((env_kwargs, [(algo, preset)]))
    return groups


def arguments_text(env_kwargs: dict, separator: str = ", ") -> str:
    """``continuous_actions=True, max_cycles=20``: how a group's env arguments are labelled (sorted by name)."""
    return separator.join(f"{name}={value}" for name, value in sorted(env_kwargs.items())) or "defaults"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, tiny budgets, one env: checks that the script runs")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=list(ALGORITHMS), help="algorithms to run (those with a preset for each env)")
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    use_threads(args.threads)
    seeds = 2 if args.quick else args.seeds
    envs = args.envs[:1] if args.quick else args.envs
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    logs = tempfile.mkdtemp(prefix="returns_table-")

    header = ("env", "algorithm", f"return, mean ± 95% CI over {seeds} seeds", "IQM", "env steps per run", "time per run")
    rows = []
    for env in envs:
        pairs = [(algo, preset) for (algo, preset_env), preset in PRESETS.items() if preset_env == env and algo in args.algos]
        if not pairs:
            raise SystemExit(f"no algorithm among {args.algos} has a preset for {env}")
        # Labelled by its arguments where the env's presets (all of them, not only those run now) differ in them
        labelled = len(argument_groups(env, [(algo, preset) for (algo, preset_env), preset in PRESETS.items() if preset_env == env])) > 1
        for env_kwargs, group in argument_groups(env, pairs):
            label = f"{env} ({arguments_text(env_kwargs)})" if labelled else env
            curves = []
            eval_env = make_vec_env(env, 100, **env_kwargs)
            random_returns = [evaluate(RandomPolicy(eval_env, seed), eval_env, seed=seed)["return"] for seed in range(seeds)]
            mean, half, iqm = summary(random_returns)
            rows.append((label, "random policy", f"{mean:.2f} ± {half:.2f}", f"{iqm:.2f}", "", ""))
            for algo, preset in group:
                returns, seconds, evaluations = [], [], []
                for seed in range(seeds):
                    run = dict(preset["run"])
                    if args.quick:
                        run.update(total_steps=512, eval_interval=256)
                    run.update(
                        seed=seed, threads=0, eval_episodes=100, log_dir=logs, progress=False, tensorboard=False, checkpoint_buffer=False
                    )
                    start = time.perf_counter()
                    result = train(algo, env, RunConfig(**run), ALGORITHMS[algo].config_class(**preset.get("algo", {})), env_kwargs)
                    seconds.append(time.perf_counter() - start)
                    returns.append(result.final["return"])
                    evaluations.append(result.evaluations)
                mean, half, iqm = summary(returns)
                rows.append(
                    (label, algo, f"{mean:.2f} ± {half:.2f}", f"{iqm:.2f}", f"{run['total_steps']:,}", f"{statistics.fmean(seconds):.0f} s")
                )
                steps = [e["env_steps"] for e in evaluations[0]]
                curves.append((algo, steps, [statistics.fmean(run[i]["return"] for run in evaluations) for i in range(len(steps))]))
            if out:
                level = statistics.fmean(random_returns)
                curves.append(("random policy", [0, max(max(c[1]) for c in curves)], [level, level]))
                name = f"{env}-{arguments_text(env_kwargs, ',')}" if labelled else env
                save_plot(
                    out / f"returns_{name}.png",
                    curves,
                    title=f"{label}: greedy return (mean over {seeds} seeds)",
                    xlabel="env steps",
                    ylabel="return (summed over agents)",
                )

    notes = [f"{machine()}; command: {command()}", "each algorithm trains with its preset for the env (marl_baselines/config.py)"]
    notes += ["returns are summed over agents and steps; final greedy evaluation of 100 episodes per seed"]
    notes += [f"{env} with {kwargs}" for env, kwargs in ENV_KWARGS.items() if env in envs]
    notes += [note for env, note in ENV_NOTES.items() if env in envs]
    context = "; ".join(notes) + "."
    publish("Returns per algorithm and env", context, markdown_table(header, rows), out / "returns_table.md" if out else None)


if __name__ == "__main__":
    main()
