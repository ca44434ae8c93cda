"""Tests applied to every registered environment: a new env is covered the moment it is registered."""

from __future__ import annotations

import functools
import importlib
import pickle
import warnings
from types import SimpleNamespace

import gymnasium
import numpy as np
import pettingzoo
import pytest
import torch
from env_helpers import (
    AGENTS_LEAVE,
    ENV_IDS,
    assert_same_records,
    last_observations,
    observation_array,
    rollout,
    rollout_continue,
    sample_action,
)
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, state_test
from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

import marl_envs

# PettingZoo's max_cycles_test needs episodes that outlast max_cycles=4 under random actions;
# envs whose episodes are naturally shorter get these arguments for that test only.
LONG_EPISODES: dict[str, dict] = {
    "matrix_game_v0": {"episode_length": 100},
    "resource_allocation_v0": {"n_agents": 1, "capacities": 1e9},  # random requests empty small stocks in ~2 steps
    "poker_v0": {"hands": 100},  # a poker hand lasts 2 to 8 steps; a match of 100 hands outlasts 4
}


def module_of(env_id):
    return importlib.import_module(f"marl_envs.{env_id}")


def unmasked(observation, space):
    """The observation array and its Box, for plain and for {"observation", "action_mask"} observations."""
    if isinstance(space, gymnasium.spaces.Dict):
        return observation["observation"], space["observation"]
    return observation, space


class _LegalSampling(gymnasium.spaces.Discrete):
    """A ``Discrete`` space whose mask-less ``sample()`` draws from the agent's current action mask."""

    def __init__(self, n, current_mask):
        super().__init__(n)
        self._current_mask = current_mask

    def sample(self, mask=None, probability=None):
        if mask is None and probability is None:
            mask = self._current_mask()
        return super().sample(mask=mask, probability=probability)


def legal_sampling_module(env_id, **kwargs):
    """``parallel_env``/``env`` of ``env_id`` (with ``kwargs``) for PettingZoo's max_cycles_test and state_test.

    Those two sample ``action_space(agent).sample()`` without a mask (PettingZoo runs neither
    on its masked classic games). For a masked env the spaces they sample from draw legal
    actions instead, so the tests exercise the env's episodes rather than its illegal-action
    error; an env without masks is returned as it is.
    """
    module = module_of(env_id)
    if not marl_envs.spec(env_id).batched_class.has_action_mask:
        return SimpleNamespace(parallel_env=functools.partial(module.parallel_env, **kwargs), env=functools.partial(module.env, **kwargs))

    def parallel_env(**more):
        env = module.parallel_env(**kwargs, **more)
        current = lambda i: lambda: env.env.current_action_mask[0, i].numpy().astype(np.int8)  # noqa: E731
        env.action_spaces = {a: _LegalSampling(int(env.action_spaces[a].n), current(i)) for i, a in enumerate(env.possible_agents)}
        return env

    def aec_env(**more):
        return OrderEnforcingWrapper(parallel_to_aec_wrapper(parallel_env(**more)))

    return SimpleNamespace(parallel_env=parallel_env, env=aec_env)


@pytest.fixture(params=ENV_IDS)
def env_id(request):
    return request.param


# ---------------------------------------------------------------- PettingZoo's own checks
def test_parallel_api(env_id):
    parallel_api_test(marl_envs.make(env_id), num_cycles=300)


