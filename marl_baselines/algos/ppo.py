"""MAPPO and IPPO: proximal policy optimisation for many agents, from one file.

* MAPPO (Yu et al., 2022): decentralised actors on each agent's own observation, a centralised
  value function V(s, i) on the global state (with the agent's one-hot id, so agents with
  different rewards get different values).
* IPPO (de Witt et al., 2020): the same actors, each agent's value V(o_i) on its own observation.

Both share the actor's parameters across agents (with the agent's one-hot id) by default, and
evaluate all agents in one batched pass (:class:`~marl_baselines.nets.AgentNetwork`).

The rollout, acting, GAE, value normalisation and training loop here are also those of A2C and
COMA (:mod:`marl_baselines.algos.a2c`, :mod:`marl_baselines.algos.coma`): they take the options of
:class:`ActorCriticOptions` and replace the loss (COMA also the critic and its values).

Recurrent actors (``recurrent=True``, the GRU agent of recurrent MAPPO): ``act`` carries the
hidden state ``[B, N, H]`` (the training loop passes it in, resets it to zeros where an episode
ended, and passes it back), and the rollout stores the hidden state each step was acted from.
Training re-runs the GRU over each env's whole rollout from the hidden state stored at the
rollout's first step, resetting it to zeros before every step that began an episode (the step
after one where every agent terminated or was truncated, as the training loop does). Minibatches
are therefore split over envs, never over time: ``minibatches`` <= ``num_envs``. The critic
stays feed-forward: MAPPO's sees the global state (Markov in the suite's envs, so memory adds
little) and IPPO's the agent's current observation; this keeps V(final_obs), which bootstraps a
truncated episode, a function of the observation alone (a recurrent critic would need the hidden
state of the step after the episode's end, which the loop has already reset).

The loop: collect ``rollout_steps`` vectorised steps in a
:class:`~marl_baselines.buffers.RolloutBuffer`; compute GAE(gamma, lambda) advantages, which
bootstrap a truncated episode with V(final_obs / final_state) and never across a termination;
then ``epochs`` passes of ``minibatches`` minibatches of the clipped surrogate, the clipped value
loss on normalised returns, and an entropy bonus, with gradient-norm clipping and Adam.
Agents that have left (``alive`` False) are masked out of every loss and statistic.

Actions:

* discrete: a Categorical over the actor's logits with illegal actions (``action_mask``) set to
  -inf, sampled by Gumbel-max from the algorithm's own generator; greedy: the masked argmax.
* continuous: a Gaussian with mean from the actor and a state-independent log-std (one learned
  parameter per action dimension). The *unclipped* sample is what the log-probability and the
  loss see; the action handed to the env is that sample clipped into ``[action_low, action_high]``
  (as CleanRL's continuous PPO does with gymnasium's ClipAction), so the env always receives a
  legal action. Greedy: the clipped mean. ``act`` hands the unclipped sample to ``observe`` in its ``act_info``.

Agent networks (``agent``, :mod:`marl_baselines.comm`): the actor is an MLP/GRU agent, TarMAC
(``agent="tarmac"``: with MAPPO's centralised critic this is the paper's actor-critic, trained end
to end through the messages) or the graph-attention agent (``agent="gnn"``). Communicating actors
see every agent's ``alive`` flag (and the env's ``adjacency`` with ``graph="env"``), stored in the
rollout so training re-runs them on what acting saw. The critic is always the MLP.

Curiosity (``icm``, :mod:`marl_baselines.icm`): the intrinsic reward of each transition (obs, the
action handed to the env, the observation after the step) is added to the agent's reward when the
step is stored, so GAE and the value targets include it; the module trains on every minibatch.

Value normalisation: the critic predicts returns normalised by a running mean and standard
deviation of the returns (:class:`~marl_baselines.normalization.RunningMeanStd`, as MAPPO's ``ValueNorm``); GAE uses its
de-normalised outputs, and the statistics are updated with each rollout's returns before training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from marl_baselines.agents import AgentOptions, build_agent_network
from marl_baselines.buffers import RolloutBuffer
from marl_baselines.config import check_ranges
from marl_baselines.distributed import AveragedGradients, DataParallelParts
from marl_baselines.icm import Curiosity, ICMOptions
from marl_baselines.nets import AgentNetwork, masked_argmax
from marl_baselines.normalization import RunningMeanStd
from marl_envs import EnvStep

__all__ = ["ActorCriticOptions", "GaussianPolicyOptions", "PPOConfig", "PPO", "ppo_loss", "normalized_advantages"]


@dataclass
class ActorCriticOptions(AgentOptions, ICMOptions):
    """The options every on-policy actor-critic here shares (PPO's, A2C's and COMA's configs extend
    it), with the agent-network options (:class:`~marl_baselines.agents.AgentOptions`) and curiosity
    (:class:`~marl_baselines.icm.ICMOptions`)."""

    hidden_size: int = 64
    """Width of the actor and critic networks (two hidden ReLU layers)."""
    recurrent: bool = False
    """GRU actor (memory across steps, reset at episode starts), trained on whole per-env rollout sequences (minibatches split over envs); the critic stays an MLP."""
    share_parameters: bool = True
    """One actor (and one critic) for every agent, with its one-hot id, rather than one per agent."""
    agent_id: bool = True
    """Append the agent's one-hot id to the networks' inputs (with shared parameters)."""
    rollout_steps: int = 64
    """Vectorised env steps per rollout (a rollout holds rollout_steps x num_envs sub-env steps)."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """Lambda of generalised advantage estimation."""
    value_coef: float = 0.5
    """Weight of the value loss."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    lr: float = 5e-4
    """Adam learning rate."""
    lr_anneal_steps: int = 0
    """Decay the learning rate linearly from lr to 0 over this many env steps, set before each update from the env steps so far (0: constant)."""
    adam_eps: float = 1e-5
    """Adam's epsilon."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this (0 turns clipping off)."""
    normalize_advantages: bool = True
    """Standardise the advantages of each minibatch (over the agents that are alive)."""
    normalize_values: bool = True
    """Predict returns normalised by their running mean and standard deviation."""

    def check(self) -> None:
        check_ranges(
            self,
            at_least_one=("hidden_size", "rollout_steps"),
            non_negative=("value_coef", "entropy_coef", "lr", "grad_clip", "lr_anneal_steps"),
            unit_interval=("gamma", "gae_lambda"),
        )
        if self.adam_eps <= 0:
            raise ValueError(f"adam_eps must be > 0, got {self.adam_eps}")
        self.check_agent()
        self.check_icm()

    def passes(self) -> tuple[int, int]:
        """(epochs, minibatches) of one update: one pass over the rollout in one batch (A2C, COMA)."""
        return 1, 1


