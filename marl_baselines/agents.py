"""The agent network every algorithm's config names, built by name: :class:`AgentOptions`,
:func:`build_agent_network`, and :func:`transfer_agent_network` to run a trained one on another env.

    net = build_agent_network(AgentOptions(agent="gnn"), input_size=30, output_size=5, n_agents=3,
                              hidden_size=64, recurrent=True, share_parameters=True, agent_id=False)
    q, hidden = net(obs, hidden, alive=alive)           # obs [B, 3, 30] -> q [B, 3, 5]

``mlp`` is :class:`~marl_baselines.nets.AgentNetwork` (an MLP, or a GRU agent); ``tarmac`` and
``gnn`` are the communicating agents of :mod:`marl_baselines.comm`. All have one interface, so an
algorithm takes any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from marl_baselines.comm import GraphAgentNetwork, TarMACNetwork
from marl_baselines.nets import AgentNetwork

__all__ = ["AGENT_NETWORKS", "GRAPHS", "AgentOptions", "build_agent_network", "transfer_agent_network"]

AGENT_NETWORKS = ("mlp", "tarmac", "gnn")
"""The agent networks an algorithm's config may name (``agent``)."""
GRAPHS = ("full", "env")
"""Who hears whom among communicating agents (``graph``)."""


@dataclass
class AgentOptions:
    """The agent-network options of every algorithm's config (their fields are part of the config)."""

    agent: str = "mlp"
    """Agent network: "mlp" (an MLP, or a GRU agent with recurrent), "tarmac" (TarMAC's targeted attention communication) or "gnn" (graph attention over the agent graph; no agent id, runs on any number of agents)."""
    comm: bool = True
    """TarMAC / GNN: communicate (--no-comm is the ablation: TarMAC's messages are zeroed, the GNN's graph has no edges but self-loops)."""
    comm_rounds: int = 1
    """TarMAC: rounds of communication per step."""
    comm_gate: bool = False
    """TarMAC: gate each received message with sigmoid(W [state, message])."""
    heads: int = 4
    """TarMAC / GNN: attention heads (hidden_size must be a multiple)."""
    key_size: int = 16
    """TarMAC: size of each head's signature (key) and query."""
    num_layers: int = 2
    """GNN: graph-attention layers."""
    graph: str = "full"
    """TarMAC / GNN: who hears whom: "full" (every agent that is alive) or "env" (the env's adjacency, e.g. target_grid_v0's view window, or a particle env's comm_radius)."""

    def check_agent(self) -> None:
        if self.agent not in AGENT_NETWORKS:
            raise ValueError(f"agent must be one of {', '.join(AGENT_NETWORKS)}, got {self.agent!r}")
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {', '.join(GRAPHS)}, got {self.graph!r}")
        for name in ("comm_rounds", "heads", "key_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def check_env(self, env) -> None:
        """Errors that depend on the env: a requested graph it cannot give."""
        if self.agent != "mlp" and self.graph == "env" and not getattr(env, "has_adjacency", False):
            source = getattr(env, "source", "native")
            why = "the pettingzoo source carries no adjacency" if source == "pettingzoo" else f"{env.name} has no agent graph"
            raise ValueError(
                f"graph='env' needs the env's adjacency, and {why}; use graph='full' (or an env with a graph, e.g. target_grid_v0, or cooperative_navigation_v0 with comm_radius)"
            )

    def adjacency(self, out) -> torch.Tensor | None:
        """The graph to pass to the agent network for a step record ``out`` (None: fully connected)."""
        return out.adjacency if self.graph == "env" else None


def build_agent_network(
    options: AgentOptions,
    input_size: int,
    output_size: int,
    n_agents: int,
    hidden_size: int,
    recurrent: bool,
    share_parameters: bool,
    agent_id: bool,
) -> nn.Module:
    """The agent network ``options.agent`` names, with the interface of ``AgentNetwork``."""
    options.check_agent()
    if options.agent == "mlp":
        return AgentNetwork(input_size, output_size, n_agents, hidden_size, recurrent, share_parameters, agent_id)
    if not share_parameters:
        raise ValueError(
            f"share_parameters=False is not supported with agent={options.agent!r}: communicating agents share one network (expected share_parameters=True)"
        )
    if hidden_size % options.heads:
        raise ValueError(f"heads must divide hidden_size for agent={options.agent!r}: got heads={options.heads}, hidden_size={hidden_size}")
    if options.agent == "tarmac":
        return TarMACNetwork(
            input_size,
            output_size,
            n_agents,
            hidden_size,
            recurrent,
            agent_id,
            options.comm,
            options.comm_rounds,
            options.heads,
            options.key_size,
            options.comm_gate,
        )
    return GraphAgentNetwork(input_size, output_size, n_agents, hidden_size, recurrent, options.comm, options.num_layers, options.heads)


def transfer_agent_network(source, target) -> None:
    """Load ``source``'s trained agent network (actor or Q-network) into ``target``, an algorithm
    built for another env, e.g. one with more agents: only the agent network moves (critics and
    mixers depend on the number of agents). Needs an agent network whose weights do not depend on
    the number of agents (``agent="gnn"``) when the counts differ."""
    name = "actor" if hasattr(source, "actor") else "agent"
    getattr(target, name).load_state_dict(getattr(source, name).state_dict())
