"""MADDPG, MATD3 and IDDPG: deterministic policy gradients with centralised (or local) critics, from one file.

* MADDPG (Lowe et al., 2017): each agent's actor mu_i(o_i) acts on its own observation
  (decentralised execution); each agent's critic Q_i(s, a_1, ..., a_N) sees the global state (or
  every agent's observation, ``critic_input="obs"``) and every agent's action, and learns from
  agent i's own reward. Actor i climbs Q_i with respect to its own action, the others' actions
  taken from the replay buffer.
* MATD3 (Ackermann et al., 2019): MADDPG with TD3's three fixes: twin critics (the target is the
  smaller of the two), target policy smoothing (clipped Gaussian noise on the target actions,
  continuous actions), and actor (and target) updates only every ``policy_delay`` critic updates.
* IDDPG (independent DDPG, as BenchMARL names it): MADDPG with each agent's critic on its own
  observation and its own action only, ``Q_i(o_i, a_i)``: no centralised information in training
  either (the other agents are part of the env). The one difference is the critic's input
  (:meth:`MADDPG._critic_input`); everything else is MADDPG's. BenchMARL's IDDPG is the same
  method; ours keeps this file's choices (Gumbel-softmax actors for discrete actions, a one-hot
  agent id in shared critics, ``actor_regularization``), where BenchMARL's discrete actions go
  through its own relaxation and its shared critics see no id.

Actors and critics are :class:`~marl_baselines.nets.AgentNetwork` s: one shared network with the
agent's one-hot id by default (``share_parameters=False``: one per agent, still one batched op).
The critic's input for agent i is ``[s, a_1, ..., a_N]`` (IDDPG: ``[o_i, a_i]``) and it outputs Q_i.

Actions:

* continuous: ``tanh`` actors scaled into the Box ``[action_low, action_high]``; exploration adds
  Gaussian noise of standard deviation ``noise * (high - low) / 2`` (``noise`` falls linearly from
  ``noise_start`` to ``noise_finish``) and clips the result into the Box, so the env always gets
  a legal action; that clipped action is what the buffer stores.
* discrete: Gumbel-softmax actors (illegal actions' logits set to -inf first). Acting samples the
  Gumbel-max action (plus, optionally, a uniformly random legal action with probability epsilon);
  the critic sees one-hot actions, and in the actor update the straight-through one-hot
  ``hard - soft.detach() + soft`` (as in the reference MADDPG), so the gradient reaches the
  logits through the relaxed sample. Greedy: the masked argmax of the logits.

Agent networks (``agent``, :mod:`marl_baselines.comm`): the actors can be the MLP, TarMAC or the
graph-attention agent, all feed-forward here (transitions are replayed one at a time, so no
agent carries memory; TarMAC's GRU memory is replaced by a feed-forward layer, its communication
unchanged). Communicating actors see ``alive`` (and with ``graph="env"`` the env's adjacency, stored
with each transition; at an episode's final observation the env reports no graph, so the last one
of the episode stands in for it). Critics stay MLPs.

Curiosity (``icm``): the intrinsic reward of each sampled transition, from the current module, is
added to its reward before the targets are formed; the module trains on the same batch.

Replay: single transitions in a :class:`~marl_baselines.buffers.TransitionBuffer` on the
training device: obs, state, actions, reward ``[N]``, the observation after the step (the
env's ``final_obs``/``final_state``, never the next episode's first one), terminated ``[N]``,
alive, and the action masks before and after the step.
Targets: ``y_i = r_i + gamma * (1 - terminated_i) * Q'_i(s', mu'(o'))``: no bootstrap past a
termination; a truncated episode bootstraps from its final observation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from marl_baselines.agents import AgentOptions, build_agent_network
from marl_baselines.buffers import TransitionBuffer, transition_fields, transition_record
from marl_baselines.config import check_ranges
from marl_baselines.distributed import AveragedGradients, DataParallelParts
from marl_baselines.icm import Curiosity, ICMOptions
from marl_baselines.nets import AgentNetwork, masked_argmax, one_hot, soft_update
from marl_envs import EnvStep

__all__ = ["ReplayActorCriticOptions", "ReplayTraining", "MADDPGConfig", "MADDPG", "box_bounds", "gumbel_softmax", "joint_action_input"]


@dataclass
class ReplayActorCriticOptions(AgentOptions):
    """The options MADDPG, MATD3, IDDPG, ISAC and MASAC share: actor and critic widths, parameter
    sharing, what a centralised critic sees, learning rates, the replay buffer, when and how often to
    train, and the target networks' averaging; with the agent-network options (feed-forward agents only)."""

    hidden_size: int = 64
    """Width of the actor network (two hidden ReLU layers)."""
    critic_hidden_size: int = 128
    """Width of each critic network (two hidden ReLU layers)."""
    share_parameters: bool = True
    """One actor (and one network per critic) for every agent, with its one-hot id, rather than one per agent."""
    agent_id: bool = True
    """Append the agent's one-hot id to the networks' inputs (with shared parameters)."""
    critic_input: str = "state"
    """MADDPG, MATD3, MASAC: what the centralised critics see besides the actions: "state" (the global state) or "obs" (every agent's observation). IDDPG's and ISAC's critics see the agent's own observation (and action) whatever this says."""
    gamma: float = 0.99
    """Discount factor."""
    actor_lr: float = 1e-3
    """Adam learning rate of the actors."""
    critic_lr: float = 1e-3
    """Adam learning rate of the critics."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this (0 turns clipping off), actors and critics separately."""
    batch_size: int = 256
    """Transitions per gradient step."""
    buffer_size: int = 100_000
    """Transitions kept in the replay buffer (one transition holds every agent of one sub-env step)."""
    learning_starts: int = 1_000
    """Env steps (sub-env steps) collected before the first gradient step (until then the untrained actors act, with the exploration noise)."""
    train_every: int = 1
    """Vectorised env steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    tau: float = 0.005
    """Polyak averaging rate of the target networks, after every gradient step (MATD3: after every actor update)."""

    def check_replay_actor_critic(self) -> None:
        """A one-line ValueError for a shared option out of its range."""
        check_ranges(
            self,
            at_least_one=("hidden_size", "critic_hidden_size", "batch_size", "buffer_size", "train_every", "gradient_steps"),
            non_negative=("actor_lr", "critic_lr", "grad_clip", "learning_starts"),
            unit_interval=("gamma", "tau"),
        )
        if self.critic_input not in ("state", "obs"):
            raise ValueError(f"critic_input must be 'state' or 'obs', got {self.critic_input!r}")
        self.check_agent()


@dataclass
class MADDPGConfig(ReplayActorCriticOptions, ICMOptions):
    """Hyper-parameters of MADDPG / MATD3 / IDDPG (defaults near the reference MADDPG and EPyMARL's):
    the shared options of :class:`ReplayActorCriticOptions`, exploration, MATD3's and curiosity."""

    policy_delay: int = 2
    """MATD3: critic updates per actor (and target) update. MADDPG updates the actors every step."""
    target_noise: float = 0.2
    """MATD3, continuous: standard deviation of the target policy smoothing noise, as a fraction of the half-range of the Box."""
    target_noise_clip: float = 0.5
    """MATD3, continuous: the smoothing noise is clipped to +-this (same units)."""
    noise_start: float = 0.3
    """Continuous: exploration noise at the start (standard deviation as a fraction of the half-range of the Box)."""
    noise_finish: float = 0.05
    """Continuous: exploration noise after annealing."""
    noise_anneal_steps: int = 50_000
    """Continuous: env steps (sub-env steps) over which the noise falls linearly."""
    gumbel_temperature: float = 1.0
    """Discrete: temperature of the Gumbel-softmax relaxation in the actor update."""
    random_action_start: float = 0.0
    """Discrete: probability of a uniformly random legal action at the start, on top of the Gumbel noise (epsilon)."""
    random_action_finish: float = 0.0
    """Discrete: that probability after annealing."""
    random_action_anneal_steps: int = 50_000
    """Discrete: env steps (sub-env steps) over which epsilon falls linearly."""
    actor_regularization: float = 1e-3
    """Weight of the penalty on the actor's squared outputs (logits, or pre-tanh actions), as in the reference MADDPG."""

    def check(self) -> None:
        self.check_replay_actor_critic()
        check_ranges(
            self,
            at_least_one=("policy_delay",),
            non_negative=(
                "target_noise",
                "target_noise_clip",
                "noise_start",
                "noise_finish",
                "noise_anneal_steps",
                "random_action_anneal_steps",
                "actor_regularization",
            ),
            unit_interval=("random_action_start", "random_action_finish"),
        )
        if self.gumbel_temperature <= 0:
            raise ValueError(f"gumbel_temperature must be > 0, got {self.gumbel_temperature}")
        self.check_icm()


def gumbel_softmax(logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A Gumbel-softmax sample of ``logits [..., A]`` (illegal entries already -inf).

    Returns the straight-through one-hot (forward: the one-hot of the Gumbel-max action; backward:
    the gradient of the relaxed ``softmax((logits + g) / temperature)``) and the sampled indices.
    """
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-10, 1.0 - 1e-7)
    perturbed = logits - torch.log(-torch.log(uniform))
    soft = F.softmax(perturbed / temperature, -1)
    index = perturbed.argmax(-1)
    hard = one_hot(index, logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft, index


def box_bounds(env, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Box of a continuous env as ``(low, high, scale, center)``, each ``[N, A]`` on ``device``, where
    a tanh output ``y`` maps to the action ``center + scale * y``. Unbounded dimensions get the range
    [-1, 1] (the tanh unscaled)."""
    low, high = env.action_low.float(), env.action_high.float()
    finite = torch.isfinite(low) & torch.isfinite(high)
    low, high = torch.where(finite, low, -1.0).to(device), torch.where(finite, high, 1.0).to(device)
    return low, high, (high - low) / 2, (high + low) / 2


def joint_action_input(view: torch.Tensor, actions: torch.Tensor, n_agents: int) -> torch.Tensor:
    """Every agent's centralised critic input ``[b, N, C + N*A]``: the view ``[b, C]`` (state, or every
    agent's observation) and the joint action: ``actions [b, N, A]`` (one joint action for all agents)
    or ``[b, N, N, A]`` (row i: the joint action agent i's critic evaluates)."""
    b, N = view.shape[0], n_agents
    view = view[:, None].expand(b, N, view.shape[-1])
    joint = actions.flatten(-2)
    if joint.dim() == 2:
        joint = joint[:, None].expand(b, N, joint.shape[-1])
    return torch.cat((view, joint), -1)


class ReplayTraining:
    """What MADDPG/MATD3/IDDPG and ISAC/MASAC share beyond their options, in one place: how a
    constructor begins (:meth:`begin`), and what they do with each step: store the transition
    in the replay buffer (discrete actions one-hot) and say whether a training phase is due: after
    ``learning_starts`` env steps, once the buffer holds a batch, every ``train_every`` vectorised
    steps (counted from :meth:`start`). Needs ``config`` (:class:`ReplayActorCriticOptions`),
    ``buffer``, ``discrete``, ``n_actions``, ``has_mask`` and ``graph``."""

    VARIANTS: tuple[str, ...] = ()

    def begin(self, env, config: ReplayActorCriticOptions, variant: str, seed: int) -> None:
        """What every constructor starts with: the variant and the config checked (against ``env``
        too), the env's sizes, the generator of the algorithm's own randomness seeded, and torch's
        global one seeded for the networks' initialisation."""
        if variant not in self.VARIANTS:
            raise ValueError(f"variant must be one of {self.VARIANTS}, got {variant!r}")
        config.check()
        config.check_env(env)
        self.config, self.variant, self.device = config, variant, env.device
        self.discrete = env.discrete
        self.n_agents, self.n_actions = env.n_agents, env.action_size
        self.has_mask = bool(env.has_action_mask) and env.discrete
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        torch.manual_seed(seed)  # network initialisation

    def start(self, out: EnvStep) -> None:
        """The envs were reset (or a run resumed without its buffer): ``train_every`` counts from here."""
        self._vector_steps = 0

    def store(self, before: EnvStep, actions: torch.Tensor, after: EnvStep, env_steps: int) -> bool:
        """Store the step from ``before`` to ``after`` taken with ``actions``; True if training is due."""
        stored = one_hot(actions, self.n_actions) if self.discrete else actions
        self.buffer.add(**transition_record(before, stored, after, self.has_mask, self.graph))
        self._vector_steps += 1
        c = self.config
        return not (env_steps < c.learning_starts or len(self.buffer) < c.batch_size or self._vector_steps % c.train_every)


class MADDPG(ReplayTraining):
    """MADDPG (``variant="maddpg"``), MATD3 (``"matd3"``) or IDDPG (``"iddpg"``) for a ``VecEnv`` with
    discrete or continuous actions."""

    VARIANTS = ("maddpg", "matd3", "iddpg")

    def __init__(self, env, config: MADDPGConfig, variant: str = "maddpg", seed: int = 0):
        self.begin(env, config, variant, seed)
        N, A = self.n_agents, self.n_actions

        c = config
        if not self.discrete:
            self.action_low, self.action_high, self.action_scale, self.action_center = box_bounds(env, self.device)
        # What each critic sees besides the actions: "state", "obs" (every agent's), or "own" (IDDPG: its agent's observation and action)
        self.critic_view = "own" if variant == "iddpg" else c.critic_input
        view_size = {"state": env.state_size, "obs": N * env.obs_size, "own": env.obs_size}[self.critic_view]
        critic_actions = A if self.critic_view == "own" else N * A
        self.actor = build_agent_network(c, env.obs_size, A, N, c.hidden_size, False, c.share_parameters, c.agent_id).to(self.device)
        self.graph = c.agent != "mlp" and c.graph == "env"  # the actors read the env's adjacency
        n_critics = 2 if variant == "matd3" else 1
        self.critics = nn.ModuleList(
            AgentNetwork(view_size + critic_actions, 1, N, c.critic_hidden_size, False, c.share_parameters, c.agent_id)
            for _ in range(n_critics)
        ).to(self.device)
        self.target_actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=c.critic_lr)
        self.actor_gradients, self.critic_gradients = AveragedGradients(self.actor_optimizer), AveragedGradients(self.critic_optimizer)

        fields = transition_fields(N, env.obs_size, env.state_size, A, self.has_mask, self.graph)
        self.buffer = TransitionBuffer(c.buffer_size, fields, self.device)
        self.curiosity = Curiosity(c, env.obs_size, A, self.discrete, self.device) if c.icm else None
        self.gradient_steps = 0
        self._vector_steps = 0

    # ------------------------------------------------------------------ policies
    def _linear_schedule(self, start: float, finish: float, anneal_steps: int, env_steps: int) -> float:
        fraction = min(1.0, env_steps / anneal_steps) if anneal_steps else 1.0
        return start + fraction * (finish - start)

    def noise(self, env_steps: int) -> float:
        c = self.config
        return self._linear_schedule(c.noise_start, c.noise_finish, c.noise_anneal_steps, env_steps)

    def epsilon(self, env_steps: int) -> float:
        c = self.config
        return self._linear_schedule(c.random_action_start, c.random_action_finish, c.random_action_anneal_steps, env_steps)

    def _scale(self, raw: torch.Tensor) -> torch.Tensor:
        """Pre-tanh actor outputs ``[..., N, A]`` to actions in the Box."""
        return self.action_center + self.action_scale * torch.tanh(raw)

    def _masked_logits(
        self, actor: nn.Module, obs: torch.Tensor, mask: torch.Tensor | None, alive: torch.Tensor, adjacency: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raw = actor(obs, None, alive, adjacency)[0]
        return (raw.masked_fill(~mask, float("-inf")) if mask is not None else raw), raw

    def initial_hidden(self, num_envs: int) -> None:
        return None

    @torch.no_grad()
    def act(self, out: EnvStep, hidden: None, explore: bool, env_steps: int = 0):
        """Actions for the observations of ``out``: discrete int64 ``[B, N]`` (Gumbel-max samples,
        greedy when not ``explore``), continuous float32 ``[B, N, A]`` within the Box; no hidden state,
        and ``act_info`` ``{}`` (the transition ``observe`` stores is the loop's)."""
        mask = out.action_mask if self.has_mask else None
        adjacency = out.adjacency if self.graph else None
        if self.discrete:
            logits, _ = self._masked_logits(self.actor, out.obs, mask, out.alive, adjacency)
            if not explore:
                return masked_argmax(logits, None), None, {}
            _, actions = gumbel_softmax(logits, 1.0, self.generator)
            epsilon = self.epsilon(env_steps)
            if epsilon > 0:
                scores = torch.rand(logits.shape, generator=self.generator, device=self.device)
                random = masked_argmax(scores, mask)
                chosen = torch.rand(actions.shape, generator=self.generator, device=self.device) < epsilon
                actions = torch.where(chosen, random, actions)
            return actions, None, {}
        actions = self._scale(self.actor(out.obs, None, out.alive, adjacency)[0])
        if explore:
            noise = torch.randn(actions.shape, generator=self.generator, device=self.device)
            actions = actions + noise * self.noise(env_steps) * self.action_scale
        return torch.maximum(torch.minimum(actions, self.action_high), self.action_low), None, {}

    # ------------------------------------------------------------------ experience
    def observe(
        self, before: EnvStep, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after: EnvStep, env_steps: int
    ) -> dict[str, float | torch.Tensor] | None:
        """Store the transition from ``before`` to ``after`` taken with ``actions`` (``act_info`` is not
        needed); train when due. Returns training statistics, if it trained."""
        if not self.store(before, actions, after, env_steps):
            return None
        stats: dict[str, float | torch.Tensor] = {}
        for _ in range(self.config.gradient_steps):
            stats = self.train_step()
        stats["noise" if not self.discrete else "epsilon"] = self.noise(env_steps) if not self.discrete else self.epsilon(env_steps)
        return stats

    # ------------------------------------------------------------------ training
    def _critic_input(self, obs: torch.Tensor, state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Every agent's critic input ``[b, N, C + N*A]``: the centralised view and the joint action
        (IDDPG: ``[b, N, O + A]``, the agent's own observation and action).

        ``actions`` is ``[b, N, A]`` (one joint action for all agents) or ``[b, N, N, A]`` (row i:
        the joint action agent i's critic evaluates; its own action is entry i of row i).
        """
        if self.critic_view == "own":
            own = actions if actions.dim() == 3 else actions.diagonal(dim1=1, dim2=2).movedim(-1, -2)
            return torch.cat((obs, own), -1)
        view = state if self.config.critic_input == "state" else obs.flatten(1)
        return joint_action_input(view, actions, self.n_agents)

    def _target_actions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The target actors' actions ``[b, N, A]`` at the observations after the step (one-hot when discrete)."""
        inputs = (batch["next_alive"], batch.get("next_adjacency"))
        if self.discrete:
            logits, _ = self._masked_logits(self.target_actor, batch["next_obs"], batch.get("next_action_mask"), *inputs)
            actions, _ = gumbel_softmax(logits, self.config.gumbel_temperature, self.generator)
        else:
            actions = self._scale(self.target_actor(batch["next_obs"], None, *inputs)[0])
            if self.variant == "matd3" and self.config.target_noise > 0:
                c = self.config
                noise = torch.randn(actions.shape, generator=self.generator, device=self.device) * c.target_noise
                actions = actions + noise.clamp(-c.target_noise_clip, c.target_noise_clip) * self.action_scale
                actions = torch.maximum(torch.minimum(actions, self.action_high), self.action_low)
        return actions * batch["next_alive"][..., None]

    @torch.no_grad()
    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``y [b, N] = r + gamma * (1 - terminated) * min_k Q'_k(s', mu'(o'))``."""
        inputs = self._critic_input(batch["next_obs"], batch["next_state"], self._target_actions(batch))
        next_q = torch.stack([critic(inputs)[0].squeeze(-1) for critic in self.target_critics]).min(0).values
        return batch["reward"] + self.config.gamma * next_q * ~batch["terminated"]

    def train_step(self) -> dict[str, float | torch.Tensor]:
        c = self.config
        batch = self.buffer.sample(c.batch_size, self.generator)
        alive = batch["alive"].float()
        count = alive.sum().clamp(min=1)
        curiosity_stats = {}
        if self.curiosity is not None:
            actions = batch["actions"].argmax(-1) if self.discrete else batch["actions"]
            bonus = self.curiosity.reward(batch["obs"], actions, batch["next_obs"], batch["alive"])
            curiosity_stats = self.curiosity.update(batch["obs"], actions, batch["next_obs"], batch["alive"])
            curiosity_stats["intrinsic_reward"] = (bonus * alive).sum() / count
            batch["reward"] = batch["reward"] + bonus

        targets = self.targets(batch)
        inputs = self._critic_input(batch["obs"], batch["state"], batch["actions"])
        qs = [critic(inputs)[0].squeeze(-1) for critic in self.critics]
        critic_loss = sum(((q - targets).pow(2) * alive).sum() / count for q in qs)
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        stats = {
            "critic_loss": critic_loss.detach(),
            "q_taken": (qs[0].detach() * alive).sum() / count,
            "target": (targets * alive).sum() / count,
            **curiosity_stats,
        }
        if c.grad_clip > 0:
            stats["critic_grad_norm"] = self.critic_gradients.clip(c.grad_clip)
        self.critic_optimizer.step()
        self.gradient_steps += 1

        if self.variant != "matd3" or self.gradient_steps % c.policy_delay == 0:
            stats.update(self._actor_step(batch, alive, count))
            self.update_targets()
        return stats

    def _actor_step(self, batch: dict[str, torch.Tensor], alive: torch.Tensor, count: torch.Tensor) -> dict[str, float | torch.Tensor]:
        c = self.config
        inputs = (batch["alive"], batch.get("adjacency"))
        if self.discrete:
            logits, raw = self._masked_logits(self.actor, batch["obs"], batch.get("action_mask"), *inputs)
            own, _ = gumbel_softmax(logits, c.gumbel_temperature, self.generator)
            regularizer = raw.pow(2)
        else:
            raw = self.actor(batch["obs"], None, *inputs)[0]
            own = self._scale(raw)
            regularizer = raw.pow(2)
        own = own * batch["alive"][..., None]
        # Row i: agent i's new action, the others' actions from the buffer (no gradient to them).
        eye = torch.eye(self.n_agents, dtype=torch.bool, device=self.device)[None, :, :, None]
        joint = torch.where(eye, own[:, None], batch["actions"][:, None])  # [b, N, N, A]
        q = self.critics[0](self._critic_input(batch["obs"], batch["state"], joint))[0].squeeze(-1)
        policy_loss = -(q * alive).sum() / count
        regularization = (regularizer.mean(-1) * alive).sum() / count
        actor_loss = policy_loss + c.actor_regularization * regularization
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        stats = {"actor_loss": policy_loss.detach()}
        if c.grad_clip > 0:
            stats["actor_grad_norm"] = self.actor_gradients.clip(c.grad_clip)
        self.actor_optimizer.step()
        return stats

    @torch.no_grad()
    def update_targets(self) -> None:
        """Polyak averaging: ``target <- (1 - tau) * target + tau * online`` for actors and critics."""
        soft_update(self.actor, self.target_actor, self.config.tau)
        soft_update(self.critics, self.target_critics, self.config.tau)

    # ------------------------------------------------------------------ checkpoints
    def data_parallel_parts(self) -> DataParallelParts:
        """Under torchrun (:mod:`marl_baselines.distributed`): the networks every rank holds alike and
        the gradients averaged over the ranks (the transition buffer grows alike on every rank, so
        every rank trains at the same steps)."""
        curiosity = () if self.curiosity is None else (self.curiosity,)
        return DataParallelParts(
            networks=(self.actor, self.critics, self.target_actor, self.target_critics, *(c.module for c in curiosity)),
            gradients=(self.actor_gradients, self.critic_gradients, *(c.gradients for c in curiosity)),
        )

    def state_dict(self, include_buffer: bool = True) -> dict:
        return {
            "buffer": self.buffer.state_dict() if include_buffer else None,
            "actor": self.actor.state_dict(),
            "target_actor": self.target_actor.state_dict(),
            "critics": self.critics.state_dict(),
            "target_critics": self.target_critics.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "gradient_steps": self.gradient_steps,
            "vector_steps": self._vector_steps,
            "generator": self.generator.get_state(),
            "curiosity": self.curiosity.state_dict() if self.curiosity is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.target_actor.load_state_dict(state["target_actor"])
        self.critics.load_state_dict(state["critics"])
        self.target_critics.load_state_dict(state["target_critics"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.gradient_steps, self._vector_steps = state["gradient_steps"], state["vector_steps"]
        self.generator.set_state(state["generator"])
        if self.curiosity is not None:
            self.curiosity.load_state_dict(state["curiosity"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
