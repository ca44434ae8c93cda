"""Communicating and graph agent networks: TarMAC and a graph-attention (GAT) agent.

Both have the interface of :class:`~marl_baselines.nets.AgentNetwork`, so an algorithm swaps
them in by construction only (:func:`~marl_baselines.agents.build_agent_network`)::

    net = TarMACNetwork(input_size=30, output_size=5, n_agents=3)
    q, hidden = net(obs, hidden, alive=alive)           # obs [B, 3, 30] -> q [B, 3, 5], hidden [B, 3, 64]
    net.get_attention_weights()                         # [B, rounds, heads, 3 receivers, 3 senders]
    q = net.forward_sequence(obs_seq, starts=starts)    # [b, T, 3, 30] -> [b, T, 3, 5]

with two extra inputs: ``alive`` bool ``[..., N]`` (agents that have left, or padding, neither send
nor receive) and ``adjacency`` bool ``[..., N, N]`` (``adjacency[..., i, j]``: i may hear j; None is
the fully connected graph). All agents of all envs are computed in one batched pass; messages are
ordinary differentiable tensors, so the whole network trains end to end from the algorithm's loss.

* :class:`TarMACNetwork` (Das et al., ICML 2019): encoder, GRU memory, then ``comm_rounds`` rounds
  of targeted communication: every agent emits a signature (key) and a value from its state, every
  receiver forms a query and attends over the *other* agents' messages (scaled dot-product, one or
  several heads, :class:`TarMACLayer`), optionally gates what it received, and folds it into its
  state with a second GRU cell; the policy / Q head reads the state after the last round through a
  hidden ReLU layer (``readout``: what an agent heard is combined with what it sees). The state
  after communication is what the next step starts from. ``agent_id`` appends the one-hot id
  (tied to the number of agents). The paper's agent is recurrent; ``recurrent=False`` replaces the
  GRU memory by a feed-forward layer (for algorithms that replay single transitions).
* :class:`GraphAgentNetwork` (DGN-style; attention as GAT, Velickovic et al., ICLR 2018, with GATv2's dynamic scores): encoder,
  ``num_layers`` multi-head graph-attention layers over the agent graph with self-loops
  (:class:`GraphAttentionLayer`), each added to its input (residual), then optionally a GRU memory
  (so what an agent heard stays in its memory), then the head. Message passing depends on the
  current step only, so ``forward_sequence`` runs it for all steps in one pass. It takes **no agent
  id** and no weight depends on the number of agents, so the same weights run on any number of
  agents (train with 3, evaluate with 6: see :func:`~marl_baselines.agents.transfer_agent_network`).

What an agent hears enters its state through a learned scale initialised at zero (ReZero-style:
``message_scale`` in TarMAC, one ``layer_scales`` entry per GNN layer), so a communicating network
starts out computing exactly what its no-comm self computes and takes messages up as far as they
help; otherwise, at initialisation, random projections of the other agents' features would be
mixed into every agent's features and slow early learning down.

``comm=False`` is the ablation (``--no-comm``): TarMAC's received messages are zero and the GNN's
graph keeps only its self-loops; the networks are otherwise the same, parameters included.

The options every algorithm's config shares are :class:`~marl_baselines.agents.AgentOptions`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from marl_baselines.nets import gru_step

__all__ = ["GraphAgentNetwork", "GraphAttentionLayer", "TarMACLayer", "TarMACNetwork", "communication_mask", "masked_softmax"]


# ---------------------------------------------------------------------- attention
def communication_mask(
    n_agents: int,
    alive: torch.Tensor | None,
    adjacency: torch.Tensor | None,
    comm: bool,
    self_loops: bool,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """bool ``[..., N, N]``: ``mask[..., i, j]`` True where receiver i hears sender j.

    Edges between distinct agents: every pair (``adjacency`` None) or ``adjacency``, and only
    between agents that are both alive; none at all when not ``comm``. ``self_loops`` adds i -> i
    for every agent (dead ones too: a GAT node always has itself, so its row is never empty).
    """
    eye = torch.eye(n_agents, dtype=torch.bool, device=device)
    if not comm:
        return eye if self_loops else torch.zeros_like(eye)
    mask = ~eye
    if adjacency is not None:
        mask = mask & adjacency
    if alive is not None:
        mask = mask & alive[..., :, None] & alive[..., None, :]
    return mask | eye if self_loops else mask


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis (senders) of ``scores [..., heads, N, N]`` among ``mask [..., N, N]``;
    a row with no allowed sender is all zeros (it receives nothing)."""
    allowed = mask.unsqueeze(-3)
    weights = torch.softmax(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min), -1)
    return weights.masked_fill(~allowed, 0.0)


