"""``--compile``: torch.compile of PPO's networks and minibatch loss computes what eager PyTorch does."""

from __future__ import annotations

import copy

import pytest
import torch
from helpers import quiet_run

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.ppo import PPO, PPOConfig
from marl_baselines.config import RunConfig
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env


def filled_ppo(critic: str) -> tuple[PPO, object]:
    """A PPO one step short of a full rollout of cooperative_navigation_v0 (discrete), and the last step."""
    env = make_vec_env("cooperative_navigation_v0", 4, "cpu", continuous_actions=False)
    algo = PPO(env, PPOConfig(rollout_steps=8, minibatches=2), critic, seed=3)
    out = env.reset(seed=5)
    algo.start(out)
    for _ in range(7):  # the 8th observe would train
        actions, _, act_info = algo.act(out, None, explore=True)
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, 0)
        out = after
    actions, _, _ = algo.act(out, None, explore=True)
    return algo, out


@pytest.mark.parametrize("critic", ["state", "obs"])
def test_compiled_loss_gradients_and_actions_equal_eager(critic):
    eager, out = filled_ppo(critic)
    compiled = copy.deepcopy(eager)
    compiled.compile()
    data = {name: tensor.flatten(0, 1) for name, tensor in eager.buffer.extra.items()}
    batch = {
        **data,
        "advantages": torch.randn(data["alive"].shape, generator=torch.Generator().manual_seed(0)),
        "targets": torch.zeros(data["alive"].shape),
        "old_values": torch.zeros(data["alive"].shape),
    }
    results = []
    for algo in (eager, compiled):
        for p in algo.parameters:
            p.grad = None
        loss, stats = algo.loss(batch)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in algo.parameters], stats))
    (loss_e, grads_e, stats_e), (loss_c, grads_c, stats_c) = results
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-5, atol=1e-6)
    for g_c, g_e in zip(grads_c, grads_e):
        torch.testing.assert_close(g_c, g_e, rtol=1e-4, atol=1e-6)
    for key in stats_e:
        torch.testing.assert_close(stats_c[key], stats_e[key], rtol=1e-5, atol=1e-6)
    greedy_e, _, _ = eager.act(out, None, explore=False)
    greedy_c, _, _ = compiled.act(out, None, explore=False)
    assert torch.equal(greedy_c, greedy_e)
    # checkpoints keep their keys: a compiled run's weights load into an eager PPO and back
    eager.load_state_dict(compiled.state_dict())
    compiled.load_state_dict(eager.state_dict())


def test_compile_on_refuses_an_algorithm_without_a_compiled_update(tmp_path):
    compilable = sorted(name for name, spec in ALGORITHMS.items() if spec.compilable)
    assert compilable == ["ippo", "mappo"]
    with pytest.raises(ValueError, match=r"--compile on: qmix has no compiled update \(supported: mappo, ippo\)"):
        train("qmix", "goal_grid_v0", quiet_run(tmp_path, total_steps=64, compile="on"))
    assert not any(tmp_path.rglob("config.json")), "a refused run writes nothing"


def test_compile_setting_is_checked():
    with pytest.raises(ValueError, match="compile must be auto, on or off, got 'yes'"):
        RunConfig(compile="yes").check()


def test_training_runs_compiled(tmp_path):
    """A whole (short) MAPPO run with --compile on: two updates, an evaluation and a checkpoint."""
    result = train(
        "mappo",
        "cooperative_navigation_v0",
        quiet_run(tmp_path, total_steps=256, num_envs=8, eval_episodes=8, compile="on"),
        PPOConfig(rollout_steps=16, epochs=1),
        {"continuous_actions": False},
    )
    assert result.env_steps == 256 and torch.isfinite(torch.tensor(result.final["return"]))
