"""MA-DVRL against the GRU actor-critic without its variational parts, on Leduc hold'em (and Kuhn poker).

    python benchmarks/madvrl_poker.py [--quick] [--leduc-steps 1000000] [--kuhn-steps 250000] [--hands 20000] [--out DIR]

Both algorithms train with the preset of ``(madvrl, poker_v0)`` / ``(gru_ac, poker_v0)`` (the same
settings: 64-wide networks, 256 envs, PPO, self-play with an opponent pool and fixed strategies,
Polyak-averaged learned policy), the same env-step budget and the same seed, on 2-player Leduc
hold'em and on 2-player Kuhn poker. Reported:

* the exact exploitability (NashConv / 2, chips per hand, ``marl_envs.poker_analysis``) of the
  learned policy over training, every 50,000 env steps (the curves, a table and a plot);
* on Leduc, chips won per hand by each learned policy against random play, always-call,
  always-raise and the hand-strength rule, and MA-DVRL against the GRU actor-critic: ``--hands``
  hands each (the learned policy sampling its actions, seats alternating), mean and 95%
  confidence interval (t-distribution over hands).

Torch runs on one thread (small networks; on a shared CPU a contended second thread is much
slower). Printed and written to ``benchmarks/results/madvrl_poker.md`` with the curves in
``madvrl_poker_<variant>.png``; ``--quick`` (tiny budgets, writing only where ``--out`` says)
checks that the script runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, save_plot, threads_option, use_threads  # noqa: E402

from marl_baselines.algos.madvrl import MADVRLConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.head_to_head import chips_per_hand  # noqa: E402
from marl_baselines.train import build, train  # noqa: E402
from marl_envs.analysis.poker_strategies import FixedStrategy  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from marl_envs.poker_analysis import game  # noqa: E402

ALGOS = ("madvrl", "gru_ac")
OPPONENTS = ("random", "always_call", "always_raise", "hand_strength")


def train_one(algo: str, variant: str, steps: int, seed: int, logs: str, quick: bool):
    """Train with the preset; return the algorithm (its final state), its exploitability curve up to
    the end of training (the last measurement of the run falls before it), and the wall time."""
    preset = PRESETS[(algo, "poker_v0")]
    interval = max(steps // 4, 1) if quick else preset["algo"]["exploitability_interval"]
    run = RunConfig(
        **{
            **preset["run"],
            "total_steps": steps,
            "seed": seed,
            "device": "cpu",
            "threads": 0,
            "eval_interval": 0,
            "eval_episodes": 4,
            "log_dir": logs,
            "progress": False,
            "tensorboard": False,
            "checkpoint_buffer": False,
        }
    )
    config = MADVRLConfig(**{**preset["algo"], "exploitability_interval": interval})
    env_kwargs = {"variant": variant}
    start = time.perf_counter()
    result = train(algo, "poker_v0", run, config, env_kwargs)
    seconds = time.perf_counter() - start
    learner, _, _ = build(algo, "poker_v0", run, config, env_kwargs)
    learner.load_state_dict(torch.load(result.run_dir / "checkpoint.pt", weights_only=False)["algo"])
    curve = list(learner.exploitability_curve)
    if curve[-1][0] < result.env_steps:
        curve.append((result.env_steps, learner.exploitability(), learner.exploitability(trained=True)))
    return learner, curve, seconds


def chips(player, opponent, hands: int, seed: int) -> str:
    result = chips_per_hand(player, opponent, hands=hands, seed=seed, variant="leduc")
    return f"{result['mean']:+.3f} ± {result['ci95']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: checks that the script runs")
    parser.add_argument("--leduc-steps", type=int, default=1_000_000)
    parser.add_argument("--kuhn-steps", type=int, default=250_000)
    parser.add_argument("--hands", type=int, default=20_000, help="hands per chips-per-hand evaluation")
    parser.add_argument("--seed", type=int, default=0)
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    use_threads(args.threads)
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    budgets = {"leduc": 4_096 if args.quick else args.leduc_steps, "kuhn": 4_096 if args.quick else args.kuhn_steps}
    hands = 1_000 if args.quick else args.hands
    logs = tempfile.mkdtemp(prefix="madvrl_poker-")

    trained, seconds, sections = {}, {}, []
    for variant in ("leduc", "kuhn"):
        uniform = game(variant).exploitability(game(variant).uniform_policy())
        curves = {}
        for algo in ALGOS:
            learner, curves[algo], seconds[algo, variant] = train_one(algo, variant, budgets[variant], args.seed, logs, args.quick)
            trained[algo, variant] = learner
        steps = [point[0] for point in curves["madvrl"]]
        learned = {a: {point[0]: point[1] for point in curves[a]} for a in ALGOS}
        raw = {a: {point[0]: point[2] for point in curves[a]} for a in ALGOS}
        rows = [
            (f"{s:,}", *(f"{learned[a].get(s, float('nan')):.3f}" for a in ALGOS), *(f"{raw[a].get(s, float('nan')):.3f}" for a in ALGOS))
            for s in steps
        ]
        header = ("env steps", *(f"{a} (learned policy)" for a in ALGOS), *(f"{a} (trained networks)" for a in ALGOS))
        name = "Leduc hold'em" if variant == "leduc" else "Kuhn poker"
        times = ", ".join(f"{a} {seconds[a, variant]:.0f} s" for a in ALGOS)
        sections.append(
            f"## Exploitability on 2-player {name}\n\nChips per hand (uniform random play: {uniform:.3f}); {budgets[variant]:,} env steps each, wall time {times}. "
            f"The learned policy is the Polyak average of the trained networks (what is evaluated everywhere); the trained networks' figure is given for comparison.\n\n"
            + markdown_table(header, rows)
        )
        if out is not None:
            series = [
                (f"{a} ({kind})", [p[0] for p in curves[a]], [p[index] for p in curves[a]])
                for a in ALGOS
                for index, kind in ((1, "learned policy"), (2, "trained networks"))
            ]
            save_plot(
                out / f"madvrl_poker_{variant}.png",
                series,
                title=f"2-player {name}: exploitability over training (seed {args.seed})",
                xlabel="env steps",
                ylabel="exploitability (chips per hand)",
            )

    rows = []
    for algo in ALGOS:
        learner = trained[algo, "leduc"]
        cells = [chips(learner, FixedStrategy(name, learner.rules), hands, args.seed + 1) for name in OPPONENTS]
        versus = chips(learner, trained[ALGOS[1 - ALGOS.index(algo)], "leduc"], hands, args.seed + 1)
        rows.append((algo, *cells, versus, f"{learner.exploitability():.3f}"))
    header = ("learned policy", *(f"vs {name}" for name in OPPONENTS), "vs the other algorithm", "exploitability")
    sections.insert(
        0,
        f"## Chips per hand on 2-player Leduc hold'em\n\nAfter {budgets['leduc']:,} env steps; mean ± 95% CI over {hands:,} hands per cell (seats alternating, actions sampled from the learned policy).\n\n"
        + markdown_table(header, rows),
    )

    context = (
        f"{machine()}; command: {command()}. Presets (madvrl|gru_ac, poker_v0): {PRESETS[('madvrl', 'poker_v0')]['algo']}, "
        f"{PRESETS[('madvrl', 'poker_v0')]['run']['num_envs']} envs, seed {args.seed}; the exploitability is exact (marl_envs.poker_analysis)."
    )
    publish("MA-DVRL on poker_v0", context, "\n\n".join(sections), out / "madvrl_poker.md" if out else None)


if __name__ == "__main__":
    main()
