"""The training loop without host-device syncs: the sync-free bookkeeping equals the host-side
one, and `check_syncs` runs whole training runs of every algorithm under the sync detector.

On CPU the detector is a proxy (CPU tensors never wait), so these runs use `sync_free="on"`,
the path CUDA runs by default; tests marked `cuda` repeat them on a GPU where one is present.
"""

from __future__ import annotations

import math

import helpers
import pytest
import torch
from torch.nn import functional as F

from marl_baselines.algos.value_decomp import ValueDecomposition
from marl_baselines.buffers import EpisodeBuffer
from marl_baselines.nets import one_hot
from marl_baselines.normalization import RunningMeanStd
from marl_baselines.train import RecentReturns, train
from marl_baselines.vec import make_vec_env
from marl_envs.core.syncs import HostSyncError

CUDA = torch.cuda.is_available()


def _fill_both(env_name: str, num_envs: int, capacity: int, steps: int, **env_kwargs):
    env = make_vec_env(env_name, num_envs, **env_kwargs)
    buffers = [
        EpisodeBuffer(
            capacity,
            env.max_episode_steps,
            num_envs,
            env.n_agents,
            env.obs_size,
            env.state_size,
            n_actions_masked=env.action_size if env.has_action_mask else None,
            sync_free=mode,
        )
        for mode in (False, True)
    ]
    out = env.reset(seed=5)
    for buffer in buffers:
        buffer.start(out)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        actions = env.random_actions(generator)
        out = env.step(actions)
        for buffer in buffers:
            buffer.add(actions, out)
    return buffers


@pytest.mark.parametrize(
    ("env_name", "capacity", "kwargs"),
    [
        ("goal_grid_v0", 7, {"max_cycles": 9}),  # episodes end at different steps; the ring wraps several times
        ("target_grid_v0", 20, {"max_cycles": 6}),
        ("matrix_game_v0", 5, {"game": "two_step"}),  # every env ends at once: more episodes per step than slots left
    ],
)
def test_sync_free_episode_buffer_stores_exactly_what_the_host_path_stores(env_name, capacity, kwargs):
    host, device = _fill_both(env_name, 4, capacity, 40, **kwargs)
    assert int(device.size) == host.size and int(device.next_slot) == host.next_slot
    assert host.size == capacity  # the ring is full, so every slot was compared
    # Sync-free storage grows by host-side bounds, so it may have more steps than the longest episode: zeros.
    assert host.length <= device.length
    for name in host.storage:
        for stored, expected in ((device.storage[name][:capacity], host.storage[name]), (device.staging[name], host.staging[name])):
            steps = expected.shape[1]
            assert torch.equal(stored[:, :steps], expected) and not stored[:, steps:].any(), name
    assert torch.equal(device.step_index, host.step_index)


