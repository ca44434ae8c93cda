"""MA-DVRL's model: the belief networks (:class:`BeliefNetworks`) and the losses (:func:`elbo_terms`, :func:`policy_loss`, :func:`value_loss`).

The training around them (PPO on the beliefs, self-play, the opponent pool) is in
:mod:`marl_baselines.algos.madvrl`; the design note (``design-notes/madvrl_architecture.md``)
gives the architecture. Widths ``hidden_size`` = 256 and ``belief_size`` = 256 by default.

**Networks.** Every seat's input at each env step is its observation ``o_t`` [O] and the action
an opponent took at the previous step, one-hot [4] (zeros after its own action and at a hand's start).

* encoder, the prior ``p(z_t | o_t)``: FC-ReLU-FC-ReLU on ``o_t``, then a mean head and a std
  head (softplus + ``min_std``): the agent's belief from what it sees now;
* inference network, the posterior ``q(z_t | o_{1:t}, a_{1:t-1})``: FC-ReLU on ``[o_t, a_{t-1}]``,
  a GRU cell over the hand's steps (its state is the ``hidden`` the training loop carries and
  resets at episode starts), FC-ReLU, mean and std heads: the opponent-belief;
* joint belief ``[z_prior, z_posterior]`` (2 x ``belief_size`` = 512), from samples
  ``z = mean + std * eps``, feeding the policy head (FC-ReLU-FC-ReLU-FC, 4 logits, illegal
  actions at -inf) and the value head (the same shape, 1 output). The value head reads the
  beliefs' means (a deterministic baseline); the policy reads the sample it acts on.
* decoders of the ELBO, from the posterior sample: the observation (Bernoulli logits, O), each
  opponent's next action (N - 1 categoricals over 4) and each opponent's private card
  (N - 1 categoricals over the ranks).

Linear layers start orthogonal (CleanRL's PPO): with PyTorch's default the signal shrinks
through the stacked layers, the beliefs start nearly constant and the ELBO sits on a plateau
(predicting every observation entry's mean) for hundreds of updates, while the policy, which
reads only the beliefs, settles card-blind. The beliefs' std starts at ``init_std``.
:func:`belief_policy` reads the policy at the end of whole hands, for exact evaluation
(``InfoSetInputs.policy_table`` of :mod:`marl_envs.poker_analysis`).

**The ELBO**, per learner seat and step: E_q[log p(o_t | z) + log p(next opponent actions | z) +
log p(opponent cards | z)] minus KL(q(z_t | o_{1:t}, a_{1:t-1}) || p(z_t | o_t)), with the KL in
closed form (diagonal Gaussians, summed over the belief's dimensions) and the expectation from
the one sample the agent acted on (reparameterised, so gradients reach the encoder and the
inference network). The opponents' cards are the env's ``info["private_card"]``, used at training
time only (a privileged target; the agent never sees them as input). Targets that do not exist
(an opponent acting no more in the hand, or not within the rollout) are masked out. Both the
prior and the posterior are learned, so the KL's gradient is balanced (Hafner et al. 2021,
``kl_balance`` = 0.8): most of it trains the prior toward the posterior, less drags the
posterior toward a prior that is still poor; its value is the plain KL.

The ``gru_ac`` ablation (``variational=False``): the same encoder and inference trunks give
deterministic features (the mean heads, no std heads, no sampling), the same policy and value
heads, and no decoders.

**Losses** (:func:`elbo_terms`, :func:`policy_loss`, :func:`value_loss`), per learner seat and step:

* the negative ELBO: reconstructions + KL(posterior || prior), KL-balanced;
* policy: PPO's clipped surrogate (Schulman et al. 2017) on GAE(gamma, lambda) advantages from
  the value head, and an entropy bonus. PPO-clipped, so that ``epochs`` x ``minibatches`` steps
  per rollout of thousands of hands do not run the policy away (``epochs=1, minibatches=1`` is
  one entropy-regularised policy-gradient step, where the clip never binds). Only the learner's
  decisions count (its seat is to act with more than one legal action). The entropy weight is
  high by PPO's standards (0.1 on standardised advantages): with a low one the policy turns
  near-deterministic (and card-blind) before the beliefs learn the cards, and self-play cycles
  wider, while a little uniform play costs an equilibrium little exploitability;
* value: TD(lambda), 0.5 (V(b_t) - G^lambda_t)^2 on value-normalised returns (the GAE targets,
  bootstrapped from V of the next step), at every step of the learner's seats;
* total = ``elbo_coef`` (-ELBO, ``kl_coef`` on the KL, a weight per reconstruction) +
  ``policy_coef`` (lambda 1) policy + ``value_coef`` (lambda 2) value. Defaults 1, 1, 0.5.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from marl_baselines.nets import mlp

__all__ = [
    "N_ACTIONS",
    "Belief",
    "BeliefNetworks",
    "belief_policy",
    "elbo_terms",
    "gaussian_kl",
    "masked_mean",
    "minibatch_loss",
    "policy_loss",
    "value_loss",
]

N_ACTIONS = 4
"""poker_v0's actions: fold, check, call, raise."""


