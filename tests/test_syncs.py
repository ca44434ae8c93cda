"""The host-sync detector: it must catch every kind of sync it names, and let plain device work through."""

import pytest
import torch

from marl_envs.core.syncs import HostSyncError, forbid_host_syncs

x = torch.arange(6.0)
mask = x > 2

SYNCS = {
    "item": lambda: x.sum().item(),
    "bool": lambda: bool(mask.any()),
    "if": lambda: 1 if x.max() > 3 else 0,
    "float": lambda: float(x.mean()),
    "int": lambda: int(x.argmax()),
    "tolist": lambda: x.tolist(),
    "numpy": lambda: x.numpy(),
    "nonzero": lambda: mask.nonzero(),
    "where_one_arg": lambda: torch.where(mask),
    "bool_index": lambda: x[mask],
    "bool_index_put": lambda: x.clone().__setitem__(mask, 0.0),
    "number_through_index": lambda: x.clone().__setitem__(torch.tensor([0, 2]), 0.0),
    "masked_select": lambda: x.masked_select(mask),
    "unique": lambda: x.unique(),
    "repeat_interleave": lambda: x.repeat_interleave(torch.tensor([1, 2, 0, 1, 1, 1])),
}


@pytest.mark.parametrize("name", SYNCS)
def test_each_sync_is_caught(name):
    with pytest.raises(HostSyncError), forbid_host_syncs():
        SYNCS[name]()
    SYNCS[name]()  # and works again once the block is left (patched methods restored)


def test_device_side_work_passes():
    with forbid_host_syncs():
        y = torch.where(mask, x * 2, x).cumsum(0)
        z = y[torch.tensor([0, 2])] + y.index_select(0, torch.tensor([1, 3]))
        y.masked_fill_(mask, 0.0)
        w = torch.zeros(6).scatter_add(0, torch.tensor([0, 0, 1, 1, 2, 2]), x)
        _ = torch.nonzero_static(mask, size=6)
        ids = torch.tensor([0, 2])
        y.index_fill_(0, ids, 1.0)  # a number through an index, passed to the kernel
        y[ids] = x[4:6]  # tensors through an index
        y[ids] = x[:1].squeeze(0)  # a 0-dim tensor that is no Python number
    assert z.shape == (2,) and float(w.sum()) == float(x.sum())


def test_optimizer_step_counters_pass_but_the_loss_value_does_not():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(2):
        loss = model(torch.randn(4, 3)).square().mean()
        with forbid_host_syncs():
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    with pytest.raises(HostSyncError), forbid_host_syncs():
        loss.item()
