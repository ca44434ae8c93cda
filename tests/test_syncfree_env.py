"""The sync-free auto-reset (``BatchedEnv(sync_free=True)``): exactly the index path's trajectories, no host sync.

Every registered env is covered, with the variants that change what its reset or its step does.
Episodes are staggered (each sub-env starts at a different ``step_count``), so that auto-resets
happen at different steps in different sub-envs: a reset that leaked into a sub-env that did not
finish would otherwise go unseen in envs whose episodes all end by truncation at the same step.
"""

from __future__ import annotations

import contextlib

import gymnasium
import numpy as np
import pytest
import torch

import marl_envs
from marl_envs.core.episode import EpisodeState
from marl_envs.core.syncs import HostSyncError, forbid_host_syncs

ENV_IDS = marl_envs.list_envs()
NUM_ENVS = 12
STEPS = 40

# Variants whose reset or step differ from the default's. Short max_cycles (and small worlds) make
# episodes end many times in STEPS steps. An env missing here is still tested with {}.
VARIANTS: dict[str, list[dict]] = {
    "autonomous_vehicles_v0": [{"max_cycles": 9}, {"continuous_actions": False, "road_length": 3.0}],
    "cooperative_navigation_v0": [
        {"max_cycles": 7},
        {"max_cycles": 7, "continuous_actions": True, "comm_radius": 0.8},
        {"max_cycles": 7, "num_agent_neighbors": 1, "num_landmark_neighbors": 2},
    ],
    "coordination_v0": [{"max_cycles": 6}, {"max_cycles": 6, "continuous_actions": False, "mode": "competitive"}],
    "goal_grid_v0": [{"max_cycles": 8, "size": 2}, {"max_cycles": 8, "size": 3, "randomize": True}],
    "matrix_game_v0": [
        {},
        {"game": "climbing", "episode_length": 3},
        {"game": "two_step"},
        {"payoffs": np.arange(24.0).reshape(2, 2, 2, 3), "episode_length": 4},
    ],
    "poker_v0": [{}, {"variant": "kuhn", "n_agents": 3}, {"hands": 3, "max_cycles": 12}],
    "predator_prey_v0": [{"max_cycles": 7}, {"max_cycles": 7, "continuous_actions": True, "comm_radius": 0.8}],
    "reference_v0": [{"max_cycles": 7}, {"max_cycles": 7, "continuous_actions": True, "silence_channel": True}],
    "speaker_listener_v0": [{"max_cycles": 7}, {"max_cycles": 7, "continuous_actions": True, "silence_channel": True}],
    "resource_allocation_v0": [{}, {"continuous_actions": False, "n_resources": 1}, {"utilities": np.ones((4, 3))}],
    "smart_grid_v0": [{"max_cycles": 7}, {"max_cycles": 7, "continuous_actions": False}],
    "target_grid_v0": [{"max_cycles": 10, "grid_size": 4}],
}
CASES = [pytest.param(env_id, kwargs, id=f"{env_id}-{i}") for env_id in ENV_IDS for i, kwargs in enumerate(VARIANTS.get(env_id, [{}]))]


def make(env_id, kwargs, device="cpu", **settings):
    return marl_envs.make_batched(env_id, NUM_ENVS, device, **kwargs, **settings)


def start(env, seed=3):
    """Reset, then stagger the sub-envs' episode clocks (see the module doc)."""
    env.reset(seed=seed)
    env.step_count = (torch.arange(NUM_ENVS) * 5 % env.max_cycles).to(env.device)


def env_tensors(env) -> dict[str, torch.Tensor]:
    """Every tensor the env holds, by attribute path, found by walking its objects (not a declared list)."""
    found, seen = {}, set()

    def walk(obj, path):
        seen.add(id(obj))
        for name, value in vars(obj).items():
            if isinstance(value, torch.Tensor):
                found[f"{path}.{name}"] = value
            elif type(value).__module__.startswith("marl_envs") and hasattr(value, "__dict__") and id(value) not in seen:
                walk(value, f"{path}.{name}")

    walk(env, "env")
    return found


def rollout(env, steps=STEPS, guard=contextlib.nullcontext):
    """Step ``env`` (started with :func:`start`) under seeded random actions; yield (step record, env tensors)."""
    generator = torch.Generator().manual_seed(7)
    for _ in range(steps):
        actions = env.random_actions(generator)
        with guard():
            out = env.step(actions)
        yield out, {k: v.clone() for k, v in env_tensors(env).items()}