def test_aec_api(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # api_test warns about things it only suggests
        api_test(module_of(env_id).env(), num_cycles=300)


def test_max_cycles(env_id):
    max_cycles_test(legal_sampling_module(env_id, **LONG_EPISODES.get(env_id, {})))


def test_render(env_id, capsys):
    render_test(module_of(env_id).env)
    image = marl_envs.make(env_id, render_mode="rgb_array")
    image.reset(seed=0)
    picture = image.render()
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3 and picture.std() > 0


def test_state(env_id):
    module = legal_sampling_module(env_id)
    state_test(module.env(), module.parallel_env())


def test_registered_with_pettingzoo(env_id):
    spec = marl_envs.spec(env_id)
    name = f"marl_envs/{spec.name}-v{spec.version}"
    parallel = pettingzoo.make("parallel", name)
    aec = pettingzoo.make("aec", name)
    assert isinstance(parallel, pettingzoo.ParallelEnv) and isinstance(aec, pettingzoo.AECEnv)
    assert parallel.possible_agents == aec.possible_agents == marl_envs.make(env_id).possible_agents
    module = module_of(env_id)
    assert module.__doc__ and "Version history" in module.__doc__
    assert {"env", "raw_env", "parallel_env"} <= set(vars(module))


# ---------------------------------------------------------------- spaces and observations
def test_observations_match_their_spaces(env_id):
    env = marl_envs.make(env_id)
    teams = {}
    for agent in env.possible_agents:
        teams.setdefault(agent.rsplit("_", 1)[0], set()).add(id(env.observation_space(agent)))
    assert all(len(ids) == 1 for ids in teams.values()), "every agent of one team shares one space object"
    for kind, *record in rollout(env, seed=3, steps=200):
        observations = record[0] if kind == "reset" else record[1]
        for agent, observation in observations.items():
            space = env.observation_space(agent)
            array, box = unmasked(observation, space)
            assert array.dtype == box.dtype and array.shape == box.shape
            assert space.contains(observation), (agent, observation)
        if kind == "step":
            assert env.state_space.contains(record[-1])
            for value in record[-1 - 1].values():  # infos are numeric
                assert all(isinstance(v, (int, float, bool, np.ndarray, np.number)) for v in value.values())


def test_infos_carry_the_observations_action_mask(env_id):
    """Masked envs put each agent's mask in its infos too (AgileRL reads it there): equal to the observation's,
    an array of its own, at reset and at every step. Envs without masks have no such key."""
    env = marl_envs.make(env_id, **AGENTS_LEAVE.get(env_id, {}))
    masked = marl_envs.spec(env_id).batched_class.has_action_mask
    checked = 0
    for kind, *record in rollout(env, seed=2, steps=200):
        observations, infos = (record[0], record[1]) if kind == "reset" else (record[1], record[5])
        assert set(infos) == set(observations)
        for agent, observation in observations.items():
            if not masked:
                assert "action_mask" not in infos[agent]
                continue
            mask = infos[agent]["action_mask"]
            assert mask.dtype == np.int8 and env.observation_space(agent)["action_mask"].contains(mask)
            np.testing.assert_array_equal(mask, observation["action_mask"])
            assert not np.shares_memory(mask, observation["action_mask"])
            checked += 1
    assert checked or not masked


# ---------------------------------------------------------------- determinism
def test_same_seed_same_trajectory_pettingzoo(env_id):
    first = rollout(marl_envs.make(env_id), seed=11, steps=400)
    second = rollout(marl_envs.make(env_id), seed=11, steps=400)
    assert sum(kind == "reset" for kind, *_ in first) >= 2, "the rollout should cross an episode end"
    assert_same_records(first, second)


def test_same_seed_same_trajectory_batched(env_id):
    def run():
        env = marl_envs.make_batched(env_id, num_envs=16)
        generator = torch.Generator().manual_seed(0)
        out = [env.reset(seed=5)]
        for _ in range(150):
            actions = env.random_actions(generator)
            out.append(env.step(actions))
        return out

    for a, b in zip(run(), run()):
        for field in ("obs", "state", "reward", "terminated", "truncated", "final_obs", "final_state"):
            assert torch.equal(getattr(a, field), getattr(b, field)), field


# ---------------------------------------------------------------- batched <=> single
def single_trajectory(env_id, seed, actions, steps, **kwargs):
    """Step a PettingZoo env with the batched actions of one sub-env; mimic auto-reset by calling reset()."""
    env = marl_envs.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    trajectory = []
    for t in range(steps):
        step_actions = {a: actions[t][env.possible_agents.index(a)] for a in env.agents}
        obs, rewards, terminations, truncations, _ = env.step(step_actions)
        final = obs
        if not env.agents:
            obs, _ = env.reset()
        trajectory.append((rewards, terminations, truncations, final, obs))
    return trajectory


def pettingzoo_actions(env, tensor):
    if env.discrete_actions:
        return tensor.tolist()
    return [row[:size].numpy() for row, size in zip(tensor, env.action_sizes)]  # each agent's own size: no padding


@pytest.mark.parametrize("same_seed", [False, True], ids=["seed+b", "copies"])
def test_batched_equals_single(env_id, same_seed):
    """Sub-env b of a batched env seeded s follows a single env seeded s + b, across auto-resets.

    With the same seed for every sub-env, the B copies are B identical copies of the single env.
    """
    check_batched_equals_single(env_id, same_seed)


def check_batched_equals_single(env_id, same_seed, **kwargs):
    B, steps, seed = 4, 260, 21
    batched = marl_envs.make_batched(env_id, num_envs=B, **kwargs)
    out = batched.reset(seed=[seed] * B if same_seed else seed)
    generator = torch.Generator().manual_seed(1)
    actions, records = [], []
    for _ in range(steps):
        a = batched.random_actions(generator)
        if same_seed:
            a = a[:1].expand_as(a).clone()
        actions.append(a)
        out = batched.step(a)
        records.append(out)
    assert sum(int((r.terminated | r.truncated).all(-1).sum()) for r in records) >= B, "auto-resets must occur"
    for b in range(B):
        single = single_trajectory(
            env_id, seed if same_seed else seed + b, [pettingzoo_actions(batched, a[b]) for a in actions], steps, **kwargs
        )
        for t, (rewards, terminations, truncations, final, obs) in enumerate(single):
            r = records[t]
            for i, agent in enumerate(batched.possible_agents):
                if agent not in rewards:
                    continue
                size = batched.obs_sizes[i]
                assert rewards[agent] == pytest.approx(float(r.reward[b, i]), abs=0), (b, t, agent)
                assert terminations[agent] == bool(r.terminated[b, i]) and truncations[agent] == bool(r.truncated[b, i])
                np.testing.assert_array_equal(observation_array(final[agent]), r.final_obs[b, i, :size].numpy())
            for agent, o in obs.items():
                i = batched.possible_agents.index(agent)
                np.testing.assert_array_equal(observation_array(o), r.obs[b, i, : observation_array(o).shape[0]].numpy())
                if isinstance(o, dict):
                    np.testing.assert_array_equal(o["action_mask"], r.action_mask[b, i].numpy())


def _other_action_variant(env_id):
    """The arguments that switch an env to its non-default kind of actions, or None."""
    arguments = marl_envs.spec(env_id).arguments
    if "continuous_actions" in arguments:
        return {"continuous_actions": not arguments["continuous_actions"]}
    return None


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if _other_action_variant(e)])
def test_other_action_variant(env_id):
    """Envs with a continuous/discrete switch: the other variant passes the same API and equivalence checks."""
    variant = _other_action_variant(env_id)
    env = marl_envs.make(env_id, **variant)
    assert env.env.discrete_actions != marl_envs.make(env_id).env.discrete_actions
    parallel_api_test(env, num_cycles=100)
    check_batched_equals_single(env_id, same_seed=False, **variant)


