"""``VecEnv``: the one environment interface every algorithm sees.

An algorithm gets ``num_envs`` (B) copies of an environment with ``n_agents`` (N) agents and
talks to them only through tensors on the training ``device``::

    from marl_baselines.vec import make_vec_env

    env = make_vec_env("goal_grid_v0", num_envs=8, device="cpu")   # native: a marl_envs BatchedEnv
    out = env.reset(seed=0)          # out.obs [8, 2, 6], out.state [8, 8]
    out = env.step(env.random_actions())   # discrete actions: int64 [B, N]

    from mpe2 import simple_spread_v3
    env = make_vec_env(simple_spread_v3.parallel_env, num_envs=8, continuous_actions=True)
    out = env.reset(seed=0)          # out.obs [8, 3, 18], out.state [8, 54]
    out = env.step(env.random_actions())   # continuous actions: float32 [B, N, A] = [8, 3, 5]

Two sources stand behind the same interface, so an algorithm cannot tell which one it got:

``NativeVecEnv`` (``source="native"``)
    A ``marl_envs.BatchedEnv`` on any device. Its tensors are passed through; nothing leaves
    the device during a rollout.
``PettingZooVecEnv`` (``source="pettingzoo"``)
    K copies of ANY PettingZoo ``ParallelEnv`` (built by a factory callable, e.g.
    ``mpe2.simple_spread_v3.parallel_env`` or ``lambda: marl_envs.make("goal_grid_v0")``),
    stepped one after the other and stacked into the same tensors.

Every ``reset(seed=None)`` and ``step(actions)`` returns a ``marl_envs.EnvStep``:

* ``obs`` float32 ``[B, N, O]``: each agent's observation, flattened, zero-padded at the end to
  the largest agent's size O (``obs_size``);
* ``state`` float32 ``[B, S]``: the global state (``state_size``);
* ``reward`` float32 ``[B, N]``: the step's reward, 0 for agents that had already left;
* ``terminated`` bool ``[B, N]``: the agent's episode ended in a terminal state (at this step or earlier);
* ``truncated`` bool ``[B, N]``: the agent's episode was cut (time limit);
* ``alive`` bool ``[B, N]``: the agent acts in the episode ``obs`` belongs to;
* ``final_obs`` float32 ``[B, N, O]`` and ``final_state`` float32 ``[B, S]``: before any
  auto-reset (the same tensors as ``obs``/``state`` where no copy reset);
* ``action_mask`` bool ``[B, N, A]``: the legal actions at ``obs`` when ``has_action_mask``, else None;
* ``adjacency`` bool ``[B, N, N]``: agent j is a neighbour of agent i, for envs with a graph, else None;
* ``info``: numeric per-step information, every value ``[B, N, ...]`` (per agent).

Same-step auto-reset: when the episode of copy b ends, ``step`` starts its next one before
returning; ``obs[b]``/``state[b]``/``alive[b]``/``action_mask[b]`` belong to the new episode,
``final_obs[b]``/``final_state[b]`` to the one that ended, and ``reward``, ``terminated``,
``truncated`` and ``info`` describe the step that ended it.

Actions: discrete envs int64 ``[B, N]`` (agent i's actions are ``0 .. action_sizes[i] - 1``);
continuous envs float32 ``[B, N, A]`` within ``[action_low, action_high]`` (agent i's action is
the first ``action_sizes[i]`` entries, flattened; the rest is padding and ignored). Actions of
agents that are not ``alive`` are ignored. Invalid actions (out of range, illegal under the
mask, NaN) raise a ValueError that names the agent and the copy.

``has_action_mask`` is True when the env masks actions, and also when agents have different
numbers of discrete actions: then the VecEnv itself masks each agent's padding actions (combined
with the env's mask), so ``argmax`` over masked logits never picks an action an agent lacks.

Seeding: ``reset(seed=s)`` gives copy b the seed ``s + b`` (both sources), so the pettingzoo
source over ``marl_envs.make(name)`` reproduces the native source batch for batch; ``reset()``
without a seed continues each copy's random stream.

What the pettingzoo source cannot give (it only sees the PettingZoo API):

* ``adjacency`` is always None;
* ``info``: only numeric values (numbers, bools, numeric arrays of one shape across agents),
  per agent as ``[B, N, ...]`` (bools stay bool, integers int64, floats float32); an agent
  without the key in a step's infos gets 0. The native source reports the same layout: its
  per-sub-env values ``[B]`` are repeated for every agent (an expanded view, ``[B, N]``).
  ``reset`` returns an empty ``info`` in both;
* for an agent that has left the episode: ``obs`` is zeros, the ``action_mask`` row allows all
  of its actions (a placeholder; the agent's actions are ignored), and ``terminated``/``truncated``
  keep the values they had when it left;
* ``state``: ``env.state()`` if the env has one, else the concatenation of the padded
  observations (``S = N * O``).

To learn whether the env has ``state()`` and whether its infos carry action masks, the
pettingzoo source resets its first copy once when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import marl_envs
from marl_baselines.vec.base import VecEnv, _num_envs
from marl_baselines.vec.native import NativeVecEnv
from marl_baselines.vec.pettingzoo import PettingZooVecEnv
from marl_envs import BatchedEnv, EnvStep

__all__ = ["EnvStep", "NativeVecEnv", "PettingZooVecEnv", "VecEnv", "make_vec_env"]

SOURCES = ("native", "pettingzoo")


def make_vec_env(
    env: str | Callable[..., Any] | BatchedEnv,
    num_envs: int,
    device: str | torch.device = "cpu",
    source: str | None = None,
    **env_kwargs: Any,
) -> VecEnv:
    """``num_envs`` copies of ``env`` behind the VecEnv interface.

    Args:
        env: a registered marl_envs name (``"goal_grid_v0"``; see ``marl_envs.list_envs()``), a
            callable returning a PettingZoo ``ParallelEnv`` (``mpe2.simple_spread_v3.parallel_env``),
            or an existing ``BatchedEnv`` (its ``num_envs`` must equal ``num_envs``).
        num_envs: B >= 1.
        device: where the returned tensors live (and, for the native source, where the env runs).
        source: ``"native"`` (default for names and BatchedEnvs) or ``"pettingzoo"`` (default for
            callables; for a name, K copies of ``marl_envs.make(name)``).
        env_kwargs: the env's keyword arguments (``max_cycles=50``, ``continuous_actions=True``).

    Example::

        env = make_vec_env("target_grid_v0", num_envs=16, device="cuda")        # native
        env = make_vec_env("target_grid_v0", 16, source="pettingzoo")           # same batches, via PettingZoo
        env = make_vec_env(simple_spread_v3.parallel_env, 16, max_cycles=25)    # any ParallelEnv
    """
    num_envs = _num_envs(num_envs)
    if source is not None and source not in SOURCES:
        raise ValueError(f"source must be None, 'native' or 'pettingzoo', got {source!r}")
    if isinstance(env, BatchedEnv):
        if source == "pettingzoo":
            raise ValueError("source='pettingzoo' needs an env name or a callable returning a ParallelEnv, got a BatchedEnv")
        if env_kwargs:
            raise TypeError(f"env_kwargs ({', '.join(env_kwargs)}) cannot be applied to an existing BatchedEnv")
        if env.num_envs != num_envs:
            raise ValueError(f"num_envs={num_envs} but the BatchedEnv has num_envs={env.num_envs}")
        return NativeVecEnv(env, device)
    if isinstance(env, str):
        try:
            spec = marl_envs.spec(env)
        except ValueError:
            raise ValueError(f"unknown environment {env!r}; valid names: {', '.join(marl_envs.list_envs())}") from None
        if source == "pettingzoo":
            return PettingZooVecEnv(lambda: marl_envs.make(spec.id, **env_kwargs), num_envs, device)
        return NativeVecEnv(marl_envs.make_batched(spec.id, num_envs, device, **env_kwargs), name=spec.id)
    if callable(env):
        if source == "native":
            raise ValueError(
                f"source='native' needs a registered marl_envs name (one of {', '.join(marl_envs.list_envs())}) "
                f"or a BatchedEnv; got the callable {getattr(env, '__qualname__', env)!r}: use source='pettingzoo' "
                "(or None) for callables"
            )
        factory = (lambda: env(**env_kwargs)) if env_kwargs else env
        return PettingZooVecEnv(factory, num_envs, device)
    raise TypeError(
        f"env must be a marl_envs name, a callable returning a PettingZoo ParallelEnv, or a BatchedEnv; got {type(env).__name__}"
    )
