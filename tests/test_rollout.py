"""``BatchedEnv.rollout``: T steps with a policy (or random legal actions), stacked, eager and compiled.

A rollout must be exactly the steps it stands for: stepping a twin env (same seed) with the
rollout's actions, one ``step`` at a time with every action checked, must give the rollout's
``EnvStep`` at every step, in every env. The compiled rollout runs ``steps_per_call`` steps per
compiled call on the sync-free auto-reset path; it must give the eager rollout's trajectories up
to float rounding (the same tolerance as ``tests/test_compiled_env.py``, for the same reason).
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import marl_envs
from marl_envs import ResetNeeded

NUM_ENVS = 6


def started(env_id: str, compiled: bool = False, steps_per_call: int = 2, **kwargs):
    env = marl_envs.make_batched(env_id, NUM_ENVS, "cpu", **kwargs)
    if compiled:
        env.compile(steps_per_call=steps_per_call)
    env.reset(seed=3)
    env.step_count = (env.max_cycles - 1 - 3 * torch.arange(NUM_ENVS)).clamp_min(0)  # staggered: sub-env b ends within 3b + 1 steps
    return env


def step_at(rollout, t: int) -> marl_envs.EnvStep:
    """Step ``t`` of a rollout, as one ``EnvStep``."""
    fields = []
    for name, value in zip(rollout.steps._fields, rollout.steps):
        if name == "info":
            fields.append({key: tensor[t] for key, tensor in value.items()})
        else:
            fields.append(None if value is None else value[t])
    return marl_envs.EnvStep(*fields)


def assert_same(a, b, where: str, exact: bool = True) -> None:
    for name, x, y in zip(a._fields, a, b):
        pairs = [(f"{name}[{key!r}]", x[key], y[key]) for key in x] if name == "info" else [(name, x, y)]
        if name == "info":
            assert x.keys() == y.keys(), f"{where}: info keys differ"
        for label, u, v in pairs:
            if u is None or v is None:
                assert u is None and v is None, f"{where}: {label} is None in one only"
            elif exact or not u.dtype.is_floating_point:
                assert torch.equal(u, v), f"{where}: {label} differs"
            else:
                torch.testing.assert_close(v, u, rtol=1e-4, atol=1e-5, msg=lambda m, label=label: f"{where}: {label}: {m}")


@pytest.mark.parametrize("env_id", marl_envs.list_envs())
def test_rollout_is_the_steps_it_took(env_id):
    """Random rollout = a twin env stepped with its actions (each checked: legal, in range), in every env;
    the same seed replays it; the episode clocks make every sub-env auto-reset within it."""
    env, twin = started(env_id), started(env_id)
    steps = 3 * NUM_ENVS + 2
    rollout = env.rollout(steps, seed=11)
    assert rollout.actions.shape[:2] == (steps, NUM_ENVS)
    assert rollout.steps.obs.shape == (steps, NUM_ENVS, env.n_agents, env.obs_size)
    for t in range(steps):
        assert_same(step_at(rollout, t), twin.step(rollout.actions[t]), f"{env_id} step {t}")
    assert int((rollout.steps.terminated | rollout.steps.truncated).all(-1).sum()) >= NUM_ENVS
    again = started(env_id).rollout(steps, seed=11)
    assert torch.equal(again.actions, rollout.actions)
    assert not torch.equal(started(env_id).rollout(steps, seed=12).actions, rollout.actions)


def test_rollout_continues_its_streams_and_leaves_the_envs_own_alone():
    """Without a seed a rollout continues the random policy's streams; two rollouts equal one as long.
    The env's own random streams are the step's business only: a seeded rollout does not reseed them."""
    one, two = started("collect_treasure_v0"), started("collect_treasure_v0")
    whole = one.rollout(10, seed=4)
    first, second = two.rollout(4, seed=4), two.rollout(6)
    assert torch.equal(torch.cat([first.actions, second.actions]), whole.actions)
    assert torch.equal(torch.cat([first.steps.obs, second.steps.obs]), whole.steps.obs)
    assert torch.equal(one.rng.counter, two.rng.counter)


def test_policy_sees_the_previous_step():
    """The policy gets the current observations as an ``EnvStep``: reset's form at the first step, then each step's."""
    env = started("cooperative_navigation_v0")
    before = env.observations()
    seen = []

    def policy(step):
        seen.append(step)
        return torch.full((NUM_ENVS, env.n_agents), 2)

    rollout = env.rollout(4, policy)
    assert torch.equal(seen[0].obs, before) and not seen[0].reward.any()
    for t in range(1, 4):
        assert_same(seen[t], step_at(rollout, t - 1), f"policy input {t}")
    assert (rollout.actions == 2).all()


def test_rollout_refusals():
    env = marl_envs.make_batched("poker_v0", NUM_ENVS, "cpu")
    with pytest.raises(ResetNeeded, match="reset"):
        env.rollout(3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="steps"):
        env.rollout(0)
    with pytest.raises(TypeError, match="policy must be callable"):
        env.rollout(3, "random")
    with pytest.raises(ValueError, match="seed"):
        env.rollout(3, lambda step: step.action_mask.int().argmax(-1), seed=1)
    before = [getattr(owner, name).clone() for owner, name, _ in env._episode_slots()]
    illegal = env.current_action_mask.int().argmin(-1)  # each agent's first illegal action (poker always has one)
    with pytest.raises(ValueError, match="player_0|player_1"):
        env.rollout(3, lambda step: illegal)
    for (owner, name, _), value in zip(env._episode_slots(), before):
        assert torch.equal(getattr(owner, name), value), f"a refused first action changed {name}"


def test_compiled_rollout_refusing_a_policy_keeps_the_env_setting():
    """A policy's actions of the wrong kind, refused inside a compiled call: the env's sync_free setting
    (which the compiled calls switch on around themselves) is as it was."""
    env = marl_envs.make_batched("cooperative_navigation_v0", NUM_ENVS, "cpu", validate_actions=False).compile(steps_per_call=2)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="integer tensor"):
        env.rollout(4, lambda step: torch.zeros(NUM_ENVS, env.n_agents))
    assert env.sync_free is False


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("cooperative_navigation_v0", {}),
        ("cooperative_navigation_v0", {"continuous_actions": True}),
        ("poker_v0", {}),
        ("smart_grid_v0", {}),
    ],
    ids=["cooperative_navigation", "cooperative_navigation-continuous", "poker", "smart_grid"],
)
def test_compiled_rollout_equals_eager(env_id, kwargs):
    """Compiled calls of 2 steps (auto-resets inside them), then an odd last step on the per-step path:
    the same actions and trajectories as eager's, and the same env state after."""
    eager, compiled = started(env_id, **kwargs), started(env_id, compiled=True, **kwargs)
    steps = 3 * NUM_ENVS + 1
    a, b = eager.rollout(steps, seed=5), compiled.rollout(steps, seed=5)
    assert torch.equal(a.actions, b.actions)
    for t in range(steps):
        assert_same(step_at(a, t), step_at(b, t), f"{env_id} step {t}", exact=False)
    assert int((a.steps.terminated | a.steps.truncated).all(-1).sum()) >= NUM_ENVS
    for (owner, name, _), (other, _, _) in zip(eager._episode_slots(), compiled._episode_slots()):
        assert torch.allclose(getattr(owner, name).double(), getattr(other, name).double(), rtol=1e-4, atol=1e-5), name
    assert compiled.sync_free is False, "the compiled rollout's sync-free auto-reset must not change the env's setting"
    if env_id == "cooperative_navigation_v0" and not kwargs:  # a second compiled graph, keeping two fields; both carry on alike
        some, more = compiled.rollout(4, keep=("reward", "obs")), eager.rollout(4)
        torch.testing.assert_close(some.steps.obs, more.steps.obs, rtol=1e-4, atol=1e-5)
        assert some.steps.final_obs is None


