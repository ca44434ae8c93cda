"""Running statistics the algorithms normalise with: :class:`RunningMeanStd` (PPO's and MA-DVRL's value normalisation)."""

from __future__ import annotations

import torch
from torch import distributed as dist
from torch import nn

__all__ = ["RunningMeanStd"]


class RunningMeanStd(nn.Module):
    """Running mean and variance of a scalar stream (Chan et al.'s parallel update), in float64.

    ``normalize(x) = (x - mean) / std``, ``denormalize`` its inverse; ``std`` is at least ``epsilon``
    so a constant stream does not blow normalised values up.
    """

    def __init__(self, epsilon: float = 1e-5):
        super().__init__()
        self.epsilon = epsilon
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("var", torch.ones((), dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.across_ranks = False  # see share_across_ranks

    def share_across_ranks(self, shared: bool) -> None:
        """Under torchrun (:mod:`marl_baselines.distributed`): ``update`` takes every rank's batch (two
        small all-reduces of its moments, nothing read on the host), so the statistic is the one the
        ranks' batches together give, the same on every rank."""
        self.across_ranks = shared

    @torch.no_grad()
    def update(self, values: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Fold in ``values`` (any shape); ``weight`` (bool or 0/1, same shape) selects the entries
        that count, without the host having to know how many there are (no device sync)."""
        values = values.detach().double().flatten()
        weight = torch.ones_like(values) if weight is None else weight.detach().double().flatten()
        totals = torch.stack((weight.sum(), (values * weight).sum()))
        if self.across_ranks:
            dist.all_reduce(totals)
        batch_count = totals[0]
        safe_count = batch_count.clamp(min=1)
        batch_mean = totals[1] / safe_count
        # the squared deviations from the (global) mean, summed over the entries (of every rank)
        spread = ((values - batch_mean).pow(2) * weight).sum().reshape(1)
        if self.across_ranks:
            dist.all_reduce(spread)
        self.merge_moments(batch_mean, spread[0] / safe_count, batch_count)

    @torch.no_grad()
    def merge_moments(self, batch_mean: torch.Tensor, batch_var: torch.Tensor, batch_count: torch.Tensor) -> None:
        """Fold in a batch given by its mean, (biased) variance and weight (a count, possibly 0)."""
        total = self.count + batch_count
        safe_total = total.clamp(min=1)  # counts are whole numbers: total is 0 or >= 1
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * batch_count + delta.pow(2) * self.count * batch_count / safe_total
        self.mean.add_(delta * batch_count / safe_total)
        self.var.copy_(torch.where(total > 0, m2 / safe_total, self.var))
        self.count.copy_(total)

    @property
    def std(self) -> torch.Tensor:
        return self.var.sqrt().clamp(min=self.epsilon)

    def normalize(self, values: torch.Tensor) -> torch.Tensor:
        return ((values - self.mean) / self.std).to(values.dtype)

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        return (values * self.std + self.mean).to(values.dtype)
