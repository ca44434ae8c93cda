"""Bad input, applied to every registered environment: clear one-line errors, and a refused call changes nothing."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from env_helpers import AGENTS_LEAVE, ENV_IDS, assert_same_records, rollout_continue, sample_action

import marl_envs
from marl_envs import ResetNeeded


@pytest.fixture(params=ENV_IDS)
def env_id(request):
    return request.param


def test_bad_actions_give_clear_errors(env_id):
    env = marl_envs.make(env_id)
    with pytest.raises(ResetNeeded, match="reset"):
        env.step({a: 0 for a in env.possible_agents})
    obs, _ = env.reset(seed=0)
    after_reset = env.state().copy()
    agent = env.agents[0]
    valid = {a: sample_action(env, a, obs[a]) for a in env.agents}
    space = env.action_space(agent)
    with pytest.raises(ValueError, match="unknown agent 'nobody'"):
        env.step({**valid, "nobody": valid[agent]})
    with pytest.raises(ValueError, match=f"no action for active agents \\['{agent}'\\]"):
        env.step({a: v for a, v in valid.items() if a != agent})
    with pytest.raises(ValueError, match="unknown agent"):
        env.action_space("nobody")
    if hasattr(space, "n"):
        with pytest.raises(
            ValueError, match=f"agent '{agent}': action {int(space.n)} is out of range; expected an integer in \\[0, {int(space.n)}\\)"
        ):
            env.step({**valid, agent: int(space.n)})
        with pytest.raises(ValueError, match=f"agent '{agent}': action -1 is out of range"):
            env.step({**valid, agent: -1})
        with pytest.raises(TypeError, match=f"agent '{agent}': action must be an integer"):
            env.step({**valid, agent: 1.5})
        with pytest.raises(TypeError, match=f"agent '{agent}': action must be an integer"):
            env.step({**valid, agent: np.array([0, 1])})
        if isinstance(obs[agent], dict) and not obs[agent]["action_mask"].all():  # envs with illegal actions
            mask = obs[agent]["action_mask"]
            illegal, legal = int(np.flatnonzero(mask == 0)[0]), np.flatnonzero(mask).tolist()
            with pytest.raises(ValueError, match=re.escape(f"agent '{agent}': action {illegal} is illegal now; legal actions: {legal}")):
                env.step({**valid, agent: illegal})
    # The rejected steps changed nothing: the episode goes on from where reset left it.
    np.testing.assert_array_equal(env.state(), after_reset)
    assert env.agents == env.possible_agents and int(env.env.step_count[0]) == 0
    obs = env.step(valid)[0]
    while env.agents:
        obs = env.step({a: sample_action(env, a, obs[a]) for a in env.agents})[0]
    with pytest.raises(ResetNeeded, match="episode is over"):
        env.step(valid)


BAD_SEEDS = [
    ("abc", TypeError, "got 'abc' \\(str\\)"),
    (1.5, TypeError, "got 1.5 \\(float\\)"),
    (3.0, TypeError, "got 3.0 \\(float\\)"),
    (True, TypeError, "got True \\(bool\\)"),
    ([None], TypeError, "got seed\\[0\\] = None"),
    ([[1]], TypeError, "got seed\\[0\\] = \\[1\\] \\(list\\)"),
    (np.array([1.0]), TypeError, "got a NumPy array of dtype float64"),
    ([1, 2, 3, 4, 5], ValueError, "got a list of 5 seeds"),
    (2**64, ValueError, "seed must lie in \\[-2\\*\\*62, 2\\*\\*62\\); got 18446744073709551616"),
]


def test_bad_seeds_give_clear_errors(env_id):
    """A bad ``reset(seed=...)`` raises one line naming the seed, in both APIs, and changes nothing."""
    env, twin = marl_envs.make(env_id), marl_envs.make(env_id)
    batched, batched_twin = marl_envs.make_batched(env_id, num_envs=2), marl_envs.make_batched(env_id, num_envs=2)
    for target in (env, batched):
        for seed, error, message in BAD_SEEDS:
            with pytest.raises(error, match=message) as caught:
                target.reset(seed=seed)
            assert str(caught.value).startswith("seed") and "\n" not in str(caught.value)
    # Refused before any reset: the envs still need one.
    with pytest.raises(ResetNeeded):
        env.step({a: 0 for a in env.possible_agents})
    with pytest.raises(ResetNeeded):
        env.state()
    with pytest.raises(ResetNeeded):
        batched.step(batched.random_actions())
    # Refused mid-episode: the episode and the random streams go on as if nothing had been asked.
    obs, _ = env.reset(seed=3)
    twin.reset(seed=3)
    batched.reset(seed=3), batched_twin.reset(seed=3)
    actions = {a: sample_action(env, a, obs[a]) for a in env.agents}
    obs, twin_obs = env.step(actions)[0], twin.step(actions)[0]
    generator = torch.Generator().manual_seed(0)
    actions = batched.random_actions(generator)
    batched.step(actions), batched_twin.step(actions)
    for seed, error, _ in BAD_SEEDS:
        with pytest.raises(error):
            env.reset(seed=seed)
        with pytest.raises(error):
            batched.reset(seed=seed)
    assert env.agents == twin.agents
    np.testing.assert_array_equal(env.state(), twin.state())
    assert_same_records(rollout_continue(env, 40, obs), rollout_continue(twin, 40, twin_obs))
    for _ in range(40):  # across auto-resets, which draw from the random streams
        actions = batched.random_actions(generator)
        a, b = batched.step(actions), batched_twin.step(actions)
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward)
    # A reset with no seed draws the same from both: the refused seeds did not reseed the streams.
    assert_same_records([env.reset()], [twin.reset()])
    assert torch.equal(batched.reset().obs, batched_twin.reset().obs)


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if marl_envs.spec(e).batched_class.agents_can_leave])
def test_actions_of_agents_that_have_left_are_ignored(env_id):
    """The PettingZoo view takes an action for an agent that has left (TorchRL and AgileRL send one for
    every agent) and ignores its value, out of range or illegal; its type is still checked."""
    kwargs = AGENTS_LEAVE.get(env_id, {})
    env, twin = marl_envs.make(env_id, **kwargs), marl_envs.make(env_id, **kwargs)
    obs, _ = env.reset(seed=0)
    twin.reset(seed=0)
    rng = np.random.default_rng(0)
    for agent in env.possible_agents:
        env.action_space(agent).seed(int(rng.integers(2**31)))
    steps_with_agents_gone = 0
    for _ in range(300):
        if not env.agents:
            obs, _ = env.reset()
            twin.reset()
            continue
        actions = {a: sample_action(env, a, obs[a]) for a in env.agents}
        gone = [a for a in env.possible_agents if a not in env.agents]
        extra = {}
        for k, agent in enumerate(gone):
            space = env.action_space(agent)
            if hasattr(space, "n"):
                extra[agent] = (int(space.n) + 5, -1, 0)[k % 3]  # out of range, negative, or illegal (poker: fold)
                with pytest.raises(TypeError, match=f"agent '{agent}': action must be an integer"):
                    env.step({**actions, agent: 1.5})
            else:
                extra[agent] = np.full(space.shape, np.nan, space.dtype)
        steps_with_agents_gone += bool(gone)
        step = env.step({**actions, **extra})
        assert_same_records([step], [twin.step(actions)])
        obs = step[0]
    assert steps_with_agents_gone >= 20, "the rollout should include steps after an agent left"


def test_bad_batched_actions_give_clear_errors(env_id):
    env = marl_envs.make_batched(env_id, num_envs=3)
    with pytest.raises(ResetNeeded):
        env.step(torch.zeros(3, env.n_agents, dtype=torch.int64))
    out = env.reset(seed=0)
    B, N = 3, env.n_agents
    if env.discrete_actions:
        with pytest.raises(ValueError, match=f"shape \\[{B}, {N}\\]"):
            env.step(torch.zeros(B, N + 1, dtype=torch.int64))
        with pytest.raises(TypeError, match="integer tensor"):
            env.step(torch.zeros(B, N))
        actions = torch.zeros(B, N, dtype=torch.int64)
        if out.action_mask is not None:  # envs with illegal actions: start from legal ones (the first of each mask)
            actions = out.action_mask.long().argmax(-1)
            illegal = (~out.action_mask[1, 0]).nonzero().flatten()
            if illegal.numel():
                wrong = actions.clone()
                wrong[1, 0] = illegal[0]
                with pytest.raises(
                    ValueError, match=f"agent '{env.possible_agents[0]}' in sub-env 1: action {int(illegal[0])} is illegal now"
                ):
                    env.step(wrong)
        actions[2, N - 1] = env.action_sizes[N - 1]
        with pytest.raises(
            ValueError, match=f"agent '{env.possible_agents[N - 1]}' in sub-env 2: action {env.action_sizes[N - 1]} is out of range"
        ):
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
        actions[1, N - 1, 0] = float(env.actions.high[N - 1, 0]) + 1
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
