"""IQL, VDN and QMIX: value-based learners for discrete actions, from one file.

* IQL: every agent learns its own Q_i(o_i, a_i) from its own reward (others are part of the env).
* VDN: Q_tot = sum_i Q_i, trained on the team reward (Sunehag et al., 2018).
* QMIX: Q_tot = f(Q_1..Q_N; s), f monotonic in every Q_i through non-negative hypernetwork weights
  (Rashid et al., 2018; the mixer is ``marl_baselines.nets.QMixer``).

Agents act greedily on their own Q_i (decentralised execution), epsilon-greedy over legal actions
while training. Training samples whole episodes from an :class:`~marl_baselines.buffers.EpisodeBuffer`
(so GRU agents replay their histories from the episode start), or with ``chunk_length`` fixed-length
chunks of them, each after up to ``burn_in`` earlier steps that only warm the GRU state up (R2D2's
zero-state-plus-burn-in), and regresses Q_tot (or each Q_i) on n-step or TD(lambda) targets from
target networks, with double Q-learning. Targets near a chunk's end bootstrap where its window ends.

Agent networks (``agent``, :mod:`marl_baselines.comm`): the MLP/GRU agent, TarMAC, or the
graph-attention agent (a DGN-style Q-network), replayed over episodes (or chunks) with every
agent's ``alive`` flag. The episode buffer stores no adjacency, so here the graph is the fully
connected one among alive agents (``graph="env"`` is refused). Curiosity (``icm``): each sampled
transition's intrinsic reward, from the current module, is added to its agents' rewards before the
targets are formed; the module trains on the same batch.

Known limit (relative overgeneralisation): on the penalty game (``matrix_game_v0``,
``game="penalty"``, k=100) VDN and QMIX settle on the safe joint action (2 per step), not on an
optimum (10). Under uniform exploration each agent's action 0 or 2 averages (10 + 0 - 100) / 3
= -30 against the safe action's 2/3, and even the best *monotonic* fit of the payoff table
(QMIX's function class) puts the safe action on top for both agents (squared error 8,067 against
at least 8,922 for any fit with an optimum's action on top); epsilon-greedy data then only
reinforces it. Weighted QMIX (:mod:`marl_baselines.algos.wqmix`, built on this class), QTRAN,
QPLEX or lenient learners address this; they are not these three algorithms.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from marl_baselines.agents import AgentOptions, build_agent_network
from marl_baselines.buffers import EpisodeBatch, EpisodeBuffer
from marl_baselines.config import check_ranges
from marl_baselines.distributed import AveragedGradients, DataParallelParts, RankAgreement
from marl_baselines.icm import Curiosity, ICMOptions
from marl_baselines.nets import QMixer, VDNMixer, masked_argmax, soft_update
from marl_envs import EnvStep

__all__ = ["ValueDecompConfig", "ValueDecomposition"]


@dataclass
class ValueDecompConfig(AgentOptions, ICMOptions):
    """Hyper-parameters of IQL / VDN / QMIX (defaults follow PyMARL's QMIX where it has one), with the
    agent-network options and curiosity."""

    recurrent: bool = False
    """GRU agents (True) or MLP agents (False)."""
    hidden_size: int = 64
    """Width of the agent network."""
    share_parameters: bool = True
    """One network for every agent (with its one-hot id) rather than one per agent."""
    agent_id: bool = True
    """Append the agent's one-hot id to its observation (with shared parameters)."""
    mixer_embed: int = 32
    """QMIX: width of the mixing network."""
    hypernet_layers: int = 2
    """QMIX: 2 (a hidden ReLU layer: PyMARL's default, learns target_grid far faster) or 1 (linear hypernetworks, as in the paper and the note)."""
    hypernet_hidden: int = 64
    """QMIX: hidden width of two-layer hypernetworks."""
    gamma: float = 0.99
    """Discount factor."""
    lr: float = 5e-4
    """Adam learning rate."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this (0 turns clipping off)."""
    batch_size: int = 32
    """Episodes (or chunks, with chunk_length) per gradient step."""
    chunk_length: int = 0
    """Train on chunks of this many steps of the stored episodes instead of whole episodes (0: whole episodes)."""
    burn_in: int = 0
    """With chunk_length: up to this many earlier steps replayed before each chunk to warm up GRU agents' hidden state, not trained on."""
    buffer_size: int = 5000
    """Episodes kept in the replay buffer."""
    learning_starts: int = 1000
    """Env steps (sub-env steps) collected before the first gradient step."""
    train_every: int = 1
    """Vectorised env steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    target_update: str = "hard"
    """"hard": copy the online networks every target_update_interval gradient steps; "polyak": average with tau every step."""
    target_update_interval: int = 200
    """Gradient steps between hard target updates."""
    tau: float = 0.005
    """Polyak averaging rate."""
    double_q: bool = True
    """Pick the next action with the online network and evaluate it with the target network."""
    n_step: int = 1
    """Steps of real reward in the target before bootstrapping (used when td_lambda is 0)."""
    td_lambda: float = 0.0
    """If > 0, use TD(lambda) targets with this lambda instead of n-step targets."""
    epsilon_start: float = 1.0
    """Exploration rate at the start."""
    epsilon_finish: float = 0.05
    """Exploration rate after annealing."""
    epsilon_anneal_steps: int = 50_000
    """Env steps (sub-env steps) over which epsilon falls linearly."""
    team_reward: str = "mean"
    """VDN/QMIX train on one team reward per step: "mean" or "sum" of the agents' rewards."""

    def check(self) -> None:
        check_ranges(
            self,
            at_least_one=(
                "hidden_size",
                "mixer_embed",
                "hypernet_hidden",
                "batch_size",
                "buffer_size",
                "train_every",
                "gradient_steps",
                "target_update_interval",
                "n_step",
            ),
            non_negative=("lr", "grad_clip", "learning_starts", "epsilon_anneal_steps", "chunk_length", "burn_in"),
            unit_interval=("gamma", "tau", "td_lambda", "epsilon_start", "epsilon_finish"),
        )
        if self.target_update not in ("hard", "polyak"):
            raise ValueError(f"target_update must be 'hard' or 'polyak', got {self.target_update!r}")
        if self.team_reward not in ("mean", "sum"):
            raise ValueError(f"team_reward must be 'mean' or 'sum', got {self.team_reward!r}")
        if self.burn_in and not self.chunk_length:
            raise ValueError(
                f"burn_in warms up the hidden state before a chunk: it needs chunk_length >= 1, got burn_in={self.burn_in} with chunk_length=0"
            )
        if self.hypernet_layers not in (1, 2):
            raise ValueError(f"hypernet_layers must be 1 or 2, got {self.hypernet_layers}")
        self.check_agent()
        self.check_icm()
        if self.agent != "mlp" and self.graph == "env":
            raise ValueError(
                "graph must be 'full' for iql/vdn/qmix, got 'env': the episode buffer stores no adjacency (the GNN and TarMAC use the fully connected graph of alive agents here)"
            )


class ValueDecomposition:
    """IQL (``mixer="none"``), VDN (``"vdn"``) or QMIX (``"qmix"``) for a ``VecEnv`` with discrete actions
    and an episode limit (what their :class:`~marl_baselines.algos.AlgorithmSpec` declares and checks)."""

    MIXERS = ("none", "vdn", "qmix")

    def __init__(self, env, config: ValueDecompConfig, mixer: str, seed: int = 0):
        if mixer not in self.MIXERS:
            raise ValueError(f"mixer must be one of {self.MIXERS}, got {mixer!r}")
        config.check()
        self.config, self.mixer_name, self.device = config, mixer, env.device
        self.n_agents, self.n_actions = env.n_agents, env.action_size
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        torch.manual_seed(seed)  # network initialisation

        c = config
        self.agent = build_agent_network(
            c, env.obs_size, env.action_size, env.n_agents, c.hidden_size, c.recurrent, c.share_parameters, c.agent_id
        ).to(self.device)
        if mixer == "qmix":
            self.mixer: nn.Module | None = QMixer(env.n_agents, env.state_size, c.mixer_embed, c.hypernet_layers, c.hypernet_hidden).to(
                self.device
            )
        else:
            self.mixer = VDNMixer() if mixer == "vdn" else None
        # A subclass's further networks (Weighted QMIX's unrestricted Q*), trained with the same
        # optimiser and each with a target copy updated like the agents' (empty here)
        self.extra = nn.ModuleDict(self.extra_networks(env)).to(self.device)
        self.target_agent = copy.deepcopy(self.agent).requires_grad_(False)
        self.target_mixer = copy.deepcopy(self.mixer).requires_grad_(False) if self.mixer is not None else None
        self.target_extra = copy.deepcopy(self.extra).requires_grad_(False)
        self.parameters = (
            list(self.agent.parameters())
            + (list(self.mixer.parameters()) if self.mixer is not None else [])
            + list(self.extra.parameters())
        )
        self.optimizer = torch.optim.Adam(self.parameters, lr=c.lr)
        self.gradients = AveragedGradients(self.optimizer)
        self.buffer = EpisodeBuffer(
            c.buffer_size,
            env.max_episode_steps,
            env.num_envs,
            env.n_agents,
            env.obs_size,
            env.state_size,
            n_actions_masked=env.action_size if env.has_action_mask else None,
            device=self.device,
            sync_free=getattr(env, "sync_free", None),
        )
        self.curiosity = Curiosity(c, env.obs_size, env.action_size, True, self.device) if c.icm else None
        self.ready_on_every_rank = RankAgreement()  # see buffer_ready
        self.gradient_steps = 0
        self._vector_steps = 0

    def extra_networks(self, env) -> dict[str, nn.Module]:
        """Networks a subclass trains besides the agents and the mixer (built after them), by name:
        ``self.extra[name]``, with its target ``self.target_extra[name]``. None here."""
        return {}

    # ------------------------------------------------------------------ acting
    def epsilon(self, env_steps: int) -> float:
        c = self.config
        fraction = min(1.0, env_steps / c.epsilon_anneal_steps) if c.epsilon_anneal_steps else 1.0
        return c.epsilon_start + fraction * (c.epsilon_finish - c.epsilon_start)

    def initial_hidden(self, num_envs: int) -> torch.Tensor | None:
        return self.agent.initial_state(num_envs, device=self.device) if self.config.recurrent else None

    @torch.no_grad()
    def act(self, out: EnvStep, hidden: torch.Tensor | None, explore: bool, env_steps: int = 0):
        """Actions ``[B, N]`` for the observations of ``out`` (epsilon-greedy over legal actions
        when ``explore``, greedy otherwise), the new hidden state, and ``act_info`` ``{}``."""
        q, hidden = self.agent(out.obs, hidden, alive=out.alive)
        actions = masked_argmax(q, out.action_mask)
        epsilon = self.epsilon(env_steps) if explore else 0.0
        if epsilon > 0:
            scores = torch.rand(q.shape, generator=self.generator, device=self.device)
            random = masked_argmax(scores, out.action_mask)
            chosen = torch.rand(actions.shape, generator=self.generator, device=self.device) < epsilon
            actions = torch.where(chosen, random, actions)
        return actions, hidden, {}

    def start(self, out: EnvStep) -> None:
        """The envs were reset: ``out`` starts the episodes to record."""
        self.buffer.start(out)
        self._vector_steps = 0

    def observe(
        self, before: EnvStep, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after: EnvStep, env_steps: int
    ) -> dict[str, float | torch.Tensor] | None:
        """Record the step taken with ``actions``; train when due. Returns training statistics, if it trained.

        The episode buffer records each episode in progress whole (replay runs the agents over it from its
        start), so it holds ``before``'s observation already (written by ``start`` or the previous step)."""
        self.buffer.add(actions, after)
        self._vector_steps += 1
        c = self.config
        if env_steps < c.learning_starts or not self.buffer_ready() or self._vector_steps % c.train_every:
            return None
        stats: dict[str, float | torch.Tensor] = {}
        for _ in range(c.gradient_steps):
            stats = self.train_step()
        stats["epsilon"] = self.epsilon(env_steps)
        return stats

    def buffer_ready(self) -> bool:
        """The buffer holds ``batch_size`` finished episodes (:meth:`EpisodeBuffer.holds_at_least`).
        Outside sync-free mode that count depends on how this process's episodes ended, so under
        torchrun it is one decision of all ranks (``ready_on_every_rank``: they must train at the
        same steps, or the gradient all-reduce hangs); the sync-free lower bound counts steps and
        is the same on every rank."""
        return self.ready_on_every_rank(lambda: self.buffer.holds_at_least(self.config.batch_size))

    def train_step(self) -> dict[str, float | torch.Tensor]:
        c, generator = self.config, self.generator
        if c.chunk_length:
            batch = self.buffer.sample_chunks(c.batch_size, c.chunk_length, c.burn_in, generator)
        else:
            batch = self.buffer.sample(c.batch_size, generator)
        curiosity_stats = {}
        if self.curiosity is not None:
            acting = batch.alive[:, :-1] & batch.filled[..., None]
            bonus = self.curiosity.reward(batch.obs[:, :-1], batch.actions, batch.obs[:, 1:], acting)
            curiosity_stats = self.curiosity.update(batch.obs[:, :-1], batch.actions, batch.obs[:, 1:], acting)
            curiosity_stats["intrinsic_reward"] = bonus.sum() / acting.sum().clamp(min=1)
            batch = batch._replace(reward=batch.reward + bonus)
        loss, stats = self.loss(batch)
        stats.update(curiosity_stats)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            stats["grad_norm"] = self.gradients.clip(self.config.grad_clip)
        self.optimizer.step()
        self.gradient_steps += 1
        self._update_targets()
        stats["loss"] = loss.detach()
        return stats

    def _update_targets(self) -> None:
        c = self.config
        pairs = [(self.agent, self.target_agent), (self.extra, self.target_extra)]
        pairs += [(self.mixer, self.target_mixer)] if self.mixer is not None else []
        if c.target_update == "polyak":
            for online, target in pairs:
                soft_update(online, target, c.tau)
        elif self.gradient_steps % c.target_update_interval == 0:
            for online, target in pairs:
                target.load_state_dict(online.state_dict())

    def loss(self, batch: EpisodeBatch) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        q = self.agent.forward_sequence(batch.obs, alive=batch.alive)  # [b, L+1, N, A]; GRU agents from a zero state
        with torch.no_grad():
            target_q = self.target_agent.forward_sequence(batch.obs, alive=batch.alive)
            next_actions = self.next_actions(q, target_q, batch)
            next_q = target_q[:, 1:].gather(-1, next_actions[..., None]).squeeze(-1)  # [b, L, N]
            next_q = next_q * batch.alive[:, 1:]  # agents that have left add nothing
        chosen = q[:, :-1].gather(-1, batch.actions[..., None]).squeeze(-1) * batch.alive[:, :-1]

        if self.mixer is None:  # IQL: one target per agent, from its own reward
            valid = batch.trained[..., None] & batch.alive[:, :-1]
            targets = self._returns(batch.reward, next_q, batch.terminal[..., None], batch.filled[..., None])
            error = (chosen - targets) * valid
        else:
            reward = self.team_reward(batch)
            q_tot = self.mixer(chosen, batch.state[:, :-1])
            with torch.no_grad():
                next_tot = self.target_mixer(next_q, batch.state[:, 1:])
            targets = self._returns(reward, next_tot, batch.terminal, batch.filled)
            valid = batch.trained
            error = (q_tot - targets) * valid
        loss = error.pow(2).sum() / valid.sum().clamp(min=1)
        with torch.no_grad():
            alive = batch.alive[:, :-1] & batch.trained[..., None]
            stats = {
                "q_taken": (chosen * alive).sum() / alive.sum().clamp(min=1),
                "target": (targets * valid).sum() / valid.sum().clamp(min=1),
            }
        return loss, stats

    def team_reward(self, batch: EpisodeBatch) -> torch.Tensor:
        """The one reward per step ``[b, L]`` the mixed value learns: the agents' mean or sum (``team_reward``)."""
        return batch.reward.sum(-1) if self.config.team_reward == "sum" else batch.reward.mean(-1)

    def next_actions(self, q: torch.Tensor, target_q: torch.Tensor, batch: EpisodeBatch) -> torch.Tensor:
        """The greedy legal actions ``[b, L, N]`` at the observations after each step, of the online agents
        (``double_q``) or of the target agents, from their values ``[b, L+1, N, A]`` over the episode."""
        mask = batch.action_mask[:, 1:] if batch.action_mask is not None else None
        return masked_argmax((q.detach() if self.config.double_q else target_q)[:, 1:], mask)

    def _returns(self, reward: torch.Tensor, next_value: torch.Tensor, terminal: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
        """n-step or TD(lambda) targets along the time axis (axis 1); no bootstrap past a terminal step.

        ``next_value[:, t]`` is the target value of the observation after step t (the episode's
        final one at its last step), so truncated episodes bootstrap from their final observation.
        """
        c = self.config
        gamma, L = c.gamma, reward.shape[1]
        bootstrap = gamma * next_value * ~terminal
        if c.td_lambda > 0:
            lam = c.td_lambda
            returns = torch.zeros_like(reward)
            following = next_value[:, -1]
            for t in reversed(range(L)):
                # past the episode's last step the lambda-return falls back on the bootstrap
                following = torch.where(filled[:, t + 1] if t + 1 < L else torch.zeros_like(filled[:, t]), following, next_value[:, t])
                returns[:, t] = reward[:, t] + gamma * ~terminal[:, t] * ((1 - lam) * next_value[:, t] + lam * following)
                following = returns[:, t]
            return returns
        # n-step: sum_{k<m} gamma^k r_{t+k} + gamma^m V(after step t+m-1), with m <= n cut at the episode's end
        returns, last = reward.clone(), bootstrap.clone()
        chain = torch.ones_like(filled)  # the chain from step t still runs at step t+k
        discount = 1.0
        for k in range(1, c.n_step):
            discount *= gamma
            chain = chain & ~_shift(terminal, k - 1, L) & _shift(filled, k, L)
            returns = returns + torch.where(chain, discount * _shift(reward, k, L), 0.0)
            last = torch.where(chain, discount * _shift(bootstrap, k, L), last)
        return returns + last

    # ------------------------------------------------------------------ checkpoints
    def data_parallel_parts(self) -> DataParallelParts:
        """Under torchrun (:mod:`marl_baselines.distributed`): the networks every rank holds alike, the
        gradients averaged over the ranks, and when to start training decided by all ranks together."""
        curiosity = () if self.curiosity is None else (self.curiosity,)
        networks = [self.agent, self.target_agent, *(m for m in (self.mixer, self.target_mixer) if m is not None)]
        networks += [self.extra, self.target_extra] if len(self.extra) else []
        return DataParallelParts(
            networks=(*networks, *(c.module for c in curiosity)),
            gradients=(self.gradients, *(c.gradients for c in curiosity)),
            decisions=() if self.buffer.sync_free else (self.ready_on_every_rank,),
        )

    def state_dict(self, include_buffer: bool = True) -> dict:
        return {
            "buffer": self.buffer.state_dict() if include_buffer else None,
            "vector_steps": self._vector_steps,
            "agent": self.agent.state_dict(),
            "target_agent": self.target_agent.state_dict(),
            "mixer": self.mixer.state_dict() if self.mixer is not None else None,
            "target_mixer": self.target_mixer.state_dict() if self.target_mixer is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "gradient_steps": self.gradient_steps,
            "generator": self.generator.get_state(),
            "curiosity": self.curiosity.state_dict() if self.curiosity is not None else None,
            **({"extra": self.extra.state_dict(), "target_extra": self.target_extra.state_dict()} if len(self.extra) else {}),
        }

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.target_agent.load_state_dict(state["target_agent"])
        if self.mixer is not None:
            self.mixer.load_state_dict(state["mixer"])
            self.target_mixer.load_state_dict(state["target_mixer"])
        if len(self.extra):
            self.extra.load_state_dict(state["extra"])
            self.target_extra.load_state_dict(state["target_extra"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gradient_steps = state["gradient_steps"]
        self.generator.set_state(state["generator"])
        self._vector_steps = state["vector_steps"]
        if self.curiosity is not None:
            self.curiosity.load_state_dict(state["curiosity"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])


def _shift(x: torch.Tensor, k: int, length: int) -> torch.Tensor:
    """``x[:, t + k]`` at position t (zeros past the end)."""
    out = torch.zeros_like(x)
    if k < length:
        out[:, : length - k] = x[:, k:]
    return out
