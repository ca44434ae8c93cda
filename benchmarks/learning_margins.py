"""Learning tests over seeds and thread counts: how far each run lands from its test's threshold.

    python benchmarks/learning_margins.py [--seeds 0 1 2 3 4 5] [--threads 1 2] [--workers 2] [-k EXPR]

A learning test trains with one seed and asserts a threshold; a threshold tuned to one machine's
trajectory fails on the next machine, whose CPU rounds differently. This script runs every
``learning`` test (``pytest -m learning``) once per seed with one torch thread, and once more per
extra thread count with seed 0 (a thread count changes the order of floating-point sums, as
another CPU does), each time with ``MARL_TEST_SEED``, ``MARL_TEST_THREADS`` and
``MARL_MARGINS_FILE`` set (``tests/conftest.py``). Every quantity a test asserts on is collected:
its bound, its value in every run, the worst run, and the worst margin (value minus bound,
signed so that positive passes). A test's docstring quotes its row.

Printed and written to ``benchmarks/results/learning_margins.md`` (``--out`` for another
folder). Runs share the CPU as pytest-xdist workers (``--workers``); results do not depend on
the load, only the wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import command, machine, publish  # noqa: E402

from marl_envs.demo import markdown_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run_tests(seed: int, threads: int, workers: int, expression: str | None, records: Path, paths: list[str]) -> tuple[int, float]:
    """One ``pytest -m learning`` run; returns its exit status and wall time."""
    arguments = [sys.executable, "-m", "pytest", *paths, "-m", "learning", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--no-header"]
    if workers > 1:
        arguments += ["-n", str(workers), "--dist", "worksteal"]
    if expression:
        arguments += ["-k", expression]
    environment = {**os.environ, "MARL_TEST_SEED": str(seed), "MARL_TEST_THREADS": str(threads), "MARL_MARGINS_FILE": str(records)}
    began = time.perf_counter()
    done = subprocess.run(arguments, cwd=ROOT, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    print(f"seed {seed}, {threads} thread(s): {summary} ({seconds:.0f} s)", flush=True)
    return done.returncode, seconds


def run_of(record: dict) -> tuple[int, int, str]:
    """(seed, threads, where: "" for this machine's runs, else the file the record came from)."""
    return record["seed"], record["threads"], record.get("source", "")


def table(records: list[dict], runs: list[tuple[int, int, str]]) -> str:
    grouped: dict[tuple[str, str], dict[tuple[int, int, str], dict]] = defaultdict(dict)
    for record in records:
        grouped[(record["test"], record["quantity"])][run_of(record)] = record
    labels = [f"seed {s}" + (f", {t} threads" if t != 1 else "") + (f" ({where})" if where else "") for s, t, where in runs]
    header = ("test", "quantity", "bound", *labels, "mean ± sd", "worst margin")
    rows = []
    for (test, quantity), by_run in sorted(grouped.items()):
        first = next(iter(by_run.values()))
        sign = 1.0 if first["kind"] == "at_least" else -1.0
        values = [by_run[run]["value"] for run in runs if run in by_run]
        margins = [sign * (value - first["bound"]) for value in values]
        spread = f"{statistics.fmean(values):.3g} ± {statistics.stdev(values):.2g}" if len(values) > 1 else f"{values[0]:.3g}"
        bound = (">= " if sign > 0 else "<= ") + f"{first['bound']:.4g}"
        cells = [f"{by_run[run]['value']:.4g}" if run in by_run else "—" for run in runs]
        name = test.split("::", 1)[1] if "::" in test else test
        rows.append((name, quantity, bound, *cells, spread, f"{min(margins):+.3g}"))
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4, 5], help="seeds run with one thread (none: only tabulate --include)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts; counts other than 1 run with the first seed")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per run")
    parser.add_argument("-k", dest="expression", default=None, help="pytest -k expression: only these learning tests")
    parser.add_argument("--paths", nargs="+", default=["tests"], help="test files or folders to collect from (default: tests)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--keep", type=Path, default=None, help="also write the raw records (JSON lines) to this file")
    parser.add_argument(
        "--include",
        type=Path,
        nargs="*",
        default=[],
        metavar="JSONL",
        help="add records of earlier runs (MARL_MARGINS_FILE files, e.g. from another machine) to the table, labelled with their file's name",
    )
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parent / "results"

    runs = [(seed, 1, "") for seed in args.seeds] + [
        (args.seeds[0], threads, "") for threads in args.threads if threads != 1 and args.seeds
    ]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "margins.jsonl"
        path.touch()
        loads, walls = [], []
        for seed, threads, _ in runs:
            loads.append(os.getloadavg()[0])
            walls.append(run_tests(seed, threads, args.workers, args.expression, path, args.paths)[1])
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if args.keep:
        args.keep.write_text("".join(json.dumps(record) + "\n" for record in records))
    for extra in args.include:
        for line in extra.read_text().splitlines():
            if line.strip():
                record = {**json.loads(line), "source": extra.stem}
                records.append(record)
                if run_of(record) not in runs:
                    runs.append(run_of(record))
    context = (
        f"{machine()}; command: {command()}. {len(runs)} runs of `pytest -m learning` "
        f"({args.workers} xdist workers each, {sum(walls) / 60:.0f} min in all, load average at the starts "
        f"{min(loads, default=0):.1f}-{max(loads, default=0):.1f})"
        + (f", and the records of {', '.join(p.name for p in args.include)}" if args.include else "")
        + ". Margin: value minus bound, positive when the test passes."
    )
    publish("Learning tests: margins over seeds and thread counts", context, table(records, runs), out / "learning_margins.md")


if __name__ == "__main__":
    main()
