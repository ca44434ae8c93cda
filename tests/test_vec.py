"""VecEnv: the native and the pettingzoo source give the same batches; any ParallelEnv (mpe2) runs through it."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch
from pettingzoo import ParallelEnv

import marl_envs
from marl_baselines.vec import NativeVecEnv, PettingZooVecEnv, VecEnv, make_vec_env
from marl_envs import BatchedEnv, BatchedParallelEnv

FIELDS = ("obs", "state", "reward", "terminated", "truncated", "alive", "final_obs", "final_state", "action_mask")


def assert_same_batch(native, other, where: str, info_where: torch.Tensor | None = None) -> None:
    for field in FIELDS:
        a, b = getattr(native, field), getattr(other, field)
        if a is None or b is None:
            assert a is None and b is None, f"{where}: {field} is None in one source only"
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {field} {a.dtype}{list(a.shape)} != {b.dtype}{list(b.shape)}"
        assert torch.equal(a, b), f"{where}: {field} differs\nnative {a}\npettingzoo {b}"
    assert native.info.keys() == other.info.keys(), f"{where}: info keys {sorted(native.info)} != {sorted(other.info)}"
    for key in native.info:
        a, b = native.info[key], other.info[key]
        assert a.shape == b.shape and a.dtype == b.dtype, f"{where}: info[{key!r}] {a.dtype}{list(a.shape)} != {b.dtype}{list(b.shape)}"
        if info_where is not None:  # agents that had left have no info in the PettingZoo API
            a, b = a[info_where], b[info_where]
        assert torch.equal(a, b), f"{where}: info[{key!r}] differs"


def run_both(native: VecEnv, other: VecEnv, steps: int, seed: int = 3) -> dict[str, int]:
    """Step both sources with the same actions; return how many episodes ended and how."""
    for attribute in (
        "num_envs",
        "n_agents",
        "agents",
        "obs_size",
        "state_size",
        "discrete",
        "action_size",
        "action_sizes",
        "has_action_mask",
        "max_episode_steps",
    ):
        assert getattr(native, attribute) == getattr(other, attribute), attribute
    if not native.discrete:
        assert torch.equal(native.action_low, other.action_low) and torch.equal(native.action_high, other.action_high)
    counts = {"ended": 0, "terminated": 0, "truncated": 0}
    a, b = native.reset(seed=seed), other.reset(seed=seed)
    assert_same_batch(a, b, "reset")
    for t in range(steps):
        generator_a, generator_b = torch.Generator().manual_seed(t), torch.Generator().manual_seed(t)
        actions = native.random_actions(generator_a)
        assert torch.equal(actions, other.random_actions(generator_b)), f"step {t}: random_actions differ"
        alive_before = a.alive
        a, b = native.step(actions), other.step(actions)
        assert_same_batch(a, b, f"step {t}", info_where=alive_before)
        ended = (a.terminated | a.truncated).all(-1)
        counts["ended"] += int(ended.sum())
        counts["terminated"] += int((ended & a.terminated.any(-1)).sum())
        counts["truncated"] += int((ended & a.truncated.any(-1)).sum())
    # reset() without a seed continues every copy's stream, in both sources
    a, b = native.reset(), other.reset()
    assert_same_batch(a, b, "unseeded reset")
    for t in range(5):
        actions = native.random_actions(torch.Generator().manual_seed(100 + t))
        alive_before = a.alive
        a, b = native.step(actions), other.step(actions)
        assert_same_batch(a, b, f"after unseeded reset, step {t}", info_where=alive_before)
    return counts


PARITY = [
    ("goal_grid_v0", {"randomize": True, "max_cycles": 7}),
    ("goal_grid_v0", {"size": 2, "max_cycles": 6}),  # a 2x2 grid: random moves reach the goals
    ("target_grid_v0", {"max_cycles": 9, "grid_size": (4, 4)}),
    ("smart_grid_v0", {"max_cycles": 10}),
    ("coordination_v0", {"continuous_actions": False, "max_cycles": 8}),
    ("coordination_v0", {"max_cycles": 8}),
    ("matrix_game_v0", {}),
    ("matrix_game_v0", {"game": "two_step"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PARITY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PARITY)])
def test_native_and_pettingzoo_sources_give_identical_batches(name, kwargs):
    native = make_vec_env(name, 4, **kwargs)
    other = make_vec_env(name, 4, source="pettingzoo", **kwargs)
    assert isinstance(native, NativeVecEnv) and isinstance(other, PettingZooVecEnv)
    assert native.source == "native" and other.source == "pettingzoo"
    counts = run_both(native, other, steps=30)
    assert counts["ended"] >= 8, f"the run crossed too few auto-resets: {counts}"
    other.close()


def test_pettingzoo_source_cannot_give_adjacency_but_native_can():
    native = make_vec_env("target_grid_v0", 2)
    other = make_vec_env("target_grid_v0", 2, source="pettingzoo")
    a, b = native.reset(seed=0), other.reset(seed=0)
    assert a.adjacency is not None and a.adjacency.shape == (2, 3, 3) and b.adjacency is None
    assert native.has_adjacency and not other.has_adjacency
    assert not make_vec_env("goal_grid_v0", 2).has_adjacency
    assert make_vec_env("cooperative_navigation_v0", 2, comm_radius=0.5).has_adjacency
    assert not make_vec_env("cooperative_navigation_v0", 2).has_adjacency
    a = native.step(torch.zeros(2, 3, dtype=torch.int64))
    b = other.step(torch.zeros(2, 3, dtype=torch.int64))
    # info: both sources report per agent [B, N]
    assert a.info["targets_collected"].shape == (2, 3) == b.info["targets_collected"].shape
    assert torch.equal(a.info["targets_collected"], b.info["targets_collected"])


# ---------------------------------------------------------------------- a batched env where agents differ and leave
class DepartureEnv(BatchedEnv):
    """Two agents with different action counts and observation sizes, action masks, and one that leaves.

    ``big_0`` terminates at step 2 and leaves; ``small_0`` terminates at step >= 4 when x > 1,
    else is truncated at ``max_cycles`` = 5. A departed agent observes zeros and may take any of
    its actions (what the PettingZoo source reports for agents that have left).
    """

    agents_can_leave = True
    has_action_mask = True

    def __init__(self, num_envs: int = 1, device: str | torch.device = "cpu", max_cycles: int = 5):
        agents = ["small_0", "big_0"]
        box = gymnasium.spaces.Box
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=True,
            possible_agents=agents,
            observation_spaces={"small_0": box(-np.inf, np.inf, (3,), np.float32), "big_0": box(-np.inf, np.inf, (5,), np.float32)},
            action_spaces={"small_0": gymnasium.spaces.Discrete(2), "big_0": gymnasium.spaces.Discrete(4)},
            state_space=box(-np.inf, np.inf, (2,), np.float32),
        )
        self.t = torch.zeros(num_envs, device=self.device)
        self.x = torch.zeros(num_envs, device=self.device)

    def reset_envs(self, env_ids):
        self.t[env_ids] = 0.0
        self.x[env_ids] = self.rng.uniform((1,), env_ids)[:, 0]

    def step_envs(self, actions):
        big_alive = self.alive[:, 1]
        self.x = self.x + actions[:, 0] - 0.25 * actions[:, 1] * big_alive
        self.t = self.t + 1
        reward = torch.stack((self.x, 2 * self.x), -1)
        terminated = torch.stack(((self.t >= 4) & (self.x > 1), self.t >= 2), -1)
        return reward, terminated, {"x": self.x.clone(), "t_per_agent": torch.stack((self.t, -self.t), -1)}

    def observations(self):
        B = self.num_envs
        one = torch.ones(B, device=self.device)
        small = torch.stack((self.t, self.x, one, 0 * one, 0 * one), -1)
        big = torch.stack((self.x, self.t, one, 2 * one, 3 * one), -1) * self.alive[:, 1:2]
        return torch.stack((small, big), 1)

    def global_state(self):
        return torch.stack((self.t, self.x), -1)

    def action_masks(self):
        B = self.num_envs
        true = torch.ones(B, dtype=torch.bool, device=self.device)
        small = torch.stack((true, self.t % 2 == 0, true, true), -1)  # padding True: VecEnv must mask it
        big = torch.stack((true, true, self.x > 0.5, ~true), -1) | ~self.alive[:, 1:2]
        return torch.stack((small, big), 1)


def test_departures_heterogeneous_actions_and_masks_match_between_sources():
    native = NativeVecEnv(DepartureEnv(6))
    other = PettingZooVecEnv(lambda: BatchedParallelEnv(DepartureEnv(1), name="departure_v0"), 6)
    assert native.has_action_mask and native.action_sizes == [2, 4] and native.action_size == 4
    counts = run_both(native, other, steps=25)
    assert counts["terminated"] > 0 and counts["truncated"] > 0, counts
    # the static mask: small_0 never may take actions 2 and 3, whatever the env says
    out = native.reset(seed=0)
    assert not out.action_mask[:, 0, 2:].any()


# ---------------------------------------------------------------------- a plain PettingZoo env (no state)
class TwoSizes(ParallelEnv):
    """``a_0``: Discrete(3), (2, 2) observations; ``b_0``: Discrete(5, start=1), 3 numbers, leaves after 2 steps.

    Masks in infos only. No ``state()``. ``a_0`` is truncated at step 4.
    """

    metadata = {"name": "two_sizes_v0"}

    def __init__(self):
        self.possible_agents = ["a_0", "b_0"]
        self.agents = []
        self._obs = {"a_0": gymnasium.spaces.Box(0, 100, (2, 2), np.float32), "b_0": gymnasium.spaces.Box(0, 100, (3,), np.float32)}
        self._act = {"a_0": gymnasium.spaces.Discrete(3), "b_0": gymnasium.spaces.Discrete(5, start=1)}
        self.received = []

    def observation_space(self, agent):
        return self._obs[agent]

    def action_space(self, agent):
        return self._act[agent]

    def observations(self):
        values = {"a_0": np.full((2, 2), self.t + 1, np.float32), "b_0": np.full(3, 10 + self.t, np.float32)}
        return {a: values[a] for a in self.agents}

    def _infos(self, agents):
        masks = {"a_0": np.array([1, self.t % 2, 1], np.int8), "b_0": np.array([1, 1, 1, 0, 1], np.int8)}
        return {a: {"action_mask": masks[a], "step": self.t, "label": "text is dropped"} for a in agents}

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = self.possible_agents[:]
        return self.observations(), {a: {"action_mask": info["action_mask"]} for a, info in self._infos(self.agents).items()}

    def step(self, actions):
        self.received.append(dict(actions))
        acting = self.agents
        assert set(actions) == set(acting), (actions, acting)
        self.t += 1
        observations = {a: v for a, v in self.observations().items() if a in acting}
        rewards = {a: {"a_0": 1.0, "b_0": 2.0}[a] for a in acting}
        terminations = {a: a == "b_0" and self.t >= 2 for a in acting}
        truncations = {a: a == "a_0" and self.t >= 4 for a in acting}
        infos = self._infos(acting)
        self.agents = [a for a in acting if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos


def test_plain_parallel_env_padding_departures_and_concatenated_state():
    env = make_vec_env(TwoSizes, 3)
    assert isinstance(env, PettingZooVecEnv)
    assert env.agents == ["a_0", "b_0"] and env.obs_size == 4 and env.state_size == 8
    assert env.discrete and env.action_sizes == [3, 5] and env.action_size == 5 and env.has_action_mask
    assert env.max_episode_steps is None
    out = env.reset(seed=0)
    assert out.obs.shape == (3, 2, 4) and out.obs.dtype == torch.float32
    assert torch.equal(out.obs[:, 0], torch.ones(3, 4))  # the (2, 2) observation, flattened
    assert torch.equal(out.obs[:, 1], torch.tensor([10.0, 10, 10, 0]).expand(3, 4))  # zero-padded
    assert torch.equal(out.state, out.obs.reshape(3, 8))  # no state(): the padded observations, concatenated
    assert out.action_mask.shape == (3, 2, 5) and out.action_mask.dtype == torch.bool
    assert out.action_mask[0].tolist() == [[True, False, True, False, False], [True, True, True, False, True]]
    assert out.alive.all() and not out.terminated.any() and out.info == {}

    def act(a, b):
        return torch.tensor([[a, b]] * 3)

    with pytest.raises(ValueError, match=r"agent 'b_0' in copy 0: action 3 is illegal now; legal actions: \[0, 1, 2, 4\]"):
        env.step(act(0, 3))
    out = env.step(act(0, 4))
    assert env.envs[0].received[-1] == {"a_0": 0, "b_0": 5}  # b_0's Discrete starts at 1
    assert all(isinstance(v, np.int64) for v in env.envs[0].received[-1].values())
    assert out.action_mask[0, 0].tolist() == [True, True, True, False, False]
    assert out.info["step"].dtype == torch.int64 and torch.equal(out.info["step"], torch.ones(3, 2, dtype=torch.int64))
    assert "label" not in out.info and "action_mask" not in out.info
    out = env.step(act(2, 0))
    # b_0 terminated at step 2 and left: this step still reports its reward and final observation
    assert out.terminated[:, 1].all() and not out.alive[:, 1].any() and out.alive[:, 0].all()
    assert torch.equal(out.reward[0], torch.tensor([1.0, 2.0]))
    assert torch.equal(out.obs[0, 1], torch.tensor([12.0, 12, 12, 0]))
    with pytest.raises(ValueError, match=r"agent 'a_0' in copy 0: action 1 is illegal now; legal actions: \[0, 2\]"):
        env.step(act(1, 0))
    out = env.step(act(0, 99))  # b_0 has left: its action (even out of range) is ignored
    assert env.envs[0].received[-1] == {"a_0": 0}
    assert torch.equal(out.reward[0], torch.tensor([1.0, 0.0]))
    assert torch.equal(out.obs[:, 1], torch.zeros(3, 4))
    assert out.terminated[:, 1].all() and not out.truncated.any()  # b_0 stays terminated
    assert out.action_mask[0, 1].all()  # placeholder row: all of b_0's actions
    assert out.info["step"][0].tolist() == [3, 0]  # no info for the departed agent
    assert torch.equal(out.state, out.obs.reshape(3, 8))
    with pytest.raises(ValueError, match=r"agent 'a_0' in copy 0: action 3 is out of range"):
        env.step(act(3, 0))
    out = env.step(act(0, 0))  # a_0 is truncated at step 4: the copies start their next episode
    assert out.truncated[:, 0].all() and out.terminated[:, 1].all()
    assert torch.equal(out.final_obs[:, 0], torch.full((3, 4), 5.0))
    assert torch.equal(out.final_obs[:, 1], torch.zeros(3, 4))
    assert torch.equal(out.final_state, out.final_obs.reshape(3, 8))
    assert torch.equal(out.obs[:, 0], torch.ones(3, 4)) and torch.equal(out.obs[:, 1], torch.tensor([10.0, 10, 10, 0]).expand(3, 4))
    assert out.alive.all()
    assert out.action_mask[0].tolist() == [[True, False, True, False, False], [True, True, True, False, True]]
    out = env.step(act(0, 0))
    assert not out.terminated.any() and not out.truncated.any() and out.alive.all()
    legal = out.action_mask
    for seed in range(20):
        actions = env.random_actions(torch.Generator().manual_seed(seed))
        assert legal.gather(-1, actions[..., None]).all()


# ---------------------------------------------------------------------- mpe2, through the pettingzoo source
mpe2 = pytest.importorskip("mpe2")
from mpe2 import simple_spread_v3, simple_tag_v3  # noqa: E402


def reference_run(factory, K, seed, actions_per_step, discrete):
    """mpe2 copies stepped by hand: the batches the pettingzoo source must give."""
    envs = [factory() for _ in range(K)]
    agents = envs[0].possible_agents
    sizes = [envs[0].observation_space(a).shape[0] for a in agents]
    O = max(sizes)

    def padded(observations):
        return torch.stack([torch.cat([torch.as_tensor(observations[a]), torch.zeros(O - s)]) for a, s in zip(agents, sizes)])

    for k, env in enumerate(envs):
        env.reset(seed=seed + k)
    records = []
    for actions in actions_per_step:
        step_obs, final_obs, rewards, truncs = [], [], [], []
        for k, env in enumerate(envs):
            if discrete:
                act = {a: int(actions[k, i]) for i, a in enumerate(agents)}
            else:
                act = {a: actions[k, i].numpy() for i, a in enumerate(agents)}
            o, r, te, tr, _ = env.step(act)
            final_obs.append(padded(o))
            rewards.append(torch.tensor([r[a] for a in agents], dtype=torch.float32))
            truncs.append(torch.tensor([tr[a] for a in agents]))
            step_obs.append(padded(env.reset()[0]) if not env.agents else final_obs[-1])
        records.append((torch.stack(step_obs), torch.stack(final_obs), torch.stack(rewards), torch.stack(truncs)))
    return records


@pytest.mark.parametrize(
    ("factory", "kwargs", "n_agents", "obs_sizes", "state_size"),
    [
        (simple_spread_v3.parallel_env, {}, 3, [18, 18, 18], 54),
        (simple_spread_v3.parallel_env, {"continuous_actions": True}, 3, [18, 18, 18], 54),
        (simple_tag_v3.parallel_env, {}, 4, [16, 16, 16, 14], 62),
    ],
    ids=["simple_spread", "simple_spread_continuous", "simple_tag"],
)
def test_mpe2_through_the_pettingzoo_source(factory, kwargs, n_agents, obs_sizes, state_size):
    K, seed, steps = 3, 11, 60
    env = make_vec_env(factory, K, **kwargs)
    continuous = kwargs.get("continuous_actions", False)
    assert env.n_agents == n_agents and env.obs_size == max(obs_sizes) and env.state_size == state_size
    assert env.max_episode_steps == 25 and env.discrete is not continuous and not env.has_action_mask
    if continuous:
        assert env.action_size == 5 and torch.equal(env.action_low, torch.zeros(3, 5)) and torch.equal(env.action_high, torch.ones(3, 5))
    else:
        assert env.action_sizes == [5] * n_agents and env.action_low is None
    out = env.reset(seed=seed)
    generator = torch.Generator().manual_seed(0)
    all_actions = []
    outs = []
    for _ in range(steps):
        actions = env.random_actions(generator)
        if continuous:
            assert actions.dtype == torch.float32 and actions.shape == (K, n_agents, 5)
            assert (actions >= 0).all() and (actions <= 1).all()
        else:
            assert actions.dtype == torch.int64 and actions.shape == (K, n_agents)
        all_actions.append(actions)
        outs.append(env.step(actions))
    reference = reference_run(lambda: factory(**kwargs), K, seed, all_actions, not continuous)
    for t, (out, (obs, final_obs, reward, truncated)) in enumerate(zip(outs, reference)):
        assert out.obs.shape == (K, n_agents, max(obs_sizes)) and out.obs.dtype == torch.float32
        assert out.state.shape == (K, state_size) and out.state.dtype == torch.float32
        assert out.reward.dtype == torch.float32 and out.terminated.dtype == torch.bool and out.alive.dtype == torch.bool
        assert out.action_mask is None and out.adjacency is None
        for i, size in enumerate(obs_sizes):
            assert not out.obs[:, i, size:].any() and not out.final_obs[:, i, size:].any()  # padding zeros
        assert torch.equal(out.obs, obs) and torch.equal(out.final_obs, final_obs), f"step {t}"
        assert torch.equal(out.reward, reward) and torch.equal(out.truncated, truncated)
        assert out.alive.all() and not out.terminated.any()
        if (t + 1) % 25 == 0:  # max_cycles: every copy is truncated and starts again, same step
            assert out.truncated.all() and not torch.equal(out.obs, out.final_obs)
            assert not torch.equal(out.state, out.final_state)
        else:
            assert not out.truncated.any() and out.final_obs is out.obs and out.final_state is out.state
    # state comes from env.state(): check it against the copies' own
    for k, copy in enumerate(env.envs):
        assert torch.equal(outs[-1].state[k], torch.as_tensor(copy.state()))


# ---------------------------------------------------------------------- errors
class MultiDiscreteEnv(TwoSizes):
    def action_space(self, agent):
        return gymnasium.spaces.MultiDiscrete([2, 3])


class DiscreteObservationEnv(TwoSizes):
    def observation_space(self, agent):
        return gymnasium.spaces.Discrete(4)


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"unknown environment 'nope_v0'; valid names: .*goal_grid_v0"):
        make_vec_env("nope_v0", 2)
    with pytest.raises(ValueError, match=r"source='native' needs a registered marl_envs name"):
        make_vec_env(simple_spread_v3.parallel_env, 2, source="native")
    with pytest.raises(ValueError, match=r"source must be None, 'native' or 'pettingzoo', got 'gpu'"):
        make_vec_env("goal_grid_v0", 2, source="gpu")
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match=r"num_envs must be an integer >= 1"):
            make_vec_env("goal_grid_v0", bad)
        with pytest.raises(ValueError, match=r"num_envs must be an integer >= 1"):
            make_vec_env(TwoSizes, bad)
    with pytest.raises(TypeError, match=r"MultiDiscrete"):
        make_vec_env(MultiDiscreteEnv, 2)
    with pytest.raises(TypeError, match=r"unsupported observation space Discrete\(4\)"):
        make_vec_env(DiscreteObservationEnv, 2)
    with pytest.raises(TypeError, match=r"unknown argument.*'sise'"):
        make_vec_env("goal_grid_v0", 2, sise=3)
    with pytest.raises(TypeError, match=r"unknown argument.*'sise'"):
        make_vec_env("goal_grid_v0", 2, source="pettingzoo", sise=3)
    with pytest.raises(TypeError, match=r"env must be a marl_envs name"):
        make_vec_env(42, 2)
    with pytest.raises(ValueError, match=r"num_envs=3 but the BatchedEnv has num_envs=2"):
        make_vec_env(marl_envs.make_batched("goal_grid_v0", 2), 3)
    with pytest.raises(TypeError, match=r"lacks"):
        PettingZooVecEnv(lambda: object(), 1)


@pytest.mark.parametrize("source", ["native", "pettingzoo"])
def test_action_errors_are_the_same_for_both_sources(source):
    env = make_vec_env("goal_grid_v0", 2, source=source)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 2, dtype=torch.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \[2, 2\] \(num_envs, n_agents\), got \[2, 3\]"):
        env.step(torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"discrete actions must be an integer tensor \[2, 2\], got dtype torch.float32"):
        env.step(torch.zeros(2, 2))
    with pytest.raises(
        ValueError, match=r"agent 'agent_1' in sub-env 1: action 4 is out of range|agent 'agent_1' in copy 1: action 4 is out of range"
    ):
        env.step(torch.tensor([[0, 0], [0, 4]]))
    continuous = make_vec_env("coordination_v0", 2, source=source)
    continuous.reset(seed=0)
    with pytest.raises(ValueError, match=r"out of range"):
        continuous.step(torch.full((2, 3, 4), 2.0))
    with pytest.raises(ValueError, match=r"NaN"):
        continuous.step(torch.full((2, 3, 4), float("nan")))


def test_seed_per_copy_and_sequence_seeds():
    other = make_vec_env("goal_grid_v0", 3, source="pettingzoo", randomize=True)
    single = marl_envs.make("goal_grid_v0", randomize=True)
    out = other.reset(seed=[7, 5, 9])
    observations, _ = single.reset(seed=5)
    assert torch.equal(out.obs[1], torch.as_tensor(np.stack([observations[a] for a in single.possible_agents])))
    assert torch.equal(other.reset(seed=4).obs, make_vec_env("goal_grid_v0", 3, randomize=True).reset(seed=4).obs)
    with pytest.raises(ValueError, match="seed must be None, an int or a sequence of 3 ints \\(one per sub-env\\); got a list of 2"):
        other.reset(seed=[1, 2])
    with pytest.raises(TypeError, match="seed must be .*; got 'abc' \\(str\\)"):
        other.reset(seed="abc")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_both_sources_on_cuda():
    native = make_vec_env("target_grid_v0", 4, device="cuda", max_cycles=9)
    other = make_vec_env("target_grid_v0", 4, device="cuda", source="pettingzoo", max_cycles=9)
    assert native.env.device.type == "cuda"
    counts = run_both(native, other, steps=30)
    assert counts["ended"] >= 8
    out = other.step(other.random_actions())
    assert all(t.device.type == "cuda" for t in out[:8])
    # a CPU batched env whose tensors are moved to the training device
    moved = NativeVecEnv(marl_envs.make_batched("target_grid_v0", 2, "cpu"), device="cuda")
    out = moved.reset(seed=0)
    assert out.obs.device.type == "cuda" and out.adjacency.device.type == "cuda"
    out = moved.step(moved.random_actions())
    assert out.info["targets_collected"].device.type == "cuda"


def test_env_info_reaches_every_view_of_the_env():
    """What an env documents for algorithms (poker: its rules and hands) is on the batched env, its PettingZoo view and both sources."""
    batched = marl_envs.make_batched("poker_v0", 2, variant="kuhn", hands=3)
    assert batched.env_info["hands"] == 3 and batched.env_info["rules"].variant == "kuhn"
    assert marl_envs.make("poker_v0", variant="kuhn", hands=3).env_info["rules"] == batched.env_info["rules"]
    for source in ("native", "pettingzoo"):
        env = make_vec_env("poker_v0", 2, source=source, variant="kuhn", hands=3)
        assert env.env_info["hands"] == 3 and env.env_info["rules"] == batched.env_info["rules"], source
    assert make_vec_env("goal_grid_v0", 2).env_info == {} and make_vec_env("goal_grid_v0", 2, source="pettingzoo").env_info == {}
