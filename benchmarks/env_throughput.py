"""Environment throughput: single-instance PettingZoo steps/s and batched env-steps/s, against mpe2 and VMAS.

    python benchmarks/env_throughput.py [--quick] [--seconds 2] [--sizes 1 16 256 4096 65536] [--cuda-sizes ...] [--threads 1] [--all-cores N] [--compile]

Every figure comes from this one process, so the ratios do not depend on the machine:

* mpe2's ``simple_spread_v3`` and ``simple_tag_v3`` (the reference MPE implementation, numpy),
  single instance. "vs mpe2" is each env's PettingZoo rate over its MPE peer's:
  ``predator_prey_v0`` against ``simple_tag_v3``, every other env against ``simple_spread_v3``.
* VMAS's batched torch ``simple_spread`` (when VMAS is installed) at every CPU batch size: the
  batched peer of ``cooperative_navigation_v0`` (the last row gives their ratio at each CPU
  batch size). VMAS is stepped without resets (its simple_spread never ends), ours with its
  auto-reset every 25 steps.

Threads: the main table runs torch on ``--threads`` intra-op threads (default 1, as ``marl-train``);
a second table repeats every batched CPU measurement (VMAS's too) with ``--all-cores`` threads
(default: one per core) and gives each one's ratio to the one-thread figure.

Batch sizes run from 1 to 65,536 on CPU and, when CUDA is present, up to 2^20. Actions are
uniform random (legal ones for masked envs) and drawn before timing. The table is printed and
written to ``benchmarks/results/env_throughput_<device>.md`` with a log-log plot of env-steps/s
against the batch size (``.png``, same name). ``--quick`` (tiny measurements, two batch sizes,
writing only where ``--out`` says) checks that the script runs. ``--compile`` measures our envs
with their step compiled (``BatchedEnv.compile``, the single env through its batched env; each
env compiles before its timing starts) and writes ``env_throughput_compiled_<device>.md`` instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import all_cores_option, command, machine, out_option, publish, save_plot, threads_option, use_threads  # noqa: E402

import marl_envs  # noqa: E402
from marl_envs.core.threads import torch_threads  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from marl_envs.throughput import batched_rate, compile_step, pettingzoo_rate, random_action  # noqa: E402

VMAS_PEER = "cooperative_navigation_v0"  # the env whose task VMAS's simple_spread implements


def vmas_rate(num_envs: int, seconds: float, seed: int = 0) -> float | None:
    """Env-steps/s of VMAS's ``simple_spread`` on CPU (discrete actions, drawn beforehand); None without VMAS."""
    try:
        import vmas
    except ImportError:
        return None
    env = vmas.make_env("simple_spread", num_envs=num_envs, device="cpu", continuous_actions=False, seed=seed)
    env.reset()
    generator = torch.Generator().manual_seed(seed)
    plans = [[torch.randint(0, 5, (num_envs, 1), generator=generator) for _ in env.agents] for _ in range(16)]
    with torch.inference_mode():
        for actions in plans[:4]:  # warm-up
            env.step(actions)
        steps, start = 0, time.perf_counter()
        while True:
            for actions in plans:
                env.step(actions)
            steps += len(plans)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return steps * num_envs / elapsed


MPE_PEERS = {"predator_prey_v0": "simple_tag_v3"}  # every other env is compared with simple_spread_v3


def batched_env(env_id: str, num_envs: int, device: str, compiled: bool):
    """A batched env, with its step compiled (``BatchedEnv.compile``) and the compilation done when ``compiled``."""
    env = marl_envs.make_batched(env_id, num_envs, device)
    if compiled:
        compile_step(env)
    return env


