"""Tests applied to every registered environment: a new env is covered the moment it is registered."""

from __future__ import annotations

import functools
import importlib
import pickle
import warnings
from types import SimpleNamespace

import numpy as np
import pettingzoo
import pytest
import torch
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, state_test

import marl_envs
from marl_envs import ResetNeeded

ENV_IDS = marl_envs.list_envs()

# PettingZoo's max_cycles_test needs episodes that outlast max_cycles=4 under random actions;
# envs whose episodes are naturally shorter get these arguments for that test only.
LONG_EPISODES: dict[str, dict] = {
    "matrix_game_v0": {"episode_length": 100},
    "resource_allocation_v0": {"n_agents": 1, "capacities": 1e9},  # random requests empty small stocks in ~2 steps
}


def module_of(env_id):
    return importlib.import_module(f"marl_envs.{env_id}")


def rollout(env, seed, steps, action_seed=0):
    """Seeded random rollout on the PettingZoo API, across episode ends: a list of per-step records."""
    rng = np.random.default_rng(action_seed)
    for agent in env.possible_agents:
        env.action_space(agent).seed(int(rng.integers(2**31)))
    obs, infos = env.reset(seed=seed)
    records = [("reset", obs, infos)]
    for _ in range(steps):
        if not env.agents:
            obs, infos = env.reset()
            records.append(("reset", obs, infos))
            continue
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        records.append(("step", actions, *env.step(actions), env.state()))
    return records


def assert_same_records(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert _plain(a) == _plain(b)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    module, kwargs = module_of(env_id), LONG_EPISODES.get(env_id, {})
    max_cycles_test(SimpleNamespace(
        parallel_env=functools.partial(module.parallel_env, **kwargs), env=functools.partial(module.env, **kwargs)
    ))  # fmt: skip


def test_render(env_id, capsys):
    render_test(module_of(env_id).env)
    image = marl_envs.make(env_id, render_mode="rgb_array")
    image.reset(seed=0)
    picture = image.render()
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3 and picture.std() > 0


def test_state(env_id):
    state_test(module_of(env_id).env(), module_of(env_id).parallel_env())


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
            assert observation.dtype == space.dtype and observation.shape == space.shape
            assert space.contains(observation), (agent, observation)
        if kind == "step":
            assert env.state_space.contains(record[-1])
            for value in record[-1 - 1].values():  # infos are numeric
                assert all(isinstance(v, (int, float, bool, np.ndarray, np.number)) for v in value.values())


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
    return [row.numpy() for row in tensor]


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
        single = single_trajectory(env_id, seed if same_seed else seed + b, [pettingzoo_actions(batched, a[b]) for a in actions], steps, **kwargs)
        for t, (rewards, terminations, truncations, final, obs) in enumerate(single):
            r = records[t]
            for i, agent in enumerate(batched.possible_agents):
                if agent not in rewards:
                    continue
                size = batched.obs_sizes[i]
                assert rewards[agent] == pytest.approx(float(r.reward[b, i]), abs=0), (b, t, agent)
                assert terminations[agent] == bool(r.terminated[b, i]) and truncations[agent] == bool(r.truncated[b, i])
                np.testing.assert_array_equal(final[agent], r.final_obs[b, i, :size].numpy())
            for agent, o in obs.items():
                np.testing.assert_array_equal(o, r.obs[b, batched.possible_agents.index(agent), : o.shape[0]].numpy())


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if "continuous" in marl_envs.spec(e).arguments])
def test_discrete_variant_of_continuous_envs(env_id):
    """Envs with a continuous switch: the discrete variant passes the same API and equivalence checks."""
    env = marl_envs.make(env_id, continuous=False)
    assert all(hasattr(env.action_space(a), "n") for a in env.possible_agents)
    parallel_api_test(env, num_cycles=100)
    check_batched_equals_single(env_id, same_seed=False, continuous=False)


# ---------------------------------------------------------------- frameworks and pickling
def test_supersuit_vector_env(env_id):
    supersuit = pytest.importorskip("supersuit")
    env = marl_envs.make(env_id)
    vec = supersuit.pettingzoo_env_to_vec_env_v1(env)
    vec = supersuit.concat_vec_envs_v1(vec, 2, num_cpus=0, base_class="gymnasium")
    obs, _ = vec.reset(seed=0)
    n = env.max_num_agents
    assert obs.shape == (2 * n, *env.observation_space(env.possible_agents[0]).shape)
    total = np.zeros(2 * n)
    for _ in range(2 * env.max_cycles + 5):
        actions = np.stack([vec.action_space.sample() for _ in range(2 * n)])
        obs, rewards, terminations, truncations, _ = vec.step(actions)
        assert obs.shape[0] == rewards.shape[0] == 2 * n
        total += rewards
    assert np.isfinite(total).all() and (total != 0).any()
    vec.close()


def test_pickle_continues_the_episode(env_id):
    env = marl_envs.make(env_id)
    rollout(env, seed=4, steps=7)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.agents == env.agents
    np.testing.assert_array_equal(copy.state(), env.state())
    assert_same_records(rollout_continue(env, 30), rollout_continue(copy, 30))
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


def rollout_continue(env, steps):
    records = []
    for t in range(steps):
        if not env.agents:
            records.append(("reset", *env.reset()))
            continue
        actions = {a: _fixed_action(env, a, t) for a in env.agents}
        records.append(env.step(actions))
    return records


