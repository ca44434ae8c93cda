"""IA2C and MAA2C: synchronous advantage actor-critic for many agents.

A2C (Mnih et al., 2016, "Asynchronous methods for deep reinforcement learning", in its synchronous
form) with the multi-agent critics of Papoudakis et al. (2021, "Benchmarking multi-agent deep
reinforcement learning algorithms in cooperative tasks", EPyMARL's ``ia2c`` and ``maa2c``):

* IA2C: each agent's value V(o_i) on its own observation (independent learners);
* MAA2C: a centralised value V(s, i) on the global state (with the agent's one-hot id).

The method. Collect ``rollout_steps`` vectorised steps with the current policy; compute GAE(gamma,
lambda) advantages A_t and returns R_t = A_t + V(x_t) (x: the observation or the state), bootstrapping
a truncated episode with V(final observation) and never across a termination; then take *one*
gradient step, on the whole rollout, of

    L = -mean_t,i[ log pi(u_t^i | o_t^i) A_t^i ]  +  value_coef * 0.5 * mean_t,i[ (V(x_t^i) - R_t^i)^2 ]
        - entropy_coef * mean_t,i[ H(pi(. | o_t^i)) ]

over the agents that are alive. The policy term is the plain policy gradient: no probability
ratio and no clipping, since the rollout is used once, by the policy that collected it.

Everything but the loss is PPO's (:class:`~marl_baselines.algos.ppo.PPO`): the rollout storage and
GAE (:class:`~marl_baselines.buffers.RolloutBuffer`), the actors (any agent network, recurrent or
not, discrete or continuous actions), the MLP critics, value normalisation, advantage
standardisation, curiosity, checkpoints and what torchrun ranks share. A2C is PPO with one pass of
one batch and this loss; its config (:class:`A2CConfig`) has PPO's options less the passes and the
clip ranges.

Relation to EPyMARL's ``ia2c`` / ``maa2c`` (its ``ActorCriticLearner``), and departures:

* EPyMARL's advantages are n-step returns (``q_nstep``) bootstrapped from a target critic (soft
  updates); ours are GAE(lambda) from the online critic (``gae_lambda`` plays the part of n: 1 is
  the Monte-Carlo return, 0 one-step TD), with no target critic.
* EPyMARL collects whole episodes (its parallel runner) and has separate Adam optimisers for the
  actor and the critic; ours collects fixed-length rollouts that cross episode boundaries (as
  PPO's) and has one Adam over both, with one gradient-norm clip.
* EPyMARL's default agent is a GRU (``use_rnn``); ours is an MLP unless ``recurrent=True``.
  ``normalize_values`` is close to EPyMARL's ``standardise_returns`` (running statistics of the
  returns); ``normalize_advantages`` (on by default) has no counterpart there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from marl_baselines.algos.ppo import PPO, ActorCriticOptions, GaussianPolicyOptions

__all__ = ["A2CConfig", "A2C", "a2c_loss"]


@dataclass
class A2CConfig(GaussianPolicyOptions, ActorCriticOptions):
    """Hyper-parameters of IA2C / MAA2C: PPO's actor-critic options (no passes, no clipping: one
    gradient step per rollout), with the agent-network options, curiosity and the Gaussian policy's."""

    def check(self) -> None:
        super().check()
        self.check_gaussian()


def a2c_loss(
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    targets: torch.Tensor,
    entropy: torch.Tensor,
    weight: torch.Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The actor-critic loss over entries with ``weight`` 1 (alive agents), all tensors of one shape.

    policy: mean of -log_prob * A (``advantages`` are constants); value: mean of 0.5 * (V - R)^2;
    loss = policy + value_coef * value - entropy_coef * entropy.
    """
    count = weight.sum().clamp(min=1)

    def mean(x: torch.Tensor) -> torch.Tensor:
        return (x * weight).sum() / count

    policy_loss = -mean(log_prob * advantages.detach())
    value_loss = 0.5 * mean((values - targets).pow(2))
    entropy_mean = mean(entropy)
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy_mean
    stats = {"policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(), "entropy": entropy_mean.detach()}
    return loss, stats


class A2C(PPO):
    """IA2C (``critic="obs"``) or MAA2C (``critic="state"``) for a ``VecEnv`` with discrete or continuous actions."""

    def __init__(self, env, config: A2CConfig, critic: str, seed: int = 0):
        super().__init__(env, config, critic, seed)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        weight, log_prob, entropy, advantages, values = self.loss_inputs(batch)
        return a2c_loss(log_prob, advantages, values, batch["targets"], entropy, weight, c.value_coef, c.entropy_coef)