# ---------------------------------------------------------------- frameworks and pickling
def test_supersuit_vector_env(env_id):
    supersuit = pytest.importorskip("supersuit")
    env = marl_envs.make(env_id)
    max_cycles = env.max_cycles
    first = env.observation_space(env.possible_agents[0])
    if any(env.observation_space(agent) != first for agent in env.possible_agents):
        # Agents' observation sizes differ (predator_prey: adversaries and good agents). SuperSuit's vector
        # env needs one space and asks for its padding wrapper, as it does for mpe2's simple_tag.
        env = supersuit.pad_observations_v0(env)
    if any(env.action_space(agent) != env.action_space(env.possible_agents[0]) for agent in env.possible_agents):
        # Agents' action spaces differ (speaker_listener): SuperSuit's padding wrapper, as for mpe2's env.
        env = supersuit.pad_action_space_v0(env)
    vec = supersuit.pettingzoo_env_to_vec_env_v1(env)
    vec = supersuit.concat_vec_envs_v1(vec, 2, num_cpus=0, base_class="gymnasium")
    obs, _ = vec.reset(seed=0)
    n = env.max_num_agents
    space = env.observation_space(env.possible_agents[0])
    masked = isinstance(space, gymnasium.spaces.Dict)  # obs is then {"observation": [2n, O], "action_mask": [2n, A]}
    array, box = unmasked(obs, space)
    assert array.shape == (2 * n, *box.shape)
    total = np.zeros(2 * n)
    for _ in range(2 * max_cycles + 5):
        actions = np.stack(
            [vec.action_space.sample(mask=obs["action_mask"][k]) if masked else vec.action_space.sample() for k in range(2 * n)]
        )
        obs, rewards, terminations, truncations, _ = vec.step(actions)
        assert unmasked(obs, space)[0].shape[0] == rewards.shape[0] == 2 * n
        total += rewards
    assert np.isfinite(total).all() and (total != 0).any()
    vec.close()


