"""Data-parallel training under ``torchrun``: every rank its own envs, one set of networks.

    torchrun --standalone --nproc-per-node 2 --no-python marl-train mappo target_grid_v0 --num-envs 8

``marl-train`` (:func:`marl_baselines.train.train`) notices the launch (``WORLD_SIZE`` > 1 in the
environment) and then, on every rank:

* starts the process group: gloo on the CPU; on CUDA, NCCL for the tensors on the GPU (each rank on
  ``cuda:LOCAL_RANK``, with ``--device auto`` or ``cuda``) and gloo beside it for the few host-side
  decisions;
* builds the envs and the algorithm with this rank's seeds (:meth:`World.seed`,
  :meth:`World.env_seed`): sub-env b of rank r gets ``seed + r * num_envs + b``, so the ranks
  together start exactly the envs one process with ``world_size * num_envs`` envs would; the
  algorithm's sampling generator (exploration, minibatch order, replay sampling) gets
  ``seed + 100_003 * r`` (rank 0: ``seed``, the single-process run's);
* wraps the algorithm in :class:`DistributedAlgorithm`, which copies every network (online and
  target, value normalisers, averaged and pooled networks) from rank 0, so all ranks start from
  rank 0's networks, and from then on averages the gradients of every optimiser the algorithm owns
  (ICM's and MADDPG's two included) before each step.

What counts where: env-step quantities are *global*. ``--total-steps``, ``--eval-interval``,
``--checkpoint-interval`` and the algorithms' schedules (``learning_starts``, epsilon and noise
annealing) count the env steps of all ranks together, so the schedules of ``world_size`` ranks with
``num_envs`` envs each are those of one process with ``world_size * num_envs`` envs. Data sizes are
*per rank*: ``--num-envs``, a PPO rollout (``rollout_steps x num_envs``, split into ``minibatches``),
a replay buffer (``buffer_size``) and a sampled batch (``batch_size``) belong to one rank, so one
averaged gradient step sees ``world_size`` times the data of one rank. Hence the equivalences:

* MAPPO / IPPO / MA-DVRL: ranks x ``--num-envs N`` train like one process with ``--num-envs ranks*N``
  (the same rollouts, minibatches of the same share of them, the same number of steps);
* IQL / VDN / QMIX / MADDPG / MATD3: like one process with ``--num-envs ranks*N``,
  ``--batch-size ranks*B`` and ``--buffer-size ranks*S``.

The averaged gradient is the full batch's exactly when every rank's loss averages over the same
number of samples (equal ``num_envs``, and, for losses masked by ``alive`` or by an episode's
length, equal counts): then the mean of the per-rank means is the mean over the union. Otherwise it
is the mean of the per-rank means, as with ``torch.nn.parallel.DistributedDataParallel``. Two
statistics are taken over a whole batch rather than summed per sample; one is made global, one
stays local:

* value normalisation (:class:`~marl_baselines.normalization.RunningMeanStd`): its update is fed the
  moments of every rank's returns (two small all-reduces per rollout), so the normaliser is the one
  the doubled batch would give and stays identical across ranks;
* PPO's advantage standardisation (``normalize_advantages``) uses each rank's own minibatch:
  close to, not exactly, the doubled batch's (``tests/test_distributed.py`` checks the exact
  equality with it off).

Gradient clipping. Clipping each rank's gradient before averaging is not clipping the average
(``mean(clip(g_r)) != clip(mean(g_r))`` once any rank's norm exceeds the limit), and the doubled
batch clips the average. The algorithms therefore clip with :func:`clip_grad_norm_` from this
module: with a single process it *is* ``torch.nn.utils.clip_grad_norm_``; under
:class:`DistributedAlgorithm` it first averages the gradients of the parameters it is given (one
all-reduce) and marks their optimiser as done, so the optimiser's step pre-hook does not average
them again. Optimisers stepped without clipping (ICM's, or ``grad_clip=0``) are averaged by the
step pre-hook.

Every rank must take the same optimiser steps in the same order, or the all-reduce of one rank waits
forever for a partner. PPO and MA-DVRL train when their rollout is full and MADDPG when its
transition buffer (which grows by ``num_envs`` per step on every rank) is large enough: the same
steps everywhere. IQL/VDN/QMIX wait until their buffer holds ``batch_size`` *finished* episodes,
which depends on how each rank's episodes happened to end: an algorithm exposes such a decision as
``buffer_ready()``, and :class:`DistributedAlgorithm` makes it one decision of all ranks (ready when
every rank is; in sync-free mode the buffer's answer counts steps and needs no agreement). The
statistics an update returns are averaged over the ranks (on the device), so rank 0 logs the whole
batch's losses.

The per-step additions keep the sync-free training step (``--sync-free``, ``--check-syncs``) free of
host reads: the gradient all-reduce, the statistics and the normaliser's moments stay on the device.
Host reads remain where a decision needs one: a parameter without a gradient on some rank (the
rank lacking it reads which ranks had one), and the replay readiness above before learning starts.

MA-DVRL: its opponent pool holds copies of the networks, identical on every rank, so the pool is too;
each rank draws its own opponents for its hands. ``--exploitability-interval`` measures on every
rank (only rank 0's figure is logged; the others spend the same time and wait).

The NCCL path (CUDA) has not run here (no multi-GPU machine); the tests run gloo on the CPU.

Rank 0 alone writes the logs, ``config.json``, the progress bar and the evaluations. Checkpoints are
per rank (each rank's envs, buffer and generator differ): rank 0 writes ``checkpoint.pt``, rank r
``checkpoint-rank{r}.pt``, in the same run directory; ``--resume RUN_DIR`` reads them back and needs
the same number of ranks. A torchrun run is not stopped gracefully by Ctrl-C (the ranks would stop at
different steps): it ends, and ``--resume`` continues from its last periodic checkpoint
(``--checkpoint-interval``). At the end every rank checks that its networks equal rank 0's bit for
bit (:meth:`DistributedAlgorithm.check_synchronised`).
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch import distributed as dist

from marl_baselines.config import resolve_device

__all__ = ["World", "DistributedAlgorithm", "start", "stop", "clip_grad_norm_", "average_gradients", "RANK_SEED_STRIDE"]

RANK_SEED_STRIDE = 100_003
"""Rank r's algorithm (sampling) seed is ``seed + RANK_SEED_STRIDE * r``."""