def test_compiled_rollout_with_a_policy():
    """A policy runs inside the compiled calls when its actions need no host check (``validate_actions=False``);
    with checks on, the rollout steps one step at a time and an illegal action is refused by name."""
    weights = torch.randn(18, 5, generator=torch.Generator().manual_seed(0))

    def policy(step):
        return (step.obs @ weights).argmax(-1)

    eager = started("cooperative_navigation_v0", validate_actions=False)
    compiled = started("cooperative_navigation_v0", compiled=True, validate_actions=False)
    a, b = eager.rollout(8, policy), compiled.rollout(8, policy)
    assert torch.equal(a.actions, b.actions)
    torch.testing.assert_close(b.steps.obs, a.steps.obs, rtol=1e-4, atol=1e-5)
    checked = started("cooperative_navigation_v0", compiled=True)
    with pytest.raises(ValueError, match="agent_0"):
        checked.rollout(4, lambda step: torch.full((NUM_ENVS, 3), 9))


@pytest.mark.parametrize("duplicate", ["deepcopy", "pickle"])
def test_a_copy_of_a_compiled_env_rolls_out_itself(duplicate):
    env = started("cooperative_navigation_v0", compiled=True)
    env.rollout(2, seed=0)
    twin = copy.deepcopy(env) if duplicate == "deepcopy" else pickle.loads(pickle.dumps(env))
    before = env.episode.world.agent_pos.clone()
    out = twin.rollout(2)
    assert torch.equal(env.episode.world.agent_pos, before), "rolling out the copy moved the original"
    assert torch.equal(out.actions, env.rollout(2).actions)


