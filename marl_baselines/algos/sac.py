"""ISAC and MASAC: soft actor-critic for every agent, with independent or centralised critics.

Soft actor-critic (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and Applications", the
version with a learned temperature) maximises the return plus the policy's entropy,
``sum_t E[r_t + alpha H(pi(.|o_t))]``. Per agent i, from a replay buffer of transitions:

* twin critics Q_1, Q_2 and their Polyak-averaged targets Q'_1, Q'_2 (no target actor);
* the soft target ``y_i = r_i + gamma (1 - terminated_i) (min_k Q'_k(x', a') - alpha_i log pi_i(a'_i|o'_i))``,
  the next actions a' drawn from the current policies;
* the critic loss ``sum_k (Q_k(x, a) - y)^2`` (averaged over the agents alive);
* the policy loss ``E_{a_i ~ pi_i}[alpha_i log pi_i(a_i|o_i) - min_k Q_k(x, a)]``;
* the temperature loss ``-log(alpha_i) (log pi_i(a_i|o_i) + H_target)``, which raises alpha_i while
  the policy's entropy is below the target ``H_target`` and lowers it above (``learn_alpha=False``
  keeps ``initial_alpha``). One temperature per agent.

The two variants differ only in what a critic sees (x above):

* ISAC (independent): agent i's critics see its own observation o_i (and its own action);
* MASAC (centralised): agent i's critics see the global state s (``critic_input="state"``, or every
  agent's observation with ``"obs"``) and, for continuous actions, every agent's action. In the
  policy loss, row i of the joint action holds agent i's fresh sample (with its gradient) and the
  other agents' fresh samples without theirs, so each actor climbs its own critic through its own action.

Actions:

* continuous: a tanh-squashed Gaussian, ``a = center + scale * tanh(u)``, ``u ~ N(mu(o), sigma(o))``
  (reparameterised), mapped onto the env's Box ``[low, high]``; its log-density includes the tanh
  and scale corrections, ``log N(u) - sum log(scale (1 - tanh(u)^2))``. The actor outputs mu and
  a log sigma squashed into ``[log_std_min, log_std_max]`` by a tanh. Target entropy:
  ``target_entropy`` per action dimension (the paper's -dim(A)). Greedy: ``center + scale * tanh(mu)``.
* discrete (Christodoulou, 2019, "Soft Actor-Critic for Discrete Action Settings"): a categorical
  policy (illegal actions' logits set to -inf), and critics that output one value per action of
  the agent, ``Q(x, .)``, so the target, the policy loss and the temperature loss take the
  expectation over the policy instead of a sample:
  ``V(x') = sum_a pi(a|o') (min_k Q'_k(x', a) - alpha log pi(a|o'))``,
  ``J_pi = sum_a pi(a|o) (alpha log pi(a|o) - min_k Q_k(x, a))``, and the entropy ``-sum_a pi log pi``
  in the temperature loss. Target entropy: ``target_entropy_fraction * log(A)``. Greedy: the
  masked argmax of the logits. A discrete MASAC critic sees the state (not the others' actions)
  and gives agent i's value of each of its actions, as BenchMARL's discrete MASAC does.

Replay (the transitions of :func:`~marl_baselines.buffers.transition_record`, as MADDPG's),
the truncation rule (a truncated episode bootstraps from its final observation), the dead-agent
masking, the agent networks (``agent``: MLP, TarMAC or graph attention actors, feed-forward;
critics are MLPs), shared parameters with agent ids, soft target updates and clipped gradients are
MADDPG's (:mod:`marl_baselines.algos.maddpg`).

Relation to the references. BenchMARL's isac/masac (on TorchRL's ``SACLoss`` / ``DiscreteSACLoss``)
have the same losses, twin critics, a learned temperature and the same default target entropies
(-dim(A); discrete ``0.98 log(A)``). Departures: BenchMARL learns one temperature per agent group,
here one per agent (the design note's "individual entropy regularization per agent"), starting
at 0.2 rather than 1; its continuous MASAC policy loss lets every agent's gradient flow through
every agent's action in each critic (a cooperative group), here only through the agent's own; and
its Gaussian scale goes through a biased softplus where this file squashes log sigma with a tanh
(as CleanRL's SAC). Before ``learning_starts`` the untrained policy acts (SB3
and CleanRL act uniformly at random there). EPyMARL has no SAC.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from marl_baselines.agents import build_agent_network
from marl_baselines.algos.maddpg import ReplayActorCriticOptions, ReplayTraining, box_bounds, gumbel_softmax, joint_action_input
from marl_baselines.buffers import TransitionBuffer, transition_fields
from marl_baselines.config import check_ranges
from marl_baselines.distributed import AveragedGradients, DataParallelParts
from marl_baselines.nets import AgentNetwork, masked_argmax, soft_update
from marl_envs import EnvStep

__all__ = ["SACConfig", "SAC", "squashed_gaussian"]


@dataclass
class SACConfig(ReplayActorCriticOptions):
    """Hyper-parameters of ISAC / MASAC: the options shared with MADDPG
    (:class:`~marl_baselines.algos.maddpg.ReplayActorCriticOptions`) and the temperature's and the
    Gaussian's."""

    alpha_lr: float = 1e-3
    """Adam learning rate of the log-temperatures."""
    initial_alpha: float = 0.2
    """Temperature (weight of the entropy) at the start, every agent's."""
    learn_alpha: bool = True
    """Learn the temperatures towards the target entropy; false: alpha stays initial_alpha."""
    target_entropy: float = -1.0
    """Continuous: target entropy per action dimension (the paper's -1: -dim(A) in all)."""
    target_entropy_fraction: float = 0.98
    """Discrete: target entropy as a fraction of the uniform policy's log(A) (Christodoulou's 0.98)."""
    log_std_min: float = -5.0
    """Continuous: smallest log standard deviation of the Gaussian before the tanh."""
    log_std_max: float = 2.0
    """Continuous: largest log standard deviation of the Gaussian before the tanh."""

    def check(self) -> None:
        self.check_replay_actor_critic()
        check_ranges(self, non_negative=("alpha_lr",), unit_interval=("target_entropy_fraction",))
        if self.initial_alpha <= 0:
            raise ValueError(f"initial_alpha must be > 0, got {self.initial_alpha}")
        if self.log_std_min >= self.log_std_max:
            raise ValueError(f"log_std_min must be below log_std_max, got {self.log_std_min} and {self.log_std_max}")


