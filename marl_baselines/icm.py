"""The intrinsic curiosity module (ICM, Pathak et al., ICML 2017): a reward for what an agent cannot yet predict.

Per agent (one module shared by all agents, applied to ``[..., N, ...]`` in one pass):

* feature encoder ``phi(o)``: Linear-ELU-Linear;
* inverse model: predicts the action from ``(phi(o), phi(o'))`` (cross-entropy for discrete
  actions, squared error for continuous ones), so the features keep what the agent's actions
  influence;
* forward model: predicts ``phi(o')`` from ``(phi(o), a)`` (one-hot ``a`` for discrete actions),
  with loss ``L_F = 1/2 ||f(phi(o), a) - phi(o')||^2``. As in the paper's code, both losses train
  the encoder: trained by the inverse loss alone, the features grow without bound and the
  "surprise" on familiar transitions grows with them (``tests/test_icm.py`` checks it falls);
* intrinsic reward ``r_i = eta * L_F``: large where the forward model is still wrong, shrinking
  as the same transitions are seen again;
* training loss ``(1 - beta) * L_inverse + beta * L_F`` (paper: beta = 0.2).

Every algorithm takes it with ``--icm`` (:class:`ICMOptions` are part of each config): the
intrinsic reward is added to each alive agent's reward before the algorithm's targets are formed
(team algorithms then average it with the rest of the reward), and the module trains on the
algorithm's own batches with its own Adam optimiser. The logged episode returns stay the env's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from marl_baselines.distributed import AveragedGradients
from marl_baselines.nets import one_hot

__all__ = ["ICM", "ICMOptions", "Curiosity"]


@dataclass
class ICMOptions:
    """The intrinsic-curiosity options of every algorithm's config."""

    icm: bool = False
    """Add the intrinsic curiosity module's reward (Pathak et al., 2017) to every agent's reward (--icm)."""
    icm_eta: float = 0.01
    """ICM: scale eta of the intrinsic reward eta * 1/2 ||predicted phi(o') - phi(o')||^2."""
    icm_beta: float = 0.2
    """ICM: weight of the forward loss against the inverse loss, (1 - beta) L_inverse + beta L_forward."""
    icm_lr: float = 1e-3
    """ICM: Adam learning rate."""
    icm_feature_size: int = 32
    """ICM: size of the feature encoding phi(o)."""

    def check_icm(self) -> None:
        if self.icm_eta < 0:
            raise ValueError(f"icm_eta must be >= 0, got {self.icm_eta}")
        if not 0 <= self.icm_beta <= 1:
            raise ValueError(f"icm_beta must lie in [0, 1], got {self.icm_beta}")
        if self.icm_lr < 0:
            raise ValueError(f"icm_lr must be >= 0, got {self.icm_lr}")
        if self.icm_feature_size < 1:
            raise ValueError(f"icm_feature_size must be >= 1, got {self.icm_feature_size}")


class ICM(nn.Module):
    """``obs [..., O], actions [...] (discrete, int64) or [..., A] (continuous), next_obs [..., O]``."""

    def __init__(
        self,
        obs_size: int,
        action_size: int,
        discrete: bool,
        feature_size: int = 32,
        hidden_size: int = 64,
        eta: float = 0.01,
        beta: float = 0.2,
    ):
        super().__init__()
        self.action_size, self.discrete, self.eta, self.beta = action_size, discrete, eta, beta
        self.encoder = nn.Sequential(nn.Linear(obs_size, hidden_size), nn.ELU(), nn.Linear(hidden_size, feature_size))
        self.inverse_model = nn.Sequential(nn.Linear(2 * feature_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, action_size))
        self.forward_model = nn.Sequential(
            nn.Linear(feature_size + action_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, feature_size)
        )

    def _action_input(self, actions: torch.Tensor) -> torch.Tensor:
        return one_hot(actions, self.action_size) if self.discrete else actions.float()

    def _forward_error(self, features: torch.Tensor, actions: torch.Tensor, next_features: torch.Tensor) -> torch.Tensor:
        predicted = self.forward_model(torch.cat((features, self._action_input(actions)), -1))
        return 0.5 * (predicted - next_features).pow(2).sum(-1)

    @torch.no_grad()
    def intrinsic_reward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """``eta * 1/2 ||f(phi(o), a) - phi(o')||^2``, one per transition: ``[...]``."""
        return self.eta * self._forward_error(self.encoder(obs), actions, self.encoder(next_obs))

    def loss(
        self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor, weight: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """``(1 - beta) L_inverse + beta L_forward`` averaged over the transitions with ``weight`` 1."""
        features, next_features = self.encoder(obs), self.encoder(next_obs)
        guess = self.inverse_model(torch.cat((features, next_features), -1))
        if self.discrete:
            inverse = F.cross_entropy(guess.flatten(0, -2), actions.flatten(), reduction="none").view(actions.shape)
        else:
            inverse = (guess - actions).pow(2).mean(-1)
        forward = self._forward_error(features, actions, next_features)
        count = weight.sum().clamp(min=1)
        inverse_loss, forward_loss = (inverse * weight).sum() / count, (forward * weight).sum() / count
        loss = (1 - self.beta) * inverse_loss + self.beta * forward_loss
        return loss, {"icm_inverse_loss": inverse_loss.detach(), "icm_forward_loss": forward_loss.detach()}


class Curiosity:
    """An :class:`ICM` with its optimiser, as an algorithm uses it: ``reward`` for the alive agents,
    ``update`` on a batch, and checkpoints."""

    def __init__(self, options: ICMOptions, obs_size: int, action_size: int, discrete: bool, device: torch.device):
        self.module = ICM(obs_size, action_size, discrete, options.icm_feature_size, eta=options.icm_eta, beta=options.icm_beta).to(device)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=options.icm_lr)
        self.gradients = AveragedGradients(self.optimizer)  # under torchrun: averaged over the ranks at each step

    def reward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        """Intrinsic rewards ``[..., N]``, 0 for agents that are not alive."""
        return self.module.intrinsic_reward(obs, actions, next_obs) * alive

    def update(
        self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor, alive: torch.Tensor
    ) -> dict[str, float | torch.Tensor]:
        """One gradient step on the transitions of the alive agents; returns the two losses."""
        with torch.enable_grad():
            loss, stats = self.module.loss(obs, actions, next_obs, alive.float())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        self.optimizer.step()
        return stats

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