@dataclass
class GaussianPolicyOptions:
    """The option of the actor-critics that also act in continuous spaces (PPO, A2C; not the
    discrete-only COMA, whose config leaves it out rather than ignore it)."""

    log_std_init: float = -0.5
    """Continuous actions: the initial log standard deviation of the Gaussian policy."""

    def check_gaussian(self) -> None:
        if not math.isfinite(self.log_std_init):
            raise ValueError(f"log_std_init must be finite, got {self.log_std_init}")


@dataclass
class PPOConfig(GaussianPolicyOptions, ActorCriticOptions):
    """Hyper-parameters of MAPPO / IPPO (defaults near CleanRL's PPO and MAPPO's on-policy code):
    the shared actor-critic options and PPO's passes and clipping."""

    epochs: int = 5
    """Passes over each rollout."""
    minibatches: int = 4
    """Minibatches per pass (the rollout's rollout_steps x num_envs samples, all agents together, split evenly)."""
    clip: float = 0.2
    """Clip range of the probability ratio in the surrogate objective."""
    value_clip: float = 0.2
    """Clip range of the change of the (normalised) value prediction in the value loss (0: no value clipping)."""

    def check(self) -> None:
        super().check()
        self.check_gaussian()
        check_ranges(self, at_least_one=("epochs", "minibatches"), non_negative=("clip", "value_clip"))

    def passes(self) -> tuple[int, int]:
        """(epochs, minibatches) of one update."""
        return self.epochs, self.minibatches


