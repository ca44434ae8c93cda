"""Greedy evaluation, random play, and the table of a run's results.

    result = evaluate(algo, env, seed=0)                     # one greedy episode in each of env's num_envs envs
    baseline = evaluate(RandomPolicy(env), env, seed=0)      # uniformly random legal actions
    print(summary_table(train("qmix", "goal_grid_v0")))     # what marl-train prints at the end

Returns are summed over agents and steps (EPyMARL's convention); ``success`` is the fraction of
evaluation episodes that ended in a terminal state rather than at the time limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from marl_baselines.buffers import episode_ended

__all__ = ["RunResult", "RandomPolicy", "evaluate", "summary_table"]


@dataclass
class RunResult:
    """What a call of :func:`~marl_baselines.train.train` did: ``env_steps`` is where the run now stands, ``seconds`` this
    session's wall time, ``start_steps`` where this session began (0, or the resumed checkpoint's)."""

    algo: str
    env: str
    env_steps: int
    seconds: float
    run_dir: Path
    evaluations: list[dict[str, float]] = field(default_factory=list)
    start_steps: int = 0

    @property
    def final(self) -> dict[str, float]:
        return self.evaluations[-1] if self.evaluations else {}

    def training_curve(self) -> list[tuple[int, float, dict[str, float]]]:
        """This session's evaluations as ``(env steps, training seconds so far, evaluation)``: the
        wall time up to each evaluation with every evaluation's own time left out."""
        curve, evaluating = [], 0.0
        for evaluation in self.evaluations:
            if evaluation["env_steps"] > self.start_steps:
                evaluating += evaluation["eval_seconds"]
                curve.append((evaluation["env_steps"], evaluation["seconds"] - evaluating, evaluation))
        return curve

    @property
    def training_seconds(self) -> float:
        """This session's wall time less its evaluations."""
        return self.seconds - sum(e["eval_seconds"] for e in self.evaluations if e["env_steps"] > self.start_steps)


class RandomPolicy:
    """Uniformly random legal actions: the baseline results are compared with (``evaluate(RandomPolicy(env), env, seed)``)."""

    def __init__(self, env, seed: int = 0):
        self.env, self.generator = env, torch.Generator().manual_seed(seed)

    def initial_hidden(self, num_envs: int) -> None:
        return None

    def act(self, out, hidden, explore: bool, env_steps: int = 0):
        return self.env.random_actions(self.generator), None, {}


@torch.no_grad()
def evaluate(algo, env, seed: int) -> dict[str, float]:
    """One greedy episode in each of ``env.num_envs`` envs: mean return (with a 95% CI half-width),
    success rate, mean length, and the mean of each numeric info at the episode's end."""
    out = env.reset(seed=seed)
    hidden = algo.initial_hidden(env.num_envs)
    B = env.num_envs
    finished = torch.zeros(B, dtype=torch.bool, device=env.device)
    returns = torch.zeros(B, device=env.device)
    lengths = torch.zeros(B, device=env.device)
    success = torch.zeros(B, dtype=torch.bool, device=env.device)
    infos: dict[str, torch.Tensor] = {}
    limit = env.max_episode_steps or 10_000
    for _ in range(limit):
        actions, hidden, _ = algo.act(out, hidden, explore=False)
        out = env.step(actions)
        running = ~finished
        returns += out.reward.sum(-1) * running
        lengths += running
        ended = episode_ended(out) & running
        success |= ended & out.terminated.any(-1) & ~out.truncated.any(-1)
        for key, value in out.info.items():
            value = value.float().reshape(B, -1).mean(-1)
            infos[key] = torch.where(ended, value, infos.get(key, torch.zeros_like(value)))
        finished |= ended
        if bool(finished.all()):
            break
    mean, std = float(returns.mean()), float(returns.std()) if B > 1 else 0.0
    result = {
        "return": mean,
        "return_ci95": 1.96 * std / math.sqrt(B),
        "success": float(success.float().mean()),
        "length": float(lengths.mean()),
    }
    result.update({f"info/{k}": float(v.mean()) for k, v in infos.items()})
    return result


def summary_table(result: RunResult) -> str:
    """The results table ``marl-train`` prints: the run's final evaluation, and this session's speed."""
    final = result.final
    trained = result.env_steps - result.start_steps  # this session's env steps
    steps = f"{result.env_steps:,}" + (f" ({f'{trained:,}' if trained else 'none'} this session)" if result.start_steps else "")
    rows = [("algorithm", result.algo), ("env", result.env), ("env steps", steps)]
    if trained:
        rows += [("wall time", f"{result.seconds:.1f} s"), ("env steps/s", f"{trained / max(result.seconds, 1e-9):,.0f}")]
    rows += [
        ("greedy return", f"{final.get('return', float('nan')):.2f} ± {final.get('return_ci95', float('nan')):.2f} (95% CI)"),
        ("greedy success", f"{final.get('success', float('nan')):.0%}"),
        ("episode length", f"{final.get('length', float('nan')):.1f}"),
    ]
    rows += [(key, f"{value:.3f}") for key, value in final.items() if key.startswith("info/")]
    rows.append(("logs", str(result.run_dir)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(["| result | value |", "|---|---|"] + [f"| {k.ljust(width)} | {v} |" for k, v in rows])
