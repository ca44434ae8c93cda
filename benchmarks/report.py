"""What every benchmark script prints and writes: the machine and versions, then its table."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

import torch

REFERENCES = ("VMAS", "random policy", "mpe2")  # peers' and baselines' lines in the plots


def processor() -> str:
    """The processor's model name where Linux gives it (/proc/cpuinfo), else its architecture."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine() -> str:
    """Date, processor, cores, load average, torch version and threads, and the GPU (if any) of this run."""
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu only"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.date.today()}, {processor()} ({platform.machine()}), {os.cpu_count()} cores "
        f"(load average {load} at the start), torch {torch.__version__} ({torch.get_num_threads()} intra-op threads), {device}"
    )


def threads_option(parser, default: int = 1) -> None:
    """``--threads N``: torch's intra-op threads for the whole script (0: torch's default, one per core)."""
    parser.add_argument(
        "--threads",
        type=int,
        default=default,
        help="torch intra-op threads (0: torch's default, one per core; default %(default)s, as marl-train: fastest for these small tensors)",
    )


def out_option(parser) -> None:
    """``--out DIR``: where the script writes its tables and plots."""
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default: benchmarks/results; --quick writes nothing unless given)"
    )


def all_cores_option(parser, help: str) -> None:
    """``--all-cores N``: the thread count of a script's every-core measurements (default: one per core)."""
    parser.add_argument("--all-cores", type=int, default=os.cpu_count(), help=f"{help} (default: one per core, %(default)s)")


def use_threads(threads: int) -> int:
    """Apply ``--threads`` (0 keeps torch's default) and return the count in force."""
    if threads < 0:
        raise SystemExit(f"--threads must be >= 0, got {threads}")
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def command() -> str:
    """The command line of this run, as a user would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(Path(__file__).resolve().parent.parent)
    except ValueError:
        pass
    return " ".join(["python", script.as_posix(), *sys.argv[1:]])


def save_plot(
    path: Path, series: list[tuple[str, list[float], list[float]]], *, title: str, xlabel: str, ylabel: str, log: bool = False
) -> Path:
    """A line plot (one line per ``(label, xs, ys)``) written as a PNG; log-log axes with ``log``.
    Reference lines (labels starting with ``REFERENCES``) are black and dashed; the others get
    distinct colours however many there are."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    colours = plt.get_cmap("tab10" if len(series) <= 10 else "tab20").colors
    ours = 0
    for label, xs, ys in series:
        if label.startswith(REFERENCES):
            axes.plot(xs, ys, "k--", marker="o", label=label)
        else:
            axes.plot(xs, ys, marker="o", label=label, color=colours[ours % len(colours)])
            ours += 1
    if log:
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    print(f"plot written to {path}")
    return path


def publish(title: str, context: str, table: str, path: Path | None) -> None:
    """Print ``context`` and ``table``; unless ``path`` is None, also write them there as markdown."""
    print(context + "\n\n" + table)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {title}\n\n{context}\n\n{table}\n")
        print(f"\nwritten to {path}")
