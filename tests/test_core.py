"""The shared mechanism: random streams, seeding, registry, and validation of continuous actions."""

from __future__ import annotations

import re

import gymnasium
import numpy as np
import pytest
import torch

import marl_envs
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.rng import CounterRNG, seeds_for


def test_streams_depend_only_on_their_own_seed_and_draws():
    small, large = CounterRNG(2, torch.device("cpu")), CounterRNG(64, torch.device("cpu"))
    small.seed(torch.tensor([7, 8]))
    large.seed(torch.arange(64) + 7)  # sub-env 1 of both has seed 8
    a = small.bits((5,), torch.tensor([1]))
    large.bits((3,))  # every sub-env of the large one draws once more...
    large.counter[1] -= 1  # ...except that sub-env 1 is put back where it was
    b = large.bits((5,), torch.tensor([1]))
    assert torch.equal(a, b)
    # a stream that did not draw has not moved
    assert small.counter.tolist() == [0, 1]
    assert not torch.equal(small.bits((5,), torch.tensor([1])), a)


def test_draws_are_uniform_enough():
    rng = CounterRNG(1000, torch.device("cpu"))
    rng.seed(torch.arange(1000))
    u = rng.uniform((100,))
    assert 0 <= float(u.min()) and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.var()) - 1 / 12) < 0.002
    counts = torch.bincount(rng.integers(6, (60,)).flatten(), minlength=6).float()
    assert (counts / counts.sum() - 1 / 6).abs().max() < 0.01
    picks = rng.distinct(10, 10)
    assert torch.equal(picks.sort(-1).values, torch.arange(10).expand(1000, 10))
    # each value lands in each position about equally often
    assert (picks == 0).float().mean(0).sub(0.1).abs().max() < 0.03


def test_seed_forms():
    assert seeds_for(5, 3).tolist() == [5, 6, 7]
    assert seeds_for([4, 4, 9], 3).tolist() == [4, 4, 9]
    assert seeds_for((4, np.int32(4), 9), 3).tolist() == [4, 4, 9]
    assert seeds_for(np.int64(2), 2).tolist() == [2, 3]
    assert seeds_for(np.array(2), 2).tolist() == seeds_for(torch.tensor(2), 2).tolist() == [2, 3]  # 0-d: an int
    assert seeds_for(np.arange(3, dtype=np.uint8), 3).tolist() == seeds_for(torch.arange(3), 3).tolist() == [0, 1, 2]
    assert seeds_for(range(3), 3).tolist() == [0, 1, 2]
    assert seeds_for(-(2**62), 1).tolist() == [-(2**62)] and seeds_for(2**62 - 1, 1).tolist() == [2**62 - 1]
    assert seeds_for(None, 2).shape == (2,)


EXPECTED_SEED = re.escape("seed must be None, an int or a sequence of 3 ints (one per sub-env); got ")