def single_env(env_id: str, compiled: bool):
    """The PettingZoo env, its batched env's step compiled (and the compilation done) when ``compiled``."""
    env = marl_envs.make(env_id)
    if compiled:
        env.env.compile()
        observations, _ = env.reset(seed=0)
        # Two steps: the view runs in inference mode, so the first step turns the env's state into
        # inference tensors, and the second compiles once more for them.
        for _ in range(2):
            if not env.agents:  # a one-step game's episode ended
                observations, _ = env.reset()
            observations = env.step({agent: random_action(env, agent, observations[agent]) for agent in env.agents})[0]
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny measurements at B=1 and 16: checks that the script runs")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 4096, 65536], help="batch sizes on CPU")
    parser.add_argument(
        "--cuda-sizes", type=int, nargs="+", default=[1024, 16384, 262144, 1048576], help="batch sizes on CUDA, when present"
    )
    parser.add_argument("--envs", nargs="+", default=marl_envs.list_envs())
    parser.add_argument(
        "--compile",
        action="store_true",
        help="our envs with their step compiled (env.compile(); compilation left out of the timings): env_throughput_compiled_<device>.md",
    )
    out_option(parser)
    threads_option(parser)
    all_cores_option(parser, "the thread count of the second batched table")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.sizes, args.cuda_sizes = 0.05, [1, 16], [16]
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    threads = use_threads(args.threads)
    from mpe2 import simple_spread_v3, simple_tag_v3

    references = {
        name: pettingzoo_rate(module.parallel_env(), args.seconds)
        for name, module in (("simple_spread_v3", simple_spread_v3), ("simple_tag_v3", simple_tag_v3))
    }
    vmas = [vmas_rate(b, args.seconds) for b in args.sizes]
    cuda = torch.cuda.is_available()
    columns = [f"B={b}" for b in args.sizes] + ([f"CUDA B={b}" for b in args.cuda_sizes] if cuda else [])
    largest = args.sizes.index(max(args.sizes))
    compare_vmas = vmas[largest] is not None
    header = ("env", "PettingZoo steps/s", "vs mpe2", *columns, f"B={max(args.sizes)} / single")
    blank = ["" for _ in columns]
    rows = [(f"mpe2 {name} (reference)", f"{rate:,.0f}", "1.00x", *blank, "") for name, rate in references.items()]
    plot = []
    if compare_vmas:
        rows.append(("vmas simple_spread (reference)", "", "", *[f"{r:,.0f}" for r in vmas], *blank[len(args.sizes) :], ""))
        plot.append(("VMAS simple_spread (CPU)", args.sizes, vmas))
    vs_vmas = None
    cpu_rates = {}
    for env_id in args.envs:
        peer = MPE_PEERS.get(env_id, "simple_spread_v3")
        single = pettingzoo_rate(single_env(env_id, args.compile), args.seconds)
        rates = [batched_rate(batched_env(env_id, b, "cpu", args.compile), args.seconds) for b in args.sizes]
        cpu_rates[env_id] = rates[:]
        plot.append((f"{env_id} (CPU)", args.sizes, rates[:]))
        if cuda:
            rates += [batched_rate(batched_env(env_id, b, "cuda", args.compile), args.seconds) for b in args.cuda_sizes]
            plot.append((f"{env_id} (CUDA)", args.cuda_sizes, rates[len(args.sizes) :]))
        ratio = f"{single / references[peer]:.2f}x" + (f" ({peer})" if peer != "simple_spread_v3" else "")
        rows.append((env_id, f"{single:,.0f}", ratio, *[f"{r:,.0f}" for r in rates], f"{rates[largest] / single:.0f}x"))
        if compare_vmas and env_id == VMAS_PEER:
            vs_vmas = (
                f"{VMAS_PEER} / VMAS simple_spread",
                "",
                "",
                *[f"{ours / theirs:.2f}x" for ours, theirs in zip(rates, vmas)],
                *blank[len(args.sizes) :],
                "",
            )
    if vs_vmas is not None:
        rows.append(vs_vmas)

    # The same batched CPU measurements with every core, each cell with its ratio to the one-thread figure above
    with torch_threads(args.all_cores):
        many_rows = []
        if compare_vmas:
            many_rows.append(
                (
                    "vmas simple_spread (reference)",
                    *[f"{r:,.0f} ({r / one:.2f}x)" for r, one in zip((vmas_rate(b, args.seconds) for b in args.sizes), vmas)],
                )
            )
        for env_id in args.envs:
            many = [batched_rate(batched_env(env_id, b, "cpu", args.compile), args.seconds) for b in args.sizes]
            many_rows.append((env_id, *[f"{r:,.0f} ({r / one:.2f}x)" for r, one in zip(many, cpu_rates[env_id])]))
    many_table = markdown_table(("env", *[f"B={b}" for b in args.sizes]), many_rows)

    compiled = (
        " Our envs' steps compiled (env.compile(); mpe2 and VMAS as they come), the compilation left out of the timings."
        if args.compile
        else ""
    )
    context = (
        f"{machine()}; command: {command()}. Batched figures are env-steps/s (sub-env steps); {args.seconds:g} s per measurement. "
        f"First table: {threads} torch intra-op thread(s) (--threads).{compiled}"
    )
    second = f"\n\n## Batched on CPU with {args.all_cores} threads (--all-cores), and the ratio to {threads} thread(s)\n\n{many_table}"
    name = ("env_throughput_compiled" if args.compile else "env_throughput") + ("_cuda" if cuda else "_cpu")
    title = "Environment throughput, compiled steps" if args.compile else "Environment throughput"
    publish(title, context, markdown_table(header, rows) + second, out / f"{name}.md" if out else None)
    if out:
        save_plot(
            out / f"{name}.png",
            plot,
            title=f"Batched env-steps/s ({threads} thread(s){', compiled' if args.compile else ''})",
            xlabel="sub-envs stepped together (B)",
            ylabel="env-steps/s",
            log=True,
        )


if __name__ == "__main__":
    main()