def ppo_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    targets: torch.Tensor,
    entropy: torch.Tensor,
    weight: torch.Tensor,
    clip: float,
    value_clip: float,
    value_coef: float,
    entropy_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's loss over entries with ``weight`` 1 (alive agents), all tensors of one shape.

    policy: mean of -min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A);
    value: mean of 0.5 * max((V - R)^2, (V_old + clip(V - V_old, -value_clip, value_clip) - R)^2)
    (plain 0.5 * (V - R)^2 when ``value_clip`` is 0); loss = policy + value_coef * value - entropy_coef * entropy.
    """
    count = weight.sum().clamp(min=1)

    def mean(x: torch.Tensor) -> torch.Tensor:
        return (x * weight).sum() / count

    log_ratio = log_prob - old_log_prob
    ratio = log_ratio.exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    policy_loss = -mean(surrogate)
    value_error = (values - targets).pow(2)
    if value_clip > 0:
        clipped = old_values + (values - old_values).clamp(-value_clip, value_clip)
        value_error = torch.max(value_error, (clipped - targets).pow(2))
    value_loss = 0.5 * mean(value_error)
    entropy_mean = mean(entropy)
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy_mean
    with torch.no_grad():
        stats = {
            "policy_loss": policy_loss.detach(),
            "value_loss": value_loss.detach(),
            "entropy": entropy_mean.detach(),
            "clip_fraction": mean(((ratio - 1).abs() > clip).float()),
            "approx_kl": mean((ratio - 1) - log_ratio),  # the low-variance estimator of KL(old || new)
        }
    return loss, stats


def normalized_advantages(advantages: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``advantages`` standardised over the entries with ``weight`` 1 (alive agents)."""
    count = weight.sum().clamp(min=1)
    mean = (advantages * weight).sum() / count
    std = (((advantages - mean) * weight).pow(2).sum() / count).sqrt()
    return (advantages - mean) / (std + 1e-8)


