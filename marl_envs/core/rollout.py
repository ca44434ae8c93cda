"""``BatchedEnv.rollout``: many steps with a policy, stacked; after ``compile``, several steps per compiled call.

The functions here are ``BatchedEnv``'s methods ``rollout``, ``_advance_steps`` and
``_random_policy`` (the class binds them, and they are final like the rest of its mechanism),
kept in their own module because they are one part: what a rollout takes, runs and returns.
``advance_steps`` is what ``BatchedEnv.compile`` compiles for a rollout: ``steps_per_call``
steps unrolled in one graph, the policy, the step, the sync-free auto-reset and the stacking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from marl_envs.core.checks import int_at_least
from marl_envs.core.records import EnvStep, ResetNeeded, Rollout
from marl_envs.core.rng import seeds_for

if TYPE_CHECKING:
    from marl_envs.core.batched import BatchedEnv

__all__ = ["advance_steps", "fields_kept", "joined", "random_policy", "rollout"]


def rollout(
    self: BatchedEnv,
    steps: int,
    policy: Callable[[EnvStep], torch.Tensor] | None = None,
    *,
    seed: int | Sequence[int] | None = None,
    keep: Sequence[str] | None = None,
) -> Rollout:
    """Take ``steps`` steps (with auto-reset, as ``step``), choosing actions with ``policy``; return them stacked.

    ``policy(step) -> actions`` gets the ``EnvStep`` of the previous step (its ``obs``,
    ``state``, ``alive``, ``action_mask`` and ``adjacency`` are the current ones; at the
    rollout's first step, an ``EnvStep`` of the current observations with zero rewards, as
    ``reset`` returns) and returns actions as ``step`` takes them. Without a policy the actions
    are uniformly random legal ones (as ``random_actions``) drawn from counter-based streams of
    their own, one per sub-env: ``seed`` seeds them as ``reset``'s seeds the env (None
    continues them; the first time, from OS entropy), so a seeded reset and a seeded rollout
    replay exactly, compiled or not. The env's own random streams are untouched by them.

    After ``compile()``, ``steps_per_call`` steps (see ``compile``) run in each call of one
    compiled function: the policy, the step, the auto-reset and the stacking, with no Python
    between steps, which is what pays at small batches. That needs an env with an ``Episode``
    (every env of the suite: the auto-reset takes the sync-free path there, with the same
    results) and actions that need no checking on the host: the random policy's, or a policy's
    with ``validate_actions=False``. Otherwise, and for the last ``steps % steps_per_call`` steps,
    the rollout steps one step at a time, checking each step's actions as ``step`` does. A
    compiled policy's actions still have their kind and shape checked (at compilation). A refused
    action raises at its step, which changes nothing; the steps before it stand.

    ``keep``: the ``EnvStep`` fields to return (names, ``"info"`` included); the others are None
    (``info`` an empty dict). None (default) keeps every field. Keeping only what a caller uses
    saves memory, and in a compiled rollout also the work of computing what nothing reads.
    """
    keep = fields_kept(keep)
    steps = int_at_least("steps", steps, 1)
    if policy is not None and not callable(policy):
        raise TypeError(f"policy must be callable (EnvStep -> actions) or None, got {type(policy).__name__}")
    if policy is not None and seed is not None:
        raise ValueError("seed seeds the random policy (policy=None); seed a policy of your own yourself")
    with self._tensor_mode():
        if not self._has_reset:
            raise ResetNeeded("call reset() before rollout()")
        if policy is None and (seed is not None or not self._action_rng_seeded):
            self._action_rng.seed(seeds_for(seed, self.num_envs))
            self._action_rng_seeded = True
        current = self._current_step()
        pieces = []
        done = 0
        if self._advance_steps_compiled is not None and self.episode is not None and (policy is None or not self.validate_actions):
            per_call = self._compile_options["steps_per_call"]
            # The compiled steps take the sync-free auto-reset (no data-dependent branch); the env's
            # own setting comes back however the calls end (a refused action raises in them).
            sync_free, self.sync_free = self.sync_free, True
            try:
                while steps - done >= per_call:
                    current, piece = self._advance_steps_compiled(current, policy, per_call, keep)
                    pieces.append(piece)
                    done += per_call
            finally:
                self.sync_free = sync_free
        taken = []
        for _ in range(steps - done):
            # The random policy's actions are legal by construction: only a policy's are checked (a host sync with validate_actions).
            actions = self.check_actions(policy(current)) if policy is not None else self._random_policy(current)
            current = self._auto_reset(*self._advance(actions))
            taken.append((actions, current))
        if taken:
            pieces.append(joined(taken, torch.stack, keep))
        return Rollout(*(pieces[0] if len(pieces) == 1 else joined(pieces, torch.cat, keep)))


def random_policy(self: BatchedEnv, current: EnvStep) -> torch.Tensor:
    """``rollout``'s policy when it is given none: uniformly random legal actions from ``_action_rng``."""
    shape = (self.n_agents, self.action_size)
    uniform = self._action_rng.uniform(shape)
    normal = None if self.discrete_actions else self._action_rng.normal(shape)
    return self.actions.sample_from(uniform, normal, current.action_mask)


def advance_steps(self: BatchedEnv, current: EnvStep, policy: Callable[[EnvStep], torch.Tensor] | None, count: int, keep: tuple[str, ...]):
    """``count`` steps of ``rollout`` in one function (what ``compile`` compiles for it): the policy's
    actions (kind and shape checked), the step and the auto-reset, on the sync-free path (``rollout``
    sets ``sync_free`` around the calls). Returns the last step's ``EnvStep`` and the steps stacked
    (the ``keep`` fields)."""
    act = policy if policy is not None else self._random_policy
    taken = []
    for _ in range(count):
        actions = self.actions.check(act(current), self.num_envs, validate=False)
        current = self._auto_reset(*self._advance_eager(actions))
        taken.append((actions, current))
    return current, joined(taken, torch.stack, keep)


def fields_kept(keep: Sequence[str] | None) -> tuple[str, ...]:
    """``rollout``'s ``keep``, checked: the ``EnvStep`` field names to return, in ``EnvStep``'s order."""
    if keep is None:
        return EnvStep._fields
    if isinstance(keep, str):
        keep = (keep,)
    unknown = [name for name in keep if name not in EnvStep._fields]
    if unknown:
        raise ValueError(f"keep: unknown EnvStep field(s) {unknown}; choose from {list(EnvStep._fields)}")
    return tuple(name for name in EnvStep._fields if name in keep)


def joined(pieces: list[tuple[torch.Tensor, EnvStep]], join: Callable, keep: tuple[str, ...]) -> tuple[torch.Tensor, EnvStep]:
    """Apply ``join`` (``torch.stack`` or ``torch.cat``) along dim 0 to the actions and the ``keep``
    fields of ``(actions, EnvStep)`` pieces; the other fields become None (``info``: ``{}``)."""
    fields = []
    for name in EnvStep._fields:
        values = [getattr(step, name) for _, step in pieces]
        if name == "info":
            fields.append({key: join([value[key] for value in values]) for key in values[0]} if name in keep else {})
        else:
            fields.append(None if values[0] is None or name not in keep else join(values))
    return join([actions for actions, _ in pieces]), EnvStep(*fields)