def difference(a, b) -> str | None:
    """Where two (step record, env tensors) pairs differ, or None if they are identical."""
    (out_a, state_a), (out_b, state_b) = a, b
    pairs = [(f"EnvStep.{field}", x, y) for field, x, y in zip(out_a._fields, out_a, out_b) if field != "info"]
    if out_a.info.keys() != out_b.info.keys():
        return f"info keys {sorted(out_a.info)} != {sorted(out_b.info)}"
    pairs += [(f"info[{k!r}]", out_a.info[k], out_b.info[k]) for k in out_a.info]
    if state_a.keys() != state_b.keys():
        return f"env tensors {sorted(state_a.keys() ^ state_b.keys())} exist in one env only"
    pairs += [(path, state_a[path], state_b[path]) for path in state_a]
    for where, x, y in pairs:
        if x is None or y is None:
            if x is not y:
                return f"{where}: None in one path only"
        elif x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x.cpu(), y.cpu()):
            return where
    return None


def first_difference(env_a, env_b, steps=STEPS) -> str | None:
    for t, (a, b) in enumerate(zip(rollout(env_a, steps), rollout(env_b, steps))):
        where = difference(a, b)
        if where is not None:
            return f"step {t}: {where}"
    return None


# ---------------------------------------------------------------------- same trajectories
@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_sync_free_path_equals_index_path(env_id, kwargs):
    index, sync_free = make(env_id, kwargs, sync_free=False), make(env_id, kwargs, sync_free=True)
    assert not index.sync_free and sync_free.sync_free
    start(index)
    start(sync_free)
    partial_resets = full_resets = 0
    for t, (a, b) in enumerate(zip(rollout(index), rollout(sync_free))):
        assert difference(a, b) is None, f"step {t}: {difference(a, b)}"
        done = (a[0].terminated | a[0].truncated).all(-1)
        partial_resets += bool(done.any() and not done.all())
        full_resets += bool(done.all())
    assert torch.equal(index.rng.counter, sync_free.rng.counter) and torch.equal(index.rng.key, sync_free.rng.key)
    # Some sub-envs reset while others carry on, at several steps (or, for one-step games, all at every step).
    assert partial_resets >= 3 or full_resets == STEPS, f"only {partial_resets} steps with partial resets: the test would prove little"


def merged_paths(env) -> list[str | None]:
    """A name for every tensor the sync-free merge covers, in merge order: the random streams' counters and the
    ``episode`` fields (None for ``step_count`` and ``alive``, which the base class writes itself whatever the path)."""
    return [None if owner is env else f"{type(owner).__name__}.{name}" for owner, name, _ in env._episode_slots()]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_tensor_left_out_of_the_merge_is_caught(env_id):
    """The equivalence test has teeth: leave any one tensor out of the merge (in at least one variant) and the paths differ."""
    paths, caught = set(), set()
    for kwargs in VARIANTS.get(env_id, [{}]):
        for i, path in enumerate(merged_paths(make(env_id, kwargs))):
            if path is None:
                continue
            paths.add(path)
            index, broken = make(env_id, kwargs, sync_free=False), make(env_id, kwargs, sync_free=True)
            slots = broken._episode_slots()
            broken._episode_slots = lambda slots=slots, i=i: [slot for j, slot in enumerate(slots) if j != i]
            start(index)
            start(broken)
            try:
                diverged = first_difference(index, broken) is not None
            except (RuntimeError, IndexError, ValueError):  # a corrupted state may also break the rules
                diverged = True
            if diverged:
                caught.add(path)
            if not index.rng.counter.any():  # an env that never draws random numbers (matrix games)
                caught.add("CounterRNG.counter")
    assert caught == paths, f"left out, these names changed nothing: {sorted(paths - caught)}"


# ---------------------------------------------------------------------- no host sync
@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_sync_free_step_makes_no_host_sync(env_id, kwargs):
    env = make(env_id, kwargs, sync_free=True, validate_actions=False)
    start(env)
    resets = 0
    for out, _ in rollout(env, guard=forbid_host_syncs):
        resets += int((out.terminated | out.truncated).all(-1).sum())
    assert resets >= NUM_ENVS  # auto-resets happened inside the guarded steps


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_detector_sees_the_index_path_and_validation(env_id):
    """So the test above can fail: the index path's nonzero(), and validation's check, are host syncs."""
    kwargs = VARIANTS.get(env_id, [{}])[0]
    index_path, validation = {"sync_free": False, "validate_actions": False}, {"sync_free": True, "validate_actions": True}
    for settings, sync in ((index_path, "nonzero"), (validation, "reads a tensor's value")):
        env = make(env_id, kwargs, **settings)
        start(env)
        with pytest.raises(HostSyncError, match=sync):
            list(rollout(env, guard=forbid_host_syncs))