@pytest.mark.parametrize(
    "seed, error, message",
    [
        ("abc", TypeError, EXPECTED_SEED + "'abc' \\(str\\)"),
        (1.5, TypeError, EXPECTED_SEED + "1.5 \\(float\\)"),
        (3.0, TypeError, EXPECTED_SEED + "3.0 \\(float\\)"),  # integral floats too, as in Gymnasium
        (np.float32(3), TypeError, EXPECTED_SEED + ".*float32"),
        (True, TypeError, EXPECTED_SEED + "True \\(bool\\)"),
        (np.bool_(True), TypeError, EXPECTED_SEED + ".*bool"),
        (b"1", TypeError, EXPECTED_SEED + "b'1' \\(bytes\\)"),
        ({1, 2, 3}, TypeError, EXPECTED_SEED + "\\{1, 2, 3\\} \\(set\\)"),
        ([1, None, 3], TypeError, EXPECTED_SEED + "seed\\[1\\] = None \\(NoneType\\)"),
        ([1, 2.0, 3], TypeError, EXPECTED_SEED + "seed\\[1\\] = 2.0 \\(float\\)"),
        ([[1, 2], [3, 4], [5, 6]], TypeError, EXPECTED_SEED + "seed\\[0\\] = \\[1, 2\\] \\(list\\)"),
        ([0, True, 2], TypeError, EXPECTED_SEED + "seed\\[1\\] = True \\(bool\\)"),
        (np.array([1.0, 2.0, 3.0]), TypeError, EXPECTED_SEED + "a NumPy array of dtype float64 and shape \\[3\\]"),
        (np.array(["a", "b", "c"]), TypeError, EXPECTED_SEED + "a NumPy array of dtype <U1"),
        (torch.tensor([1.0, 2.0, 3.0]), TypeError, EXPECTED_SEED + "a tensor of dtype torch.float32 and shape \\[3\\]"),
        (torch.tensor([True, False, True]), TypeError, EXPECTED_SEED + "a tensor of dtype torch.bool"),
        ([1, 2], ValueError, EXPECTED_SEED + "a list of 2 seeds"),
        (np.zeros((3, 1), np.int64), ValueError, EXPECTED_SEED + "a NumPy array of shape \\[3, 1\\]"),
        (torch.zeros(1, 3, dtype=torch.int64), ValueError, EXPECTED_SEED + "a tensor of shape \\[1, 3\\]"),
        (2**62, ValueError, re.escape(f"seed must lie in [-2**62, 2**62); got {2**62}")),
        (-(2**62) - 1, ValueError, re.escape("seed must lie in [-2**62, 2**62)")),
        (2**70, ValueError, re.escape(f"seed must lie in [-2**62, 2**62); got {2**70}")),
        (np.uint64(2**63), ValueError, re.escape(f"seed must lie in [-2**62, 2**62); got {2**63}")),
        ([0, 1, 2**63], ValueError, re.escape(f"seed[2] must lie in [-2**62, 2**62); got {2**63}")),
        (np.array([0, 1, 2**63], np.uint64), ValueError, re.escape(f"seed[2] must lie in [-2**62, 2**62); got {2**63}")),
    ],
)
def test_bad_seeds(seed, error, message):
    with pytest.raises(error, match=f"^{message}") as caught:
        seeds_for(seed, 3)
    assert "\n" not in str(caught.value)  # one line


def test_reset_without_seed_continues_the_streams():
    env = marl_envs.make_batched("target_grid_v0", num_envs=4)
    first = env.reset(seed=3).obs
    second = env.reset().obs
    assert not torch.equal(first, second)
    assert torch.equal(env.reset(seed=3).obs, first)
    # the first reset without a seed draws one from OS entropy
    assert not torch.equal(marl_envs.make_batched("target_grid_v0", num_envs=4).reset().obs, first)


def test_names_in_every_form():
    for name in ("goal_grid_v0", "goal_grid-v0", "marl_envs/goal_grid-v0"):
        assert marl_envs.make(name).metadata["name"] == "goal_grid_v0"
    assert marl_envs.spec("target_grid_v0").max_cycles == 50
    assert marl_envs.make("target_grid_v0", max_cycles=7).max_cycles == 7


@pytest.mark.parametrize(
    "env_id, old, new, value", [("smart_grid_v0", "continuous", "continuous_actions", False), ("poker_v0", "n_players", "n_agents", 3)]
)
def test_renamed_arguments_still_work_for_one_version(env_id, old, new, value):
    with pytest.warns(FutureWarning, match=f"{env_id}: argument '{old}' is renamed '{new}'"):
        env = marl_envs.make_batched(env_id, num_envs=2, **{old: value})
    new_env = marl_envs.make_batched(env_id, num_envs=2, **{new: value})
    assert env.action_spaces == new_env.action_spaces and env.n_agents == new_env.n_agents
    assert torch.equal(env.reset(seed=1).obs, new_env.reset(seed=1).obs)
    with pytest.raises(TypeError, match=f"got both '{old}' and '{new}'"):
        marl_envs.make(env_id, **{old: value, new: value})
    assert old not in marl_envs.spec(env_id).arguments


BOXES = {"agent_0": gymnasium.spaces.Box(-1, 1, (2,), np.float32), "agent_1": gymnasium.spaces.Box(0, 3, (1,), np.float32)}
DISCRETE = dict.fromkeys(["agent_0", "agent_1"], gymnasium.spaces.Discrete(3))


