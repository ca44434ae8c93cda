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
* wraps the algorithm in :class:`DistributedAlgorithm`, which reads what the algorithm shares from
  its ``data_parallel_parts()`` (a :class:`DataParallelParts`: read it in an algorithm's file to
  see what runs under torchrun), copies the declared networks (online and target, value
  normalisers, averaged and pooled networks) from rank 0, so all ranks start from rank 0's
  networks, and from then on averages the gradients of every declared optimiser (ICM's and
  MADDPG's two included) before each step.

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
batch clips the average. The algorithms therefore clip through the :class:`AveragedGradients` of
each optimiser: with a single process its ``clip`` *is* ``torch.nn.utils.clip_grad_norm_``; under
:class:`DistributedAlgorithm` it first averages the optimiser's gradients (one all-reduce), so the
optimiser's step pre-hook does not average them again. Optimisers stepped without clipping (ICM's,
or ``grad_clip=0``) are averaged by the step pre-hook.

Every rank must take the same optimiser steps in the same order, or the all-reduce of one rank waits
forever for a partner. PPO and MA-DVRL train when their rollout is full and MADDPG when its
transition buffer (which grows by ``num_envs`` per step on every rank) is large enough: the same
steps everywhere. IQL/VDN/QMIX wait until their buffer holds ``batch_size`` *finished* episodes,
which depends on how each rank's episodes happened to end: an algorithm takes such a decision
through a :class:`RankAgreement` it declares, which :class:`DistributedAlgorithm` makes one decision
of all ranks (ready when every rank is; in sync-free mode the buffer's answer counts steps, and
IQL/VDN/QMIX then declare no agreement). The
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import distributed as dist
from torch import nn

from marl_baselines.config import resolve_device

__all__ = [
    "World",
    "DataParallelParts",
    "AveragedGradients",
    "RankAgreement",
    "DistributedAlgorithm",
    "start",
    "stop",
    "average_gradients",
    "RANK_SEED_STRIDE",
]

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
            raise RuntimeError(
                f"the existing process group (rank {dist.get_rank()} of {dist.get_world_size()}) is not the torchrun launch's (rank {world.rank} of {world.size})"
            )
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


# ---------------------------------------------------------------------- what an algorithm declares
@dataclass(frozen=True)
class DataParallelParts:
    """What an algorithm shares between torchrun's ranks: its ``data_parallel_parts()`` returns one
    (called when :class:`DistributedAlgorithm` starts and again whenever it checks the ranks agree,
    so a pool of networks that grows is listed as it stands)."""

    networks: tuple[nn.Module | nn.Parameter, ...]
    """Every network the ranks must hold alike (online, target, averaged and pooled networks, value
    normalisers) and loose parameters: rank 0's are copied to every rank at the start, and at the
    end every rank's must equal rank 0's bit for bit."""
    gradients: tuple[AveragedGradients, ...]
    """One per optimiser: its gradients are averaged over the ranks before each of its steps."""
    statistics: tuple[Any, ...] = ()
    """Running statistics (with ``share_across_ranks``, such as
    :class:`~marl_baselines.normalization.RunningMeanStd`) whose updates take every rank's batch."""
    decisions: tuple[RankAgreement, ...] = ()
    """Decisions taken from this rank's own data (is the replay buffer ready?) that all ranks must take alike."""


# ---------------------------------------------------------------------- gradients
class AveragedGradients:
    """The gradients of one optimiser, averaged over torchrun's ranks before it steps.

    An algorithm makes one per optimiser, clips through :meth:`clip` and lists it in its
    :class:`DataParallelParts`. In one process it only clips: :meth:`clip` is
    ``torch.nn.utils.clip_grad_norm_`` over the optimiser's parameters. Shared across ranks (by
    :class:`DistributedAlgorithm`), :meth:`clip` first averages the gradients (one all-reduce), so
    the norm and the clipping are the doubled batch's, and the optimiser's next step does not
    average them again; a step taken without clipping averages them in the optimiser's step pre-hook.
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        unique = {id(p): p for group in optimizer.param_groups for p in group["params"]}
        self.parameters = list(unique.values())
        self._hook = None  # the step pre-hook, while shared across ranks
        self._averaged = False  # clip averaged the gradients since the last step

    def share_across_ranks(self, shared: bool) -> None:
        """Average over the ranks from now on (True), or no longer (False)."""
        if shared and self._hook is None:
            self._hook = self.optimizer.register_step_pre_hook(self._before_step)
        elif not shared and self._hook is not None:
            self._hook.remove()
            self._hook = None
        self._averaged = False

    def clip(self, max_norm: float) -> torch.Tensor:
        """Clip the gradients' global norm to ``max_norm`` (averaged over the ranks first when
        shared); returns the norm before clipping, as ``torch.nn.utils.clip_grad_norm_``."""
        if self._hook is not None:
            average_gradients(self.parameters)
            self._averaged = True
        return nn.utils.clip_grad_norm_(self.parameters, max_norm)

    def _before_step(self, optimizer, args, kwargs) -> None:
        if self._averaged:
            self._averaged = False
            return
        average_gradients(self.parameters)


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


# ---------------------------------------------------------------------- decisions
class RankAgreement:
    """A readiness each rank decides from its own data (a replay buffer holding enough finished
    episodes), made one decision of all ranks when shared: ready when every rank is. Readiness only
    grows (buffers fill), so once every rank is ready it stays so, with no more all-reduces.

    ``agreement(ready)`` with ``ready`` a function returning this rank's answer; in one process
    (not shared) it is ``ready()``."""

    def __init__(self):
        self.shared = False
        self._ready = False

    def share_across_ranks(self, shared: bool) -> None:
        self.shared = shared
        self._ready = False

    def forget(self) -> None:
        """Decide again from the ranks' data (after a checkpoint was loaded)."""
        self._ready = False

    def __call__(self, ready) -> bool:
        if not self.shared:
            return ready()
        if not self._ready:
            flag = torch.tensor([float(bool(ready()))], device=_flag_device())
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            self._ready = bool(flag.item() > 0)
        return self._ready


