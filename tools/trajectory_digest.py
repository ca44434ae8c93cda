"""Digests of seeded trajectories of every registered env, to check that a refactor changed no behaviour.

Run it before and after a change and compare the two outputs (``diff``): each line is one env
variant on one API (batched index path, batched sync-free path, PettingZoo view) with a SHA-256
over everything the env returned for 150 steps of seeded random actions. Equal digests mean
bit-identical observations, states, rewards, flags, masks, adjacency and infos.

    python tools/trajectory_digest.py > before.txt
    ... change the code ...
    python tools/trajectory_digest.py | diff before.txt -

``--skip-info KEY`` leaves an info key out (one a change added on purpose), so that the rest
can still be compared bit for bit.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

# This checkout's packages, not the installed ones (an editable install may point at another worktree).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import marl_envs  # noqa: E402
from marl_envs.core.registry import REGISTRY  # noqa: E402

STEPS = 150
SKIPPED_INFO: set[str] = set()

# Extra constructor arguments per env, beside its defaults: each action type, and the poker
# variant where agents leave mid-episode.
VARIANTS = {"poker_v0": [{"n_agents": 3, "variant": "kuhn"}]}


def variants(env_id: str) -> list[dict]:
    arguments = REGISTRY[env_id].arguments
    found = [{}]
    for switch in ("continuous", "continuous_actions"):
        if switch in arguments:
            found.append({switch: not arguments[switch]})
    return found + VARIANTS.get(env_id, [])


def feed(digest, value) -> None:
    if value is None:
        digest.update(b"none")
    elif isinstance(value, torch.Tensor):
        digest.update(str((value.dtype, tuple(value.shape))).encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(value, np.ndarray):
        digest.update(str((value.dtype, value.shape)).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for key in sorted(set(value) - SKIPPED_INFO):
            digest.update(str(key).encode())
            feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            feed(digest, item)
    else:
        digest.update(repr(value).encode())


def batched(env_id: str, kwargs: dict, sync_free: bool) -> str:
    env = marl_envs.make_batched(env_id, num_envs=8, sync_free=sync_free, **kwargs)
    digest = hashlib.sha256()
    generator = torch.Generator().manual_seed(7)
    feed(digest, tuple(env.reset(seed=3)))
    for _ in range(STEPS):
        feed(digest, tuple(env.step(env.random_actions(generator))))
    return digest.hexdigest()[:16]


def parallel(env_id: str, kwargs: dict) -> str:
    env = marl_envs.make(env_id, **kwargs)
    digest = hashlib.sha256()
    rng = np.random.default_rng(7)
    observations, infos = env.reset(seed=3)
    feed(digest, (observations, infos))
    for _ in range(STEPS):
        if not env.agents:
            observations, infos = env.reset()
            feed(digest, (observations, infos))
        actions = {}
        for agent in env.agents:
            space = env.action_space(agent)
            obs = observations[agent]
            mask = obs["action_mask"] if isinstance(obs, dict) else None
            if hasattr(space, "n"):
                legal = np.flatnonzero(mask) if mask is not None else np.arange(space.n)
                actions[agent] = int(rng.choice(legal))
            else:
                actions[agent] = rng.uniform(space.low, space.high).astype(np.float32)
        observations, rewards, terminations, truncations, infos = env.step(actions)
        feed(digest, (observations, rewards, terminations, truncations, infos, env.state()))
    return digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-info", action="append", default=[], metavar="KEY", help="leave this info key out (repeatable)")
    SKIPPED_INFO.update(parser.parse_args().skip_info)
    torch.set_num_threads(1)
    for env_id in marl_envs.list_envs():
        for kwargs in variants(env_id):
            # The action-type switch under one name, so digests compare across its renaming.
            label = f"{env_id} " + str({k.replace("continuous_actions", "continuous"): v for k, v in kwargs.items()})
            print(f"{label} batched-index {batched(env_id, kwargs, False)}", flush=True)
            try:
                print(f"{label} batched-sync-free {batched(env_id, kwargs, True)}", flush=True)
            except ValueError as error:
                print(f"{label} batched-sync-free refused: {error}", flush=True)
            print(f"{label} parallel {parallel(env_id, kwargs)}", flush=True)


if __name__ == "__main__":
    main()
