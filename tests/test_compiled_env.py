"""``BatchedEnv.compile``: the step through ``torch.compile`` gives eager's trajectories, in every env.

Compiled and eager envs start from the same seed with staggered episode clocks (so that some
sub-envs auto-reset while others carry on) and take the same random actions. Integer and boolean
results (discrete observations, flags, counters, the random streams' positions) must be equal;
float ones equal to float rounding: inductor's vectorised ``sqrt``/``exp`` and its float32
arithmetic may round a last bit differently (measured here: float64 particle worlds' observations
bit-equal; float32 envs within 1e-5 relative). A rule that compiled wrongly would differ by far more.
"""

from __future__ import annotations

import pytest
import torch

import marl_envs
from marl_envs.core.rng import CounterRNG, seeds_for

NUM_ENVS = 8
STEPS = 30


def started(env_id: str, compiled: bool, **kwargs):
    env = marl_envs.make_batched(env_id, NUM_ENVS, "cpu", **kwargs)
    if compiled:
        assert env.compile() is env
    env.reset(seed=3)
    env.step_count = (env.max_cycles - 1 - 3 * torch.arange(NUM_ENVS)).clamp_min(0)  # staggered: sub-env b ends within 3b + 1 steps
    return env


def assert_same(x, y, where: str) -> None:
    if x is None or y is None:
        assert x is None and y is None, f"{where}: None in one env only"
    elif x.dtype.is_floating_point:
        torch.testing.assert_close(y, x, rtol=1e-4, atol=1e-5, msg=lambda m: f"{where}: {m}")
    else:
        assert torch.equal(x, y), f"{where} differs"


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [pytest.param(env_id, {}, id=env_id) for env_id in marl_envs.list_envs()]
    + [pytest.param("cooperative_navigation_v0", {"sync_free": True, "max_cycles": 7}, id="cooperative_navigation_v0-sync_free")],
)
def test_compiled_step_equals_eager(env_id, kwargs):
    eager, compiled = started(env_id, False, **kwargs), started(env_id, True, **kwargs)
    generator = torch.Generator().manual_seed(7)
    resets = 0
    for t in range(STEPS):
        actions = eager.random_actions(generator)
        a, b = eager.step(actions), compiled.step(actions)
        for field, x, y in zip(a._fields, a, b):
            if field != "info":
                assert_same(x, y, f"step {t}: EnvStep.{field}")
        assert a.info.keys() == b.info.keys()
        for key in a.info:
            assert_same(a.info[key], b.info[key], f"step {t}: info[{key!r}]")
        for (owner, name, _), (other, _, _) in zip(eager._episode_slots(), compiled._episode_slots()):
            assert_same(getattr(owner, name), getattr(other, name), f"step {t}: {type(owner).__name__}.{name}")
        resets += int((a.terminated | a.truncated).all(-1).sum())
    assert resets >= NUM_ENVS, f"only {resets} episodes ended: the auto-reset after a compiled step went untested"


def test_compiled_transition_and_refusals():
    """``transition`` runs the compiled step too; a refused action still raises before anything changes."""
    eager, compiled = started("cooperative_navigation_v0", False), started("cooperative_navigation_v0", True)
    actions = torch.randint(0, 5, (NUM_ENVS, 3), generator=torch.Generator().manual_seed(0))
    for x, y in zip(eager.transition(actions), compiled.transition(actions)):
        if isinstance(x, torch.Tensor):
            assert_same(x, y, "transition")
    before = compiled.episode.world.agent_pos.clone()
    with pytest.raises(ValueError, match="agent_0"):
        compiled.step(torch.full((NUM_ENVS, 3), 7))
    assert torch.equal(compiled.episode.world.agent_pos, before)


@pytest.mark.parametrize("shape", [(12,), (6, 2), (3, 5, 2)])
def test_random_streams_compile_to_the_same_numbers(shape):
    """Regression: torch 2.13's compiled CPU code miscomputes ``arange(n) * c`` for n > 8 with an
    int64 ``c`` that overflows (it repeats the first 8 values), which made compiled respawns of
    ``collect_treasure_v0`` repeat positions. The streams' position constants are made in Python."""
    eager, compiled = (CounterRNG(5, torch.device("cpu")) for _ in range(2))
    for rng in (eager, compiled):
        rng.seed(seeds_for(11, 5))
    draw = torch.compile(compiled.uniform, dynamic=False)
    for _ in range(2):
        assert torch.equal(eager.uniform(shape), draw(shape))
    assert torch.equal(eager.counter, compiled.counter)


@pytest.mark.parametrize("duplicate", ["deepcopy", "pickle"])
def test_a_copy_of_a_compiled_env_steps_itself(duplicate):
    """The compiled step is bound to its env object: a copy compiles its own, leaves the original
    alone, and continues the episode as the original does."""
    import copy
    import pickle

    env = started("cooperative_navigation_v0", True)
    env.step(env.random_actions(torch.Generator().manual_seed(1)))
    twin = copy.deepcopy(env) if duplicate == "deepcopy" else pickle.loads(pickle.dumps(env))
    before = env.episode.world.agent_pos.clone()
    actions = env.random_actions(torch.Generator().manual_seed(2))
    out = twin.step(actions)
    assert torch.equal(env.episode.world.agent_pos, before), "stepping the copy moved the original"
    assert torch.equal(out.obs, env.step(actions).obs)
