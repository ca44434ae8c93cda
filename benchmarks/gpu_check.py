"""The one-command GPU check (``make gpu-check``): CUDA tests, batched env throughput, training speed.

    make gpu-check                 (sets up .venv-cuda with a CUDA torch build, then runs this)
    python benchmarks/gpu_check.py [--quick] [--budget 480]

On a machine with a CUDA device, within ``--budget`` seconds (8 minutes), one step after another,
each with its own share of the budget:

1. ``pytest -m cuda``: every test that needs a CUDA device (CI has none, so they only run here);
2. ``env_throughput.py`` on ``cooperative_navigation_v0`` with CUDA batches up to 2^20
   (``benchmarks/results/env_throughput_cuda.md``);
3. ``train_speed.py`` for the QMIX and MAPPO presets (``benchmarks/results/train_speed_cuda.md``);
4. ``compile_speed.py`` for MAPPO's preset (200k env steps, ``--compile off`` and ``on``;
   ``benchmarks/results/compile_cuda.md``): whether ``--compile auto`` should turn it on for CUDA;
5. MAPPO's ``cooperative_navigation_v0`` preset on CUDA until its greedy return first reaches -60
   (evaluated at every tenth of the budget, 1,000 episodes; the time leaves the evaluations out);
6. in whatever the steps above left of the budget (at least 30 s, else skipped): ``env_throughput.py
   --compile`` on ``cooperative_navigation_v0`` at CUDA B = 65,536 and 2^20, the step compiled
   (``benchmarks/results/env_throughput_compiled_cuda.md``).

It ends with ``benchmarks/results/gpu_check_cuda.md``: each step's outcome and time, and the
figures set against the targets (at least 1e8 env-steps/s at the best batch size; MAPPO to -60 in
under a minute). A step that fails or runs out of its share is reported and the next one still
runs; the exit status is non-zero if any step failed. Without CUDA it refuses to run, except with
``--quick``, which runs every step at toy sizes on whatever device there is (checks the script).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import command, machine, out_option, publish  # noqa: E402

from marl_baselines.algos.ppo import PPOConfig  # noqa: E402
from marl_baselines.config import PRESETS, RunConfig  # noqa: E402
from marl_baselines.train import train  # noqa: E402
from marl_envs.demo import markdown_table  # noqa: E402

SHARES = {"pytest -m cuda": 0.3, "env throughput": 0.2, "train_speed": 0.2, "compile": 0.15, "mappo to -60": 0.15}
ENV = "cooperative_navigation_v0"


def run_step(cmd: list[str], seconds: float) -> tuple[str, str, float]:
    """Run ``cmd`` with a time limit: (outcome, its output, seconds taken)."""
    began = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, cwd=ROOT)
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return f"timed out after {seconds:.0f} s", output, time.perf_counter() - began
    outcome = "passed" if done.returncode == 0 else f"failed (exit {done.returncode})"
    return outcome, done.stdout + done.stderr, time.perf_counter() - began


def best_cuda_rate(table: Path) -> str:
    """The best CUDA env-steps/s of cooperative_navigation_v0 in env_throughput's table, and its batch size."""
    if not table.exists():
        return "no table"
    lines = table.read_text().splitlines()
    header = next((line for line in lines if line.startswith("| env ")), None)
    row = next((line for line in lines if line.startswith(f"| {ENV} ")), None)
    if header is None or row is None:
        return "no row"
    cells = [c.strip() for c in row.strip("|").split("|")]
    names = [c.strip() for c in header.strip("|").split("|")]
    rates = {name: float(cell.replace(",", "")) for name, cell in zip(names, cells) if name.startswith("CUDA B=") and cell}
    if not rates:
        return "no CUDA column"
    name, rate = max(rates.items(), key=lambda item: item[1])
    return f"{rate:,.0f} env-steps/s at {name.removeprefix('CUDA ')} ({rate / 1e8:.2f}x the 1e8 target)"


