"""Catch host-device synchronisations: ``with forbid_host_syncs(): ...`` raises at the first one.

On CUDA a tensor's value reaches Python only after the device has finished every kernel queued
before it: ``.item()``, ``bool(t)`` (an ``if`` on a tensor), ``.tolist()``, ``.cpu()``, and every
operation whose output *size* depends on the data (``nonzero``, boolean-mask indexing,
``masked_select``, ``unique``) make the host wait, and one such wait per step caps a batched
env's throughput. This module finds them:

- on any device, a dispatch mode refuses those operations (on CPU it is a proxy: CPU tensors
  never wait, but the same code on CUDA would);
- a number assigned through an index tensor (``x[ids] = 0``) is refused too: torch turns it into
  a CPU scalar, and on CUDA ``index_put_`` copies that to the device and waits for it
  (``x.index_fill_(0, ids, 0)`` passes the number to the kernel instead);
- when CUDA is available, ``torch.cuda.set_sync_debug_mode("error")`` is switched on as well,
  which catches every synchronising CUDA call, including ones this list does not name.

One exception: ``torch.optim`` reads its CPU step counters with ``.item()`` (on CUDA they stay on
the CPU, so that is no sync there); reads of CPU tensors from inside ``torch.optim`` pass.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["HostSyncError", "forbid_host_syncs"]


class HostSyncError(RuntimeError):
    """An operation inside ``forbid_host_syncs()`` would make the host wait for the device."""


_DATA_DEPENDENT = {
    "aten::_local_scalar_dense": "reads a tensor's value on the host (.item(), bool(), int(), float(), an `if` on a tensor)",
    "aten::nonzero": "nonzero() (its output size depends on the data; also torch.where(mask) with one argument)",
    "aten::nonzero_numpy": "nonzero() (its output size depends on the data)",
    "aten::argwhere": "argwhere() (its output size depends on the data)",
    "aten::masked_select": "masked_select() (its output size depends on the data)",
    "aten::_unique2": "unique() (its output size depends on the data)",
    "aten::unique_dim": "unique() (its output size depends on the data)",
    "aten::unique_consecutive": "unique_consecutive() (its output size depends on the data)",
    "aten::repeat_interleave": "repeat_interleave() with tensor repeats (its output size depends on the data)",
}
_INDEXING = {"aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}


def _bool_index(args) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices or ())


_OPTIM = os.sep + os.path.join("torch", "optim") + os.sep


def _inside_torch_optim() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if _OPTIM in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class _SyncGuard(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.number = None  # the last tensor torch made from a Python number (``lift_fresh``)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        if name == "aten::lift_fresh":
            self.number = func(*args, **(kwargs or {}))
            return self.number
        if name in _DATA_DEPENDENT:
            tensor = args[0] if args and isinstance(args[0], torch.Tensor) else None
            optimizer_counter = name == "aten::_local_scalar_dense" and tensor is not None and tensor.device.type == "cpu"
            if not (optimizer_counter and _inside_torch_optim()):
                raise HostSyncError(f"host-device sync: {func} {_DATA_DEPENDENT[name]}")
        elif name in _INDEXING and _bool_index(args):
            raise HostSyncError(f"host-device sync: {func} with a boolean mask (use torch.where or integer indices)")
        elif name in _INDEXING and self.number is not None and any(a is self.number for a in (*args, *(kwargs or {}).values())):
            raise HostSyncError(
                f"host-device sync: {func} of a number through an index (x[ids] = 0) copies it to the device; use x.index_fill_(dim, ids, value)"
            )
        elif name in ("aten::_to_copy", "aten::copy_"):
            source = args[1] if name == "aten::copy_" else args[0]
            target = args[0].device if name == "aten::copy_" else (kwargs or {}).get("device")
            if source.device.type not in ("cpu", "meta") and target is not None and torch.device(target).type == "cpu":
                raise HostSyncError(f"host-device sync: {func} copies a {source.device} tensor to the CPU")
        return func(*args, **(kwargs or {}))


def _refuse(what: str):
    def method(self, *args, **kwargs):
        raise HostSyncError(f"host-device sync: Tensor.{what}() copies the tensor's values to the host")

    return method


@contextmanager
def forbid_host_syncs() -> Iterator[None]:
    """Raise :class:`HostSyncError` at the first host-device synchronisation inside the block."""
    patched = {name: getattr(torch.Tensor, name) for name in ("tolist", "numpy", "__array__")}
    cuda = torch.cuda.is_available()
    previous_mode = torch.cuda.get_sync_debug_mode() if cuda else None
    try:
        for name in patched:
            setattr(torch.Tensor, name, _refuse(name.strip("_")))
        if cuda:
            torch.cuda.set_sync_debug_mode("error")
        with _SyncGuard():
            yield
    finally:
        for name, method in patched.items():
            setattr(torch.Tensor, name, method)
        if cuda:
            torch.cuda.set_sync_debug_mode(previous_mode)
