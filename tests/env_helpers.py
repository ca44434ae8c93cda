"""Helpers shared by the tests applied to every env (test_every_env.py, test_every_env_bad_input.py)."""

from __future__ import annotations

import numpy as np

import marl_envs

ENV_IDS = marl_envs.list_envs()

# Envs where agents leave mid-episode (``agents_can_leave``), with arguments under which the others
# go on after one leaves (with two poker players a fold ends the hand for both).
AGENTS_LEAVE = {"poker_v0": {"n_agents": 3, "variant": "kuhn"}}


# Envs with illegal actions (poker) observe {"observation", "action_mask"} dicts, PettingZoo's
# convention, and refuse an action outside the mask. Random actions here are drawn from the mask
# when there is one, as PettingZoo's own parallel_api_test, api_test and render_test do; for
# envs without masks nothing changes (same draws from the same spaces).
def sample_action(env, agent, observation):
    """A random action of ``agent``: from its action mask if ``observation`` carries one, else from its space."""
    space = env.action_space(agent)
    if isinstance(observation, dict) and "action_mask" in observation:
        return space.sample(mask=observation["action_mask"])
    return space.sample()


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
        actions = {agent: sample_action(env, agent, obs[agent]) for agent in env.agents}
        step = env.step(actions)
        obs = step[0]
        records.append(("step", actions, *step, env.state()))
    return records


def observation_array(observation):
    return observation["observation"] if isinstance(observation, dict) else observation


def last_observations(records):
    kind, *record = records[-1]
    return record[0] if kind == "reset" else record[1]


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


def rollout_continue(env, steps, obs):
    records = []
    for t in range(steps):
        if not env.agents:
            records.append(("reset", *env.reset()))
            obs = records[-1][1]
            continue
        actions = {a: _fixed_action(env, a, t, obs[a]) for a in env.agents}
        records.append(env.step(actions))
        obs = records[-1][0]
    return records


def _fixed_action(env, agent, t, observation):
    space = env.action_space(agent)
    if hasattr(space, "n"):
        k = t * 7 + env.possible_agents.index(agent)
        if isinstance(observation, dict) and "action_mask" in observation:  # the k-th legal action, cyclically
            legal = np.flatnonzero(observation["action_mask"])
            return int(legal[k % len(legal)])
        return k % int(space.n)
    return np.full(space.shape, np.sin(t), dtype=np.float32).clip(space.low, space.high)
