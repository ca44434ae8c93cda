"""Weighted QMIX (CW-QMIX, OW-QMIX): the weights, the targets and the two losses worked by hand, the config's checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.value_decomp import ValueDecompConfig
from marl_baselines.algos.wqmix import WeightedQMIX, WQMIXConfig
from marl_baselines.buffers import EpisodeBatch
from marl_baselines.nets import CentralMixer, VDNMixer
from marl_baselines.vec import make_vec_env


class FixedValues(nn.Module):
    """An agent network stand-in whose values over the batch are given: ``[b, L+1, N, A]``."""

    def __init__(self, values: torch.Tensor):
        super().__init__()
        self.values = values

    def forward_sequence(self, obs, hidden=None, starts=None, alive=None, adjacency=None):
        return self.values


def algorithm(weighting: str, **config) -> WeightedQMIX:
    env = make_vec_env("matrix_game_v0", 2, game="climbing")  # 2 players, 3 actions
    return WeightedQMIX(env, WQMIXConfig(**config), weighting, seed=0)


def batch_of(actions, reward, terminal, alive=None, steps=None) -> EpisodeBatch:
    """One episode of ``len(actions)`` steps of 2 agents (observations and states are not read by the stand-ins)."""
    L = len(actions)
    alive = torch.ones(1, L + 1, 2, dtype=torch.bool) if alive is None else torch.tensor([alive])
    return EpisodeBatch(
        obs=torch.zeros(1, L + 1, 2, 7),
        state=torch.zeros(1, L + 1, 7),
        alive=alive,
        action_mask=None,
        actions=torch.tensor([actions]),
        reward=torch.tensor([reward], dtype=torch.float32),
        terminal=torch.tensor([terminal]),
        filled=torch.ones(1, L, dtype=torch.bool),
    )


def test_registered():
    for name in ("cw_qmix", "ow_qmix"):
        spec = ALGORITHMS[name]
        assert spec.config_class is WQMIXConfig and spec.discrete_only and spec.needs_episode_limit


def test_central_weighting_by_hand():
    """û (Q_tot's greedy joint action) is (0, 2) at every step; Q*_target(s, û) = 1 + 2 = 3 (a
    summing mixer). Step 0 takes û (w 1, whatever its target), step 1 a target 5 > 3 (w 1),
    step 2 a target 2 < 3 (alpha), step 3 a target 2 with agent 1, which differs from û, dead (it
    agrees with û: w 1)."""
    algo = algorithm("cw", alpha=0.25)
    algo.target_extra["central_mixer"] = VDNMixer()
    greedy_values = torch.tensor([[3.0, 0.0, 1.0], [0.0, 1.0, 4.0]])  # agent 0 argmax 0, agent 1 argmax 2
    q = greedy_values.expand(1, 5, 2, 3)
    central = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]).expand(1, 5, 2, 3)
    batch = batch_of([[0, 2], [1, 1], [1, 1], [0, 1]], [[0, 0]] * 4, [False] * 4, alive=[[True, True]] * 3 + [[True, False]] * 2)
    targets = torch.tensor([[-50.0, 5.0, 2.0, 2.0]])
    weights = algo.weights(q, torch.zeros(1, 4), central, targets, batch)
    assert weights.tolist() == [[1.0, 1.0, 0.25, 1.0]]


def test_optimistic_weighting_by_hand():
    """w = 1 where Q_tot < y (an underestimate), alpha where Q_tot >= y."""
    algo = algorithm("ow", alpha=0.5)
    batch = batch_of([[0, 0]] * 3, [[0, 0]] * 3, [False] * 3)
    q_tot, targets = torch.tensor([[1.0, 4.0, 2.0]]), torch.tensor([[2.0, 3.0, 2.0]])
    weights = algo.weights(torch.zeros(1, 4, 2, 3), q_tot, torch.zeros(1, 4, 2, 3), targets, batch)
    assert weights.tolist() == [[1.0, 0.5, 0.5]]


@pytest.mark.parametrize("weighting", ["cw", "ow"])
def test_targets_and_losses_by_hand(weighting):
    """One step, truncated (it bootstraps), rewards (1, 3): team reward 2, gamma 0.5. At s' Q_tot's
    agents are greedy on (1, 0); Q*'s target agents value those actions 2 and 3, so with a summing
    target Q* the target is y = 2 + 0.5 * (2 + 3) = 4.5 (not Q*'s own maximum, 5 + 3). Q*'s online
    agents value the actions taken (2, 1) at 1 and 4: its loss is (1 + 4 - 4.5)^2 = 0.25. QMIX's
    loss is w * (Q_tot - 4.5)^2 with Q_tot its mixer's value of the agents' (2, 1) values (0.5, -1)."""
    algo = algorithm(weighting, gamma=0.5, alpha=0.1)
    algo.agent = FixedValues(torch.tensor([[[[0.0, 0.0, 0.5], [0.0, -1.0, 0.0]], [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]]]))
    algo.target_extra["central_agent"] = FixedValues(torch.tensor([[[[0.0] * 3] * 2, [[0.0, 2.0, 5.0], [3.0, 0.0, 0.0]]]]))
    algo.extra["central_agent"] = FixedValues(torch.tensor([[[[0.0, 0.0, 1.0], [0.0, 4.0, 0.0]], [[0.0] * 3] * 2]]))
    algo.extra["central_mixer"] = algo.target_extra["central_mixer"] = VDNMixer()
    batch = batch_of([[2, 1]], [[1.0, 3.0]], [False])
    loss, stats = algo.loss(batch)
    assert stats["target"].item() == pytest.approx(4.5)
    assert stats["central_loss"].item() == pytest.approx(0.25)
    q_tot = algo.mixer(torch.tensor([[[0.5, -1.0]]]), batch.state[:, :1]).item()
    # CW: the step takes (2, 1), not Q_tot's greedy (2, 0) at s, and y = 4.5 > Q*(s, û) = 1 + 0: w 1.
    # OW: w 1 where Q_tot < y.
    weight = 1.0 if weighting == "cw" or q_tot < 4.5 else 0.1
    assert stats["qmix_loss"].item() == pytest.approx(weight * (q_tot - 4.5) ** 2, rel=1e-5)
    assert loss.item() == pytest.approx(stats["qmix_loss"].item() + 0.25, rel=1e-5)


def test_terminal_step_takes_no_bootstrap():
    algo = algorithm("cw", gamma=0.5)
    algo.target_extra["central_mixer"] = VDNMixer()
    algo.target_extra["central_agent"] = FixedValues(torch.full((1, 2, 2, 3), 100.0))
    _, stats = algo.loss(batch_of([[0, 0]], [[1.0, 3.0]], [True]))
    assert stats["target"].item() == pytest.approx(2.0)


def test_central_mixer_is_not_monotonic():
    """The unrestricted mixer can fit what no monotonic mixer can: the penalty game's -100 at (0, 0)
    and (2, 2) next to its 10s at (0, 2) and (2, 0), from the agents' values 0 / 1 for actions 0 / 2."""
    torch.manual_seed(0)
    mixer = CentralMixer(2, 1, 32)
    qs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    payoff = torch.tensor([-100.0, 10.0, 10.0, -100.0])
    optimizer = torch.optim.Adam(mixer.parameters(), lr=1e-2)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = (mixer(qs, torch.ones(4, 1)) - payoff).pow(2).mean()
        loss.backward()
        optimizer.step()
    fitted = mixer(qs, torch.ones(4, 1))
    assert (fitted - payoff).abs().max() < 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0.0}, "alpha must be in \\(0, 1\\], got 0.0"),
        ({"alpha": 1.5}, "alpha must be in \\(0, 1\\], got 1.5"),
        ({"central_mixer_embed": 0}, "central_mixer_embed"),
        ({"central_hidden_size": 0}, "central_hidden_size"),
    ],
)
def test_bad_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WQMIXConfig(**kwargs).check()


def test_refuses_a_config_without_its_fields():
    env = make_vec_env("matrix_game_v0", 2, game="climbing")
    with pytest.raises(TypeError, match="cw_qmix/ow_qmix take a WQMIXConfig, got ValueDecompConfig"):
        WeightedQMIX(env, ValueDecompConfig(), "cw")
    with pytest.raises(ValueError, match="weighting must be one of"):
        WeightedQMIX(env, WQMIXConfig(), "xw")
