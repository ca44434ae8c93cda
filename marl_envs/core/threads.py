"""Torch's CPU thread pool: a scoped setting, and safety in forked children.

The suite's tensors and networks are small: most ops finish in microseconds, where handing work
to a second thread costs more than it saves, and on a shared machine a thread that waits for a
busy core stalls every op. ``benchmarks/results/threads_cpu.md`` measures it; ``marl-train``
therefore trains on one intra-op thread unless told otherwise (``--threads``).

Forked children. ``multiprocessing`` forks on Linux (SB3's ``SubprocVecEnv``, AgileRL's and
SuperSuit's vectorisers), and a child forked from a process whose OpenMP pool has run (any
torch op big enough to go parallel) blocks forever at its own first parallel op: the pool's
threads were not copied. Importing ``marl_envs`` registers an after-fork hook that sets the
child's torch to one intra-op thread, so envs built or stepped in the child never enter the
pool. A child that wants more threads may call ``torch.set_num_threads`` itself; with a
GNU OpenMP runtime that is only safe if the parent never used the pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads (0: leave the setting as it is); restored afterwards."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError(f"threads must be an int >= 0 (0: torch's setting), got {threads!r}")
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads:
            torch.set_num_threads(previous)


def _one_thread_in_child() -> None:
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_in_child)