@dataclass(frozen=True)
class World:
    """This process's place in a ``torchrun`` launch: rank 0 of 1 outside one."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    owns_group: bool = False
    """:func:`start` created the process group (and :func:`stop` destroys it)."""

    @classmethod
    def from_environment(cls) -> World:
        """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (torchrun sets them); nothing is initialised."""
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        if size < 1 or not 0 <= rank < size:
            raise ValueError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={size}")
        return cls(rank, size, local_rank)

    @property
    def parallel(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that logs, evaluates and prints."""
        return self.rank == 0

    def seed(self, seed: int) -> int:
        """The algorithm's seed on this rank (its networks are then overwritten by rank 0's)."""
        return seed + RANK_SEED_STRIDE * self.rank

    def env_seed(self, seed: int, num_envs: int) -> int:
        """The reset seed of this rank's envs: sub-env b gets ``seed + rank * num_envs + b``."""
        return seed + self.rank * num_envs

    def device(self, requested: str) -> str:
        """The training device of this rank: ``auto`` and ``cuda`` mean ``cuda:LOCAL_RANK`` under torchrun."""
        if not self.parallel:
            return requested
        if requested in ("auto", "cuda"):
            return str(resolve_device("auto" if requested == "auto" else f"cuda:{self.local_rank}", index=self.local_rank))
        if requested.startswith("cuda:"):
            raise ValueError(f"device {requested!r}: under torchrun each rank trains on cuda:LOCAL_RANK; pass --device cuda (or auto)")
        return requested

    @property
    def checkpoint_name(self) -> str:
        """``checkpoint.pt`` (rank 0, and a single process) or ``checkpoint-rank{r}.pt``."""
        return "checkpoint.pt" if self.rank == 0 else f"checkpoint-rank{self.rank}.pt"

    def checkpoint_path(self, resume: str | Path) -> Path:
        """This rank's checkpoint for ``--resume`` given a run directory or rank 0's ``checkpoint.pt``."""
        path = Path(resume)
        directory = path if path.is_dir() else path.parent
        if not path.is_dir() and self.rank == 0:
            return path
        return directory / self.checkpoint_name

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank."""
        if not self.parallel:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def start(device: str) -> tuple[World, str]:
    """Join the torchrun launch this process belongs to, if any: returns the world and this rank's
    device. Initialises the default process group (gloo for the CPU, NCCL for CUDA) unless it exists."""
    world = World.from_environment()
    if not world.parallel:
        return world, device
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world.size}, but this torch build has no torch.distributed")
    device = world.device(device)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if dist.is_initialized():
        if dist.get_world_size() != world.size or dist.get_rank() != world.rank:
            raise RuntimeError(f"the existing process group (rank {dist.get_rank()} of {dist.get_world_size()}) is not the torchrun launch's (rank {world.rank} of {world.size})")
        return world, device
    # torch._dynamo (which the first optimiser imports) keeps a reference to a process group that exists
    # when it is imported: the group then outlives destroy_process_group, and gloo's threads abort the
    # interpreter's exit (torch 2.13, observed). Imported first, it holds none.
    # (importlib, not `import torch._dynamo`: that statement would make `torch` a local name of this
    # function, unbound at the torch.cuda.set_device above)
    importlib.import_module("torch._dynamo")

    # On CUDA, NCCL for the gradients and gloo for the few host-side decisions (CPU tensors).
    dist.init_process_group(backend="cpu:gloo,cuda:nccl" if device.startswith("cuda") else "gloo")
    return World(world.rank, world.size, world.local_rank, owns_group=True), device


def stop(world: World) -> None:
    """Destroy the process group :func:`start` created."""
    if world.owns_group and dist.is_initialized():
        dist.barrier()  # no rank tears its connections down while a peer still uses them
        dist.destroy_process_group()


# ---------------------------------------------------------------------- gradients
_averagers: dict[int, _GradientAverager] = {}  # id(parameter) -> the averager of its optimiser (it holds the parameter)


def clip_grad_norm_(parameters: torch.Tensor | Iterable[torch.Tensor], max_norm: float, **kwargs) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` on the gradient averaged over the ranks.

    With one process (no :class:`DistributedAlgorithm` alive) this is exactly torch's function. Under
    one, the gradients of the data-parallel ``parameters`` are averaged first (so the norm and the
    clipping are the doubled batch's), and an optimiser whose parameters were all averaged here skips
    its own averaging at its next step.
    """
    if not _averagers:
        return nn.utils.clip_grad_norm_(parameters, max_norm, **kwargs)
    parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    groups: dict[int, tuple[_GradientAverager, list[torch.Tensor]]] = {}
    for p in parameters:
        averager = _averagers.get(id(p))
        if averager is not None:
            groups.setdefault(id(averager), (averager, []))[1].append(p)
    for averager, owned in groups.values():
        average_gradients(owned)
        if len({id(p) for p in owned}) == len(averager.parameters):
            averager.averaged = True
    return nn.utils.clip_grad_norm_(parameters, max_norm, **kwargs)