class Belief:
    """A diagonal Gaussian ``[..., L]`` (``std`` None: a deterministic feature, the ablation's)."""

    __slots__ = ("mean", "std")

    def __init__(self, mean: torch.Tensor, std: torch.Tensor | None):
        self.mean, self.std = mean, std

    def sample(self, noise: torch.Tensor | None) -> torch.Tensor:
        """``mean + std * noise`` (reparameterised); the mean when ``noise`` or ``std`` is None."""
        return self.mean if noise is None or self.std is None else self.mean + self.std * noise


def gaussian_kl(posterior: Belief, prior: Belief) -> torch.Tensor:
    """``KL(posterior || prior)`` of diagonal Gaussians ``[..., L]``, summed over the last axis: ``[...]``."""
    variance_ratio = (posterior.std / prior.std).pow(2)
    mean_term = ((posterior.mean - prior.mean) / prior.std).pow(2)
    return 0.5 * (variance_ratio + mean_term - 1 - variance_ratio.log()).sum(-1)


class BeliefNetworks(nn.Module):
    """Encoder (prior), recurrent inference network (posterior), policy and value heads, and the ELBO's decoders.

    Shapes: ``obs [..., O]``, ``last_action [..., 4]`` (the opponents' previous action, one-hot),
    ``hidden [..., H]`` (the GRU's state); beliefs ``[..., L]``; the joint belief ``[..., 2L]``.
    """

    def __init__(
        self,
        obs_size: int,
        n_players: int,
        ranks: int,
        hidden_size: int = 256,
        belief_size: int = 256,
        variational: bool = True,
        min_std: float = 0.01,
        init_std: float = 0.1,
    ):
        super().__init__()
        H, L, A = hidden_size, belief_size, N_ACTIONS
        self.obs_size, self.n_players, self.ranks = obs_size, n_players, ranks
        self.hidden_size, self.belief_size, self.variational, self.min_std = H, L, variational, min_std
        self.encoder = nn.Sequential(nn.Linear(obs_size, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU())
        self.prior_mean = nn.Linear(H, L)
        self.inference_input = nn.Sequential(nn.Linear(obs_size + A, H), nn.ReLU())
        self.inference_cell = nn.GRUCell(H, H)
        self.inference_output = nn.Sequential(nn.Linear(H, H), nn.ReLU())
        self.posterior_mean = nn.Linear(H, L)
        self.policy = mlp(2 * L, H, A, layers=3)
        self.value = mlp(2 * L, H, 1, layers=3)
        if variational:
            self.prior_std = nn.Linear(H, L)
            self.posterior_std = nn.Linear(H, L)
            self.decoder = nn.Sequential(nn.Linear(L, H), nn.ReLU())
            self.decode_obs = nn.Linear(H, obs_size)
            self.decode_actions = nn.Linear(H, (n_players - 1) * A)
            self.decode_cards = nn.Linear(H, (n_players - 1) * ranks)
        self._initialise(init_std)

    @torch.no_grad()
    def _initialise(self, init_std: float) -> None:
        """Orthogonal weights (gain sqrt 2 before a ReLU, 1 elsewhere) and zero biases, as CleanRL's PPO:
        PyTorch's default shrinks the signal through the stacked layers, and the beliefs then start
        nearly constant, which slows the ELBO's start by hundreds of updates. The policy's last layer
        starts small (a near-uniform policy); the std heads start at ``init_std``. The GRU keeps its own."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, math.sqrt(2))
                nn.init.zeros_(module.bias)
        heads = [self.prior_mean, self.posterior_mean, self.value[-1]]
        if self.variational:
            heads += [self.decode_obs, self.decode_actions, self.decode_cards]
        for head in heads:
            nn.init.orthogonal_(head.weight, 1.0)
        nn.init.orthogonal_(self.policy[-1].weight, 0.01)
        if self.variational:
            for head in (self.prior_std, self.posterior_std):  # std = softplus(bias) + min_std = init_std
                nn.init.orthogonal_(head.weight, 0.01)
                head.bias.fill_(math.log(math.expm1(init_std - self.min_std)))

    def _std(self, head: nn.Module, features: torch.Tensor) -> torch.Tensor | None:
        return F.softplus(head(features)) + self.min_std if self.variational else None

    def prior(self, obs: torch.Tensor) -> Belief:
        """``p(z_t | o_t)`` from the observation alone."""
        features = self.encoder(obs)
        return Belief(self.prior_mean(features), self._std(self.prior_std, features) if self.variational else None)

    def posterior_from(self, hidden: torch.Tensor) -> Belief:
        """``q(z_t | o_{1:t}, a_{1:t-1})`` from the GRU's state after step t."""
        features = self.inference_output(hidden)
        return Belief(self.posterior_mean(features), self._std(self.posterior_std, features) if self.variational else None)

    def step(self, obs: torch.Tensor, last_action: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, Belief, Belief]:
        """One env step for any batch shape: (the GRU's new state, prior, posterior)."""
        inputs = self.inference_input(torch.cat((obs, last_action), -1))
        shape = inputs.shape[:-1]
        hidden = self.inference_cell(inputs.reshape(-1, self.hidden_size), hidden.reshape(-1, self.hidden_size)).view(
            *shape, self.hidden_size
        )
        return hidden, self.prior(obs), self.posterior_from(hidden)

    def sequence(
        self, obs: torch.Tensor, last_action: torch.Tensor, hidden: torch.Tensor, starts: torch.Tensor
    ) -> tuple[torch.Tensor, Belief, Belief]:
        """Sequences ``[T, C, ...]`` from the states ``hidden [C, H]`` before step 0; the state is reset to
        zeros before every step t with ``starts[t]`` (``[T, C]`` bool; a new hand). Only the GRU runs step by step."""
        inputs = self.inference_input(torch.cat((obs, last_action), -1))
        states = []
        for t in range(obs.shape[0]):
            hidden = self.inference_cell(inputs[t], hidden.masked_fill(starts[t, :, None], 0.0))
            states.append(hidden)
        hiddens = torch.stack(states)
        return hiddens, self.prior(obs), self.posterior_from(hiddens)

    @staticmethod
    def joint(prior: Belief, posterior: Belief, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The joint belief ``[..., 2L]``: samples with ``noise [..., 2L]`` (prior's half first), or the means."""
        prior_noise, posterior_noise = (None, None) if noise is None else noise.chunk(2, -1)
        return torch.cat((prior.sample(prior_noise), posterior.sample(posterior_noise)), -1)

    def logits(self, joint: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        """Action logits ``[..., 4]`` with illegal actions at -inf (a row without a legal action keeps all)."""
        legal = action_mask | ~action_mask.any(-1, keepdim=True)
        return self.policy(joint).masked_fill(~legal, float("-inf"))

    def values(self, joint_mean: torch.Tensor) -> torch.Tensor:
        return self.value(joint_mean).squeeze(-1)

    def decode(self, posterior_sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of the observation ``[..., O]``, the opponents' next actions ``[..., N-1, 4]`` and cards ``[..., N-1, R]``."""
        features = self.decoder(posterior_sample)
        opponents = self.n_players - 1
        return (
            self.decode_obs(features),
            self.decode_actions(features).unflatten(-1, (opponents, N_ACTIONS)),
            self.decode_cards(features).unflatten(-1, (opponents, self.ranks)),
        )


# ---------------------------------------------------------------------- the ELBO
def elbo_terms(
    nets: BeliefNetworks,
    prior: Belief,
    posterior: Belief,
    posterior_noise: torch.Tensor,
    obs: torch.Tensor,
    next_actions: torch.Tensor,
    cards: torch.Tensor,
    kl_balance: float = 0.5,
) -> dict[str, torch.Tensor]:
    """The ELBO's terms per sample ``[...]`` (negative log-likelihoods, so that -ELBO = their weighted sum + KL).

    ``obs [..., O]`` (in [0, 1]: Bernoulli targets), ``next_actions [..., N-1]`` (each opponent's
    next action, -1: none to predict), ``cards [..., N-1]`` (each opponent's card rank). The
    reconstructions decode the posterior sample ``mean + std * posterior_noise``; the KL is
    ``KL(posterior || prior)`` in closed form. Its value does not depend on ``kl_balance``, its
    gradient does: ``kl_balance`` of it trains the prior toward the posterior, the rest the
    posterior toward the prior (KL balancing, Hafner et al. 2021; 0.5: the plain gradient, halved).
    """
    sample = posterior.sample(posterior_noise)
    obs_logits, action_logits, card_logits = nets.decode(sample)
    known = next_actions >= 0
    action_nll = F.cross_entropy(action_logits.flatten(0, -2), next_actions.clamp(min=0).flatten(), reduction="none").view_as(next_actions)
    card_nll = F.cross_entropy(card_logits.flatten(0, -2), cards.flatten(), reduction="none").view_as(cards)
    return {
        "obs_nll": F.binary_cross_entropy_with_logits(obs_logits, obs, reduction="none").sum(-1),
        "action_nll": (action_nll * known).sum(-1),
        "card_nll": card_nll.sum(-1),
        "kl": kl_balance * gaussian_kl(_detached(posterior), prior) + (1 - kl_balance) * gaussian_kl(posterior, _detached(prior)),
    }


def _detached(belief: Belief) -> Belief:
    return Belief(belief.mean.detach(), belief.std.detach())


# ---------------------------------------------------------------------- the policy at information sets
@torch.no_grad()
def belief_policy(nets: BeliefNetworks, samples: int, seed: int, obs, last_action, lengths, legal) -> torch.Tensor:
    """Probabilities ``[I, 4]`` of ``nets`` after step ``lengths - 1`` of the hands ``obs [T, I, O]``,
    ``last_action [T, I, 4]`` with legal actions ``legal [I, 4]``, averaged over ``samples`` draws of the
    beliefs (0, or a deterministic network: at the beliefs' means): the policy of ``InfoSetInputs.policy_table``."""
    device = obs.device
    T, I = obs.shape[:2]
    starts = torch.zeros(T, I, dtype=torch.bool, device=device)
    hiddens, _, _ = nets.sequence(obs, last_action, torch.zeros(I, nets.hidden_size, device=device), starts)
    last = (lengths - 1)[None, :, None]
    hidden = hiddens.gather(0, last.expand(1, I, nets.hidden_size)).squeeze(0)
    final_obs = obs.gather(0, last.expand(1, I, obs.shape[-1])).squeeze(0)
    prior, posterior = nets.prior(final_obs), nets.posterior_from(hidden)
    if samples == 0 or not nets.variational:
        return torch.softmax(nets.logits(nets.joint(prior, posterior), legal), -1)
    generator = torch.Generator(device=device).manual_seed(seed)
    noise = torch.randn(samples, I, 2 * nets.belief_size, generator=generator, device=device)
    joint = nets.joint(prior, posterior, noise)  # [samples, I, 2L]
    return torch.softmax(nets.logits(joint, legal.expand(samples, I, N_ACTIONS)), -1).mean(0)


# ---------------------------------------------------------------------- PPO's losses
def masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (values * weight).sum() / weight.sum().clamp(min=1)


def policy_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    entropy: torch.Tensor,
    weight: torch.Tensor,
    clip: float,
    entropy_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate minus the entropy bonus, averaged over entries with ``weight`` 1 (the learner's decisions)."""
    log_ratio = log_prob - old_log_prob
    ratio = log_ratio.exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    entropy_mean = masked_mean(entropy, weight)
    loss = -masked_mean(surrogate, weight) - entropy_coef * entropy_mean
    with torch.no_grad():
        stats = {
            "entropy": entropy_mean.detach(),
            "clip_fraction": masked_mean(((ratio - 1).abs() > clip).float(), weight),
            "approx_kl": masked_mean((ratio - 1) - log_ratio, weight),
        }
    return loss, stats


def value_loss(values: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The TD(lambda) loss 0.5 (V - G^lambda)^2, averaged over entries with ``weight`` 1."""
    return 0.5 * masked_mean((values - targets).pow(2), weight)


def minibatch_loss(
    nets: BeliefNetworks, c, variational: bool, batch: dict[str, torch.Tensor], initial_hidden: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """MA-DVRL's total loss (``MADVRLConfig`` ``c``'s weights) of one minibatch of seat sequences ``[T, C, ...]``,
    from the GRU states ``initial_hidden [C, H]``; ``variational=False``: without the ELBO (the ablation)."""
    _, prior, posterior = nets.sequence(batch["obs"], batch["last_action"], initial_hidden, batch["starts"])
    noise = batch.get("noise")
    logits = nets.logits(nets.joint(prior, posterior, noise), batch["action_mask"])
    log_probs = torch.log_softmax(logits, -1)
    finite = log_probs.masked_fill(torch.isinf(log_probs), 0.0)  # illegal actions: 0 * log 0 = 0, with finite gradients
    entropy = -(log_probs.exp() * finite).sum(-1)
    log_prob = log_probs.gather(-1, batch["actions"][..., None]).squeeze(-1)
    decision, value_weight = batch["decision"].float(), batch["value_weight"].float()
    advantages = batch["advantages"]
    if c.normalize_advantages:
        mean = masked_mean(advantages, decision)
        std = masked_mean((advantages - mean).pow(2), decision).sqrt()
        advantages = (advantages - mean) / (std + 1e-8)
    policy, stats = policy_loss(log_prob, batch["log_prob"], advantages, entropy, decision, c.clip, c.entropy_coef)
    values = nets.values(nets.joint(prior, posterior))
    value = value_loss(values, batch["targets"], value_weight)
    loss = c.policy_coef * policy + c.value_coef * value
    stats.update(policy_loss=policy.detach(), value_loss=value.detach())
    if variational:
        terms = elbo_terms(
            nets, prior, posterior, noise.chunk(2, -1)[1], batch["obs"], batch["next_actions"], batch["opponent_cards"], c.kl_balance
        )
        weights = {"obs_nll": c.obs_recon_coef, "action_nll": c.action_recon_coef, "card_nll": c.card_recon_coef, "kl": c.kl_coef}
        negative_elbo = sum(weights[name] * masked_mean(term, value_weight) for name, term in terms.items())
        loss = loss + c.elbo_coef * negative_elbo
        stats.update({name: masked_mean(term, value_weight).detach() for name, term in terms.items()})
        stats["negative_elbo"] = negative_elbo.detach()
        stats["belief_std"] = masked_mean(posterior.std.mean(-1), value_weight).detach()
    return loss, stats
