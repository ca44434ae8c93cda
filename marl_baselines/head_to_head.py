"""Head-to-head play: chips per hand of one poker player against another, with a confidence interval.

A player is an object with ``initial_hidden(num_envs)`` and ``play(out, hidden, generator) ->
(actions [B, N], hidden)`` (an MA-DVRL / gru_ac algorithm), or a fixed strategy with
``probabilities(obs, action_mask)`` (:class:`marl_envs.analysis.poker_strategies.FixedStrategy`),
which plays by sampling those probabilities::

    result = chips_per_hand(algo, FixedStrategy("hand_strength", algo.rules), hands=20_000, variant="leduc")
    result["mean"], result["ci95"]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from marl_baselines.buffers import episode_ended
from marl_baselines.vec import make_vec_env
from marl_envs import EnvStep

__all__ = ["chips_per_hand", "sample_actions", "t_interval"]


def sample_actions(log_probabilities: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One action per row of ``log_probabilities [..., A]`` (-inf: never), by Gumbel-max on ``generator``."""
    uniform = torch.rand(log_probabilities.shape, generator=generator, device=log_probabilities.device)
    gumbel = -torch.log(-torch.log(uniform.clamp(min=1e-12, max=1 - 1e-7)))
    return (log_probabilities + gumbel).argmax(-1)


class _StrategyPlayer:
    """A fixed strategy as a player: it samples its probabilities on every seat and keeps no state."""

    def __init__(self, strategy):
        self.strategy = strategy

    def initial_hidden(self, num_envs: int) -> None:
        return None

    def play(self, out: EnvStep, hidden: None, generator: torch.Generator | None = None):
        return sample_actions(self.strategy.probabilities(out.obs, out.action_mask).log(), generator), None


def _player(player):
    return player if hasattr(player, "play") else _StrategyPlayer(player)


def t_interval(values: torch.Tensor | np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the two-sided Student-t confidence interval of the mean."""
    from scipy import stats

    values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, np.float64).reshape(-1)
    n = len(values)
    if n < 2:
        return float(values.mean()) if n else float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return float(values.mean()), float(half)


@torch.no_grad()
def chips_per_hand(
    player, opponent, hands: int = 20_000, seed: int = 0, device: str | torch.device = "cpu", **env_kwargs
) -> dict[str, float]:
    """Chips ``player`` wins per hand against ``opponent`` on ``poker_v0``: one hand in each of ``hands``
    envs at once, ``player`` on seat ``b % n_players`` of env b (every position equally often),
    ``opponent`` on the others (players as in the module doc). Returns ``mean``, ``ci95``
    (t-interval half-width) and ``hands``.
    """
    player, opponent = _player(player), _player(opponent)
    env = make_vec_env("poker_v0", hands, device, **env_kwargs)
    out = env.reset(seed=seed)
    generator = torch.Generator(device=env.device).manual_seed(seed)
    seat = torch.arange(hands, device=env.device) % env.n_agents
    is_player = torch.arange(env.n_agents, device=env.device) == seat[:, None]
    hidden_player, hidden_opponent = player.initial_hidden(hands), opponent.initial_hidden(hands)
    total = torch.zeros(hands, device=env.device)
    finished = torch.zeros(hands, dtype=torch.bool, device=env.device)
    while not bool(finished.all()):
        mine, hidden_player = player.play(out, hidden_player, generator)
        theirs, hidden_opponent = opponent.play(out, hidden_opponent, generator)
        out = env.step(torch.where(is_player, mine, theirs))
        total += out.reward.gather(1, seat[:, None]).squeeze(1) * ~finished
        finished |= episode_ended(out)
    per_hand = total / env_kwargs.get("hands", 1)
    mean, half = t_interval(per_hand)
    return {"mean": mean, "ci95": half, "hands": hands}