def test_pickle_continues_the_episode(env_id):
    env = marl_envs.make(env_id)
    obs = last_observations(rollout(env, seed=4, steps=7))
    copy = pickle.loads(pickle.dumps(env))
    assert copy.agents == env.agents
    np.testing.assert_array_equal(copy.state(), env.state())
    assert_same_records(rollout_continue(env, 30, obs), rollout_continue(copy, 30, obs))
    batched = marl_envs.make_batched(env_id, num_envs=3)
    batched.reset(seed=2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        batched.step(batched.random_actions(generator))
    batched_copy = pickle.loads(pickle.dumps(batched))
    for _ in range(60):  # long enough to cross auto-resets, which draw from the pickled streams
        actions = batched.random_actions(generator)
        a, b = batched.step(actions), batched_copy.step(actions)
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward)


# ---------------------------------------------------------------- fork safety
def _build_and_step(env_id, results):
    """In a forked child: build the env through both APIs, reset, step; report success."""
    env = marl_envs.make(env_id)
    observations, _ = env.reset(seed=1)
    for _ in range(3):
        if not env.agents:
            observations, _ = env.reset()
        observations = env.step({a: sample_action(env, a, observations[a]) for a in env.agents})[0]
    batched = marl_envs.make_batched(env_id, num_envs=8)
    batched.reset(seed=1)
    batched.step(batched.random_actions(torch.Generator().manual_seed(0)))
    results.put("ok")


def test_safe_to_build_and_step_in_a_forked_child(env_id):
    """Vectorisers fork on Linux (SB3's SubprocVecEnv, AgileRL's, SuperSuit's with num_cpus > 0). A
    child forked after the parent's OpenMP pool has run hangs at its first parallel op (goal_grid_v0
    did, in its constructor) unless it runs torch on one thread: ``import marl_envs`` registers an
    after-fork hook for that (marl_envs/core/threads.py). Without the hook this test hangs and fails."""
    import multiprocessing

    from marl_envs.core.threads import torch_threads

    env = marl_envs.make(env_id)
    env.reset(seed=0)
    with torch_threads(2):
        torch.ones(1024, 1024).triu(1).sum()  # the parent's pool has run with 2 threads
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        child = context.Process(target=_build_and_step, args=(env_id, results))
        child.start()
        child.join(timeout=60)
    hung = child.is_alive()
    if hung:
        child.kill()
        child.join()
    assert not hung, f"{env_id}: the forked child did not finish within 60 s"
    assert child.exitcode == 0 and results.get(timeout=5) == "ok", child.exitcode


# ---------------------------------------------------------------- CUDA (run on a machine that has one)
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(env_id):
    outs = {}
    for device in ("cpu", "cuda"):
        env = marl_envs.make_batched(env_id, num_envs=64, device=device)
        out = env.reset(seed=3)
        generator = torch.Generator().manual_seed(0)
        history = []
        for _ in range(120):
            out = env.step(env.random_actions(generator).to(device))
            history.append(_to_cpu(out))
        outs[device] = history
    for a, b in zip(outs["cpu"], outs["cuda"]):
        for field in ("obs", "state", "reward", "terminated", "truncated"):
            # CUDA kernels may round float32 differently from the CPU's (fused multiply-adds): a few ulps
            torch.testing.assert_close(getattr(a, field), getattr(b, field), rtol=1e-6, atol=1e-6)


def _to_cpu(out):
    return out._replace(**{k: v.cpu() for k, v in out._asdict().items() if isinstance(v, torch.Tensor)})