def _fixed_action(env, agent, t):
    space = env.action_space(agent)
    if hasattr(space, "n"):
        return (t * 7 + env.possible_agents.index(agent)) % int(space.n)
    return np.full(space.shape, np.sin(t), dtype=np.float32).clip(space.low, space.high)


# ---------------------------------------------------------------- bad input
def test_bad_actions_give_clear_errors(env_id):
    env = marl_envs.make(env_id)
    with pytest.raises(ResetNeeded, match="reset"):
        env.step({a: 0 for a in env.possible_agents})
    env.reset(seed=0)
    after_reset = env.state().copy()
    agent = env.agents[0]
    valid = {a: env.action_space(a).sample() for a in env.agents}
    space = env.action_space(agent)
    with pytest.raises(ValueError, match="unknown agent 'nobody'"):
        env.step({**valid, "nobody": valid[agent]})
    with pytest.raises(ValueError, match=f"no action for active agents \\['{agent}'\\]"):
        env.step({a: v for a, v in valid.items() if a != agent})
    with pytest.raises(ValueError, match="unknown agent"):
        env.action_space("nobody")
    if hasattr(space, "n"):
        with pytest.raises(ValueError, match=f"agent '{agent}': action {int(space.n)} is out of range; expected an integer in \\[0, {int(space.n)}\\)"):
            env.step({**valid, agent: int(space.n)})
        with pytest.raises(ValueError, match=f"agent '{agent}': action -1 is out of range"):
            env.step({**valid, agent: -1})
        with pytest.raises(TypeError, match=f"agent '{agent}': action must be an integer"):
            env.step({**valid, agent: 1.5})
        with pytest.raises(TypeError, match=f"agent '{agent}': action must be an integer"):
            env.step({**valid, agent: np.array([0, 1])})
    # The rejected steps changed nothing: the episode goes on from where reset left it.
    np.testing.assert_array_equal(env.state(), after_reset)
    assert env.agents == env.possible_agents and int(env.env.step_count[0]) == 0
    env.step(valid)
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
    with pytest.raises(ResetNeeded, match="episode is over"):
        env.step(valid)


def test_bad_batched_actions_give_clear_errors(env_id):
    env = marl_envs.make_batched(env_id, num_envs=3)
    with pytest.raises(ResetNeeded):
        env.step(torch.zeros(3, env.n_agents, dtype=torch.int64))
    env.reset(seed=0)
    B, N = 3, env.n_agents
    if env.discrete_actions:
        with pytest.raises(ValueError, match=f"shape \\[{B}, {N}\\]"):
            env.step(torch.zeros(B, N + 1, dtype=torch.int64))
        with pytest.raises(TypeError, match="integer tensor"):
            env.step(torch.zeros(B, N))
        actions = torch.zeros(B, N, dtype=torch.int64)
        actions[2, N - 1] = env.action_sizes[N - 1]
        with pytest.raises(ValueError, match=f"agent '{env.possible_agents[N - 1]}' in sub-env 2: action {env.action_sizes[N - 1]} is out of range"):
            env.step(actions)
    else:
        A = env.action_size
        with pytest.raises(ValueError, match=f"shape \\[{B}, {N}, {A}\\]"):
            env.step(torch.zeros(B, N, A + 1))
        with pytest.raises(TypeError, match="float tensor"):
            env.step(torch.zeros(B, N, A, dtype=torch.int64))
        actions = torch.zeros(B, N, A)
        actions[1, N - 1, 0] = float("nan")
        with pytest.raises(ValueError, match=f"agent '{env.possible_agents[N - 1]}' in sub-env 1: action .* contains NaN"):
            env.step(actions)
        actions[1, N - 1, 0] = float(env._action_high[N - 1, 0]) + 1
        with pytest.raises(ValueError, match=f"agent '{env.possible_agents[N - 1]}' in sub-env 1: action .* is out of range; expected Box"):
            env.step(actions)


def test_bad_names_and_arguments(env_id):
    with pytest.raises(ValueError, match="unknown environment 'no_such_env_v0'; registered: .*" + env_id):
        marl_envs.make("no_such_env_v0")
    with pytest.raises(TypeError, match="unknown argument\\(s\\) 'no_such_argument'; valid arguments: .*max_cycles"):
        marl_envs.make(env_id, no_such_argument=1)
    bad_arguments = [{"max_cycles": 0}, {"max_cycles": 2.5}]
    if "n_agents" in marl_envs.spec(env_id).arguments:
        bad_arguments.append({"n_agents": 0})
    for bad in bad_arguments:
        with pytest.raises(ValueError, match=list(bad)[0]):
            marl_envs.make(env_id, **bad)
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1"):
        marl_envs.make_batched(env_id, num_envs=0)
    with pytest.raises(ValueError, match="device"):
        marl_envs.make_batched(env_id, num_envs=2, device="no_such_device")
    with pytest.raises(ValueError, match="render_mode"):
        marl_envs.make(env_id, render_mode="movie")


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
            torch.testing.assert_close(getattr(a, field), getattr(b, field), rtol=0, atol=1e-6)


def _to_cpu(out):
    return out._replace(**{k: v.cpu() for k, v in out._asdict().items() if isinstance(v, torch.Tensor)})
