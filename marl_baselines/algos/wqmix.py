"""Weighted QMIX: CW-QMIX and OW-QMIX (Rashid, Farquhar, Peng and Whiteson, NeurIPS 2020,
"Weighted QMIX: Expanding Monotonic Value Function Factorisation for Deep Multi-Agent
Reinforcement Learning").

QMIX fits its monotonic Q_tot to the targets with every joint action weighted alike. Where the
true joint-action values are not monotonic in the agents' utilities (the penalty and climbing
games: miscoordinating on the optimum is punished) that projection can rank a safe joint action
above the optimum, and the greedy policy settles there. Weighted QMIX keeps QMIX's agents and
monotonic mixer for acting and weights its loss so that the fit is exact where it matters, the
better joint actions. Two networks learn from the same batches:

* Q̂* (``extra["central_agent"]`` and ``extra["central_mixer"]``): an unrestricted estimate of the
  joint-action value, its own agent networks' values of the chosen actions mixed by a feed-forward
  network of ``[s, Q̂_1(u_1), ..., Q̂_N(u_N)]`` (:class:`~marl_baselines.nets.CentralMixer`), trained
  without weights: ``L* = sum (Q̂*(s, u) - y)^2``.
* QMIX's Q_tot (the agents and :class:`~marl_baselines.nets.QMixer`), trained with weights:
  ``L = sum w(s, u) (Q_tot(s, u) - y)^2``.

Both regress on the same target, bootstrapped from Q̂*'s target network at Q_tot's greedy joint
action û' (each agent's argmax, as QMIX's monotonicity makes it, of the online agents with
``double_q``): ``y = r + gamma * Q̂*_target(s', û')`` (or its n-step / TD(lambda) form from the same
bootstrap values). The weights, with 0 < ``alpha`` <= 1:

* CW (centrally weighted): ``w = 1`` if ``y > Q̂*_target(s, û)`` or ``u = û`` (û: Q_tot's greedy
  joint action at s), else alpha: joint actions whose target beats the current greedy one's
  estimated value, and the greedy one itself, are fitted exactly; the rest count alpha.
* OW (optimistically weighted): ``w = 1`` if ``Q_tot(s, u) < y``, else alpha: underestimates weigh
  fully, overestimates only alpha (hysteretic Q-learning's optimism on the mixed value).

The loss is ``L + L*`` with one Adam optimiser over both; target networks of both are updated
together (hard copies or Polyak averaging, as QMIX's).

Relation to the reference implementation (oxwhirl/wqmix, PyMARL's ``max_q_learner``; EPyMARL and
BenchMARL have no Weighted QMIX): the same two losses, the same targets and weights (CW's "or
``u = û``" included), ``alpha = 0.1`` (its ``w``), Q̂*'s own agent networks of one value per action
(``central_action_embed = 1``) and its feed-forward mixer of 256 units. Departures: Q̂*'s agent
networks are the same kind as QMIX's (``agent``, ``recurrent``; the reference's are always GRUs)
with their own width ``central_hidden_size``; everything this project's QMIX offers (chunks with
burn-in, n-step and TD(lambda) targets, curiosity, communicating agents, ``double_q=False``) works
here too, where the reference requires double Q-learning and 1-step or TD(lambda) targets.

Everything else (episode buffer, epsilon-greedy acting, targets, checkpoints, torchrun) is
:class:`~marl_baselines.algos.value_decomp.ValueDecomposition`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from marl_baselines.agents import build_agent_network
from marl_baselines.algos.value_decomp import ValueDecompConfig, ValueDecomposition
from marl_baselines.buffers import EpisodeBatch
from marl_baselines.config import check_ranges
from marl_baselines.nets import CentralMixer, masked_argmax

__all__ = ["WQMIXConfig", "WeightedQMIX"]


@dataclass
class WQMIXConfig(ValueDecompConfig):
    """Hyper-parameters of CW-QMIX / OW-QMIX: QMIX's (mixer_embed, hypernet_* for its monotonic
    mixer) and those of the unrestricted Q* (defaults: the reference implementation's)."""

    alpha: float = 0.1
    """Weight of the joint actions the weighting plays down (0 < alpha <= 1; 1 is plain QMIX's loss, plus Q*'s)."""
    central_hidden_size: int = 64
    """Width of Q*'s own agent networks (the same kind as QMIX's: agent, recurrent)."""
    central_mixer_embed: int = 256
    """Width of Q*'s feed-forward mixer (three hidden layers)."""

    def check(self) -> None:
        super().check()
        check_ranges(self, at_least_one=("central_hidden_size", "central_mixer_embed"))
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")


class WeightedQMIX(ValueDecomposition):
    """CW-QMIX (``weighting="cw"``) or OW-QMIX (``"ow"``) for a ``VecEnv`` with discrete actions and an
    episode limit (what their :class:`~marl_baselines.algos.AlgorithmSpec` declares and checks)."""

    WEIGHTINGS = ("cw", "ow")

    def __init__(self, env, config: WQMIXConfig, weighting: str, seed: int = 0):
        if weighting not in self.WEIGHTINGS:
            raise ValueError(f"weighting must be one of {self.WEIGHTINGS}, got {weighting!r}")
        if not isinstance(config, WQMIXConfig):
            raise TypeError(f"cw_qmix/ow_qmix take a WQMIXConfig, got {type(config).__name__}")
        self.weighting = weighting
        super().__init__(env, config, "qmix", seed)

    def extra_networks(self, env) -> dict[str, nn.Module]:
        """Q*'s agent networks (one value per action) and its feed-forward mixer."""
        c = self.config
        agent = build_agent_network(
            c, env.obs_size, env.action_size, env.n_agents, c.central_hidden_size, c.recurrent, c.share_parameters, c.agent_id
        )
        return {"central_agent": agent, "central_mixer": CentralMixer(env.n_agents, env.state_size, c.central_mixer_embed)}

    def loss(self, batch: EpisodeBatch) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """QMIX's weighted loss plus Q*'s unweighted one, on one batch (see the module documentation)."""
        c = self.config
        central_agent, central_mixer = self.extra["central_agent"], self.extra["central_mixer"]
        target_central_agent, target_central_mixer = self.target_extra["central_agent"], self.target_extra["central_mixer"]
        alive_before, alive_after = batch.alive[:, :-1], batch.alive[:, 1:]
        q = self.agent.forward_sequence(batch.obs, alive=batch.alive)  # [b, L+1, N, A]
        central_q = central_agent.forward_sequence(batch.obs, alive=batch.alive)
        with torch.no_grad():
            target_q = self.target_agent.forward_sequence(batch.obs, alive=batch.alive) if not c.double_q else q
            target_central_q = target_central_agent.forward_sequence(batch.obs, alive=batch.alive)
            # y = r + gamma Q*_target(s', û'), û' Q_tot's greedy joint action at s'
            next_actions = self.next_actions(q, target_q, batch)
            next_central = target_central_q[:, 1:].gather(-1, next_actions[..., None]).squeeze(-1) * alive_after
            next_value = target_central_mixer(next_central, batch.state[:, 1:])
            targets = self._returns(self.team_reward(batch), next_value, batch.terminal, batch.filled)

        chosen = q[:, :-1].gather(-1, batch.actions[..., None]).squeeze(-1) * alive_before
        q_tot = self.mixer(chosen, batch.state[:, :-1])
        central_chosen = central_q[:, :-1].gather(-1, batch.actions[..., None]).squeeze(-1) * alive_before
        central_tot = central_mixer(central_chosen, batch.state[:, :-1])
        weights = self.weights(q, q_tot, target_central_q, targets, batch)

        valid = batch.trained
        count = valid.sum().clamp(min=1)
        qmix_loss = (weights * (q_tot - targets).pow(2) * valid).sum() / count
        central_loss = ((central_tot - targets).pow(2) * valid).sum() / count
        with torch.no_grad():
            alive = alive_before & valid[..., None]
            stats = {
                "q_taken": (chosen * alive).sum() / alive.sum().clamp(min=1),
                "target": (targets * valid).sum() / count,
                "qmix_loss": qmix_loss.detach(),
                "central_loss": central_loss.detach(),
                "central_q_taken": (central_tot * valid).sum() / count,
                "weight": (weights * valid).sum() / count,
            }
        return qmix_loss + central_loss, stats

    @torch.no_grad()
    def weights(
        self, q: torch.Tensor, q_tot: torch.Tensor, target_central_q: torch.Tensor, targets: torch.Tensor, batch: EpisodeBatch
    ) -> torch.Tensor:
        """Each step's weight ``[b, L]`` in QMIX's loss: 1 or alpha, by CW's or OW's rule.

        ``q`` and ``target_central_q``: the agents' and Q*'s target agents' values ``[b, L+1, N, A]``;
        ``q_tot`` and ``targets`` ``[b, L]``."""
        alpha = self.config.alpha
        if self.weighting == "ow":
            return torch.where(q_tot < targets, 1.0, alpha)
        alive = batch.alive[:, :-1]
        mask = batch.action_mask[:, :-1] if batch.action_mask is not None else None
        greedy = masked_argmax(q.detach()[:, :-1], mask)  # û: Q_tot's greedy joint action at s
        # agents that have left take no action: they agree with any joint action
        is_greedy = ((batch.actions == greedy) | ~alive).all(-1)
        greedy_central = target_central_q[:, :-1].gather(-1, greedy[..., None]).squeeze(-1) * alive
        greedy_value = self.target_extra["central_mixer"](greedy_central, batch.state[:, :-1])  # Q*_target(s, û)
        return torch.where(is_greedy | (targets > greedy_value), 1.0, alpha)