# ---------------------------------------------------------------------- the switch
def test_sync_free_argument():
    env = marl_envs.make_batched("goal_grid_v0", 2)
    assert env.sync_free is False  # on CPU the index path is the default
    assert marl_envs.make_batched("goal_grid_v0", 2, sync_free=True).sync_free is True
    with pytest.raises(ValueError, match="sync_free must be None, True or False, got 'yes'"):
        marl_envs.make_batched("goal_grid_v0", 2, sync_free="yes")
    marl_envs.make("goal_grid_v0", sync_free=True).reset(seed=0)  # the PettingZoo view accepts it (it never auto-resets)


class _CountEpisode(EpisodeState):
    count: torch.Tensor


class _Counter(marl_envs.BatchedEnv):
    """One agent that counts its steps: the smallest env with episode state (``count``), here outside any container."""

    def __init__(self, num_envs=3, device="cpu", *, sync_free=None):
        space = gymnasium.spaces.Box(0.0, 100.0, (1,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=100,
            validate_actions=True,
            possible_agents=["agent_0"],
            observation_spaces={"agent_0": space},
            action_spaces={"agent_0": gymnasium.spaces.Discrete(2)},
            state_space=space,
            sync_free=sync_free,
        )
        self.holder().count = torch.zeros(self.num_envs, 1)

    def holder(self):
        return self if self.episode is None else self.episode

    def reset_envs(self, env_ids):
        self.holder().count[env_ids] = 0.0

    def step_envs(self, actions):
        self.holder().count = self.holder().count + 1
        return torch.zeros(self.num_envs, 1), actions.bool(), {}  # action 1 ends the episode

    def observations(self):
        return self.holder().count[:, None].clone()

    def global_state(self):
        return self.holder().count.clone()


class _DeclaredCounter(_Counter):
    Episode = _CountEpisode


def test_an_env_must_declare_its_state_for_the_sync_free_path():
    assert _Counter().sync_free is False  # undeclared: the index path, whatever the device
    with pytest.raises(ValueError, match="_Counter declares no Episode, so it cannot auto-reset without host syncs"):
        _Counter(sync_free=True)
    env = _DeclaredCounter(sync_free=True)
    env.reset(seed=0)
    env.step(torch.tensor([[0], [0], [0]]))
    out = env.step(torch.tensor([[0], [1], [0]]))
    assert out.obs[:, 0, 0].tolist() == [2.0, 0.0, 2.0] and out.final_obs[:, 0, 0].tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(AttributeError, match="_CountEpisode declares no field 'no_such_tensor'; its fields: count"):
        env.episode.no_such_tensor = torch.zeros(3)
    env.episode.count = torch.zeros(2)
    with pytest.raises(ValueError, match="episode field 'count' must have the batch dimension \\(size 3\\) at dim 0, got shape \\[2\\]"):
        env.step(torch.zeros(3, 1, dtype=torch.int64))
    with pytest.raises(AttributeError, match="_CountEpisode.count was never set"):
        list(_CountEpisode().items())


# ---------------------------------------------------------------------- CUDA (run on a machine that has one)
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_cuda_step_is_sync_free_and_matches_cpu(env_id, kwargs):
    """Default settings on CUDA: the sync-free path, no sync at all (``set_sync_debug_mode("error")``), CPU's trajectories."""
    cpu, cuda = make(env_id, kwargs, validate_actions=False), make(env_id, kwargs, "cuda", validate_actions=False)
    assert cuda.sync_free and not cpu.sync_free
    start(cpu)
    start(cuda)
    torch.cuda.synchronize()
    generators = {"cpu": torch.Generator().manual_seed(7), "cuda": torch.Generator().manual_seed(7)}
    history = {"cpu": [], "cuda": []}
    for _ in range(STEPS):
        history["cpu"].append(cpu.step(cpu.random_actions(generators["cpu"])))
        actions = cuda.random_actions(generators["cuda"])  # drawn on the CPU and copied: outside the guard
        with forbid_host_syncs():
            history["cuda"].append(cuda.step(actions))
    torch.cuda.synchronize()
    for t, (a, b) in enumerate(zip(history["cpu"], history["cuda"])):
        for field in ("obs", "state", "reward", "terminated", "truncated", "alive", "final_obs", "final_state", "action_mask", "adjacency"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None) == (y is None), (t, field)
            if x is not None:
                # CUDA kernels may round float32 differently from the CPU's (a scalar divisor becomes a
                # multiplication by its reciprocal, fused multiply-adds): a few ulps, so relative
                torch.testing.assert_close(y.cpu(), x, rtol=1e-6, atol=1e-6, msg=lambda m, t=t, field=field: f"step {t}: {field}: {m}")
        for key in a.info:
            torch.testing.assert_close(
                b.info[key].cpu(), a.info[key], rtol=1e-5, atol=1e-5, msg=lambda m, t=t, key=key: f"step {t}: info[{key!r}]: {m}"
            )
    assert torch.equal(cpu.rng.counter, cuda.rng.counter.cpu())