def squashed_gaussian(
    mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor, scale: torch.Tensor, center: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A reparameterised sample of the tanh-squashed Gaussian and its log-density, from standard
    normal ``noise``: ``u = mean + exp(log_std) * noise``, the action ``center + scale * tanh(u)``
    ``[..., A]`` and ``log p [...]`` summed over the action dimensions, with the change of variables
    ``log p(a) = log N(u; mean, std) - sum log(scale * (1 - tanh(u)^2))`` (``log(1 - tanh(u)^2)``
    computed as ``2 (log 2 - u - softplus(-2u))``, exact where tanh saturates)."""
    u = mean + log_std.exp() * noise
    gaussian = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    log_det = torch.log(scale) + 2 * (math.log(2) - u - F.softplus(-2 * u))
    return center + scale * torch.tanh(u), (gaussian - log_det).sum(-1)


class SAC(ReplayTraining):
    """ISAC (``variant="isac"``) or MASAC (``"masac"``) for a ``VecEnv`` with discrete or continuous actions."""

    VARIANTS = ("isac", "masac")

    def __init__(self, env, config: SACConfig, variant: str = "masac", seed: int = 0):
        self.begin(env, config, variant, seed)
        N, A = self.n_agents, self.n_actions

        c = config
        if self.discrete:
            self.target_entropy = c.target_entropy_fraction * math.log(A)
        else:
            self.action_low, self.action_high, self.action_scale, self.action_center = box_bounds(env, self.device)
            self.target_entropy = c.target_entropy * A
        self.graph = c.agent != "mlp" and c.graph == "env"  # the actor reads the env's adjacency
        self.actor = build_agent_network(
            c, env.obs_size, A if self.discrete else 2 * A, N, c.hidden_size, False, c.share_parameters, c.agent_id
        )
        self.actor = self.actor.to(self.device)
        if variant == "isac":
            view = env.obs_size
        else:
            view = env.state_size if c.critic_input == "state" else N * env.obs_size
        # discrete: Q(x, .) over the agent's actions; continuous: Q(x, a) with the action(s) in the input
        inputs, outputs = (view, A) if self.discrete else (view + (A if variant == "isac" else N * A), 1)
        self.critics = nn.ModuleList(
            AgentNetwork(inputs, outputs, N, c.critic_hidden_size, False, c.share_parameters, c.agent_id) for _ in range(2)
        ).to(self.device)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.full((N,), math.log(c.initial_alpha), device=self.device))
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=c.critic_lr)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=c.alpha_lr)
        self.actor_gradients = AveragedGradients(self.actor_optimizer)
        self.critic_gradients = AveragedGradients(self.critic_optimizer)
        self.alpha_gradients = AveragedGradients(self.alpha_optimizer)

        self.buffer = TransitionBuffer(
            c.buffer_size, transition_fields(N, env.obs_size, env.state_size, A, self.has_mask, self.graph), self.device
        )
        self.gradient_steps = 0
        self._vector_steps = 0

    # ------------------------------------------------------------------ policies
    def _policy(self, obs: torch.Tensor, alive: torch.Tensor, adjacency: torch.Tensor | None, mask: torch.Tensor | None):
        """Discrete: the masked logits ``[..., N, A]``; continuous: the mean and the squashed log std, each ``[..., N, A]``."""
        out = self.actor(obs, None, alive, adjacency)[0]
        if self.discrete:
            return out.masked_fill(~mask, float("-inf")) if mask is not None else out
        mean, raw = out.chunk(2, -1)
        c = self.config
        return mean, c.log_std_min + 0.5 * (c.log_std_max - c.log_std_min) * (torch.tanh(raw) + 1)

    def _sample(self, obs, alive, adjacency) -> tuple[torch.Tensor, torch.Tensor]:
        """Continuous: a reparameterised action ``[b, N, A]`` of every agent and its log-probability ``[b, N]``."""
        mean, log_std = self._policy(obs, alive, adjacency, None)
        noise = torch.randn(mean.shape, generator=self.generator, device=self.device)
        return squashed_gaussian(mean, log_std, noise, self.action_scale, self.action_center)

    def _categorical(self, obs, alive, adjacency, mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Discrete: the policy's probabilities and log-probabilities ``[b, N, A]`` (log 0 written as 0, so that ``p log p`` is 0 there)."""
        log_probs = F.log_softmax(self._policy(obs, alive, adjacency, mask), -1)
        probs = log_probs.exp()
        return probs, torch.where(probs > 0, log_probs, 0.0)

    def initial_hidden(self, num_envs: int) -> None:
        return None

    @torch.no_grad()
    def act(self, out: EnvStep, hidden: None, explore: bool, env_steps: int = 0):
        """Actions for the observations of ``out``: samples of the policy (its mode when not
        ``explore``), discrete int64 ``[B, N]`` or continuous float32 ``[B, N, A]`` within the Box; no
        hidden state, and ``act_info`` ``{}``."""
        adjacency = out.adjacency if self.graph else None
        if self.discrete:
            logits = self._policy(out.obs, out.alive, adjacency, out.action_mask if self.has_mask else None)
            actions = masked_argmax(logits, None) if not explore else gumbel_softmax(logits, 1.0, self.generator)[1]
            return actions, None, {}
        if explore:
            actions = self._sample(out.obs, out.alive, adjacency)[0]
        else:
            mean, _ = self._policy(out.obs, out.alive, adjacency, None)
            actions = self.action_center + self.action_scale * torch.tanh(mean)
        return torch.maximum(torch.minimum(actions, self.action_high), self.action_low), None, {}

    # ------------------------------------------------------------------ experience
    def observe(
        self, before: EnvStep, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after: EnvStep, env_steps: int
    ) -> dict[str, float | torch.Tensor] | None:
        """Store the transition from ``before`` to ``after`` taken with ``actions``; train when due.
        Returns training statistics, if it trained."""
        if not self.store(before, actions, after, env_steps):
            return None
        c = self.config
        stats: dict[str, float | torch.Tensor] = {}
        for _ in range(c.gradient_steps):
            stats = self.train_step(self.buffer.sample(c.batch_size, self.generator))
        return stats

    # ------------------------------------------------------------------ training
    def _critic_input(self, obs: torch.Tensor, state: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Every agent's critic input ``[b, N, ...]``. ``actions`` (continuous): ``[b, N, A]``, or for
        MASAC ``[b, N, N, A]`` (row i: the joint action agent i's critic evaluates)."""
        if self.variant == "isac":
            return obs if actions is None else torch.cat((obs, actions), -1)
        view = state if self.config.critic_input == "state" else obs.flatten(1)
        if actions is None:
            return view[:, None].expand(view.shape[0], self.n_agents, view.shape[-1])
        return joint_action_input(view, actions, self.n_agents)

    def _smaller(self, critics: nn.ModuleList, inputs: torch.Tensor) -> torch.Tensor:
        """``min_k Q_k`` over the twin critics: ``[b, N]`` (continuous) or ``[b, N, A]`` (discrete)."""
        first, second = (critic(inputs)[0] for critic in critics)
        value = torch.minimum(first, second)
        return value if self.discrete else value.squeeze(-1)

    @property
    def alpha(self) -> torch.Tensor:
        """Every agent's temperature ``[N]``."""
        return self.log_alpha.exp()

    @torch.no_grad()
    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``y [b, N] = r + gamma (1 - terminated) V'(x')``, the soft value V' of the module docstring."""
        alpha, next_alive = self.alpha.detach(), batch["next_alive"]
        adjacency = batch.get("next_adjacency")
        if self.discrete:
            probs, log_probs = self._categorical(batch["next_obs"], next_alive, adjacency, batch.get("next_action_mask"))
            q = self._smaller(self.target_critics, self._critic_input(batch["next_obs"], batch["next_state"]))
            value = (probs * (q - alpha[:, None] * log_probs)).sum(-1)
        else:
            actions, log_prob = self._sample(batch["next_obs"], next_alive, adjacency)
            q = self._smaller(
                self.target_critics, self._critic_input(batch["next_obs"], batch["next_state"], actions * next_alive[..., None])
            )
            value = q - alpha * log_prob
        return batch["reward"] + self.config.gamma * value * ~batch["terminated"]

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float | torch.Tensor]:
        """One gradient step of the critics, the actor and the temperatures on ``batch``, then the target update."""
        c = self.config
        alive = batch["alive"].float()
        count = alive.sum().clamp(min=1)

        def mean(x: torch.Tensor) -> torch.Tensor:
            return (x * alive).sum() / count

        targets = self.targets(batch)
        if self.discrete:
            inputs = self._critic_input(batch["obs"], batch["state"])
            qs = [(critic(inputs)[0] * batch["actions"]).sum(-1) for critic in self.critics]
        else:
            inputs = self._critic_input(batch["obs"], batch["state"], batch["actions"])
            qs = [critic(inputs)[0].squeeze(-1) for critic in self.critics]
        critic_loss = sum(mean((q - targets).pow(2)) for q in qs)
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        stats = {"critic_loss": critic_loss.detach(), "q_taken": mean(qs[0].detach()), "target": mean(targets)}
        if c.grad_clip > 0:
            stats["critic_grad_norm"] = self.critic_gradients.clip(c.grad_clip)
        self.critic_optimizer.step()

        stats.update(self._actor_step(batch, mean))
        soft_update(self.critics, self.target_critics, c.tau)
        self.gradient_steps += 1
        return stats

    def _actor_step(self, batch: dict[str, torch.Tensor], mean) -> dict[str, float | torch.Tensor]:
        """The policy loss and, with ``learn_alpha``, the temperature loss (of the module docstring)."""
        c = self.config
        alpha, adjacency = self.alpha.detach(), batch.get("adjacency")
        self.critics.requires_grad_(False)  # the policy loss differentiates the critics only with respect to the actions
        if self.discrete:
            probs, log_probs = self._categorical(batch["obs"], batch["alive"], adjacency, batch.get("action_mask"))
            q = self._smaller(self.critics, self._critic_input(batch["obs"], batch["state"]))
            policy_loss = (probs * (alpha[:, None] * log_probs - q)).sum(-1)
            log_prob = (probs * log_probs).sum(-1)  # minus the entropy
        else:
            actions, log_prob = self._sample(batch["obs"], batch["alive"], adjacency)
            actions = actions * batch["alive"][..., None]
            if self.variant == "masac":
                # Row i: agent i's new action with its gradient, the others' new actions without theirs.
                eye = torch.eye(self.n_agents, dtype=torch.bool, device=self.device)[None, :, :, None]
                actions = torch.where(eye, actions[:, None], actions.detach()[:, None])
            q = self._smaller(self.critics, self._critic_input(batch["obs"], batch["state"], actions))
            policy_loss = alpha * log_prob - q
        self.critics.requires_grad_(True)
        actor_loss = mean(policy_loss)
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        stats = {"actor_loss": actor_loss.detach(), "entropy": -mean(log_prob.detach()), "alpha": self.alpha.detach().mean()}
        if c.grad_clip > 0:
            stats["actor_grad_norm"] = self.actor_gradients.clip(c.grad_clip)
        self.actor_optimizer.step()
        if c.learn_alpha:
            alpha_loss = -mean(self.log_alpha * (log_prob.detach() + self.target_entropy))
            self.alpha_optimizer.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optimizer.step()
            stats["alpha_loss"] = alpha_loss.detach()
        return stats

    # ------------------------------------------------------------------ checkpoints
    def data_parallel_parts(self) -> DataParallelParts:
        """Under torchrun (:mod:`marl_baselines.distributed`): the networks (and the log-temperatures)
        every rank holds alike and the gradients of the three optimisers, averaged over the ranks (the
        transition buffer grows alike on every rank, so every rank trains at the same steps)."""
        return DataParallelParts(
            networks=(self.actor, self.critics, self.target_critics, self.log_alpha),
            gradients=(self.actor_gradients, self.critic_gradients, self.alpha_gradients),
        )

    def state_dict(self, include_buffer: bool = True) -> dict:
        return {
            "buffer": self.buffer.state_dict() if include_buffer else None,
            "actor": self.actor.state_dict(),
            "critics": self.critics.state_dict(),
            "target_critics": self.target_critics.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "gradient_steps": self.gradient_steps,
            "vector_steps": self._vector_steps,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critics.load_state_dict(state["critics"])
        self.target_critics.load_state_dict(state["target_critics"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
        self.gradient_steps, self._vector_steps = state["gradient_steps"], state["vector_steps"]
        self.generator.set_state(state["generator"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
