"""Our envs from the frameworks users come from: TorchRL, SuperSuit + Stable-Baselines3, RLlib, pettingzoo.make.

Each test runs the framework for real, through the scripts in ``examples/`` where there is
one (so the examples cannot rot), and checks behaviour: what the framework sees equals what our
env produces from the same seed and actions.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np
import pettingzoo
import pytest
import torch

import marl_envs

pytestmark = [
    # TorchRL warns on every wrapper that it is tested against PettingZoo 1.24.3 (we have a newer one).
    pytest.mark.filterwarnings("ignore:PettingZoo in TorchRL is tested:UserWarning"),
    # RLlib registers each multi-agent env under one gymnasium id, again for every algorithm built.
    pytest.mark.filterwarnings("ignore:.*Overriding environment rllib-multi-agent-env:UserWarning"),
]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    """Import ``examples/<name>.py`` as a module (the folder is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def torchrl_example():
    return load_example("torchrl_rollout")


@pytest.mark.parametrize("name", ["rllib_ppo", "torchrl_rollout", "sb3_supersuit"])
def test_examples_have_help_and_a_docstring(name, capsys):
    module = load_example(name)
    assert module.__doc__ and len(module.__doc__) > 200
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--env" in text and "goal_grid_v0" in text  # env names come from our registry


# ---------------------------------------------------------------- pettingzoo.make
def test_pettingzoo_make_gives_the_same_env_as_marl_envs_make():
    by_pettingzoo = pettingzoo.make("parallel", "marl_envs/cooperative_navigation-v0", N=2)
    ours = marl_envs.make("cooperative_navigation_v0", N=2)
    first, _ = by_pettingzoo.reset(seed=4)
    second, _ = ours.reset(seed=4)
    other_seed, _ = ours.reset(seed=5)
    assert by_pettingzoo.possible_agents == ours.possible_agents == ["agent_0", "agent_1"]
    for agent in ours.possible_agents:
        np.testing.assert_array_equal(first[agent], second[agent])
        assert not np.array_equal(first[agent], other_seed[agent])  # random landmarks: the seed matters


# ---------------------------------------------------------------- TorchRL: PettingZooWrapper
@pytest.mark.parametrize("env_id", marl_envs.list_envs())
def test_torchrl_pettingzoo_wrapper_passes_check_env_specs(env_id, torchrl_example):
    from torchrl.envs.utils import check_env_specs

    env = torchrl_example.pettingzoo_wrapper(env_id, seed=0)
    check_env_specs(env, seed=0)
    # Groups follow our <team>_<i> agent names.
    teams = {agent.rsplit("_", 1)[0] for agent in env.possible_agents}
    assert set(env.group_map) == teams
    # A random rollout across episode ends: rand_action respects poker's masks (an illegal action would raise).
    torch.manual_seed(0)
    data = env.rollout(60, break_when_any_done=False)
    assert data["state"].shape[-1] == marl_envs.make(env_id).state_space.shape[0]
    for group in env.group_map:
        assert torch.isfinite(data["next", group, "reward"]).all()


def test_torchrl_pettingzoo_wrapper_reports_our_observations_and_masks(torchrl_example):
    env = torchrl_example.pettingzoo_wrapper("poker_v0")
    data = env.reset(seed=5)  # passed on to our env's reset(seed=5)
    direct = marl_envs.make("poker_v0")
    observations, _ = direct.reset(seed=5)
    for i, agent in enumerate(direct.possible_agents):
        # poker observes {"observation", "action_mask"} dicts: TorchRL moves the mask next to the action.
        expected = torch.from_numpy(observations[agent]["observation"])
        assert torch.equal(data["player", "observation", "observation"][i], expected)
        assert torch.equal(data["player", "action_mask"][i], torch.from_numpy(observations[agent]["action_mask"]).bool())
    assert torch.equal(data["state"], torch.from_numpy(direct.state()))


def test_torchrl_poker_hand_goes_on_after_a_fold_with_use_mask(torchrl_example):
    """Three-player poker: the wrapper our example builds (use_mask, done_on_any=False) keeps a hand going after a fold."""
    env = torchrl_example.pettingzoo_wrapper("poker_v0", seed=0, n_agents=3, variant="kuhn")
    ours, gone = env._env, []  # the wrapper sends actions for every player, folded ones too: our view ignores those
    step = ours.step
    ours.step = lambda actions: (gone.append(set(actions) - set(ours.agents)), step(actions))[1]
    torch.manual_seed(0)
    data = env.rollout(300, break_when_any_done=False)
    mask = data["next", "player", "mask"]  # [T, 3]: the player still acts in the hand
    done = data["next", "done"].squeeze(-1)
    fold_continues = (mask.sum(-1) == 2) & ~done  # one player out, the hand not over
    assert fold_continues.any()
    assert any(gone)  # actions for a folded player were sent, and ignored
    # TorchRL's default for parallel envs (done_on_any=True) would end the hand at the first fold instead.
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    default = PettingZooWrapper(marl_envs.make("poker_v0", n_agents=3, variant="kuhn"), seed=0)
    torch.manual_seed(0)
    default_data = default.rollout(300, break_when_any_done=False)
    terminated = default_data["next", "player", "terminated"].squeeze(-1)  # [T, 3]
    partial = terminated.any(-1) & ~terminated.all(-1)  # someone folded, others still in
    assert partial.any() and default_data["next", "done"].squeeze(-1)[partial].all()


# ---------------------------------------------------------------- TorchRL: natively batched
@pytest.mark.parametrize("env_id", ["goal_grid_v0", "poker_v0", "coordination_v0", "predator_prey_v0"])
def test_torchrl_batched_env_passes_check_env_specs(env_id, torchrl_example):
    from torchrl.envs.utils import check_env_specs

    env = torchrl_example.BatchedTorchRLEnv(env_id, num_envs=8, seed=0)
    check_env_specs(env, seed=0)
    data = env.rollout(60, break_when_any_done=False)
    assert data.batch_size == (8, 60)
    assert data["agents", "observation"].shape[:3] == (8, 60, marl_envs.make_batched(env_id).n_agents)


# poker: hands end at different steps; cooperative_navigation: every sub-env is truncated at the
# same step (random landmarks, so a second reset would show); goal_grid: a fixed layout.
@pytest.mark.parametrize("env_id, max_cycles", [("poker_v0", 7), ("cooperative_navigation_v0", 5), ("goal_grid_v0", 7)])
def test_torchrl_batched_env_follows_the_batched_env_across_auto_resets(env_id, max_cycles, torchrl_example):
    """A TorchRL rollout equals stepping ``make_batched`` by hand with the same seed and actions:
    ``next`` holds each episode's final observation, the following step the new episode's first."""
    env = torchrl_example.BatchedTorchRLEnv(env_id, num_envs=6, seed=11, max_cycles=max_cycles)
    torch.manual_seed(0)
    data = env.rollout(40, break_when_any_done=False)
    assert data["next", "done"].sum() >= 6  # episodes ended (and the rollout went on)

    direct = marl_envs.make_batched(env_id, num_envs=6, max_cycles=max_cycles)
    out = direct.reset(seed=11)
    for t in range(40):
        assert torch.equal(data["agents", "observation"][:, t], out.obs)
        assert torch.equal(data["state"][:, t], out.state)
        if out.action_mask is not None:
            assert torch.equal(data["agents", "action_mask"][:, t], out.action_mask)
            assert out.action_mask.gather(-1, data["agents", "action"][:, t, :, None]).all()  # legal actions only
        out = direct.step(data["agents", "action"][:, t])
        ended = (out.terminated | out.truncated).all(-1)
        assert torch.equal(data["next", "agents", "observation"][:, t], out.final_obs)
        assert torch.equal(data["next", "agents", "reward"][:, t, :, 0], out.reward)
        assert torch.equal(data["next", "done"][:, t, 0], ended)
        assert torch.equal(data["next", "truncated"][:, t, 0], ended & out.truncated.any(-1))


# ---------------------------------------------------------------- SuperSuit + Stable-Baselines3
def test_sb3_supersuit_vector_env_is_seeded_like_our_env():
    example = load_example("sb3_supersuit")
    vec_env = example.make_vec_env("cooperative_navigation_v0", copies=2, seed=7)
    obs, _ = vec_env.venv.reset(seed=7)  # copy i is seeded 7 + i, its agents in order
    for copy in range(2):
        expected, _ = marl_envs.make("cooperative_navigation_v0").reset(seed=7 + copy)
        np.testing.assert_array_equal(obs[3 * copy : 3 * copy + 3], np.stack(list(expected.values())))


def test_sb3_supersuit_pads_teams_with_different_observations():
    example = load_example("sb3_supersuit")
    vec_env = example.make_vec_env("predator_prey_v0", copies=2, seed=0)
    obs = vec_env.reset()
    assert obs.shape == (8, 16)  # 2 copies x 4 agents; the prey's 14 entries are zero-padded to 16
    assert (obs[3, 14:] == 0).all() and (obs[7, 14:] == 0).all()


def test_sb3_ppo_learns_and_predicts_legal_actions():
    example = load_example("sb3_supersuit")
    settings = {"steps": 256, "copies": 2, "seed": 0, "verbose": 0, "n_steps": 64, "batch_size": 64, "n_epochs": 2}
    model, vec_env = example.train("goal_grid_v0", **settings)
    assert model.num_timesteps == 256  # one rollout of 64 steps in 4 slots
    obs = vec_env.reset()
    assert obs.shape == (4, 6)  # 2 copies x 2 agents, goal_grid's 6 observation entries
    for _ in range(30):
        actions, _ = model.predict(obs, deterministic=False)
        assert actions.shape == (4,) and all(vec_env.action_space.contains(int(a)) for a in actions)
        obs, rewards, dones, _ = vec_env.step(actions)  # our env raises on an illegal action
        assert np.isfinite(rewards).all()
    # Same seed, same training: SB3 and our envs are both seeded by the example.
    again, _ = example.train("goal_grid_v0", **settings)
    for first, second in zip(model.policy.parameters(), again.policy.parameters()):
        assert torch.equal(first, second)


# ---------------------------------------------------------------- RLlib
@pytest.mark.parametrize("env_id", ["goal_grid_v0", "poker_v0"])
def test_rllib_example_trains_one_iteration_on_a_local_ray(env_id):
    import ray
    from ray.tune.trainable.trainable import DEFAULT_STORAGE_PATH

    results_before = set(os.listdir(DEFAULT_STORAGE_PATH)) if os.path.isdir(DEFAULT_STORAGE_PATH) else set()
    example = load_example("rllib_ppo")
    arguments = ["--env", env_id, "--iterations", "1", "--batch-size", "256", "--minibatch-size", "128", "--epochs", "1", "--num-cpus", "1"]
    history = example.main(arguments)
    assert len(history) == 1
    metrics = history[0]
    assert metrics["env_steps"] >= 256
    for key in ("episode_return_mean", "episode_len_mean", "total_loss", "policy_loss", "vf_loss"):
        assert math.isfinite(metrics[key]), (key, metrics)
    if env_id == "goal_grid_v0":
        # Episodes last at most 100 steps, so 256 steps end at least two.
        assert metrics["num_episodes"] >= 2 and 1 <= metrics["episode_len_mean"] <= 100
    else:
        # Leduc hands last 2 to 8 steps; every action RLlib took was legal (our env raises on an
        # illegal one), and chips only change hands: the return summed over players is 0.
        assert metrics["num_episodes"] >= 256 / 8 and 2 <= metrics["episode_len_mean"] <= 8
        assert metrics["episode_return_mean"] == 0
    assert not ray.is_initialized()  # the example shut down the Ray it started
    assert set(os.listdir(DEFAULT_STORAGE_PATH)) <= results_before  # and left no empty run directory


def test_rllib_sees_our_env_as_a_multi_agent_env():
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    example = load_example("rllib_ppo")
    env = example.env_creator("cooperative_navigation_v0")({"N": 2})
    observations, _ = env.reset(seed=3)
    expected, _ = marl_envs.make("cooperative_navigation_v0", N=2).reset(seed=3)
    assert isinstance(env, ParallelPettingZooEnv) and set(observations) == {"agent_0", "agent_1"}
    for agent in expected:
        np.testing.assert_array_equal(observations[agent], expected[agent])
        assert env.observation_space[agent].contains(observations[agent])
    for i, agent in enumerate(sorted(observations)):
        env.action_space[agent].seed(i)
    steps = 0
    while True:
        _, rewards, terminated, truncated, _ = env.step({agent: env.action_space[agent].sample() for agent in observations})
        steps += 1
        if terminated["__all__"] or truncated["__all__"]:
            break
    assert steps == marl_envs.spec("cooperative_navigation_v0").max_cycles and truncated["__all__"]


def test_rllib_masked_env_observes_what_rllibs_masking_module_reads():
    example = load_example("rllib_ppo")
    env = example.env_creator("poker_v0")({})
    observations, _ = env.reset(seed=1)
    expected, _ = marl_envs.make("poker_v0").reset(seed=1)
    for agent, observation in observations.items():
        assert set(observation) == {"observations", "action_mask"}  # RLlib's ActionMaskingTorchRLModule's keys
        np.testing.assert_array_equal(observation["observations"], expected[agent]["observation"])
        np.testing.assert_array_equal(observation["action_mask"], expected[agent]["action_mask"])
        assert env.observation_space[agent].contains(observation)
    assert env.observation_space["player_0"] is env.observation_space["player_1"]
