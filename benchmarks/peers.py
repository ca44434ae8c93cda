"""Side by side with JaxMARL on MPE Spread: training speed, returns, time to a return, env throughput.

    make bench-peers                      (sets up .venv-peers with jax and jaxmarl, then runs this)
    python benchmarks/peers.py [--quick] [--seeds 3] [--total-steps 500000] [--sizes 1 4 16 ...]

Contenders, alternated (each seed: ours MAPPO, ours IPPO, JaxMARL IPPO-FF on one core, then the
three on every core, then the next seed):

* our MAPPO and IPPO presets on ``cooperative_navigation_v0`` (mpe2's ``simple_spread_v3``,
  discrete actions), ``--total-steps`` env steps each, torch on ``--threads`` threads (one
  core) and on ``--all-cores`` threads; JaxMARL on one core is XLA on one thread pinned to one
  core, on every core XLA as it comes;
* JaxMARL's IPPO-FF on its ``MPE_simple_spread_v3`` with its published MPE configuration, in our
  JAX implementation (``benchmarks/peers_jax.py``, run by the peers' own interpreter
  ``--jax-python``, default ``.venv-peers/bin/python``), first with the same budget (its
  learning rate annealed over that budget, as JaxMARL does), then with its published 10M-step
  schedule until the greedy return first reaches ``--target`` (or ``--jax-target-budget``).

Every run is evaluated the same way: ``--eval-episodes`` greedy episodes (1,000), the rewards
summed over the 3 agents and the 25 steps, mean with its 95% interval, at 10 points of the run.
Training env-steps/s and the time to the target leave the evaluations out; JaxMARL's compilation
is reported apart and added in the "with compilation" column.

Env throughput, env-steps/s under uniform random actions at each batch size B, alternated over
``--rounds`` rounds (the best round of each kept): our batched env (one ``step`` call per step,
auto-reset included), eager and with its step compiled (``BatchedEnv.compile``; the first two steps, which
compile, are timed apart), on ``--threads`` and on ``--all-cores`` threads; our compiled rollout
(``BatchedEnv.rollout`` after ``compile``: 4 steps per compiled call, the random actions drawn and
the results stacked inside it, as many steps per rollout as JaxMARL's scan) on ``--threads``, up to
``--rollout-max-b`` (256), keeping every field or the rewards only; and, on every core, JaxMARL's
``jax.jit(jax.vmap(env.step))`` called per step, and a ``lax.scan`` of steps inside one compiled
call (which keeps nothing but the state); and the single-instance PettingZoo step of ours against mpe2's. Random-policy returns of both envs (1,000 episodes) check that the task is the same.

Written to ``benchmarks/results/peers_cpu.md`` with two plots (``peers_cpu_throughput.png``,
``peers_cpu_learning.png``); versions, threads and the load average (before and after) recorded.
Without the peers' interpreter the JaxMARL rows say so and the rest still runs. ``--quick`` (tiny
budgets, two batch sizes, writing only where ``--out`` says) checks that the script runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import all_cores_option, command, machine, out_option, publish, save_plot, threads_option, use_threads  # noqa: E402
from returns_table import summary  # noqa: E402

import marl_envs  # noqa: E402
from marl_baselines.algos.ppo import PPOConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.evaluate import RandomPolicy, evaluate  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_baselines.vec import make_vec_env  # noqa: E402
from marl_envs.core.threads import torch_threads  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from marl_envs.throughput import batched_rate, compile_rollout, compile_step, pettingzoo_rate, rollout_rate  # noqa: E402

ENV = "cooperative_navigation_v0"
OURS = ("mappo", "ippo")
JAX = "JaxMARL IPPO-FF"
JAX_SCHEDULE = 10_000_000  # the published config's TOTAL_TIMESTEPS
ONE_CORE_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
ROLLOUT_KEEPS = {"every field kept": None, "rewards kept": ("reward",)}
"""The compiled rollouts measured: everything a step returns, stacked; or the rewards only (what an evaluation needs)."""
ROLLOUT_STEPS_PER_CALL = 4


def scan_steps(B: int) -> int:
    """Steps per call of a rollout of B envs, ours as JaxMARL's ``lax.scan`` in ``peers_jax.py``: 128, fewer from B = 8,192 up (~1M env steps a call)."""
    return max(4, min(128, 2**20 // B))


def t_interval(values: list[float]) -> str:
    """mean ± 95% t-interval half-width (:func:`returns_table.summary`); the mean alone for one value."""
    mean, half, _ = summary(values)
    return f"{mean:.2f}" if len(values) < 2 else f"{mean:.2f} ± {half:.2f}"


def first_at(curve: list[tuple[float, float, float]], target: float) -> tuple[float, float] | None:
    """(env steps, training seconds) of the first evaluation of ``curve`` ((env steps, seconds, return), in order) at or above ``target``."""
    return next(((steps, seconds) for steps, seconds, ret in curve if ret >= target), None)


def speed_and_reach(results: list[dict], target: float, with_steps: bool = False, unreached: str = "") -> tuple[str, str, str, str]:
    """Table cells of a contender's runs: env-steps/s (range), seeds reaching ``target`` with their
    training time (and env steps), compilation, and the time to the target with compilation."""
    rates = [r["steps_per_second"] for r in results]
    hits = [hit for r in results if (hit := first_at(r["curve"], target)) is not None]
    reached = [seconds for _, seconds in hits]
    compile_s = statistics.fmean(r["compile_seconds"] for r in results)
    reach = f"{len(hits)}/{len(results)}"
    if hits:
        reach += f": {statistics.fmean(reached):.1f} s ({min(reached):.1f}-{max(reached):.1f})"
        reach += f", at {statistics.fmean(steps for steps, _ in hits):,.0f} env steps" if with_steps else ""
    else:
        reach += unreached
    return (
        f"{statistics.fmean(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})",
        reach,
        f"{compile_s:.1f} s",
        f"{statistics.fmean(reached) + compile_s:.1f} s" if hits else "",
    )


def run_ours(algo: str, seed: int, threads: int, args, logs: str) -> dict:
    preset = PRESETS[(algo, ENV)]
    run = RunConfig(
        **{
            **preset["run"],
            "total_steps": args.total_steps,
            "eval_interval": args.total_steps // 10,
            "eval_episodes": args.eval_episodes,
            "seed": seed,
            "threads": threads,
            "log_dir": logs,
            "progress": False,
            "tensorboard": False,
            "checkpoint_buffer": False,
        }
    )
    result = train(algo, ENV, run, PPOConfig(**preset["algo"]), preset.get("env", {}), quiet=True)
    curve = [(steps, seconds, e["return"]) for steps, seconds, e in result.training_curve()]
    return {
        "steps_per_second": result.env_steps / result.training_seconds,
        "return": result.final["return"],
        "curve": curve,
        "compile_seconds": 0.0,
    }


def run_jax(python: str, args, seed: int, total_steps: int, stop_at: float | None = None, one_core: bool = False) -> dict:
    cmd = [
        python,
        str(ROOT / "benchmarks" / "peers_jax.py"),
        "train",
        "--seed",
        str(seed),
        "--total-steps",
        str(total_steps),
        "--eval-every",
        str(args.jax_eval_every if stop_at is not None else max(2048, args.total_steps // 10)),
        "--eval-episodes",
        str(args.eval_episodes),
    ]
    if stop_at is not None:
        cmd += ["--stop-at", str(stop_at)]
    result = jax_json(cmd, one_core)
    result["curve"] = [(e["env_steps"], e["train_seconds"], e["return"]) for e in result["evaluations"]]
    result["return"] = result["evaluations"][-1]["return"]
    return result


def jax_json(cmd: list[str], one_core: bool = False) -> dict:
    """Run a peers_jax.py command in the peers' interpreter; ``one_core``: XLA on one thread, pinned to one core."""
    env = {**os.environ, "PYTHONPATH": ""}
    pin = None
    if one_core:
        env["XLA_FLAGS"] = ONE_CORE_XLA
        pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if hasattr(os, "sched_setaffinity") else None
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=pin)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def training(args, jax_python: str | None, logs: str) -> tuple[str, list]:
    """Each seed: every contender at one core (ours on --threads 1, JaxMARL's XLA on one thread pinned
    to one core), then at every core (ours on --all-cores threads, JaxMARL as it comes)."""
    settings = (("1 core", args.threads, True), ("all cores", args.all_cores, False))
    runs: dict[tuple[str, str], list[dict]] = {(name, label): [] for label, _, _ in settings for name in (*OURS, JAX)}
    to_target: list[dict] = []
    for seed in range(args.seeds):
        for label, threads, one_core in settings:
            for algo in OURS:
                runs[(algo, label)].append(run_ours(algo, seed, threads, args, logs))
            if jax_python:
                runs[(JAX, label)].append(run_jax(jax_python, args, seed, args.total_steps, one_core=one_core))
            for name in (*OURS, JAX):
                if runs[(name, label)][seed:]:
                    r = runs[(name, label)][seed]
                    print(f"seed {seed} {name} ({label}): {r['steps_per_second']:,.0f} env-steps/s, return {r['return']:.2f}", flush=True)
    if jax_python:  # JaxMARL's published schedule, until the target (alternation is moot: one contender)
        for seed in range(args.seeds):
            to_target.append(run_jax(jax_python, args, seed, args.jax_target_budget, stop_at=args.target))
            print(
                f"seed {seed} {JAX} (10M schedule): {first_at(to_target[-1]['curve'], args.target)} (env steps, s) to {args.target}",
                flush=True,
            )

    rows = []
    for (name, label), results in runs.items():
        title = f"{name} (ours), {label}" if name in OURS else f"{name}, {label}"
        if not results:
            rows.append((title, "not run: no peers' interpreter (make bench-peers)", "", "", "", "", ""))
            continue
        peer = runs[(JAX, label)]
        jax_rate = statistics.fmean(r["steps_per_second"] for r in peer) if peer else None
        rate, reach, compile_s, with_compile = speed_and_reach(results, args.target)
        ratio = f"{statistics.fmean(r['steps_per_second'] for r in results) / jax_rate:.2f}x" if jax_rate else ""
        returns = t_interval([r["return"] for r in results]) + " (" + ", ".join(f"{r['return']:.1f}" for r in results) + ")"
        rows.append((title, rate, ratio, returns, reach, compile_s, with_compile))
    if to_target:
        rate, reach, compile_s, with_compile = speed_and_reach(
            to_target, args.target, with_steps=True, unreached=f" within {args.jax_target_budget:,} env steps"
        )
        rows.append(
            (
                f"{JAX}, all cores, published 10M-step schedule, until {args.target:g}",
                rate,
                "",
                "(stops at the target)",
                reach,
                compile_s,
                with_compile,
            )
        )
    header = (
        "contender",
        "training env-steps/s (range)",
        "vs JaxMARL, same cores",
        f"greedy return after {args.total_steps:,} (per seed)",
        f"seeds reaching {args.target:g}: training time",
        "compilation",
        f"time to {args.target:g} with compilation",
    )
    curves = [
        (f"{name}, {label}, seed 0", [s for _, s, _ in r["curve"]], [ret for _, _, ret in r["curve"]])
        for (name, label), results in runs.items()
        for r in results[:1]
    ]
    if to_target:
        curves.append(
            (f"{JAX}, 10M schedule, seed 0", [s for _, s, _ in to_target[0]["curve"]], [ret for _, _, ret in to_target[0]["curve"]])
        )
    return markdown_table(header, rows), curves


def throughput(args, jax_python: str | None) -> tuple[str, list]:
    """Ours eager and compiled, on --threads and on --all-cores threads, JaxMARL as it comes (every core), alternated;
    our compiled rollouts on --threads, up to --rollout-max-b."""
    kinds = [(threads, how) for how in ("batched step", "compiled step") for threads in (args.threads, args.all_cores)]
    kinds += [(args.threads, f"compiled rollout, {keep}") for keep in ROLLOUT_KEEPS]
    ours: dict[tuple[int, str], dict[int, float]] = {kind: {} for kind in kinds}
    compile_seconds: dict[tuple[str, int], float] = {}
    theirs: dict[str, dict[int, float]] = {"step": {}, "scan": {}}
    for _ in range(args.rounds):  # alternated; each contender's best round kept
        for (threads, how), rates in ours.items():
            with torch_threads(threads):
                for B in args.sizes:
                    env = marl_envs.make_batched(ENV, B, "cpu")
                    if how == "compiled step":  # the first round's compilation (cold); later rounds find inductor's cache
                        compile_seconds.setdefault(("step", B), compile_step(env))
                    if how.startswith("compiled rollout"):
                        if B > args.rollout_max_b:
                            continue
                        keep = ROLLOUT_KEEPS[how.split(", ")[1]]
                        compile_seconds.setdefault((how, B), compile_rollout(env, ROLLOUT_STEPS_PER_CALL, keep))  # cold in the first round
                        rate = rollout_rate(env, scan_steps(B), args.seconds, keep=keep)
                    else:
                        rate = batched_rate(env, args.seconds)
                    rates[B] = max(rates.get(B, 0.0), rate)
        if jax_python:
            cmd = [
                jax_python,
                str(ROOT / "benchmarks" / "peers_jax.py"),
                "throughput",
                "--seconds",
                str(args.seconds),
                "--sizes",
                *map(str, args.sizes),
            ]
            rates = jax_json(cmd)
            for kind in theirs:
                for B, rate in rates[kind].items():
                    theirs[kind][int(B)] = max(theirs[kind].get(int(B), 0.0), rate)
    best = {B: max(rates.get(B, 0.0) for rates in ours.values()) for B in args.sizes}
    names = {kind: f"{kind[1]}, {kind[0]} thread(s)" for kind in ours}
    rows = [(f"ours: {names[kind]}", *[f"{rates[B]:,.0f}" if B in rates else "—" for B in args.sizes]) for kind, rates in ours.items()]
    for how in ["step", *[kind[1] for kind in kinds if kind[1].startswith("compiled rollout")]]:
        cold = [compile_seconds.get((how, B)) for B in args.sizes]
        rows.append((f"ours: compilation, {how} (s)", *["—" if c is None else f"{c:.1f}" for c in cold]))
    plot = [(f"{ENV} (ours, {names[kind]})", sorted(rates), [rates[B] for B in sorted(rates)]) for kind, rates in ours.items()]
    if jax_python:
        rows.append(("JaxMARL: jit(vmap(step)) per step", *[f"{theirs['step'][B]:,.0f}" for B in args.sizes]))
        rows.append(("JaxMARL: lax.scan of steps", *[f"{theirs['scan'][B]:,.0f}" for B in args.sizes]))
        rows.append(("ours' best / JaxMARL's best", *[f"{best[B] / max(theirs['step'][B], theirs['scan'][B]):.2f}x" for B in args.sizes]))
        plot += [(f"JaxMARL {kind}", args.sizes, [theirs[kind][B] for B in args.sizes]) for kind in theirs]
    else:
        rows.append(("JaxMARL", *["not run" for _ in args.sizes]))
    return markdown_table(("env-steps/s", *[f"B={B}" for B in args.sizes]), rows), plot


def single_and_random(args, jax_python: str | None) -> str:
    from mpe2 import simple_spread_v3

    env_kwargs = PRESETS[("mappo", ENV)].get("env", {})
    rows = []
    ours_single = pettingzoo_rate(marl_envs.make(ENV, **env_kwargs), args.seconds)
    mpe2_single = pettingzoo_rate(simple_spread_v3.parallel_env(), args.seconds)
    rows.append(
        (
            "PettingZoo step, single instance (steps/s)",
            f"{ours_single:,.0f}",
            f"{mpe2_single:,.0f} (mpe2 simple_spread_v3)",
            f"{ours_single / mpe2_single:.2f}x",
        )
    )
    eval_env = make_vec_env(ENV, args.eval_episodes, torch.device("cpu"), **env_kwargs)
    random = evaluate(RandomPolicy(eval_env, seed=1), eval_env, seed=12_345)
    peer = "not run"
    if jax_python:
        rates = jax_json([jax_python, str(ROOT / "benchmarks" / "peers_jax.py"), "random", "--episodes", str(args.eval_episodes)])
        peer = f"{rates['return']:.2f} ± {rates['return_ci95']:.2f} (JaxMARL MPE_simple_spread_v3)"
    rows.append(
        (f"random-policy return ({args.eval_episodes} episodes)", f"{random['return']:.2f} ± {random['return_ci95']:.2f}", peer, "")
    )
    return markdown_table(("", "ours", "peer", "ratio"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets and measurements: checks that the script runs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--total-steps", type=int, default=500_000, help="every contender's env-step budget")
    parser.add_argument("--target", type=float, default=-60.0, help="the greedy return whose time is measured")
    parser.add_argument("--eval-episodes", type=int, default=1000)
    parser.add_argument(
        "--jax-target-budget",
        type=int,
        default=JAX_SCHEDULE,
        help="JaxMARL's run to the target stops here (its schedule stays the published 10M)",
    )
    parser.add_argument("--jax-eval-every", type=int, default=102_400, help="env steps between evaluations in JaxMARL's run to the target")
    parser.add_argument("--jax-python", default=str(ROOT / ".venv-peers" / "bin" / "python"), help="the interpreter with jax and jaxmarl")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256, 1024, 4096, 16384, 65536])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per throughput measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternated throughput rounds")
    parser.add_argument(
        "--rollout-max-b",
        type=int,
        default=256,
        help="largest B of the compiled-rollout rows (where a call's fixed cost dominates a step; each B compiles anew, ~40 s cold)",
    )
    out_option(parser)
    threads_option(parser)
    all_cores_option(parser, "our torch threads in the every-core rows")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.total_steps, args.eval_episodes, args.sizes, args.seconds, args.rounds = 1, 8_192, 20, [1, 64], 0.05, 1
        args.jax_target_budget, args.jax_eval_every, args.rollout_max_b = 8_192, 4_096, 1
    out = args.out if args.out is not None or args.quick else ROOT / "benchmarks" / "results"
    threads = use_threads(args.threads)
    jax_python = args.jax_python if Path(args.jax_python).exists() else None
    before = machine()
    versions = (
        jax_json([jax_python, str(ROOT / "benchmarks" / "peers_jax.py"), "versions"])["versions"] if jax_python else "JaxMARL not installed"
    )
    with tempfile.TemporaryDirectory() as logs:
        train_table, curves = training(args, jax_python, logs)
    # An empty inductor cache, for this section only: the reported compilations are cold ones.
    with tempfile.TemporaryDirectory() as cache, patch.dict(os.environ, {"TORCHINDUCTOR_CACHE_DIR": cache}):
        throughput_table, plot = throughput(args, jax_python)
    single_table = single_and_random(args, jax_python)
    after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    context = (
        f"{before}; load average {after} at the end; command: {command()}. Ours: torch on {threads} thread(s) in the one-core rows, {args.all_cores} in the every-core rows; JaxMARL's XLA pinned to one core and thread ({ONE_CORE_XLA}) in its one-core rows, as it comes elsewhere. "
        f"JaxMARL: {versions}. Task: our {ENV} (mpe2 simple_spread_v3, discrete) and JaxMARL's MPE_simple_spread_v3; "
        f"presets {', '.join(f'{a}: {PRESETS[(a, ENV)]}' for a in OURS)}."
    )
    tables = (
        f"## Training ({args.seeds} seeds, {args.total_steps:,} env steps, greedy return over {args.eval_episodes} episodes)\n\n{train_table}\n\n"
        f"## Batched env throughput (env-steps/s, best of {args.rounds} alternated rounds, {args.seconds:g} s each)\n\n{throughput_table}\n\n"
        f"## Single instance and the task check\n\n{single_table}"
    )
    publish("Side by side with JaxMARL (CPU)", context, tables, out / "peers_cpu.md" if out else None)
    if out:
        save_plot(
            out / "peers_cpu_throughput.png",
            plot,
            title="MPE Spread: batched env-steps/s",
            xlabel="envs stepped together (B)",
            ylabel="env-steps/s",
            log=True,
        )
        save_plot(
            out / "peers_cpu_learning.png",
            curves,
            title="MPE Spread: greedy return against training time (seed 0)",
            xlabel="training seconds (evaluations left out)",
            ylabel="greedy return",
        )


if __name__ == "__main__":
    main()