class _Tiny(BatchedEnv):
    """Two agents that only remember their last action: the smallest env that exercises validation.

    ``action_spaces`` defaults to Box actions of different widths; with Discrete ones, ``agent_1``
    may never take action 2 (an action mask).
    """

    def __init__(self, num_envs=1, device="cpu", *, action_spaces=BOXES, max_cycles=5, validate_actions=True):
        obs = gymnasium.spaces.Box(-5, 5, (1,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            possible_agents=list(action_spaces),
            observation_spaces=dict.fromkeys(action_spaces, obs),
            action_spaces=action_spaces,
            state_space=gymnasium.spaces.Box(-5, 5, (1,), np.float32),
        )
        self.last = torch.zeros(self.num_envs, 2, 1 if self.discrete_actions else self.action_size)
        self.has_action_mask = self.discrete_actions

    def reset_envs(self, env_ids):
        self.last[env_ids] = 0

    def step_envs(self, actions):
        self.last = actions.float().reshape(self.num_envs, 2, -1).clone()
        zeros = torch.zeros(self.num_envs, 2)
        return zeros, zeros.bool(), {}

    def observations(self):
        return self.last[..., :1].clamp(-5, 5)

    def global_state(self):
        return self.last[:, 0, :1].clamp(-5, 5)

    def action_masks(self):
        if not self.discrete_actions:
            return None
        mask = torch.ones(self.num_envs, 2, 3, dtype=torch.bool)
        mask[:, 1, 2] = False
        return mask


def test_continuous_actions_are_checked_not_clipped():
    env = _Tiny(num_envs=2)
    env.reset(seed=0)
    assert env.action_size == 2
    good = torch.tensor([[[0.5, -1.0], [3.0, 123.0]]] * 2)  # agent_1's second entry is padding
    env.step(good)
    assert torch.equal(env.last, good)
    nan = good.clone()
    nan[1, 0, 1] = float("nan")
    with pytest.raises(ValueError, match="agent 'agent_0' in sub-env 1: action \\[0.5, nan\\] contains NaN"):
        env.step(nan)
    high = good.clone()
    high[0, 1, 0] = 3.5
    with pytest.raises(ValueError, match="agent 'agent_1' in sub-env 0: action \\[3.5\\] is out of range; expected Box\\(0.0, 3.0"):
        env.step(high)
    with pytest.raises(TypeError, match="float tensor"):
        env.step(good.long())
    with pytest.raises(ValueError, match="shape \\[2, 2, 2\\]"):
        env.step(good[..., :1])
    unchecked = _Tiny(num_envs=2, validate_actions=False)
    unchecked.reset(seed=0)
    unchecked.step(high)  # the caller took responsibility
    assert unchecked.last[0, 1, 0] == 3.5


def test_continuous_pettingzoo_view():
    env = marl_envs.BatchedParallelEnv(_Tiny(), name="continuous_test")
    env.reset(seed=0)
    env.step({"agent_0": np.array([0.1, 0.2], np.float32), "agent_1": np.array([2.0])})
    with pytest.raises(ValueError, match="agent 'agent_1': action must be a float array of shape \\(1,\\)"):
        env.step({"agent_0": np.zeros(2, np.float32), "agent_1": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match="agent 'agent_1': action \\[-1.0\\] is out of range"):
        env.step({"agent_0": np.zeros(2, np.float32), "agent_1": np.array([-1.0], np.float32)})


def test_batched_tensors_are_plain_whatever_the_callers_mode():
    """Evaluation under inference_mode, then training with autograd, on the same env."""
    env = marl_envs.make_batched("target_grid_v0", num_envs=8)
    with torch.inference_mode():
        env.reset(seed=0)
        for _ in range(60):  # crosses auto-resets, which write the state in place
            env.step(torch.zeros(8, 3, dtype=torch.int64))
    policy = torch.nn.Linear(env.obs_size, env.action_size)
    out = env.reset(seed=1)  # writes in place into state last made under inference_mode
    for _ in range(60):
        logits = policy(out.obs)
        logits.sum().backward()  # obs can be saved for backward: not an inference tensor
        out = env.step(logits.argmax(-1))
    assert not out.obs.requires_grad and not out.obs.is_inference()
    assert policy.weight.grad is not None


def test_illegal_actions_are_refused_and_masks_reach_the_infos():
    env = _Tiny(num_envs=2, action_spaces=DISCRETE)
    out = env.reset(seed=0)
    assert out.action_mask[:, 1].tolist() == [[True, True, False]] * 2
    env.step(torch.tensor([[2, 1], [0, 0]]))
    with pytest.raises(ValueError, match="agent 'agent_1' in sub-env 1: action 2 is illegal now; legal actions: \\[0, 1\\]"):
        env.step(torch.tensor([[2, 1], [0, 2]]))
    view = marl_envs.BatchedParallelEnv(_Tiny(action_spaces=DISCRETE), name="masked_test")
    obs, infos = view.reset(seed=0)
    assert infos["agent_1"]["action_mask"].tolist() == [1, 1, 0]
    # PettingZoo's convention for masked envs: dict observations with a Dict space, shared by the team
    assert obs["agent_1"]["action_mask"].tolist() == [1, 1, 0] and obs["agent_1"]["action_mask"].dtype == np.int8
    assert view.observation_space("agent_1") is view.observation_space("agent_0")
    assert view.observation_space("agent_1").contains(obs["agent_1"])
    from pettingzoo.test import parallel_api_test

    parallel_api_test(marl_envs.BatchedParallelEnv(_Tiny(action_spaces=DISCRETE), name="masked_test"), num_cycles=20)
    _, _, _, _, infos = view.step({"agent_0": 2, "agent_1": 1})
    assert infos["agent_0"]["action_mask"].tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="agent 'agent_1': action 2 is illegal now"):
        view.step({"agent_0": 0, "agent_1": 2})


def test_normal_draws():
    rng = CounterRNG(2000, torch.device("cpu"))
    rng.seed(torch.arange(2000))
    z = rng.normal((50,))
    assert torch.isfinite(z).all()
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01
    assert abs(float((z.abs() < 1).float().mean()) - 0.6827) < 0.005  # the normal's one-sigma mass


def test_discrete_action_table_maps_to_continuous_actions():
    from marl_envs.core.actions import action_spaces

    agents = ["agent_0", "agent_1"]
    spaces, table = action_spaces(agents, gymnasium.spaces.Box(-1, 1, (2,), np.float32), False, [[-1.0, 0.0], [0.0, 0.5], [1.0, 1.0]])
    with pytest.raises(ValueError, match="every prototype must be a point of Box"):
        action_spaces(agents, gymnasium.spaces.Box(-1, 1, (2,), np.float32), False, [[2.0, 0.0]])

    class Levels(_Tiny):
        def __init__(self, num_envs=1, device="cpu"):
            BatchedEnv.__init__(
                self,
                num_envs,
                device,
                max_cycles=5,
                validate_actions=True,
                possible_agents=["agent_0", "agent_1"],
                observation_spaces=dict.fromkeys(["agent_0", "agent_1"], gymnasium.spaces.Box(-5, 5, (1,), np.float32)),
                action_spaces=spaces,
                state_space=gymnasium.spaces.Box(-5, 5, (1,), np.float32),
                action_table=table,
            )
            self.last = torch.zeros(num_envs, 2, 2)

        action_masks = BatchedEnv.action_masks

    env = Levels(num_envs=2)
    env.reset(seed=0)
    env.step(torch.tensor([[0, 2], [1, 1]]))
    assert env.last.tolist() == [[[-1, 0], [1, 1]], [[0, 0.5], [0, 0.5]]]
    with pytest.raises(ValueError, match="action 3 is out of range"):
        env.step(torch.tensor([[0, 3], [1, 1]]))


def test_registering_an_env_creates_its_pettingzoo_style_module():
    import importlib
    import sys

    marl_envs.register(marl_envs.EnvSpec("small_grid", 3, "marl_envs.envs.goal_grid:GoalGridEnv", defaults={"size": 3}))
    try:
        module = importlib.import_module("marl_envs.small_grid_v3")
        from marl_envs import small_grid_v3

        assert small_grid_v3 is module and set(module.__all__) == {"env", "raw_env", "parallel_env", "make_batched"}
        assert module.__doc__ == importlib.import_module("marl_envs.envs.goal_grid").__doc__
        env = module.parallel_env()
        observations, _ = env.reset(seed=0)
        assert env.metadata["name"] == "small_grid_v3" and observations["agent_0"].tolist() == [0, 0, 1, 1, 1, 0]
        assert module.make_batched(4).num_envs == 4 and module.env().possible_agents == ["agent_0", "agent_1"]
        with pytest.raises(AttributeError, match="module 'marl_envs.small_grid_v3' has no attribute 'step'"):
            module.step
    finally:
        marl_envs.REGISTRY.pop("small_grid_v3")
        sys.modules.pop("marl_envs.small_grid_v3")
        delattr(marl_envs, "small_grid_v3")