def test_sync_free_buffer_knows_a_lower_bound_of_its_size_and_samples_stored_episodes():
    host, device = _fill_both("goal_grid_v0", 4, 200, 40, max_cycles=9)
    assert 0 < 4 * (40 // 9) <= host.size < 200
    assert device.holds_at_least(4 * (40 // 9)) and not device.holds_at_least(4 * (40 // 9) + 1)
    assert host.holds_at_least(host.size) and not host.holds_at_least(host.size + 1)
    batch = device.sample(64, torch.Generator().manual_seed(0))
    assert batch.filled.shape[1] == device.length == 9  # every allocated step (here max_length): the host does not look for the longest
    stored = {tuple(host.storage["obs"][k].flatten().tolist()) for k in range(host.size)}
    assert all(tuple(obs.flatten().tolist()) in stored for obs in batch.obs)  # only committed episodes


def test_resumed_sync_free_buffer_continues_like_the_original():
    _, buffer = _fill_both("goal_grid_v0", 4, 7, 30, max_cycles=9)
    copy = EpisodeBuffer(
        7, 9, 4, buffer.staging["obs"].shape[2], buffer.staging["obs"].shape[3], buffer.staging["state"].shape[2], sync_free=True
    )
    copy.load_state_dict(buffer.state_dict())
    assert int(copy.size) == int(buffer.size) and int(copy.next_slot) == int(buffer.next_slot)
    assert copy.holds_at_least(12) == buffer.holds_at_least(12)


def test_recent_returns_keeps_the_last_episodes_in_order_of_ending():
    torch.manual_seed(0)
    tracker, reference, running = RecentReturns(6, torch.device("cpu"), window=4), [], [0.0] * 6
    for step in range(40):
        reward = torch.randn(6)
        ended = torch.rand(6) < (0.9 if step == 20 else 0.3)  # step 20: more episodes end than the window holds
        tracker.add(reward, ended)
        for b in range(6):
            running[b] += float(reward[b])
            if ended[b]:
                reference.append(running[b])
                running[b] = 0.0
        assert int(tracker.count) == len(reference)
        expected = sum(reference[-4:]) / len(reference[-4:]) if reference else None
        assert (tracker.mean() is None) if expected is None else tracker.mean() == pytest.approx(expected, abs=1e-5)


def test_weighted_running_mean_std_equals_the_update_on_the_selected_entries():
    torch.manual_seed(0)
    a, b = RunningMeanStd(), RunningMeanStd()
    for _ in range(5):
        values, keep = torch.randn(7, 3) * 4 + 2, torch.rand(7, 3) < 0.6
        a.update(values[keep])
        b.update(values, weight=keep)
    b.update(torch.randn(3), weight=torch.zeros(3, dtype=torch.bool))  # nothing selected: no change
    for name in ("mean", "var", "count"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name))


def test_one_hot_equals_torch_one_hot():
    index = torch.randint(5, (3, 4))
    assert torch.equal(one_hot(index, 5), F.one_hot(index, 5).float())


ALGORITHM_SETTINGS = {
    "qmix": ("goal_grid_v0", {"learning_starts": 0, "batch_size": 4}, {}),
    "vdn": (
        "target_grid_v0",
        {"learning_starts": 0, "batch_size": 4, "recurrent": True, "chunk_length": 4, "burn_in": 2},
        {"max_cycles": 10},
    ),
    "iql": (
        "cooperative_navigation_v0",
        {"learning_starts": 0, "batch_size": 4, "agent": "gnn", "icm": True},
        {"continuous_actions": False, "comm_radius": 0.5},
    ),
    "mappo": (
        "target_grid_v0",
        {"rollout_steps": 16, "minibatches": 2, "epochs": 2, "recurrent": True, "agent": "tarmac"},
        {"max_cycles": 10},
    ),
    "ippo": ("coordination_v0", {"rollout_steps": 16, "minibatches": 2, "epochs": 1}, {}),
    "maddpg": ("goal_grid_v0", {"learning_starts": 0, "batch_size": 8}, {}),
    "matd3": ("coordination_v0", {"learning_starts": 0, "batch_size": 8, "icm": True}, {}),
    "cw_qmix": ("target_grid_v0", {"learning_starts": 0, "batch_size": 4, "recurrent": True, "td_lambda": 0.6}, {"max_cycles": 10}),
    "ow_qmix": ("goal_grid_v0", {"learning_starts": 0, "batch_size": 4}, {}),
    "iddpg": ("coordination_v0", {"learning_starts": 0, "batch_size": 8}, {}),
}


def _check_syncs_run(tmp_path, algo: str, device: str):
    from marl_baselines.algos import ALGORITHMS

    env_name, algo_kwargs, env_kwargs = ALGORITHM_SETTINGS[algo]
    run = helpers.quiet_run(tmp_path, total_steps=400, num_envs=4, eval_episodes=2, check_syncs=True, device=device)
    return train(algo, env_name, run, ALGORITHMS[algo].config_class(**algo_kwargs), env_kwargs)


@pytest.mark.parametrize("algo", ALGORITHM_SETTINGS)
def test_training_steps_make_no_host_sync(tmp_path, algo):
    result = _check_syncs_run(tmp_path, algo, "cpu")
    assert result.env_steps == 400 and math.isfinite(result.final["return"])
    logged = (result.run_dir / "train.csv").read_text() if (result.run_dir / "train.csv").exists() else ""
    assert "nan" not in logged


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("algo", ALGORITHM_SETTINGS)
def test_training_steps_make_no_host_sync_on_cuda(tmp_path, algo):
    result = _check_syncs_run(tmp_path, algo, "cuda")
    assert result.env_steps == 400 and math.isfinite(result.final["return"])


def test_check_syncs_fails_at_a_sync_in_the_step(tmp_path, monkeypatch):
    original = ValueDecomposition.act

    def act_and_read(self, out, hidden, explore, env_steps=0):
        actions, hidden, act_info = original(self, out, hidden, explore, env_steps)
        if explore:
            float(actions.float().mean())  # a progress print inside act, say
        return actions, hidden, act_info

    monkeypatch.setattr(ValueDecomposition, "act", act_and_read)
    with pytest.raises(HostSyncError, match="host-device sync"):
        _check_syncs_run(tmp_path, "qmix", "cpu")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"check_syncs": True, "sync_free": "off"}, "check_syncs needs"),
        ({"check_syncs": True, "source": "pettingzoo"}, "check_syncs needs"),
        ({"sync_free": "yes"}, "sync_free must be auto, on or off"),
    ],
)
def test_bad_sync_settings_are_refused_before_training(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        train("qmix", "goal_grid_v0", helpers.quiet_run(tmp_path, total_steps=8, **settings))


def test_sync_free_training_matches_the_host_path_on_the_same_data(tmp_path):
    """MAPPO's update does not depend on the bookkeeping mode: the same seed gives the same run."""
    from marl_baselines.algos.ppo import PPOConfig

    results = [
        train(
            "mappo",
            "goal_grid_v0",
            helpers.quiet_run(tmp_path / mode, total_steps=512, num_envs=4, eval_episodes=4, sync_free=mode),
            PPOConfig(rollout_steps=32),
        )
        for mode in ("off", "on")
    ]
    a, b = (torch.load(r.run_dir / "checkpoint.pt", weights_only=False)["algo"] for r in results)
    assert a["updates"] == b["updates"] > 0
    for net in ("actor", "critic", "value_norm"):
        for name, tensor in a[net].items():
            torch.testing.assert_close(b[net][name], tensor)
    assert results[0].final["return"] == pytest.approx(results[1].final["return"], abs=1e-4)