def mappo_to_target(quick: bool, logs: str, target: float = -60.0) -> str:
    preset = PRESETS[("mappo", ENV)]
    total = 4_096 if quick else preset["run"]["total_steps"]
    run = RunConfig(
        **{
            **preset["run"],
            "total_steps": total,
            "eval_interval": total // 10 if not quick else 0,
            "eval_episodes": 20 if quick else 1000,
            "log_dir": logs,
            "progress": False,
            "tensorboard": False,
            "checkpoint_buffer": False,
        }
    )
    result = train("mappo", ENV, run, PPOConfig(**preset["algo"]), preset.get("env", {}), quiet=True)
    for steps, seconds, e in result.training_curve():
        if e["return"] >= target:
            return f"{seconds:.1f} s of training to {e['return']:.2f} at {steps:,} env steps (target: under 60 s)"
    rate = result.env_steps / result.training_seconds
    return f"not reached in {result.env_steps:,} env steps (greedy return {result.final['return']:.2f}; {rate:,.0f} env-steps/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="toy sizes on any device: checks that the script runs")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for all the steps together")
    out_option(parser)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.quick:
        raise SystemExit(
            f"gpu_check: no CUDA device visible to torch {torch.__version__} (a CPU build?); set up a CUDA build with make gpu-check, or pass --quick to check the script on CPU"
        )
    out = args.out if args.out is not None or args.quick else ROOT / "benchmarks" / "results"
    scratch = out if out is not None else Path(tempfile.mkdtemp(prefix="gpu_check-"))
    python, bench = sys.executable, ROOT / "benchmarks"
    share = {name: fraction * args.budget for name, fraction in SHARES.items()}
    rows, failed, started = [], False, time.perf_counter()

    pytest = [python, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "tests"]
    if args.quick:  # one file's CUDA tests (skipped without a device): the step itself is what is checked
        pytest[-1] = "tests/test_vec.py"
    else:  # 4 workers (one CUDA context each) share the cold compilations of the compiled-env tests
        pytest[3:3] = ["-n", str(min(4, os.cpu_count() or 1)), "--dist", "worksteal"]
    outcome, output, seconds = run_step(pytest, share["pytest -m cuda"])
    summary = next(
        (line.strip("= ") for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed|skipped|deselected|error)", line)),
        "no summary",
    )
    failed |= outcome != "passed"
    rows.append(("pytest -m cuda", outcome, f"{seconds:.0f} s", summary))

    sizes = (
        ["--sizes", "1", "16", "--cuda-sizes", "64", "256", "--seconds", "0.05"]
        if args.quick
        else ["--sizes", "1", "4096", "--cuda-sizes", "4096", "65536", "262144", "1048576", "--seconds", "1"]
    )
    throughput = [python, str(bench / "env_throughput.py"), "--envs", ENV, *sizes, "--all-cores", "1", "--out", str(scratch)]
    outcome, output, seconds = run_step(throughput, share["env throughput"])
    failed |= outcome != "passed"
    table = scratch / ("env_throughput_cuda.md" if cuda else "env_throughput_cpu.md")
    rows.append(("env throughput", outcome, f"{seconds:.0f} s", best_cuda_rate(table) if cuda else "(no CUDA: CPU table only)"))

    speed = [python, str(bench / "train_speed.py"), "--algos", "qmix", "mappo", "--out", str(scratch), *(["--quick"] if args.quick else [])]
    outcome, output, seconds = run_step(speed, share["train_speed"])
    failed |= outcome != "passed"
    rows.append(
        (
            "train_speed (qmix, mappo)",
            outcome,
            f"{seconds:.0f} s",
            f"table in {scratch / ('train_speed_cuda.md' if cuda else 'train_speed_cpu.md')}",
        )
    )

    compiled = [
        python,
        str(bench / "compile_speed.py"),
        "--presets",
        "mappo:cooperative_navigation_v0",
        "--rounds",
        "1",
        "--steps",
        "200000",
        "--out",
        str(scratch),
        *(["--quick"] if args.quick else []),
    ]
    outcome, output, seconds = run_step(compiled, share["compile"])
    failed |= outcome != "passed"
    rows.append(
        (
            "compile_speed (mappo)",
            outcome,
            f"{seconds:.0f} s",
            f"table in {scratch / ('compile_cuda.md' if cuda else 'compile_cpu.md')}: decides --compile auto on CUDA",
        )
    )

    began = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as logs:
            figure = mappo_to_target(args.quick, logs)
        outcome = "passed"
    except Exception as error:  # reported in the table; the check's exit status says it failed
        figure, outcome, failed = f"{type(error).__name__}: {error}", "failed", True
    rows.append(("mappo to -60", outcome, f"{time.perf_counter() - began:.0f} s", figure))

    # Last, in what is left of the budget (so that it takes no time from the steps above): the env
    # step compiled (env.compile()) at the two largest CUDA batches, against the same 1e8 target.
    left = args.budget - (time.perf_counter() - started)
    if left >= 30 or args.quick:
        sizes = [
            "--sizes",
            "1",
            "--cuda-sizes",
            *(["64"] if args.quick else ["65536", "1048576"]),
            "--seconds",
            "0.05" if args.quick else "1",
        ]
        command_line = [
            python,
            str(bench / "env_throughput.py"),
            "--compile",
            "--envs",
            ENV,
            *sizes,
            "--all-cores",
            "1",
            "--out",
            str(scratch),
        ]
        outcome, output, seconds = run_step(command_line, max(left, 60.0) if args.quick else left)
        failed |= outcome != "passed"
        table = scratch / ("env_throughput_compiled_cuda.md" if cuda else "env_throughput_compiled_cpu.md")
        rows.append(
            ("compiled env throughput", outcome, f"{seconds:.0f} s", best_cuda_rate(table) if cuda else "(no CUDA: CPU table only)")
        )
    else:
        rows.append(("compiled env throughput", "skipped", "", f"{left:.0f} s of the budget left (it needs 30)"))

    context = f"{machine()}; command: {command()}; budget {args.budget:.0f} s."
    publish("GPU check", context, markdown_table(("step", "outcome", "time", "figure"), rows), out / "gpu_check_cuda.md" if out else None)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
