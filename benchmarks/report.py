"""What every benchmark script prints and writes: the machine and versions, then its table."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import torch


def machine() -> str:
    """Date, processor, cores, torch version and threads, and the GPU (if any) of this run."""
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu only"
    return (
        f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), {device}"
    )


def publish(title: str, context: str, table: str, path: Path | None) -> None:
    """Print ``context`` and ``table``; unless ``path`` is None, also write them there as markdown."""
    print(context + "\n\n" + table)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {title}\n\n{context}\n\n{table}\n")
        print(f"\nwritten to {path}")
