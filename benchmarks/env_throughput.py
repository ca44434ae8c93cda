"""Environment throughput: single-instance PettingZoo steps/s and batched env-steps/s, against mpe2.

    python benchmarks/env_throughput.py [--seconds 2] [--sizes 1 64 1024 4096] [--cuda-sizes 4096 65536]

Every figure comes from this one process: mpe2's ``simple_spread_v3`` (the reference MPE
implementation, numpy) is measured in the same run, so the ratios do not depend on the
machine. So is VMAS's batched torch ``simple_spread`` (when VMAS is installed) at the CPU
batch sizes, the batched peer of ``cooperative_navigation_v0``: the "vs VMAS" column is
cooperative_navigation_v0's rate over VMAS's at the largest CPU batch size. VMAS is stepped
without resets (its simple_spread never ends), ours with its auto-reset every 25 steps.
Actions are uniform random and drawn before timing. The table is printed and
written to ``benchmarks/results/env_throughput_<device>.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import marl_envs  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402
from report import machine, publish  # noqa: E402
from marl_envs.throughput import batched_rate, pettingzoo_rate  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024, 4096], help="batch sizes on CPU")
    parser.add_argument("--cuda-sizes", type=int, nargs="+", default=[4096, 65536], help="batch sizes on CUDA, when present")
    parser.add_argument("--envs", nargs="+", default=marl_envs.list_envs())
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    from mpe2 import simple_spread_v3

    reference = pettingzoo_rate(simple_spread_v3.parallel_env(), args.seconds)
    vmas = [vmas_rate(b, args.seconds) for b in args.sizes]
    cuda = torch.cuda.is_available()
    columns = [f"B={b}" for b in args.sizes] + ([f"CUDA B={b}" for b in args.cuda_sizes] if cuda else [])
    largest = args.sizes.index(max(args.sizes))
    compare_vmas = vmas[largest] is not None
    header = ("env", "PettingZoo steps/s", "vs mpe2", *columns, f"B={max(args.sizes)} / single")
    header += (f"B={max(args.sizes)} vs VMAS",) if compare_vmas else ()
    rows = [("mpe2 simple_spread_v3 (reference)", f"{reference:,.0f}", "1.00x", *["" for _ in columns], "", *[""] * compare_vmas)]
    if compare_vmas:
        cells = [f"{r:,.0f}" if r is not None else "" for r in vmas] + ["" for _ in columns[len(args.sizes) :]]
        rows.append(("vmas simple_spread (reference)", "", "", *cells, "", "1.00x"))
    for env_id in args.envs:
        single = pettingzoo_rate(marl_envs.make(env_id), args.seconds)
        rates = [batched_rate(marl_envs.make_batched(env_id, b, "cpu"), args.seconds) for b in args.sizes]
        if cuda:
            rates += [batched_rate(marl_envs.make_batched(env_id, b, "cuda"), args.seconds) for b in args.cuda_sizes]
        row = (env_id, f"{single:,.0f}", f"{single / reference:.2f}x", *[f"{r:,.0f}" for r in rates], f"{rates[len(args.sizes) - 1] / single:.0f}x")
        if compare_vmas:
            row += (f"{rates[largest] / vmas[largest]:.2f}x" if env_id == VMAS_PEER else "",)
        rows.append(row)

    context = f"{machine()}. Batched figures are env-steps/s (sub-env steps); {args.seconds:g} s per measurement."
    name = "env_throughput_cuda.md" if cuda else "env_throughput_cpu.md"
    publish("Environment throughput", context, markdown_table(header, rows), args.out / name)


if __name__ == "__main__":
    main()