class TarMACLayer(nn.Module):
    """One round of TarMAC's targeted communication: ``state [..., N, H], mask [..., N, N] ->
    (message [..., N, H], attention [..., heads, N, N])``.

    Sender j emits the signature ``k_j = W_k s_j`` and the value ``v_j = W_v s_j``; receiver i
    asks with the query ``q_i = W_q s_i`` and receives ``sum_j softmax_j(q_i . k_j / sqrt(d_k)) v_j``
    over the senders its mask allows, per head (each head a slice of the value), heads concatenated.
    With ``gate``, the received message is multiplied by ``sigmoid(W_g [s_i, message_i])``.
    """

    def __init__(self, hidden_size: int, key_size: int = 16, heads: int = 1, gate: bool = False):
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"heads must divide hidden_size: got heads={heads}, hidden_size={hidden_size}")
        self.heads, self.key_size = heads, key_size
        self.query = nn.Linear(hidden_size, heads * key_size)
        self.key = nn.Linear(hidden_size, heads * key_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.gate = nn.Linear(2 * hidden_size, hidden_size) if gate else None

    def forward(self, state: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.heads

        def split(x: torch.Tensor) -> torch.Tensor:  # [..., N, h * d] -> [..., h, N, d]
            return x.unflatten(-1, (h, -1)).transpose(-2, -3)

        query, key, value = split(self.query(state)), split(self.key(state)), split(self.value(state))
        weights = masked_softmax(query @ key.transpose(-1, -2) / math.sqrt(self.key_size), mask)
        message = (weights @ value).transpose(-2, -3).flatten(-2)
        if self.gate is not None:
            message = torch.sigmoid(self.gate(torch.cat((state, message), -1))) * message
        return message, weights


class GraphAttentionLayer(nn.Module):
    """A multi-head graph-attention layer (GAT): ``x [..., N, in], mask [..., N, N] ->
    (out [..., N, out], attention [..., heads, N, N])``.

    ``z = W x`` split into heads; per head, ``e_ij = a . LeakyReLU(r * z_i + z_j)`` (GATv2's dynamic
    attention, Brody et al., ICLR 2022, with an elementwise receiver weight ``r``; ``r`` and ``a`` are
    the parameters ``attend_receiver`` and ``attend_sender``, named as in GAT's form) for the edges the
    mask allows (receiver i, sender j; give it self-loops), softmax over j, ``out_i = sum_j a_ij z_j``,
    heads concatenated, plus a bias. No weight depends on the number of agents.
    """

    def __init__(self, in_features: int, out_features: int, heads: int = 1, negative_slope: float = 0.2):
        super().__init__()
        if out_features % heads:
            raise ValueError(f"heads must divide out_features: got heads={heads}, out_features={out_features}")
        self.heads, self.negative_slope = heads, negative_slope
        size = out_features // heads
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.attend_receiver = nn.Parameter(torch.empty(heads, size))
        self.attend_sender = nn.Parameter(torch.empty(heads, size))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.xavier_uniform_(self.attend_receiver)
        nn.init.xavier_uniform_(self.attend_sender)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.linear(x).unflatten(-1, (self.heads, -1))  # [..., N, h, d]
        z = z.transpose(-2, -3)  # [..., h, N, d]
        # dynamic attention (GATv2): the non-linearity comes before the product with a, so how a
        # receiver ranks the senders depends on the receiver (GAT's a . [z_i, z_j] ranks them alike for all)
        pairs = F.leaky_relu(
            self.attend_receiver[:, None, None] * z[..., :, None, :] + z[..., None, :, :], self.negative_slope
        )  # [..., h, N, N, d]
        scores = (pairs * self.attend_sender[:, None, None]).sum(-1)  # [..., h, N receivers, N senders]
        weights = masked_softmax(scores, mask)
        out = (weights @ z).transpose(-2, -3).flatten(-2)  # [..., N, h * d]
        return out + self.bias, weights


# ---------------------------------------------------------------------- agent networks
class _CommunicatingNetwork(nn.Module):
    """What TarMAC and the GNN share: the encoder, the optional GRU memory, sequences, attention records."""

    self_loops: bool

    def __init__(self, input_size: int, output_size: int, n_agents: int, hidden_size: int, recurrent: bool, agent_id: bool, comm: bool):
        super().__init__()
        self.n_agents, self.hidden_size, self.recurrent, self.agent_id, self.comm = n_agents, hidden_size, recurrent, agent_id, comm
        self.input = nn.Linear(input_size + (n_agents if agent_id else 0), hidden_size)
        if recurrent:
            self.gate_input = nn.Linear(hidden_size, 3 * hidden_size)
            self.gate_hidden = nn.Linear(hidden_size, 3 * hidden_size)
        else:
            self.middle = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, output_size)
        self.register_buffer("ids", torch.eye(n_agents), persistent=False)
        self.attention: torch.Tensor | None = None

    def initial_state(self, *batch_shape: int, device: torch.device | str | None = None, n_agents: int | None = None) -> torch.Tensor:
        return torch.zeros(*batch_shape, n_agents or self.n_agents, self.hidden_size, device=device or self.output.weight.device)

    def get_attention_weights(self) -> torch.Tensor | None:
        """Attention of the last forward call, detached: ``[..., rounds or layers, heads, N receivers, N senders]``
        (``forward_sequence``: ``[batch, T, ...]``); each row sums to 1 over the senders a receiver hears, 0 if none."""
        return self.attention

    def _embed(self, obs: torch.Tensor) -> torch.Tensor:
        if self.agent_id:
            if obs.shape[-2] != self.n_agents:
                raise ValueError(
                    f"this network appends one-hot ids for {self.n_agents} agents and got {obs.shape[-2]}; agent_id=False (or agent='gnn') runs on any number"
                )
            obs = torch.cat((obs, self.ids.expand(*obs.shape[:-1], self.n_agents)), -1)
        return F.relu(self.input(obs))

    def _mask(self, obs: torch.Tensor, alive: torch.Tensor | None, adjacency: torch.Tensor | None) -> torch.Tensor:
        return communication_mask(obs.shape[-2], alive, adjacency, self.comm, self.self_loops, obs.device)

    def _memory(self, embedded: torch.Tensor, hidden: torch.Tensor | None, gates_input: torch.Tensor | None = None) -> torch.Tensor:
        if not self.recurrent:
            return F.relu(self.middle(embedded))
        if hidden is None:
            hidden = torch.zeros_like(embedded)
        if gates_input is None:
            gates_input = self.gate_input(embedded)
        return gru_step(gates_input, self.gate_hidden(hidden), hidden)

    def _before_memory(self, embedded: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Communication on this step's features, before the memory: (features, attention or None)."""
        return embedded, None

    def _after_memory(self, state: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Communication on the memory's state: (what the head reads, what the next step starts from, attention or None)."""
        return state, state, None

    def forward(
        self,
        obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
        alive: torch.Tensor | None = None,
        adjacency: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step: ``obs [..., N, O]`` (and the hidden state ``[..., N, H]``) to ``[..., N, output]`` and the new hidden state."""
        mask = self._mask(obs, alive, adjacency)
        features, before = self._before_memory(self._embed(obs), mask)
        state, carried, after = self._after_memory(self._memory(features, hidden), mask)
        self.attention = (before if before is not None else after).detach()
        return self.output(state), (carried if self.recurrent else None)

    def forward_sequence(
        self,
        obs: torch.Tensor,
        hidden: torch.Tensor | None = None,
        starts: torch.Tensor | None = None,
        alive: torch.Tensor | None = None,
        adjacency: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Whole sequences ``obs [batch, T, N, O]`` (``alive [batch, T, N]``, ``adjacency [batch, T, N, N]``)
        to ``[batch, T, N, output]``, from ``hidden`` (zeros by default), resetting it to zeros before
        step t where ``starts[:, t]``. The encoder and head see all steps at once; only the memory and
        the communication run step by step."""
        if not self.recurrent:
            return self.forward(obs, None, alive, adjacency)[0]
        mask = self._mask(obs, alive, adjacency)
        features, before = self._before_memory(self._embed(obs), mask)  # every step at once
        gates_input = self.gate_input(features)
        if hidden is None:
            hidden = torch.zeros_like(features[:, 0])
        states, attentions = [], []
        for t in range(obs.shape[1]):
            if starts is not None:
                hidden = hidden.masked_fill(starts[:, t, None, None], 0.0)
            step_mask = mask[:, t] if mask.dim() > 2 else mask
            state, hidden, after = self._after_memory(self._memory(features[:, t], hidden, gates_input[:, t]), step_mask)
            states.append(state)
            if after is not None:
                attentions.append(after.detach())
        self.attention = before.detach() if before is not None else torch.stack(attentions, 1)
        return self.output(torch.stack(states, 1))


class TarMACNetwork(_CommunicatingNetwork):
    """TarMAC's agent (see the module documentation): ``[..., N, O] -> [..., N, output]``, hidden ``[..., N, H]``."""

    self_loops = False  # an agent attends over the *other* agents' messages

    def __init__(
        self,
        input_size: int,
        output_size: int,
        n_agents: int,
        hidden_size: int = 64,
        recurrent: bool = True,
        agent_id: bool = True,
        comm: bool = True,
        comm_rounds: int = 1,
        heads: int = 1,
        key_size: int = 16,
        gate: bool = False,
    ):
        super().__init__(input_size, output_size, n_agents, hidden_size, recurrent, agent_id, comm)
        self.comm_rounds = comm_rounds
        self.layer = TarMACLayer(hidden_size, key_size, heads, gate)
        # the received message updates the state through a GRU cell (the message is its input)
        self.update_input = nn.Linear(hidden_size, 3 * hidden_size)
        self.update_hidden = nn.Linear(hidden_size, 3 * hidden_size)
        self.message_scale = nn.Parameter(torch.zeros(()))  # 0 at first: the network starts as its no-comm self
        self.readout = nn.Linear(hidden_size, hidden_size)

    def _after_memory(self, state: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        attentions = []
        for _ in range(self.comm_rounds):
            message, attention = self.layer(state, mask)
            state = gru_step(self.update_input(self.message_scale * message), self.update_hidden(state), state)
            attentions.append(attention)
        # The head reads the state through a hidden layer: what an agent heard must be combined with
        # what it sees (the goal a speaker names, with the landmarks' positions), which a linear head
        # on the GRU state cannot do well (speaker_listener_v0: no gain over --no-comm in 400k steps).
        # The next step starts from the state after communication: what an agent heard stays in its memory.
        return F.relu(self.readout(state)), state, torch.stack(attentions, -4)


class GraphAgentNetwork(_CommunicatingNetwork):
    """The graph-attention agent (see the module documentation); no agent id, any number of agents.

    ``n_agents`` only sets the default shape of :meth:`initial_state`.
    """

    self_loops = True

    def __init__(
        self,
        input_size: int,
        output_size: int,
        n_agents: int,
        hidden_size: int = 64,
        recurrent: bool = False,
        comm: bool = True,
        num_layers: int = 2,
        heads: int = 4,
    ):
        super().__init__(input_size, output_size, n_agents, hidden_size, recurrent, False, comm)
        self.layers = nn.ModuleList(GraphAttentionLayer(hidden_size, hidden_size, heads) for _ in range(num_layers))
        self.layer_scales = nn.Parameter(torch.zeros(num_layers))  # 0 at first: each layer starts as the identity

    def _before_memory(self, features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attentions = []
        for layer, scale in zip(self.layers, self.layer_scales):
            update, attention = layer(features, mask)
            features = features + scale * F.elu(update)  # residual: an agent keeps its own features whatever it hears
            attentions.append(attention)
        return features, torch.stack(attentions, -4)
