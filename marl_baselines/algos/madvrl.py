"""MA-DVRL: multi-agent deep variational reinforcement learning for poker (``poker_v0``), and its ablation.

The design note (``design-notes/madvrl_architecture.md``) gives the architecture; this file is our
own implementation of it, on the batched poker env (Kuhn poker or Leduc hold'em, any number of
players). ``marl-train madvrl poker_v0`` trains it; ``marl-train gru_ac poker_v0`` trains the same
agent without the variational parts (the baseline the benchmark compares with). Measured results:
``benchmarks/madvrl_poker.py`` (``benchmarks/results/madvrl_poker.md``); the measurements behind
the choices below: ``benchmarks/results/madvrl_tuning.md``.

**Beliefs** (:mod:`marl_baselines.algos.madvrl_model`): a prior ``p(z_t | o_t)``, a recurrent
posterior ``q(z_t | o_{1:t}, a_{1:t-1})``, policy and value heads on the joint belief, and the
ELBO's decoders (the observation, the opponents' next actions and their private cards).

**What the env provides** (``poker_v0`` documents it: "Info and attributes for algorithms"): the
opponents' cards, a training target only, as each step's ``info["private_card"]``; who acts, from
the action mask (the only seat with more than one legal action), so the actions submitted give
the opponents' actions; the game (``rules``, ``hands``) for fixed strategies and exact evaluation.

**Losses** (:mod:`marl_baselines.algos.madvrl_model`): the negative ELBO, PPO's clipped surrogate
on the beliefs with an entropy bonus, and a TD(lambda) value loss, per learner seat and step.

**Self-play and the opponent pool.** The algorithm acts for every seat of every hand (``act``
returns ``[B, N]`` actions) and trains only on the seats its learner controls. At each hand's
start each of the B envs draws its opponents: with probability ``fixed_fraction`` a fixed
strategy (uniformly among ``fixed_strategies``, :mod:`marl_envs.analysis.poker_strategies`), with
``pool_fraction`` an earlier checkpoint of the learner (uniformly among the pool's), otherwise the
learner itself on every seat (self-play, every seat trained). Against a pool member or a fixed
strategy the learner holds one seat, drawn uniformly. Every ``snapshot_interval`` updates a frozen
copy of the learned policy joins the pool (at most ``pool_size``; the oldest leaves). All of it is
tensor code over the B hands; the only Python loops are over pool members and the rollout's time
steps in training. Fixed strategies are few by default (5% of hands): exploiting them pulls the
policy away from the equilibrium.

**The learned policy: Polyak-averaged weights.** Self-play policy gradient cycles around the
equilibrium of a zero-sum game, whatever the entropy weight, learning rate, batch size or
opponent mix, so the learned policy is an exponential moving average of the trained networks'
weights (``average_decay`` = 0.995 per gradient step, about 13 updates), near the cycle's centre.
It is what is evaluated, played greedily and copied into the pool; the trained networks explore
and learn (``exploitability_trained`` logs their figure; ``average_decay=0`` evaluates them).

**Evaluation.** :meth:`MADVRL.policy_table`: the learned policy at every information set of
:mod:`marl_envs.poker_analysis` (replaying the public path there through the recurrent network,
averaged over ``belief_samples`` draws of the beliefs), so :meth:`MADVRL.exploitability` is exact
for it; logged as ``exploitability`` every ``exploitability_interval`` env steps and kept in
``exploitability_curve``. ``chips_per_hand/<opponent>`` in the training statistics: the learner's
chips per hand in the rollout against each kind of opponent (NaN when there was none).
:mod:`marl_baselines.head_to_head` plays an agent (``play``) against another or a fixed strategy.

On a CPU these small networks gain nothing from a second torch thread, and a contended one makes
the update many times slower: ``marl-train`` runs on one thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from marl_baselines.algos.madvrl_model import N_ACTIONS, BeliefNetworks, belief_policy, minibatch_loss
from marl_baselines.buffers import RolloutBuffer, episode_ended
from marl_baselines.config import check_ranges
from marl_baselines.distributed import AveragedGradients, DataParallelParts
from marl_baselines.head_to_head import sample_actions
from marl_baselines.nets import one_hot
from marl_baselines.normalization import RunningMeanStd
from marl_envs import EnvStep
from marl_envs.analysis.poker_strategies import FIXED_STRATEGIES, FixedStrategy
from marl_envs.poker_analysis import game as poker_game
from marl_envs.poker_analysis import infoset_inputs

__all__ = ["MADVRL", "MADVRLConfig"]

SELF_PLAY = 0
"""Controller code of a hand the learner plays on every seat; 1 + k: fixed strategy k; 1 + F + j: pool member j."""


@dataclass
class MADVRLConfig:
    """Hyper-parameters of MA-DVRL and of its ablation gru_ac (which ignores the ELBO's fields)."""

    hidden_size: int = 256
    """Width of every hidden layer: encoder, inference network (and its GRU), policy, value and decoders."""
    belief_size: int = 256
    """Size of each belief (prior and posterior); the joint belief the heads read is twice this."""
    min_std: float = 0.01
    """Floor added to the beliefs' standard deviations (softplus + min_std; > 0, so the KL stays finite)."""
    init_std: float = 0.1
    """The beliefs' standard deviation at initialisation (the std heads' bias; their weights start small)."""
    rollout_steps: int = 16
    """Vectorised env steps per rollout (every step holds num_envs hands in progress)."""
    epochs: int = 4
    """Passes over each rollout."""
    minibatches: int = 4
    """Minibatches per pass (the rollout's num_envs x n_players seat sequences, split evenly)."""
    lr: float = 5e-4
    """Adam learning rate."""
    adam_eps: float = 1e-5
    """Adam's epsilon."""
    grad_clip: float = 1.0
    """Clip the gradient's global norm to this (0 turns clipping off)."""
    gamma: float = 0.99
    """Discount factor (the poker_v0 presets take 1: the chips at a hand's end count fully)."""
    gae_lambda: float = 0.95
    """Lambda of GAE and of the TD(lambda) value targets."""
    clip: float = 0.2
    """Clip range of the probability ratio in PPO's surrogate objective."""
    policy_coef: float = 1.0
    """lambda 1: weight of the policy loss in the total."""
    value_coef: float = 0.5
    """lambda 2: weight of the value loss in the total."""
    entropy_coef: float = 0.1
    """Weight of the policy's entropy bonus (inside the policy loss; the advantages are standardised)."""
    elbo_coef: float = 1.0
    """Weight of the negative ELBO in the total (madvrl only)."""
    kl_coef: float = 1.0
    """Weight (beta) of KL(posterior || prior) inside the negative ELBO."""
    kl_balance: float = 0.8
    """Share of the KL's gradient that moves the prior toward the posterior (the rest moves the posterior; 0.5: half the plain KL gradient on each)."""
    obs_recon_coef: float = 1.0
    """Weight of the observation's reconstruction (Bernoulli log-likelihood, summed over entries)."""
    action_recon_coef: float = 1.0
    """Weight of the prediction of the opponents' next actions."""
    card_recon_coef: float = 1.0
    """Weight of the prediction of the opponents' private cards (training-time target only)."""
    normalize_advantages: bool = True
    """Standardise the advantages of each minibatch over the learner's decisions."""
    normalize_values: bool = True
    """Predict returns normalised by their running mean and standard deviation."""
    average_decay: float = 0.995
    """Polyak averaging of the weights after every gradient step; the averaged networks are the learned policy
    (evaluated, played greedily, copied into the pool) while the trained ones explore (0: no averaging)."""
    pool_fraction: float = 0.3
    """Fraction of hands against an earlier checkpoint from the pool (self-play while the pool is empty)."""
    fixed_fraction: float = 0.05
    """Fraction of hands against a fixed strategy; the rest (1 - pool - fixed) is self-play."""
    fixed_strategies: str = "random,always_call,always_raise,hand_strength"
    """Comma-separated fixed opponents of training: any of random, always_call, always_raise, hand_strength."""
    pool_size: int = 8
    """Most earlier checkpoints kept in the opponent pool (the oldest leaves first)."""
    snapshot_interval: int = 10
    """Updates between two checkpoints joining the pool."""
    exploitability_interval: int = 50_000
    """Env steps between exact exploitability measurements logged in the training statistics (0: never)."""
    belief_samples: int = 32
    """Draws of the beliefs the exact evaluation averages the policy over (madvrl; 0: the beliefs' means)."""

    def check(self) -> None:
        check_ranges(
            self,
            at_least_one=("hidden_size", "belief_size", "rollout_steps", "epochs", "minibatches", "pool_size", "snapshot_interval"),
            non_negative=(
                "lr",
                "grad_clip",
                "clip",
                "policy_coef",
                "value_coef",
                "entropy_coef",
                "elbo_coef",
                "kl_coef",
                "obs_recon_coef",
                "action_recon_coef",
                "card_recon_coef",
                "exploitability_interval",
                "belief_samples",
            ),
            unit_interval=("gamma", "gae_lambda", "average_decay", "pool_fraction", "fixed_fraction", "kl_balance"),
        )
        for name in ("adam_eps", "min_std"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.average_decay < 1:
            raise ValueError(f"average_decay must be < 1 (1 would freeze the learned policy), got {self.average_decay}")
        if not self.init_std > self.min_std:
            raise ValueError(f"init_std must be > min_std ({self.min_std}), got {self.init_std}")
        if self.pool_fraction + self.fixed_fraction > 1:
            raise ValueError(
                f"pool_fraction + fixed_fraction must be <= 1 (the rest is self-play), got {self.pool_fraction} + {self.fixed_fraction}"
            )
        names = self.strategy_names()
        unknown = [name for name in names if name not in FIXED_STRATEGIES]
        if unknown or len(set(names)) != len(names):
            raise ValueError(
                f"fixed_strategies must be distinct names from {', '.join(FIXED_STRATEGIES)} separated by commas, got {self.fixed_strategies!r}"
            )
        if self.fixed_fraction > 0 and not names:
            raise ValueError(f"fixed_strategies must name at least one strategy when fixed_fraction > 0, got {self.fixed_strategies!r}")

    def strategy_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.fixed_strategies.split(",") if name.strip())


# ---------------------------------------------------------------------- the algorithm
class MADVRL:
    """MA-DVRL (``variational=True``) or its GRU actor-critic ablation (``variational=False``) on a native ``poker_v0`` VecEnv."""

    def __init__(self, env, config: MADVRLConfig, seed: int = 0, variational: bool = True):
        config.check()
        rules, hands = env.env_info.get("rules"), env.env_info.get("hands")
        if rules is None or hands is None:
            raise ValueError(
                f"{'madvrl' if variational else 'gru_ac'} needs the game in env.env_info ('rules' and 'hands', as poker_v0 gives), got {env.name!r} without"
            )
        c, B, N = config, env.num_envs, env.n_agents
        if B * N < c.minibatches:
            raise ValueError(f"minibatches={c.minibatches} exceeds the rollout's {B * N} seat sequences (num_envs x n_players)")
        if c.exploitability_interval > 0:
            if hands != 1:
                raise ValueError(
                    f"exploitability_interval must be 0 for matches of several hands (hands={hands}): the exact tools evaluate single hands"
                )
            try:
                poker_game(rules.variant, N, rules.ranks)
            except ValueError as error:
                raise ValueError(f"exploitability_interval must be 0 for this game: {error}") from None
        self.config, self.variational, self.device = c, variational, env.device
        self.rules, self.hands = rules, hands
        self.num_envs, self.n_agents, self.obs_size = B, N, env.obs_size
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.seed = seed
        torch.manual_seed(seed)  # network initialisation
        self.nets = self._new_networks()
        self.average = copy.deepcopy(self.nets).requires_grad_(False) if c.average_decay > 0 else None
        self.optimizer = torch.optim.Adam(self.nets.parameters(), lr=c.lr, eps=c.adam_eps)
        self.gradients = AveragedGradients(self.optimizer)
        self.value_norm = RunningMeanStd().to(self.device)

        self.strategies = [FixedStrategy(name, self.rules) for name in c.strategy_names()]
        self.pool: list[BeliefNetworks] = []
        self.pool_next = 0  # the slot the next checkpoint replaces once the pool is full
        self._seats = torch.arange(N, device=self.device)
        self.controller = torch.zeros(B, dtype=torch.int64, device=self.device)
        self.learner_seat = torch.zeros(B, dtype=torch.int64, device=self.device)
        self._cumulative: torch.Tensor | None = None  # the draw's cumulative probabilities over controller codes
        self._draw_opponents(torch.ones(B, dtype=torch.bool, device=self.device))

        O, L = env.obs_size, c.belief_size
        extra = {
            "obs": ((B, N, O), torch.float32),
            "last_action": ((B, N, N_ACTIONS), torch.float32),
            "action_mask": ((B, N, N_ACTIONS), torch.bool),
            "actions": ((B, N), torch.int64),
            "log_prob": ((B, N), torch.float32),
            "learner": ((B, N), torch.bool),
            "alive": ((B, N), torch.bool),
            "cards": ((B, N), torch.int64),
            "controller": ((B,), torch.int64),
            "env_ended": ((B,), torch.bool),
            "bootstrap": ((B, N), torch.float32),
        }
        if variational:
            extra["noise"] = ((B, N, 2 * L), torch.float32)
        self.buffer = RolloutBuffer(c.rollout_steps, B, N, self.device, extra)
        self.initial_hidden_state = torch.zeros(B, N, c.hidden_size, device=self.device)  # the GRU's state before the rollout's first step
        self.updates = 0
        self.next_exploitability = 0  # env steps: measured at the first update, then every interval
        self.exploitability_curve: list[tuple[int, float, float]] = []  # (env steps, learned policy, trained networks)

    @property
    def policy_nets(self) -> BeliefNetworks:
        """The learned policy's networks: the Polyak average of the trained ones (or those without averaging)."""
        return self.nets if self.average is None else self.average

    @torch.no_grad()
    def _update_average(self) -> None:
        if self.average is not None:
            for average, trained in zip(self.average.parameters(), self.nets.parameters()):
                average.lerp_(trained, 1 - self.config.average_decay)

    def _new_networks(self) -> BeliefNetworks:
        c = self.config
        return BeliefNetworks(
            self.obs_size, self.n_agents, self.rules.ranks, c.hidden_size, c.belief_size, self.variational, c.min_std, c.init_std
        ).to(self.device)

    # ------------------------------------------------------------------ opponents
    @property
    def opponent_names(self) -> list[str]:
        """Names of the controller codes: ``self``, the fixed strategies, ``pool``."""
        return ["self", *(s.name for s in self.strategies), "pool"]

    def _draw_opponents(self, where: torch.Tensor) -> None:
        """New opponents (and learner seats) for the envs ``where`` ``[B]`` is True: tensor ops, no host sync."""
        c, F_, P = self.config, len(self.strategies), len(self.pool)
        if self._cumulative is None or len(self._cumulative) != 1 + F_ + P:  # the pool grew: new weights
            weights = [1.0 - (c.fixed_fraction if F_ else 0.0) - (c.pool_fraction if P else 0.0)]
            weights += [c.fixed_fraction / max(F_, 1)] * F_ + [c.pool_fraction / max(P, 1)] * P
            self._cumulative = torch.tensor(np.cumsum(weights) / sum(weights), dtype=torch.float32, device=self.device)
        B = self.num_envs
        draw = torch.rand(B, generator=self.generator, device=self.device)
        seat = torch.randint(self.n_agents, (B,), generator=self.generator, device=self.device)
        controller = torch.searchsorted(self._cumulative, draw, right=True).clamp(max=F_ + P)
        self.controller = torch.where(where, controller, self.controller)
        self.learner_seat = torch.where(where, seat, self.learner_seat)

    def _add_snapshot(self) -> None:
        snapshot = copy.deepcopy(self.policy_nets).requires_grad_(False)
        if len(self.pool) < self.config.pool_size:
            self.pool.append(snapshot)
        else:
            self.pool[self.pool_next] = snapshot
            self.pool_next = (self.pool_next + 1) % self.config.pool_size

    # ------------------------------------------------------------------ acting
    def initial_hidden(self, num_envs: int) -> torch.Tensor:
        """``[B, N, H + 4]``: the GRU's state and the opponents' last action (one-hot), zeros at a hand's start."""
        return torch.zeros(num_envs, self.n_agents, self.config.hidden_size + N_ACTIONS, device=self.device)

    def _next_hidden(self, gru_state: torch.Tensor, actions: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        """The hidden after a step: the GRU's state and, for every seat but the actor, the actor's action one-hot."""
        acting = action_mask.sum(-1) > 1  # [B, N]: the seat to act (others may only check)
        taken = (one_hot(actions, N_ACTIONS) * acting[..., None]).sum(1, keepdim=True)  # [B, 1, 4]
        return torch.cat((gru_state, taken * ~acting[..., None]), -1)

    def _forward(self, nets: BeliefNetworks, obs, last_action, gru_state, action_mask, noise):
        gru_state, prior, posterior = nets.step(obs, last_action, gru_state)
        logits = nets.logits(nets.joint(prior, posterior, noise), action_mask)
        return gru_state, logits, prior, posterior

    def _noise(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor | None:
        if not self.variational:
            return None
        return torch.randn(*shape, 2 * self.config.belief_size, generator=generator or self.generator, device=self.device)

    @torch.no_grad()
    def act(self, out: EnvStep, hidden: torch.Tensor, explore: bool, env_steps: int = 0):
        """Actions ``[B, N]`` for every seat, the hidden state after them, and ``act_info``. ``explore``: the
        training hands (the learner's seats sample from its policy on sampled beliefs, the other seats are
        played by each env's opponent), with what ``observe`` records of them in ``act_info``. Otherwise the
        learner plays every seat greedily (the beliefs' means, masked argmax) and ``act_info`` is ``{}``."""
        B, N, H = out.obs.shape[0], self.n_agents, self.config.hidden_size
        last_action, gru_state = hidden[..., H:], hidden[..., :H]
        if not explore:
            gru_state, logits, _, _ = self._forward(self.policy_nets, out.obs, last_action, gru_state, out.action_mask, None)
            actions = logits.argmax(-1)
            return actions, self._next_hidden(gru_state, actions, out.action_mask), {}

        noise = self._noise((B, N), None)
        new_state, logits, prior, posterior = self._forward(self.nets, out.obs, last_action, gru_state, out.action_mask, noise)
        value = self.nets.values(self.nets.joint(prior, posterior))
        learner = (self.controller == SELF_PLAY)[:, None] | (self._seats == self.learner_seat[:, None])
        log_probs = torch.log_softmax(logits, -1)
        chosen = log_probs
        for k, strategy in enumerate(self.strategies):
            theirs = ((self.controller == 1 + k)[:, None] & ~learner)[..., None]
            chosen = torch.where(theirs, strategy.probabilities(out.obs, out.action_mask).log(), chosen)
        if self.pool:
            rows_of = (self.controller[:, None] - 1 - len(self.strategies)).expand(B, N).reshape(-1)
            flat_learner = learner.reshape(-1)
            chosen, new_state = chosen.reshape(B * N, -1).clone(), new_state.reshape(B * N, -1).clone()
            for j, snapshot in enumerate(self.pool):
                rows = ((rows_of == j) & ~flat_learner).nonzero().squeeze(-1)
                if rows.numel():
                    state_j, logits_j, _, _ = self._forward(
                        snapshot,
                        out.obs.reshape(B * N, -1)[rows],
                        last_action.reshape(B * N, -1)[rows],
                        gru_state.reshape(B * N, -1)[rows],
                        out.action_mask.reshape(B * N, -1)[rows],
                        self._noise((rows.numel(),), None),
                    )
                    chosen[rows], new_state[rows] = torch.log_softmax(logits_j, -1), state_j
            chosen, new_state = chosen.view(B, N, -1), new_state.view(B, N, -1)
        actions = sample_actions(chosen, self.generator)
        new_hidden = self._next_hidden(new_state, actions, out.action_mask)
        act_info = {
            "hidden": hidden,
            "next_hidden": new_hidden,
            "log_prob": log_probs.gather(-1, actions[..., None]).squeeze(-1),
            "value": value,
            "learner": learner,
            "controller": self.controller,
        }
        if noise is not None:
            act_info["noise"] = noise
        return actions, new_hidden, act_info

    @torch.no_grad()
    def play(self, out: EnvStep, hidden: torch.Tensor, generator: torch.Generator | None = None):
        """The learner's stochastic policy on every seat (sampled beliefs, sampled actions), recording nothing:
        the player of :func:`marl_baselines.head_to_head.chips_per_hand`."""
        B, N, H = out.obs.shape[0], self.n_agents, self.config.hidden_size
        noise = self._noise((B, N), generator)
        gru_state, logits, _, _ = self._forward(self.policy_nets, out.obs, hidden[..., H:], hidden[..., :H], out.action_mask, noise)
        actions = sample_actions(torch.log_softmax(logits, -1), generator)
        return actions, self._next_hidden(gru_state, actions, out.action_mask)

    # ------------------------------------------------------------------ recording and training
    def start(self, out: EnvStep) -> None:
        """The envs were reset (or a run resumed without its rollout): begin a new rollout."""
        self.buffer.clear()

    @torch.no_grad()
    def _bootstrap_values(self, out: EnvStep, next_hidden: torch.Tensor) -> torch.Tensor:
        """Normalised V of the observation after the step (``final_obs``), from the state the step left."""
        H = self.config.hidden_size
        _, prior, posterior = self.nets.step(out.final_obs, next_hidden[..., H:], next_hidden[..., :H])
        return self.nets.values(self.nets.joint(prior, posterior))

    @torch.no_grad()
    def observe(
        self, before: EnvStep, actions: torch.Tensor, act_info: dict[str, torch.Tensor], after: EnvStep, env_steps: int
    ) -> dict[str, float] | None:
        """Record the step taken at ``before`` with ``actions`` (``act_info``: what ``act(..., explore=True)``
        returned with them); train when the rollout is full."""
        if "log_prob" not in act_info:
            raise ValueError("observe() records a step of act(..., explore=True): pass the act_info it returned")
        H, hidden, t = self.config.hidden_size, act_info["hidden"], self.buffer.position
        if t == 0:
            self.initial_hidden_state = hidden[..., :H].clone()
        ended = episode_ended(after)
        # V after the step is the next step's V, except at a truncation and after the rollout's last step
        bootstrap = torch.zeros_like(after.reward)
        if t == self.buffer.steps - 1 or bool(after.truncated.any()):
            bootstrap = self._bootstrap_values(after, act_info["next_hidden"])
        if (cards := after.info.get("private_card")) is None:
            raise ValueError("MA-DVRL needs the env's info['private_card'] (each player's card rank at the step), as poker_v0 reports it")
        fields = {name: act_info[name] for name in ("log_prob", "learner", "controller", "noise") if name in act_info}
        fields.update(obs=before.obs, last_action=hidden[..., H:], action_mask=before.action_mask, alive=before.alive, actions=actions)
        self.buffer.add(
            act_info["value"],
            after.reward,
            torch.zeros_like(after.reward),
            after.terminated,
            after.truncated,
            env_ended=ended,
            bootstrap=bootstrap,
            cards=cards,
            **fields,
        )
        self._draw_opponents(ended)  # the next hands' opponents
        if not self.buffer.full:
            return None
        with torch.enable_grad():
            stats = self.train()
        self.buffer.clear()
        if self.updates % self.config.snapshot_interval == 0:
            self._add_snapshot()
        if self.config.exploitability_interval and env_steps >= self.next_exploitability:
            measured = (self.exploitability(), self.exploitability(trained=True) if self.average is not None else math.nan)
            self.exploitability_curve.append((env_steps, *measured))
            self.next_exploitability = (env_steps // self.config.exploitability_interval + 1) * self.config.exploitability_interval
        if self.config.exploitability_interval:
            stats["exploitability"], stats["exploitability_trained"] = self.exploitability_curve[-1][1:]
        stats["pool_size"] = float(len(self.pool))
        return stats

    def _targets(self) -> dict[str, torch.Tensor]:
        """Per ``[T, B, N, ...]``: each opponent's next action in the hand (-1: none in the rollout) and card."""
        data, N = self.buffer.extra, self.n_agents
        actions, acting, env_ended = data["actions"], data["action_mask"].sum(-1) > 1, data["env_ended"]
        T = actions.shape[0]
        upcoming = torch.full_like(actions[0], -1)  # [B, N]: seat m's next action from step t on
        next_action = torch.empty_like(actions)
        for t in reversed(range(T)):
            upcoming = torch.where(env_ended[t][:, None], -1, upcoming)
            upcoming = torch.where(acting[t], actions[t], upcoming)
            next_action[t] = upcoming
        opponents = (self._seats[:, None] + torch.arange(1, N, device=self.device)) % N  # [N, N-1]: seat n's opponents
        return {"next_actions": next_action[:, :, opponents], "opponent_cards": data["cards"][:, :, opponents]}

    def train(self) -> dict[str, float]:
        c, buffer, data = self.config, self.buffer, self.buffer.extra
        T, B, N = buffer.steps, self.num_envs, self.n_agents
        # V after step t: V of step t + 1 within the rollout, else (truncation, last step) the bootstrap.
        following = torch.cat((buffer.value[1:], data["bootstrap"][-1:]))
        truncated = buffer.ended & ~buffer.terminated
        buffer.final_value.copy_(torch.where(truncated, data["bootstrap"], following))
        normalised_values = buffer.value.clone()
        if c.normalize_values:
            buffer.value.copy_(self.value_norm.denormalize(normalised_values))
            buffer.final_value.copy_(self.value_norm.denormalize(buffer.final_value))
        advantages, returns = buffer.advantages(c.gamma, c.gae_lambda)
        buffer.value.copy_(normalised_values)
        value_weight = data["learner"] & data["alive"]
        decision = value_weight & (data["action_mask"].sum(-1) > 1)
        if c.normalize_values:
            self.value_norm.update(returns[value_weight])
            targets = self.value_norm.normalize(returns)
        else:
            targets = returns
        starts = torch.cat((torch.zeros(1, B, dtype=torch.bool, device=self.device), data["env_ended"][:-1]))[..., None].expand(T, B, N)
        columns = {name: tensor.flatten(1, 2) for name, tensor in data.items() if tensor.dim() >= 3}  # [T, B*N, ...]
        columns.update({name: tensor.flatten(1, 2) for name, tensor in self._targets().items()})
        columns.update(advantages=advantages.flatten(1, 2), targets=targets.flatten(1, 2), starts=starts.flatten(1, 2))
        columns.update(value_weight=value_weight.flatten(1, 2), decision=decision.flatten(1, 2))
        initial = self.initial_hidden_state.flatten(0, 1)
        count = B * N
        size = count // c.minibatches
        totals: dict[str, float] = {}
        steps = 0
        for _ in range(c.epochs):
            order = torch.randperm(count, generator=self.generator, device=self.device)
            for k in range(c.minibatches):
                index = order[k * size : (k + 1) * size] if k < c.minibatches - 1 else order[k * size :]
                batch = {name: tensor[:, index] for name, tensor in columns.items()}
                loss, stats = self.loss(batch, initial[index])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip > 0:
                    stats["grad_norm"] = self.gradients.clip(c.grad_clip)
                self.optimizer.step()
                self._update_average()
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + float(value)
                steps += 1
        self.updates += 1
        result = {key: value / steps for key, value in totals.items()}
        result.update(self._chips_by_opponent())
        return result

    def loss(self, batch: dict[str, torch.Tensor], initial_hidden: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss of one minibatch of seat sequences ``[T, C, ...]`` (from the GRU states ``initial_hidden [C, H]``)."""
        return minibatch_loss(self.nets, self.config, self.variational, batch, initial_hidden)

    def _chips_by_opponent(self) -> dict[str, float]:
        """The learner's chips per hand in this rollout's finished hands, by kind of opponent (pool members together)."""
        data, buffer = self.buffer.extra, self.buffer
        kinds = len(self.strategies) + 2
        kind = data["controller"].clamp(max=kinds - 1)  # [T, B]
        learner_chips = (buffer.reward * data["learner"]).sum(-1)  # self-play: both seats, zero-sum
        chips = torch.zeros(kinds, device=self.device).index_add_(0, kind.flatten(), learner_chips.flatten())
        hands = torch.zeros(kinds, device=self.device).index_add_(0, kind.flatten(), data["env_ended"].flatten().float())
        per_hand = (chips / hands).tolist()  # hands in progress at the rollout's edges count partly: a small bias
        return {f"chips_per_hand/{name}": value for name, value in zip(self.opponent_names, per_hand) if name != "self"}

    # ------------------------------------------------------------------ exact evaluation
    def policy_table(self, samples: int | None = None, trained: bool = False) -> np.ndarray:
        """``[I, 4]``: the learned policy's action probabilities at every information set of ``poker_analysis``
        (``samples`` draws of the beliefs, default ``belief_samples``; 0: the beliefs' means).
        ``trained``: the trained networks' policy rather than their average."""
        if self.hands != 1:
            raise ValueError(f"the exact tools evaluate single hands; this env plays matches of {self.hands}")
        inputs = infoset_inputs(self.rules.variant, self.n_agents, self.rules.ranks)
        samples = self.config.belief_samples if samples is None else samples
        nets = self.nets if trained else self.policy_nets
        return inputs.policy_table(functools.partial(belief_policy, nets, samples, self.seed), next(nets.parameters()).device)

    def exploitability(self, samples: int | None = None, trained: bool = False) -> float:
        """Exploitability (NashConv / n_players, chips per hand) of the learned policy (``trained``: of the
        trained networks'), exactly by ``poker_analysis``."""
        table = self.policy_table(samples, trained)
        return poker_game(self.rules.variant, self.n_agents, self.rules.ranks).exploitability(table)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, include_buffer: bool = True) -> dict:
        return {
            "buffer": {"rollout": self.buffer.state_dict(), "initial_hidden_state": self.initial_hidden_state} if include_buffer else None,
            "nets": self.nets.state_dict(),
            "average": None if self.average is None else self.average.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "value_norm": self.value_norm.state_dict(),
            "pool": [snapshot.state_dict() for snapshot in self.pool],
            "pool_next": self.pool_next,
            "controller": self.controller,
            "learner_seat": self.learner_seat,
            "generator": self.generator.get_state(),
            "updates": self.updates,
            "next_exploitability": self.next_exploitability,
            "exploitability_curve": list(self.exploitability_curve),
        }

    def load_state_dict(self, state: dict) -> None:
        self.nets.load_state_dict(state["nets"])
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.value_norm.load_state_dict(state["value_norm"])
        self.pool = []
        for weights in state["pool"]:
            snapshot = self._new_networks().requires_grad_(False)
            snapshot.load_state_dict(weights)
            self.pool.append(snapshot)
        self.pool_next = state["pool_next"]
        self.controller.copy_(state["controller"])
        self.learner_seat.copy_(state["learner_seat"])
        self.generator.set_state(state["generator"])
        self.updates, self.next_exploitability = state["updates"], state["next_exploitability"]
        self.exploitability_curve = list(state["exploitability_curve"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"]["rollout"])
            self.initial_hidden_state.copy_(state["buffer"]["initial_hidden_state"])

    def data_parallel_parts(self) -> DataParallelParts:
        """Under torchrun (:mod:`marl_baselines.distributed`): the networks every rank holds alike (the
        pool's copies included), the gradients averaged over the ranks, the value normaliser fed every rank's returns."""
        networks = (self.nets, self.value_norm, *((self.average,) if self.average is not None else ()), *self.pool)
        return DataParallelParts(networks=networks, gradients=(self.gradients,), statistics=(self.value_norm,))
