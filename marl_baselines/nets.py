"""Networks shared by the algorithms: agent networks evaluated for all agents in one pass, and mixers.

Shapes: ``...`` is any batch shape (``[B]`` while acting, ``[batch, T]`` in training), N the
number of agents. Every agent network maps ``[..., N, input]`` to ``[..., N, output]``.

* Parameter sharing (the default) applies one set of weights to every agent, with the agent's
  one-hot id appended to its input so agents can still act differently. With
  ``share_parameters=False`` each agent has its own weights, still applied in one batched op
  (:class:`AgentLinear`), never one network call per agent.
* Recurrent agents (``recurrent=True``) carry a GRU hidden state ``[..., N, hidden]``; the caller
  resets it to zeros at episode starts.

The interface every agent network offers (this MLP/GRU agent, and the communicating agents of
:mod:`marl_baselines.comm`), so that an algorithm can take any of them:

* ``forward(obs [..., N, O], hidden, alive=None, adjacency=None) -> (out [..., N, output], hidden)``;
* ``forward_sequence(obs [batch, T, N, O], hidden=None, starts=None, alive=None, adjacency=None)
  -> out [batch, T, N, output]``: from ``hidden`` (zeros by default), zeroing it before step t
  where ``starts[:, t]`` (an episode began there);
* ``initial_state(*batch_shape, device=None) -> [*batch_shape, N, hidden]``.

``alive`` (bool ``[..., N]``) and ``adjacency`` (bool ``[..., N, N]``) are what communicating
agents need; this network ignores them.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["AgentLinear", "AgentNetwork", "QMixer", "VDNMixer", "mlp", "masked_argmax", "gru_step", "soft_update"]


class AgentLinear(nn.Module):
    """N independent linear layers in one op: ``[..., N, in] -> [..., N, out]`` (agent n uses weights n)."""

    def __init__(self, n_agents: int, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_agents, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_agents, out_features))
        bound = 1 / math.sqrt(in_features)  # nn.Linear's default initialisation, per agent
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("...ni,nio->...no", x, self.weight) + self.bias


def _linear(n_agents: int, in_features: int, out_features: int, shared: bool) -> nn.Module:
    return nn.Linear(in_features, out_features) if shared else AgentLinear(n_agents, in_features, out_features)


def mlp(in_features: int, hidden: int, out_features: int, layers: int = 2, activation=nn.ReLU) -> nn.Sequential:
    """``layers`` linear layers with ``activation`` between them (a plain MLP, no per-agent weights)."""
    sizes = [in_features] + [hidden] * (layers - 1) + [out_features]
    modules: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        modules.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            modules.append(activation())
    return nn.Sequential(*modules)


class AgentNetwork(nn.Module):
    """All agents' outputs (Q-values or logits) in one pass: ``obs [..., N, O] -> [..., N, output]``.

    ``recurrent=False``: Linear-ReLU-Linear-ReLU-Linear. ``recurrent=True``: Linear-ReLU-GRU-Linear
    (the DRQN agent of PyMARL/EPyMARL), returning the new hidden state.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        n_agents: int,
        hidden_size: int = 64,
        recurrent: bool = False,
        share_parameters: bool = True,
        agent_id: bool = True,
    ):
        super().__init__()
        self.n_agents, self.hidden_size, self.recurrent = n_agents, hidden_size, recurrent
        self.agent_id = agent_id and share_parameters  # separate weights already tell agents apart
        in_features = input_size + (n_agents if self.agent_id else 0)
        shared = share_parameters
        self.input = _linear(n_agents, in_features, hidden_size, shared)
        if recurrent:
            self.gate_input = _linear(n_agents, hidden_size, 3 * hidden_size, shared)
            self.gate_hidden = _linear(n_agents, hidden_size, 3 * hidden_size, shared)
        else:
            self.middle = _linear(n_agents, hidden_size, hidden_size, shared)
        self.output = _linear(n_agents, hidden_size, output_size, shared)
        self.register_buffer("ids", torch.eye(n_agents), persistent=False)

    def initial_state(self, *batch_shape: int, device: torch.device | str | None = None) -> torch.Tensor:
        return torch.zeros(*batch_shape, self.n_agents, self.hidden_size, device=device or self.ids.device)

    def _embed(self, obs: torch.Tensor) -> torch.Tensor:
        if self.agent_id:
            obs = torch.cat((obs, self.ids.expand(*obs.shape[:-1], self.n_agents)), -1)
        return F.relu(self.input(obs))

    def forward(
        self,
        obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
        alive: torch.Tensor | None = None,
        adjacency: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step: ``obs [..., N, O]`` (and the hidden state) to outputs ``[..., N, output]``."""
        x = self._embed(obs)
        if self.recurrent:
            if hidden is None:
                hidden = torch.zeros_like(x)
            x = hidden = gru_step(self.gate_input(x), self.gate_hidden(hidden), hidden)
        else:
            x = F.relu(self.middle(x))
        return self.output(x), hidden

    def forward_sequence(
        self,
        obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
        starts: torch.Tensor | None = None,
        alive: torch.Tensor | None = None,
        adjacency: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Whole sequences ``obs [batch, T, N, O]``: outputs ``[batch, T, N, output]``.

        ``hidden [batch, N, H]``: the state before the first step (zeros by default);
        ``starts`` bool ``[batch, T]``: the state is reset to zeros before step t where it is True.
        Only the recurrence runs step by step; the input and output layers see all steps at once.
        """
        if not self.recurrent:
            return self.forward(obs)[0]
        gates_input = self.gate_input(self._embed(obs))
        if hidden is None:
            hidden = torch.zeros(*obs.shape[:1], *obs.shape[2:-1], self.hidden_size, device=obs.device)
        states = []
        for t in range(obs.shape[1]):
            if starts is not None:
                hidden = hidden.masked_fill(starts[:, t, None, None], 0.0)
            hidden = gru_step(gates_input[:, t], self.gate_hidden(hidden), hidden)
            states.append(hidden)
        return self.output(torch.stack(states, 1))


def gru_step(gates_input: torch.Tensor, gates_hidden: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """One GRU step (PyTorch's GRUCell equations) from precomputed input and hidden projections."""
    r_i, z_i, n_i = gates_input.chunk(3, -1)
    r_h, z_h, n_h = gates_hidden.chunk(3, -1)
    reset = torch.sigmoid(r_i + r_h)
    update = torch.sigmoid(z_i + z_h)
    candidate = torch.tanh(n_i + reset * n_h)
    return candidate + update * (hidden - candidate)


def one_hot(index: torch.Tensor, num_classes: int) -> torch.Tensor:
    """float32 one-hot of ``index`` over a new last axis. Unlike ``F.one_hot`` it never reads the
    indices on the host (F.one_hot range-checks them on CPU, which on a device would be a sync)."""
    return (index[..., None] == torch.arange(num_classes, device=index.device)).float()


@torch.no_grad()
def soft_update(online: nn.Module, target: nn.Module, tau: float) -> None:
    """Polyak averaging of a target network: ``target <- (1 - tau) * target + tau * online``."""
    for p, tp in zip(online.parameters(), target.parameters()):
        tp.lerp_(p, tau)


def masked_argmax(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``argmax`` over the last axis among the legal entries (``mask`` True)."""
    if mask is not None:
        values = values.masked_fill(~mask, float("-inf"))
    return values.argmax(-1)


class VDNMixer(nn.Module):
    """Q_tot = sum of the agents' Q-values (Sunehag et al., 2018)."""

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        return agent_qs.sum(-1)


class QMixer(nn.Module):
    """QMIX's monotonic mixer (Rashid et al., 2018): ``agent_qs [..., N], state [..., S] -> [...]``.

    Hypernetworks of the state give the mixing weights, made non-negative with ``abs`` (so
    dQ_tot/dQ_i >= 0 and each agent's greedy action is the team's), and state-conditioned
    biases: b1 = Linear(s), and the final bias V(s) = Linear-ReLU-Linear as in the paper.
    ``hypernet_layers=1`` (the design note and the paper) uses single linear hypernetworks;
    2 adds a hidden ReLU layer of ``hypernet_hidden`` units (PyMARL's later default).
    """

    def __init__(self, n_agents: int, state_size: int, embed_size: int = 32, hypernet_layers: int = 1, hypernet_hidden: int = 64):
        super().__init__()
        if hypernet_layers not in (1, 2):
            raise ValueError(f"hypernet_layers must be 1 or 2, got {hypernet_layers}")
        self.n_agents, self.embed_size = n_agents, embed_size

        def hyper(out: int) -> nn.Module:
            if hypernet_layers == 1:
                return nn.Linear(state_size, out)
            return nn.Sequential(nn.Linear(state_size, hypernet_hidden), nn.ReLU(), nn.Linear(hypernet_hidden, out))

        self.hyper_w1 = hyper(n_agents * embed_size)
        self.hyper_w2 = hyper(embed_size)
        self.hyper_b1 = nn.Linear(state_size, embed_size)
        self.value = nn.Sequential(nn.Linear(state_size, embed_size), nn.ReLU(), nn.Linear(embed_size, 1))

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        w1 = self.hyper_w1(state).abs().unflatten(-1, (self.n_agents, self.embed_size))
        hidden = F.elu((agent_qs.unsqueeze(-2) @ w1).squeeze(-2) + self.hyper_b1(state))
        w2 = self.hyper_w2(state).abs()
        return (hidden * w2).sum(-1) + self.value(state).squeeze(-1)


class CentralMixer(nn.Module):
    """An unrestricted (not monotonic) mixer: ``agent_qs [..., N], state [..., S] -> [...]``.

    Weighted QMIX's Q* (Rashid et al., 2020; the reference implementation's "ff" central mixer): a
    feed-forward network of ``[s, Q_1, ..., Q_N]`` with three hidden ReLU layers of ``embed_size``
    units, plus a state value ``V(s)`` (Linear-ReLU-Linear) in place of a final bias. Nothing keeps
    its weights non-negative, so it can represent any joint-action value, and its argmax need not
    be the agents' own argmaxes.
    """

    def __init__(self, n_agents: int, state_size: int, embed_size: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(state_size + n_agents, embed_size),
            nn.ReLU(),
            nn.Linear(embed_size, embed_size),
            nn.ReLU(),
            nn.Linear(embed_size, embed_size),
            nn.ReLU(),
            nn.Linear(embed_size, 1),
        )
        self.value = nn.Sequential(nn.Linear(state_size, embed_size), nn.ReLU(), nn.Linear(embed_size, 1))

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return (self.net(torch.cat((state, agent_qs), -1)) + self.value(state)).squeeze(-1)