class PPO:
    """MAPPO (``critic="state"``) or IPPO (``critic="obs"``) for a ``VecEnv`` with discrete or continuous actions."""

    CRITICS = ("state", "obs")

    def __init__(self, env, config: ActorCriticOptions, critic: str, seed: int = 0):
        if critic not in self.CRITICS:
            raise ValueError(f"critic must be one of {self.CRITICS}, got {critic!r}")
        config.check()
        config.check_env(env)
        minibatches = config.passes()[1]
        if config.recurrent and env.num_envs < minibatches:
            raise ValueError(
                f"minibatches={minibatches} exceeds num_envs={env.num_envs}: with recurrent=True a minibatch holds whole env sequences, so minibatches must be <= num_envs"
            )
        if (config.rollout_steps * env.num_envs) < minibatches:
            raise ValueError(
                f"minibatches={minibatches} exceeds the rollout's {config.rollout_steps * env.num_envs} samples (rollout_steps x num_envs)"
            )
        self.config, self.critic_input, self.device = config, critic, env.device
        self.n_agents, self.discrete = env.n_agents, env.discrete
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        torch.manual_seed(seed)  # network initialisation

        c, N, A = config, env.n_agents, env.action_size
        self.actor = build_agent_network(c, env.obs_size, A, N, c.hidden_size, c.recurrent, c.share_parameters, c.agent_id).to(self.device)
        self.critic = self.build_critic(env).to(self.device)
        with torch.no_grad():  # near-uniform initial policy (CleanRL initialises the policy head with gain 0.01)
            self.actor.output.weight.mul_(0.01)
            self.actor.output.bias.zero_()
        self.parameters = list(self.actor.parameters()) + list(self.critic.parameters())
        if self.discrete:
            self.log_std = None
            self.action_low = self.action_high = None
        else:
            self.log_std = nn.Parameter(torch.full((A,), c.log_std_init, device=self.device))
            self.parameters.append(self.log_std)
            self.action_low, self.action_high = env.action_low, env.action_high
            # each agent's own action dimensions (the rest is padding: no log-probability, no entropy)
            sizes = torch.tensor(env.action_sizes, device=self.device)
            self.action_used = torch.arange(A, device=self.device) < sizes[:, None]  # [N, A]
        self.value_norm = RunningMeanStd().to(self.device)
        self.optimizer = torch.optim.Adam(self.parameters, lr=c.lr, eps=c.adam_eps)
        self.gradients = AveragedGradients(self.optimizer)
        self.curiosity = Curiosity(c, env.obs_size, A, self.discrete, self.device) if c.icm else None
        self.graph = c.agent != "mlp" and c.graph == "env"  # the actor reads the env's adjacency

        B, O, S = env.num_envs, env.obs_size, env.state_size
        extra = {
            "obs": ((B, N, O), torch.float32),
            "state": ((B, S), torch.float32),
            "alive": ((B, N), torch.bool),
            "actions": ((B, N), torch.int64) if self.discrete else ((B, N, A), torch.float32),
            "log_prob": ((B, N), torch.float32),
        }
        if env.has_action_mask:
            extra["action_mask"] = ((B, N, A), torch.bool)
        if c.recurrent:  # the hidden state each step was acted from (training starts from step 0's)
            extra["hidden"] = (tuple(self.actor.initial_state(B).shape), torch.float32)
        if self.graph:
            extra["adjacency"] = ((B, N, N), torch.bool)
        if c.icm:  # the observation after the step (the final one at an episode's end), and the bonus given
            extra["next_obs"] = ((B, N, O), torch.float32)
            extra["intrinsic_reward"] = ((B, N), torch.float32)
        self.buffer = RolloutBuffer(c.rollout_steps, B, N, self.device, extra)
        self.updates = 0

    # ------------------------------------------------------------------ networks
    def build_critic(self, env) -> nn.Module:
        """The critic: an MLP of the state (MAPPO) or the agent's observation (IPPO) to one value per agent."""
        c = self.config
        size = env.state_size if self.critic_input == "state" else env.obs_size
        return AgentNetwork(size, 1, self.n_agents, c.hidden_size, False, c.share_parameters, c.agent_id)

    def _logits_or_mean(
        self, obs: torch.Tensor, action_mask: torch.Tensor | None, hidden: torch.Tensor | None = None, **inputs
    ) -> torch.Tensor:
        return self._masked(self.actor(obs, hidden, **inputs)[0], action_mask)

    def _masked(self, output: torch.Tensor, action_mask: torch.Tensor | None) -> torch.Tensor:
        if self.discrete and action_mask is not None:
            # a row with no legal action (an agent that has left) keeps every action: its logits stay finite
            legal = action_mask | ~action_mask.any(-1, keepdim=True)
            output = output.masked_fill(~legal, float("-inf"))
        return output

    def values(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Normalised values ``[..., N]`` of ``obs [..., N, O]`` (IPPO) or ``state [..., S]`` (MAPPO)."""
        if self.critic_input == "state":
            inputs = state.unsqueeze(-2).expand(*state.shape[:-1], self.n_agents, state.shape[-1])
        else:
            inputs = obs
        return self.critic(inputs)[0].squeeze(-1)

    def log_prob_entropy(self, output: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a | o) and the policy's entropy, ``[..., N]``, from the actor's (masked) output."""
        if self.discrete:
            log_p = torch.log_softmax(output, -1)
            # Masked actions have log_p = -inf: zero it *before* the product, or its gradient
            # (0 * -inf) turns every parameter into NaN at the first update.
            entropy = -(log_p.exp() * torch.where(torch.isfinite(log_p), log_p, 0.0)).sum(-1)
            return log_p.gather(-1, actions[..., None]).squeeze(-1), entropy
        log_std = self.log_std.expand_as(output)
        z = (actions - output) / log_std.exp()
        log_density = -0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std) * self.action_used
        return (log_density * self.action_used).sum(-1), entropy.sum(-1)

    def _sample(self, output: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            uniform = torch.rand(output.shape, generator=self.generator, device=self.device)
            gumbel = -torch.log(-torch.log(uniform.clamp(min=1e-12, max=1 - 1e-7)))
            return masked_argmax(output + gumbel, None)  # -inf logits (illegal actions) stay -inf
        noise = torch.randn(output.shape, generator=self.generator, device=self.device)
        return output + noise * self.log_std.exp()

    def _to_env(self, actions: torch.Tensor) -> torch.Tensor:
        """Continuous actions clipped into the Box bounds (the env refuses anything outside them)."""
        return actions if self.discrete else torch.clamp(actions, self.action_low, self.action_high)

    def compile(self) -> None:
        """``torch.compile`` the actor and the critic (in place, so checkpoints keep their keys) and
        the minibatch loss, whose backward AOTAutograd compiles too. Shapes are static: the first
        rollout's update compiles one graph per minibatch size (at most two), acting one per batch size."""
        self.actor.compile(dynamic=False)
        self.critic.compile(dynamic=False)
        self.loss = torch.compile(self.loss, dynamic=False)

    # ------------------------------------------------------------------ acting
    def initial_hidden(self, num_envs: int) -> torch.Tensor | None:
        """Zeros ``[num_envs, N, H]`` for a recurrent actor, else None."""
        return self.actor.initial_state(num_envs, device=self.device) if self.config.recurrent else None

    @torch.no_grad()
    def act(self, out: EnvStep, hidden: torch.Tensor | None, explore: bool, env_steps: int = 0):
        """Actions for the observations of ``out``: sampled from the policy when ``explore``, greedy
        otherwise (masked argmax, or the clipped mean); the actor's new hidden state (None for a
        feed-forward actor); and, when ``explore``, what ``observe`` records of the step: ``sample``
        (the policy's sample before clipping into the Box, which ``log_prob [B, N]`` is of), ``value``
        ``[B, N]`` (normalised V at ``out``) and, for a recurrent actor, ``hidden`` (the state it acted from)."""
        if self.config.recurrent and hidden is None:
            hidden = self.initial_hidden(out.obs.shape[0])
        raw, new_hidden = self.actor(out.obs, hidden, alive=out.alive, adjacency=self.config.adjacency(out))
        output = self._masked(raw, out.action_mask)
        if not explore:
            return (output.argmax(-1) if self.discrete else self._to_env(output)), new_hidden, {}
        actions = self._sample(output)
        log_prob, _ = self.log_prob_entropy(output, actions)
        act_info = {"sample": actions, "log_prob": log_prob, "value": self.step_values(out, actions)}
        if self.config.recurrent:
            act_info["hidden"] = hidden
        return self._to_env(actions), new_hidden, act_info

    def step_values(self, out: EnvStep, actions: torch.Tensor) -> torch.Tensor:
        """The rollout's (normalised) value ``[B, N]`` of the step taken with ``actions`` at ``out``: V(s)."""
        return self.values(out.obs, out.state)

    def next_values(self, after: EnvStep, act_info: dict[str, torch.Tensor]) -> torch.Tensor:
        """The (normalised) value ``[B, N]`` of the observation after a step, the final one where an
        episode ended (a truncation bootstraps from it), for GAE: V(final_obs / final_state)."""
        return self.values(after.final_obs, after.final_state)

    def start(self, out: EnvStep) -> None:
        """The envs were reset (or a run resumed without its rollout): begin a new rollout."""
        self.buffer.clear()

    @torch.no_grad()
    def observe(
        self, before: EnvStep, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after: EnvStep, env_steps: int
    ) -> dict[str, float | torch.Tensor] | None:
        """Record the step taken at ``before`` with ``actions`` (``act_info``: what ``act(..., explore=True)``
        returned with them); train when the rollout is full."""
        if "sample" not in act_info:
            raise ValueError("observe() records a step of act(..., explore=True): pass the act_info it returned")
        fields = {
            "obs": before.obs,
            "state": before.state,
            "alive": before.alive,
            "actions": act_info["sample"],
            "log_prob": act_info["log_prob"],
        }
        if "action_mask" in self.buffer.extra:
            fields["action_mask"] = before.action_mask
        if self.config.recurrent:
            fields["hidden"] = act_info["hidden"]
        if self.graph:
            fields["adjacency"] = before.adjacency
        # V(obs after the step): the final one where the episode ended (a truncation bootstraps
        # from it; a termination masks it in the GAE), the next one elsewhere.
        final_value = self.next_values(after, act_info)
        reward = after.reward
        if self.curiosity is not None:
            bonus = self.curiosity.reward(before.obs, actions, after.final_obs, before.alive)
            reward = reward + bonus
            fields.update(next_obs=after.final_obs, intrinsic_reward=bonus)
        self.buffer.add(act_info["value"], reward, final_value, after.terminated, after.truncated, **fields)
        if not self.buffer.full:
            return None
        with torch.enable_grad():
            stats = self.train(env_steps)
        self.buffer.clear()
        return stats

    # ------------------------------------------------------------------ training
    def train(self, env_steps: int = 0) -> dict[str, float | torch.Tensor]:
        c, buffer, data = self.config, self.buffer, self.buffer.extra
        if c.lr_anneal_steps:
            for group in self.optimizer.param_groups:
                group["lr"] = c.lr * max(0.0, 1.0 - env_steps / c.lr_anneal_steps)
        # GAE on de-normalised values; then the normaliser learns this rollout's returns.
        normalised_values = buffer.value.clone()
        if c.normalize_values:
            buffer.value.copy_(self.value_norm.denormalize(normalised_values))
            buffer.final_value.copy_(self.value_norm.denormalize(buffer.final_value))
        advantages, returns = buffer.advantages(c.gamma, c.gae_lambda)
        buffer.value.copy_(normalised_values)
        alive = data["alive"]
        if c.normalize_values:
            self.value_norm.update(returns, weight=alive)
            targets = self.value_norm.normalize(returns)
        else:
            targets = returns

        T, B = buffer.steps, alive.shape[1]
        fields = {**data, "advantages": advantages, "targets": targets, "old_values": normalised_values}  # [T, B, ...]
        if c.recurrent:
            # Whole env sequences: minibatches split the envs; the GRU restarts where an episode began.
            fields["starts"] = self.episode_starts()
            samples, split = B, 1
        else:
            fields = {name: tensor.flatten(0, 1) for name, tensor in fields.items()}  # [T*B, ...]
            samples, split = T * B, 0
        epochs, minibatches = c.passes()
        size = samples // minibatches
        totals: dict[str, torch.Tensor] = {}
        steps = 0
        for _ in range(epochs):
            order = torch.randperm(samples, generator=self.generator, device=self.device)
            for k in range(minibatches):
                index = order[k * size : (k + 1) * size] if k < minibatches - 1 else order[k * size :]
                batch = {name: tensor.index_select(split, index) for name, tensor in fields.items()}
                loss, stats = self.loss(batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip > 0:
                    stats["grad_norm"] = self.gradients.clip(c.grad_clip)
                self.optimizer.step()
                if self.curiosity is not None:
                    stats.update(self.curiosity.update(batch["obs"], self._to_env(batch["actions"]), batch["next_obs"], batch["alive"]))
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + torch.as_tensor(value).detach()
                steps += 1
        self.updates += 1
        result = {key: value / steps for key, value in totals.items()}
        weight = alive.float()
        result["return_mean"] = (returns * weight).sum() / weight.sum().clamp(min=1)
        result["value_norm_std"] = self.value_norm.std.detach().clone()
        result["lr"] = self.optimizer.param_groups[0]["lr"]
        if self.curiosity is not None:
            result["intrinsic_reward"] = (data["intrinsic_reward"] * weight).sum() / weight.sum().clamp(min=1)
        if not self.discrete:
            result["action_std"] = self.log_std.detach().exp().mean()
        return result

    def episode_starts(self) -> torch.Tensor:
        """bool ``[T, B]``: rollout step t began an episode (the step before ended it for every agent;
        the training loop then reset the hidden state). Step 0 starts from the stored hidden state."""
        buffer = self.buffer
        starts = torch.zeros(buffer.steps, buffer.reward.shape[1], dtype=torch.bool, device=self.device)
        starts[1:] = buffer.ended[:-1].all(-1)
        return starts

    def policy_output(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The actor's (masked) output for a minibatch: samples ``[M, N, ...]``, or for a recurrent
        actor whole sequences ``[T, b, N, ...]`` re-run from ``hidden[0]`` with resets at ``starts``."""
        adjacency = batch.get("adjacency")
        if not self.config.recurrent:
            return self._logits_or_mean(batch["obs"], batch.get("action_mask"), alive=batch["alive"], adjacency=adjacency)
        output = self.actor.forward_sequence(
            batch["obs"].transpose(0, 1),
            batch["hidden"][0],
            batch["starts"].T,
            batch["alive"].transpose(0, 1),
            adjacency.transpose(0, 1) if adjacency is not None else None,
        )
        return self._masked(output.transpose(0, 1), batch.get("action_mask"))

    def loss_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """What every actor-critic loss of this family reads from a minibatch: the alive weights, the
        actions' log-probabilities and the entropies under the current policy, the advantages
        (standardised if ``normalize_advantages``), and the current values."""
        weight = batch["alive"].float()
        log_prob, entropy = self.log_prob_entropy(self.policy_output(batch), batch["actions"])
        advantages = normalized_advantages(batch["advantages"], weight) if self.config.normalize_advantages else batch["advantages"]
        return weight, log_prob, entropy, advantages, self.values(batch["obs"], batch["state"])

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        weight, log_prob, entropy, advantages, values = self.loss_inputs(batch)
        return ppo_loss(
            log_prob,
            batch["log_prob"],
            advantages,
            values,
            batch["old_values"],
            batch["targets"],
            entropy,
            weight,
            c.clip,
            c.value_clip,
            c.value_coef,
            c.entropy_coef,
        )

    def data_parallel_parts(self) -> DataParallelParts:
        """Under torchrun (:mod:`marl_baselines.distributed`): the networks every rank holds alike, the
        gradients averaged over the ranks, and the value normaliser fed every rank's returns."""
        curiosity = () if self.curiosity is None else (self.curiosity,)
        return DataParallelParts(
            networks=(
                self.actor,
                self.critic,
                self.value_norm,
                *((self.log_std,) if self.log_std is not None else ()),
                *(c.module for c in curiosity),
            ),
            gradients=(self.gradients, *(c.gradients for c in curiosity)),
            statistics=(self.value_norm,),
        )

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, include_buffer: bool = True) -> dict:
        return {
            "buffer": self.buffer.state_dict() if include_buffer else None,
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "log_std": self.log_std.detach().clone() if self.log_std is not None else None,
            "value_norm": self.value_norm.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "updates": self.updates,
            "curiosity": self.curiosity.state_dict() if self.curiosity is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        if self.log_std is not None:
            with torch.no_grad():
                self.log_std.copy_(state["log_std"])
        self.value_norm.load_state_dict(state["value_norm"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.updates = state["updates"]
        if self.curiosity is not None:
            self.curiosity.load_state_dict(state["curiosity"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
