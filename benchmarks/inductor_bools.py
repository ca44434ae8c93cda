"""Why torch.compile loses on this CPU where its kernels store or load booleans: one GCC flag.

    python benchmarks/inductor_bools.py [--quick] [--rounds 2] [--cases ops env mappo] [--threads 1] [--out DIR]

On Linux, inductor builds its CPU kernels with GCC and passes ``-fno-tree-loop-vectorize``. Its
vectorised kernels turn a comparison's mask into ``bool`` bytes, and read them back, through
ATen's ``VecMask`` conversions: generic C++ that relies on GCC's loop vectoriser to be fast. With
the flag, each bool a kernel stores costs nanoseconds, tens of times a float's (the figures:
``benchmarks/results/inductor_bools_cpu.md``). Two things in this suite go through them:

* the ReLU backward, because AOTAutograd saves ReLU's mask as bool, so the compiled PPO update
  pays for it;
* every flag of an env step (terminated, truncated, alive, the auto-reset's masks), so the
  compiled step pays for it at large batch sizes.

This script measures what the flag costs here. Each case runs in a fresh process with an empty
inductor cache, once with inductor's flags as they come and once with that one flag dropped. The
flag is dropped by patching the private ``torch._inductor.cpp_builder._get_optimization_cflags``,
in that measuring process only: the library never patches torch. The cases:

1. nanoseconds per element of a compiled ``x <= 0`` (bool out) and ``x.relu()`` (float out),
   and of the eager ``x <= 0`` as the control, at 2^22 elements;
2. env-steps/s of the ``cooperative_navigation_v0`` step, compiled and eager (the control),
   at B = 64 and 4,096 (``marl_envs.throughput``);
3. steady training env-steps/s of MAPPO's ``cooperative_navigation_v0`` preset with
   ``--compile off`` (the control) and ``on`` (``compile_speed.py``'s measure, 200,000 env steps).

The two variants alternate over ``--rounds``; each cell is the best round. The script writes
``benchmarks/results/inductor_bools_cpu.md``, with the C++ compiler and its version: with another
compiler (clang, or GCC where inductor stops adding the flag) the two columns measure the same
thing. ``--quick`` checks the script: one round at tiny sizes, of the ``ops`` case unless ``--cases``
says otherwise (each case compiles cold twice, in tens of seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, out_option, publish, threads_option, use_threads  # noqa: E402

from marl_envs.demo import markdown_table  # noqa: E402
from marl_envs.throughput import per_second  # noqa: E402

FLAG = "fno-tree-loop-vectorize"
VARIANTS = {"inductor": "inductor's flags", "vectorize": f"-{FLAG} dropped"}
ENV = "cooperative_navigation_v0"
PRESET = ("mappo", ENV)


@contextlib.contextmanager
def flag_dropped():
    """Inside the block, inductor compiles new kernels without ``-fno-tree-loop-vectorize``."""
    from torch._inductor import cpp_builder

    original = getattr(cpp_builder, "_get_optimization_cflags", None)
    if original is None:
        raise SystemExit("this torch has no torch._inductor.cpp_builder._get_optimization_cflags: the flag cannot be dropped here")

    def without_the_flag(*args, **kwargs):
        cflags, ldflags = original(*args, **kwargs)
        return [flag for flag in cflags if flag != FLAG], ldflags

    cpp_builder._get_optimization_cflags = without_the_flag
    try:
        yield
    finally:
        cpp_builder._get_optimization_cflags = original


def compiler() -> str:
    """Inductor's C++ compiler, its version, and whether it passes the flag."""
    from torch._inductor import cpp_builder

    name = cpp_builder.get_cpp_compiler()
    version = subprocess.run([name, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    flags, _ = cpp_builder._get_optimization_cflags(name)
    return f"{' '.join(version) or name} ({'passes' if FLAG in flags else 'does not pass'} -{FLAG})"


def nanoseconds_per_element(function, x: torch.Tensor, seconds: float) -> float:
    for _ in range(3):  # the first call compiles
        function(x)
    return 1e9 / per_second(lambda: function(x), x.numel(), seconds, x.device)


def case_ops(quick: bool) -> dict[str, float]:
    x = torch.randn(2**12 if quick else 2**22)
    seconds = 0.1 if quick else 1.0

    def le(t):
        return t <= 0

    def relu(t):
        return t.relu()

    return {
        "compiled `x <= 0` (bool out), ns per element": nanoseconds_per_element(torch.compile(le, dynamic=False), x, seconds),
        "compiled `x.relu()` (float out), ns per element": nanoseconds_per_element(torch.compile(relu, dynamic=False), x, seconds),
        "eager `x <= 0` (control), ns per element": nanoseconds_per_element(le, x, seconds),
    }


def case_env(quick: bool) -> dict[str, float]:
    import marl_envs
    from marl_envs.throughput import batched_rate, compile_step

    seconds = 0.2 if quick else 2.0
    result = {}
    for B in (4,) if quick else (64, 4096):
        compiled = marl_envs.make_batched(ENV, B)
        compile_step(compiled)
        result[f"{ENV} compiled step, B={B}, env-steps/s"] = batched_rate(compiled, seconds)
        result[f"{ENV} eager step (control), B={B}, env-steps/s"] = batched_rate(marl_envs.make_batched(ENV, B), seconds)
    return result


def case_mappo(quick: bool) -> dict[str, float]:
    from compile_speed import timed_run

    total = 8_192 if quick else 200_000
    result = {}
    with tempfile.TemporaryDirectory() as logs:
        for mode in ("off", "on"):
            steady = timed_run(*PRESET, mode, total, logs, quick)["steady"]
            result[f"{PRESET[0]} preset, --compile {mode}{' (control)' if mode == 'off' else ''}, steady env-steps/s"] = steady
    return result


CASES = {"ops": case_ops, "env": case_env, "mappo": case_mappo}
LOWER_IS_BETTER = "ns per element"


def measure(case: str, variant: str, quick: bool, threads: int, cache: Path) -> dict[str, float]:
    """Run one case in a fresh process with an empty inductor cache; its figures."""
    environment = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache)}
    arguments = ["--case", case, "--variant", variant, "--threads", str(threads), *(["--quick"] if quick else [])]
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"case {case} ({variant}) failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the script runs")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds of the two variants (best kept)")
    parser.add_argument("--cases", nargs="+", choices=CASES, help="which cases to measure (default: all; with --quick, ops)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # one measuring process
    parser.add_argument("--variant", choices=VARIANTS, default="inductor", help=argparse.SUPPRESS)
    out_option(parser)
    threads_option(parser)
    args = parser.parse_args()
    threads = use_threads(args.threads)
    if args.case:
        with flag_dropped() if args.variant == "vectorize" else contextlib.nullcontext():
            print(json.dumps(CASES[args.case](args.quick)))
        return

    rounds = 1 if args.quick else args.rounds
    cases = args.cases or (["ops"] if args.quick else list(CASES))
    best: dict[str, dict[str, float]] = {variant: {} for variant in VARIANTS}
    with tempfile.TemporaryDirectory() as caches:
        for round_ in range(rounds):
            for case in cases:
                order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
                for variant in order:
                    figures = measure(case, variant, args.quick, threads, Path(caches) / f"{case}-{variant}-{round_}")
                    for name, value in figures.items():
                        kept = best[variant].get(name)
                        better = min if LOWER_IS_BETTER in name else max
                        best[variant][name] = value if kept is None else better(kept, value)

    def cell(value: float) -> str:
        return f"{value:.2f}" if value < 100 else f"{value:,.0f}"

    rows = []
    for name, value in best["inductor"].items():
        other = best["vectorize"][name]
        gain = value / other if LOWER_IS_BETTER in name else other / value
        rows.append((name, cell(value), cell(other), f"{gain:.2f}x"))
    header = (f"measure ({threads} torch thread(s))", *VARIANTS.values(), "flag dropped vs as it comes")
    context = (
        f"{machine()}; command: {command()}. C++ compiler: {compiler()}. Each case in a fresh process with an empty "
        f"inductor cache; best of {rounds} alternated round(s)."
    )
    out = args.out if args.out is not None or args.quick else Path(__file__).resolve().parent / "results"
    publish(
        "Inductor's -fno-tree-loop-vectorize and compiled booleans (CPU)",
        context,
        markdown_table(header, rows),
        out / "inductor_bools_cpu.md" if out else None,
    )


if __name__ == "__main__":
    main()