@torch.no_grad()
def average_gradients(parameters: list[torch.Tensor]) -> None:
    """Replace every parameter's ``grad`` by its mean over the ranks, in one all-reduce per device
    and dtype. A rank without a gradient (``grad is None``) counts as zeros; a parameter without one
    on every rank keeps ``None`` (so Adam skips it, as it would in one process).

    Which ranks had a gradient travels in the same all-reduce; only a rank missing one reads that
    on the host (a device sync). In the usual case, every parameter used by every loss, nothing is
    read: the step stays free of host-device syncs."""
    size = dist.get_world_size()
    for group in _by_device_and_dtype(parameters):
        local = [p.grad is not None for p in group]
        present = torch.tensor(local, dtype=group[0].dtype).to(group[0].device, non_blocking=True)
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in group] + [present])
        dist.all_reduce(flat)
        flat.div_(size)
        anywhere = local if all(local) else (flat[-len(group) :] > 0).tolist()  # some rank had a gradient
        offset = 0
        for p, has_gradient in zip(group, anywhere):
            value = flat[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
            if not has_gradient:
                continue
            if p.grad is None:
                p.grad = value.clone()
            else:
                p.grad.copy_(value)


class _GradientAverager:
    """Averages an optimiser's gradients over the ranks just before each of its steps, unless
    :func:`clip_grad_norm_` already did since its last step."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        unique = {id(p): p for group in optimizer.param_groups for p in group["params"]}
        self.parameters = list(unique.values())
        self.averaged = False
        self.handle = optimizer.register_step_pre_hook(self._before_step)

    def _before_step(self, optimizer, args, kwargs) -> None:
        if self.averaged:
            self.averaged = False
            return
        average_gradients(self.parameters)


# ---------------------------------------------------------------------- the wrapper
class DistributedAlgorithm:
    """``algorithm`` (any of :data:`marl_baselines.algos.ALGORITHMS`'s objects) made data-parallel.

    On construction: finds what the algorithm owns, through its attributes (lists, dicts and the
    package's own objects such as ``Curiosity`` included): every ``nn.Module`` (online, target,
    averaged and pooled networks, value normalisers), loose ``nn.Parameter`` s and every
    ``torch.optim.Optimizer``; copies the modules' parameters and buffers from rank 0; registers a
    step pre-hook on each optimiser that averages its gradients (:class:`_GradientAverager`); feeds
    running statistics with a ``merge_moments`` method every rank's moments; and makes a
    ``buffer_ready()`` decision one of all ranks. It offers the training loop's interface
    (``start``, ``initial_hidden``, ``act``, ``observe``, ``state_dict``, ``load_state_dict``) and
    hands every other attribute to the algorithm. Call :meth:`close` to undo the hooks.
    """

    def __init__(self, algorithm: Any, world: World | None = None):
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError("DistributedAlgorithm needs an initialised process group (marl_baselines.distributed.start under torchrun)")
        self.algorithm = algorithm
        self.world = world or World(dist.get_rank(), dist.get_world_size())
        self.device = torch.device(getattr(algorithm, "device", "cpu"))
        # host decisions travel as CPU tensors where the backend takes them (gloo): no CUDA sync to read
        self._flag_device = torch.device("cpu") if "gloo" in str(dist.get_backend()) else self.device
        self._ready = False
        modules, optimizers, _ = _owned(algorithm)
        self._broadcast_state()
        self._averagers = [_GradientAverager(optimizer) for optimizer in optimizers]
        for averager in self._averagers:
            for p in averager.parameters:
                if id(p) in _averagers:
                    raise ValueError("a parameter belongs to two data-parallel optimisers")
                _averagers[id(p)] = averager
        self._patched: list[tuple[Any, str]] = []
        for module in modules:
            for statistic in module.modules():
                if callable(getattr(statistic, "merge_moments", None)):
                    statistic.update = types.MethodType(_update_with_every_rank, statistic)
                    self._patched.append((statistic, "update"))
        # (a sync-free episode buffer answers from a count of steps, the same on every rank: no all-reduce)
        if callable(getattr(algorithm, "buffer_ready", None)) and not getattr(getattr(algorithm, "buffer", None), "sync_free", False):
            local = algorithm.buffer_ready
            algorithm.buffer_ready = lambda: self._buffer_ready_everywhere(local)
            self._patched.append((algorithm, "buffer_ready"))

    # ---------------------------------------------------------------- the training loop's interface
    def start(self, out) -> None:
        self.algorithm.start(out)

    def initial_hidden(self, num_envs: int):
        return self.algorithm.initial_hidden(num_envs)

    def act(self, out, hidden, explore: bool, env_steps: int = 0):
        return self.algorithm.act(out, hidden, explore, env_steps)

    def observe(self, actions: torch.Tensor, out, env_steps: int) -> dict[str, float | torch.Tensor] | None:
        """The algorithm's ``observe``; the statistics of an update averaged over the ranks, as 0-d
        tensors on the device (every rank trains at the same steps, so every rank joins that all-reduce)."""
        stats = self.algorithm.observe(actions, out, env_steps)
        if stats:
            keys = sorted(stats)
            values = torch.stack([torch.as_tensor(stats[k], dtype=torch.float64, device=self.device).reshape(()) for k in keys])
            dist.all_reduce(values)
            stats = dict(zip(keys, (values / self.world.size).unbind()))
        return stats

    def state_dict(self, include_buffer: bool = True) -> dict:
        return self.algorithm.state_dict(include_buffer=include_buffer)

    def load_state_dict(self, state: dict) -> None:
        """Load this rank's checkpoint; the networks must then equal rank 0's (they were saved at the same step)."""
        self.algorithm.load_state_dict(state)
        self._ready = False
        self.check_synchronised()

    def __getattr__(self, name: str) -> Any:
        if name == "algorithm":  # not yet set (during unpickling, for instance)
            raise AttributeError(name)
        return getattr(self.algorithm, name)

    # ---------------------------------------------------------------- synchronisation
    def _state_tensors(self) -> list[torch.Tensor]:
        """Every module's parameters and buffers and the loose parameters, each once, in attribute order."""
        modules, _, loose = _owned(self.algorithm)
        tensors: dict[int, torch.Tensor] = {}
        for module in modules:
            for tensor in (*module.parameters(), *module.buffers()):
                tensors.setdefault(id(tensor), tensor)
        for p in loose:
            tensors.setdefault(id(p), p)
        return list(tensors.values())

    @torch.no_grad()
    def _broadcast_state(self) -> None:
        tensors = self._state_tensors()
        self._check_layout(tensors)
        for group in _by_device_and_dtype(tensors):
            flat = torch.cat([t.detach().reshape(-1) for t in group])
            dist.broadcast(flat, src=0)
            offset = 0
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view_as(t))
                offset += t.numel()

    @torch.no_grad()
    def check_synchronised(self) -> None:
        """Raise a RuntimeError on every rank unless every rank's networks (parameters and buffers,
        target and pooled networks included) equal rank 0's bit for bit."""
        tensors = self._state_tensors()
        self._check_layout(tensors)
        differs = False
        for group in _by_device_and_dtype(tensors):
            flat = torch.cat([t.detach().reshape(-1) for t in group])
            reference = flat.clone()
            dist.broadcast(reference, src=0)  # a copy: rank 0's bits arrive unchanged
            differs |= not torch.equal(_bits(flat), _bits(reference))
        flags = torch.tensor([float(differs)], device=self._flag_device)
        dist.all_reduce(flags)
        if flags.item() > 0:
            raise RuntimeError(f"the networks of {int(flags.item())} of {self.world.size} ranks differ from rank 0's: data-parallel training went out of step")

    def _check_layout(self, tensors: list[torch.Tensor]) -> None:
        """Every rank holds the same tensors (count, sizes, dtypes), or no collective over them can work."""
        signature = [(tuple(t.shape), str(t.dtype)) for t in tensors]
        if self.world.broadcast(signature) != signature:
            raise RuntimeError(f"rank {self.world.rank}'s networks are not shaped like rank 0's ({len(signature)} tensors)")

    def _buffer_ready_everywhere(self, local) -> bool:
        """Ready once every rank's buffer is. Buffers only grow, so once true it stays true and
        needs no more all-reduces."""
        if not self._ready:
            flag = torch.tensor([float(bool(local()))], device=self._flag_device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            self._ready = bool(flag.item() > 0)
        return self._ready

    def close(self) -> None:
        """Remove the optimisers' hooks and the patched methods (the algorithm is single-process again)."""
        for averager in self._averagers:
            averager.handle.remove()
            for p in averager.parameters:
                if _averagers.get(id(p)) is averager:
                    del _averagers[id(p)]
        self._averagers = []
        for owner, name in self._patched:
            delattr(owner, name)
        self._patched = []


@torch.no_grad()
def _update_with_every_rank(self, values: torch.Tensor, weight: torch.Tensor | None = None) -> None:
    """A running statistic's ``update(values, weight)`` fed the moments of every rank's entries: the
    weight and the weighted sum in one all-reduce, then the squared deviations from the global mean
    in another (float64; nothing read on the host, a rank with no entries takes part with zeros)."""
    values = values.detach().double().flatten()
    weight = torch.ones_like(values) if weight is None else weight.detach().double().flatten()
    totals = torch.stack((weight.sum(), (values * weight).sum()))
    dist.all_reduce(totals)
    count = totals[0]
    mean = totals[1] / count.clamp(min=1)
    spread = ((values - mean).pow(2) * weight).sum().reshape(1)
    dist.all_reduce(spread)
    self.merge_moments(mean, spread[0] / count.clamp(min=1), count)


def _owned(algorithm: Any) -> tuple[list[nn.Module], list[torch.optim.Optimizer], list[nn.Parameter]]:
    """The modules, optimisers and loose parameters reachable from ``algorithm``'s attributes, through
    lists, tuples, dicts and objects of this package (not through modules: a module brings its own)."""
    modules: list[nn.Module] = []
    optimizers: list[torch.optim.Optimizer] = []
    loose: list[nn.Parameter] = []
    seen: set[int] = set()

    def visit(value: Any) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, nn.Module):
            modules.append(value)
        elif isinstance(value, torch.optim.Optimizer):
            optimizers.append(value)
        elif isinstance(value, nn.Parameter):
            loose.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif type(value).__module__.startswith("marl_baselines") and hasattr(value, "__dict__"):
            for item in vars(value).values():
                visit(item)

    for item in vars(algorithm).values():
        visit(item)
    return modules, optimizers, loose


def _by_device_and_dtype(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    return list(groups.values())


def _bits(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's raw bits (so that NaN equals NaN and -0.0 differs from 0.0)."""
    if tensor.is_floating_point():
        return tensor.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[tensor.element_size()])
    return tensor