# ---------------------------------------------------------------------- the wrapper
class DistributedAlgorithm:
    """``algorithm`` (any of :data:`marl_baselines.algos.ALGORITHMS`'s objects) made data-parallel.

    The algorithm declares what the ranks share in its ``data_parallel_parts()``
    (:class:`DataParallelParts`). On construction this copies the declared networks from rank 0 and
    shares the declared gradients, statistics and decisions across the ranks; :meth:`close` makes
    them single-process again. It offers the training loop's interface (``start``,
    ``initial_hidden``, ``act``, ``observe``, ``state_dict``, ``load_state_dict``) and hands every
    other attribute to the algorithm.
    """

    def __init__(self, algorithm: Any, world: World | None = None):
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError("DistributedAlgorithm needs an initialised process group (marl_baselines.distributed.start under torchrun)")
        if not callable(getattr(algorithm, "data_parallel_parts", None)):
            raise TypeError(
                f"{type(algorithm).__name__} declares no data_parallel_parts() (marl_baselines.distributed.DataParallelParts): what its ranks share is unknown"
            )
        self.algorithm = algorithm
        self.world = world or World(dist.get_rank(), dist.get_world_size())
        self.device = torch.device(getattr(algorithm, "device", "cpu"))
        parts = algorithm.data_parallel_parts()
        seen: set[int] = set()
        for gradients in parts.gradients:
            if seen & {id(p) for p in gradients.parameters}:
                raise ValueError("a parameter belongs to two data-parallel optimisers")
            seen |= {id(p) for p in gradients.parameters}
        self._broadcast_state()
        self._decisions = parts.decisions
        self._shared = [*parts.gradients, *parts.statistics, *parts.decisions]
        for part in self._shared:
            part.share_across_ranks(True)

    # ---------------------------------------------------------------- the training loop's interface
    def start(self, out) -> None:
        self.algorithm.start(out)

    def initial_hidden(self, num_envs: int):
        return self.algorithm.initial_hidden(num_envs)

    def act(self, out, hidden, explore: bool, env_steps: int = 0):
        return self.algorithm.act(out, hidden, explore, env_steps)

    def observe(
        self, before, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after, env_steps: int
    ) -> dict[str, float | torch.Tensor] | None:
        """The algorithm's ``observe``; the statistics of an update averaged over the ranks, as 0-d
        tensors on the device (every rank trains at the same steps, so every rank joins that all-reduce)."""
        stats = self.algorithm.observe(before, actions, act_info, after, env_steps)
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
        for decision in self._decisions:
            decision.forget()
        self.check_synchronised()

    def __getattr__(self, name: str) -> Any:
        if name == "algorithm":  # not yet set (during unpickling, for instance)
            raise AttributeError(name)
        return getattr(self.algorithm, name)

    # ---------------------------------------------------------------- synchronisation
    def _state_tensors(self) -> list[torch.Tensor]:
        """The parameters and buffers of every declared network and the declared loose parameters, each once."""
        tensors: dict[int, torch.Tensor] = {}
        for network in self.algorithm.data_parallel_parts().networks:
            for tensor in (*network.parameters(), *network.buffers()) if isinstance(network, nn.Module) else (network,):
                tensors.setdefault(id(tensor), tensor)
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
        flags = torch.tensor([float(differs)], device=_flag_device())
        dist.all_reduce(flags)
        if flags.item() > 0:
            raise RuntimeError(
                f"the networks of {int(flags.item())} of {self.world.size} ranks differ from rank 0's: data-parallel training went out of step"
            )

    def _check_layout(self, tensors: list[torch.Tensor]) -> None:
        """Every rank holds the same tensors (count, sizes, dtypes), or no collective over them can work."""
        signature = [(tuple(t.shape), str(t.dtype)) for t in tensors]
        if self.world.broadcast(signature) != signature:
            raise RuntimeError(f"rank {self.world.rank}'s networks are not shaped like rank 0's ({len(signature)} tensors)")

    def close(self) -> None:
        """Make the declared parts single-process again (the optimisers' hooks removed)."""
        for part in self._shared:
            part.share_across_ranks(False)
        self._shared = []


def _flag_device() -> torch.device:
    """Where a host decision's flag travels: the CPU where the backend takes CPU tensors (gloo), so
    reading it needs no CUDA sync; else this rank's GPU."""
    return torch.device("cpu") if "gloo" in str(dist.get_backend()) else torch.device("cuda", torch.cuda.current_device())


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