def test_keep_returns_only_the_fields_asked_for():
    env, twin = started("collect_treasure_v0"), started("collect_treasure_v0")
    full = twin.rollout(5, seed=2)
    some = env.rollout(5, seed=2, keep=("obs", "reward", "info"))
    assert torch.equal(some.actions, full.actions) and torch.equal(some.steps.obs, full.steps.obs)
    assert torch.equal(some.steps.reward, full.steps.reward) and some.steps.info.keys() == full.steps.info.keys()
    assert some.steps.state is None and some.steps.final_obs is None and some.steps.terminated is None
    assert env.rollout(2, keep="reward").steps.info == {}
    with pytest.raises(ValueError, match="unknown EnvStep field.*'observations'"):
        env.rollout(2, keep=("observations",))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compiled_rollout_on_cuda_matches_eager_cpu():
    """On CUDA (triton kernels; the sync-free auto-reset is the default there) a compiled rollout, and
    a compiled step after it, give the CPU's eager trajectories to float rounding."""
    runs = {}
    for device, compiled in (("cpu", False), ("cuda", True)):
        env = marl_envs.make_batched("cooperative_navigation_v0", 64, device, max_cycles=7)
        if compiled:
            env.compile()
        env.reset(seed=3)
        rollout = env.rollout(12, seed=5)
        step = env.step(env.random_actions(torch.Generator().manual_seed(0)).to(device))
        runs[device] = (rollout, step)
    (a, a_step), (b, b_step) = runs["cpu"], runs["cuda"]
    assert torch.equal(a.actions, b.actions.cpu())
    for t in range(12):
        assert_same(step_at(a, t), _on_cpu(step_at(b, t)), f"cuda step {t}", exact=False)
    assert_same(a_step, _on_cpu(b_step), "the compiled step after the rollout", exact=False)
    assert int(a.steps.truncated.all(-1).sum()) >= 64


def _on_cpu(step: marl_envs.EnvStep) -> marl_envs.EnvStep:
    return step._replace(
        **{name: value.cpu() for name, value in step._asdict().items() if isinstance(value, torch.Tensor)},
        info={key: value.cpu() for key, value in step.info.items()},
    )
