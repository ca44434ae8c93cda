"""MADDPG and MATD3: acting within bounds and masks, straight-through actions, targets, resume, the CLI."""

from __future__ import annotations

import helpers
import pytest
import torch

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.maddpg import MADDPG, MADDPGConfig, gumbel_softmax
from marl_baselines.buffers import TransitionBuffer
from marl_baselines.cli import main
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env


def quiet_run(tmp_path, **kwargs):
    return helpers.quiet_run(tmp_path, **{"eval_episodes": 4, **kwargs})


def test_registered():
    assert ALGORITHMS["maddpg"].config_class is MADDPGConfig and ALGORITHMS["matd3"].config_class is MADDPGConfig
    assert not ALGORITHMS["maddpg"].discrete_only
    assert ALGORITHMS["iddpg"].config_class is MADDPGConfig and not ALGORITHMS["iddpg"].discrete_only


@pytest.mark.parametrize("variant", ["maddpg", "matd3"])
def test_continuous_actions_stay_in_the_box_under_noise(variant):
    env = make_vec_env("coordination_v0", 64)
    algo = MADDPG(env, MADDPGConfig(noise_start=5.0), variant, seed=1)  # noise far wider than the Box
    out = env.reset(seed=0)
    out = out._replace(obs=out.obs * 100)  # saturate the tanh too
    for explore in (True, False):
        actions, hidden, _ = algo.act(out, None, explore=explore, env_steps=0)
        assert hidden is None and actions.shape == (64, env.n_agents, env.action_size)
        assert (actions >= env.action_low).all() and (actions <= env.action_high).all()
    noisy, _, _ = algo.act(out, None, explore=True)
    assert (noisy == env.action_high).any() and (noisy == env.action_low).any()  # clipped, not rejected
    out = env.step(noisy)  # the env refuses actions outside the Box


def test_discrete_actions_respect_masks():
    env = make_vec_env("poker_v0", 64)
    algo = MADDPG(env, MADDPGConfig(random_action_start=0.5, random_action_finish=0.5), seed=0)
    assert algo.has_mask
    out = env.reset(seed=0)
    algo.start(out)
    for _ in range(30):
        for explore in (True, False):
            actions, _, act_info = algo.act(out, None, explore=explore, env_steps=0)
            legal = out.action_mask.gather(-1, actions[..., None]).squeeze(-1)
            assert legal[out.alive].all()
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, 0)
        out = after


def test_straight_through_one_hot_has_gradient():
    logits = torch.randn(5, 3, 4, requires_grad=True)
    masked = logits.masked_fill(torch.tensor([True, True, False, True]).logical_not(), float("-inf"))
    one_hot, index = gumbel_softmax(masked, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(one_hot.detach(), torch.nn.functional.one_hot(index, 4).float())  # exactly one-hot forward
    assert (index != 2).all()  # the illegal action is never sampled
    (one_hot * torch.arange(4.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert torch.isfinite(logits.grad).all() and (logits.grad[..., 2] == 0).all()


def test_actor_update_reaches_the_actor_through_the_critic():
    env = make_vec_env("goal_grid_v0", 8)
    algo = MADDPG(env, MADDPGConfig(batch_size=16, learning_starts=0), seed=0)
    out = env.reset(seed=0)
    algo.start(out)
    for _ in range(4):
        actions, _, act_info = algo.act(out, None, explore=True)
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, 0)
        out = after
    before = [p.clone() for p in algo.actor.parameters()]
    algo.train_step()
    assert any(not torch.equal(a, p) for a, p in zip(before, algo.actor.parameters()))


def test_target_update_is_polyak():
    env = make_vec_env("coordination_v0", 2)
    algo = MADDPG(env, MADDPGConfig(tau=0.25), "matd3", seed=0)
    with torch.no_grad():
        for p in list(algo.actor.parameters()) + list(algo.critics.parameters()):
            p.add_(1.0)
    old_targets = [p.clone() for p in list(algo.target_actor.parameters()) + list(algo.target_critics.parameters())]
    online = list(algo.actor.parameters()) + list(algo.critics.parameters())
    algo.update_targets()
    new_targets = list(algo.target_actor.parameters()) + list(algo.target_critics.parameters())
    assert len(online) == len(new_targets)
    for old, p, new in zip(old_targets, online, new_targets):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * p)


@pytest.mark.parametrize("variant", ["maddpg", "matd3"])
def test_td_target_masks_terminations_and_bootstraps_truncations(variant):
    """Target critics that say 2 everywhere (and 3 for MATD3's second: the min is taken), gamma 0.5:
    y = r + 0.5 * 2 unless the agent terminated."""
    env = make_vec_env("goal_grid_v0", 2)
    algo = MADDPG(env, MADDPGConfig(gamma=0.5), variant, seed=0)
    with torch.no_grad():
        for k, critic in enumerate(algo.target_critics):
            critic.output.weight.zero_()
            critic.output.bias.fill_(2.0 + k)
    N, O, S, A = env.n_agents, env.obs_size, env.state_size, env.action_size
    batch = {
        "obs": torch.zeros(3, N, O),
        "state": torch.zeros(3, S),
        "actions": torch.zeros(3, N, A),
        "reward": torch.tensor([[1.0, 1.0], [10.0, 10.0], [-1.0, -1.0]]),
        "next_obs": torch.rand(3, N, O),
        "next_state": torch.rand(3, S),
        # row 0: running on; row 1: terminated (goal reached); row 2: truncated at the time limit
        "terminated": torch.tensor([[False, False], [True, True], [False, False]]),
        "alive": torch.ones(3, N, dtype=torch.bool),
        "next_alive": torch.tensor([[True, True], [False, False], [True, True]]),
    }
    expected = torch.tensor([[2.0, 2.0], [10.0, 10.0], [0.0, 0.0]])
    torch.testing.assert_close(algo.targets(batch), expected)


def test_buffer_stores_the_final_observation_of_a_truncated_episode():
    env = make_vec_env("coordination_v0", 3, max_cycles=2)
    algo = MADDPG(env, MADDPGConfig(learning_starts=10**6), seed=0)
    out = env.reset(seed=0)
    algo.start(out)
    for step in range(2):
        previous = out
        actions, _, act_info = algo.act(out, None, explore=True)
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, 0)
        out = after
    stored = algo.buffer.storage
    assert out.truncated.all() and not out.terminated.any()
    torch.testing.assert_close(stored["obs"][3:6], previous.obs)
    torch.testing.assert_close(stored["next_obs"][3:6], out.final_obs)
    assert not torch.equal(out.final_obs, out.obs)  # the auto-reset's first obs is not the bootstrap
    torch.testing.assert_close(stored["next_state"][3:6], out.final_state)
    assert not stored["terminated"][:6].any() and stored["next_alive"][:6].all()
    torch.testing.assert_close(stored["actions"][3:6], actions)


def test_transition_buffer_ring_and_state_dict():
    buffer = TransitionBuffer(5, {"x": ((2,), torch.float32), "done": ((), torch.bool)})
    for k in range(3):
        buffer.add(x=torch.full((2, 2), float(k)), done=torch.tensor([k == 1, False]))
    assert len(buffer) == 5 and buffer.next_slot == 1
    assert buffer.storage["x"][:, 0].tolist() == [2.0, 0.0, 1.0, 1.0, 2.0]  # the third add wrapped around
    sample = buffer.sample(7, torch.Generator().manual_seed(0))
    assert sample["x"].shape == (7, 2) and sample["done"].dtype == torch.bool
    copy = TransitionBuffer(5, {"x": ((2,), torch.float32), "done": ((), torch.bool)})
    copy.load_state_dict(buffer.state_dict())
    assert torch.equal(copy.storage["x"], buffer.storage["x"]) and (copy.size, copy.next_slot) == (5, 1)
    with pytest.raises(ValueError, match="fields"):
        buffer.add(x=torch.zeros(1, 2))


def test_transition_buffer_grows_as_transitions_come_and_saves_only_them():
    fields = {"x": ((3,), torch.float32), "done": ((), torch.bool)}
    buffer = TransitionBuffer(1000, fields)
    assert buffer.rows == 0
    added, rows = [], set()
    for _ in range(10):
        x = torch.randn(7, 3)
        buffer.add(x=x, done=x[:, 0] > 0)
        added.append(x)
        rows.add(buffer.rows)
        assert len(buffer) <= buffer.rows < 2 * len(buffer)  # grown by doubling, to what it holds
        assert torch.equal(buffer.storage["x"][: len(buffer)], torch.cat(added))  # kept through every growth
    assert len(rows) > 2
    state = buffer.state_dict()
    assert state["storage"]["x"].shape == (70, 3) and helpers.saved_bytes(state) <= helpers.saved_bytes_bound(state)
    copy = TransitionBuffer(1000, fields)
    copy.load_state_dict(state)
    assert copy.rows == buffer.rows and (copy.size, copy.next_slot) == (70, 70)
    for name in fields:
        assert torch.equal(copy.storage[name], buffer.storage[name])
    samples = [b.sample(32, torch.Generator().manual_seed(0)) for b in (buffer, copy)]
    assert all(torch.equal(samples[0][name], samples[1][name]) for name in fields)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"tau": 1.5}, "tau"),
        ({"gamma": -0.1}, "gamma"),
        ({"critic_input": "pixels"}, "critic_input"),
        ({"gumbel_temperature": 0.0}, "gumbel_temperature"),
        ({"noise_start": -1.0}, "noise_start"),
        ({"policy_delay": 0}, "policy_delay"),
    ],
)
def test_bad_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MADDPGConfig(**kwargs).check()
    with pytest.raises(ValueError, match="variant"):
        MADDPG(make_vec_env("goal_grid_v0", 2), MADDPGConfig(), "maddpg4")


def test_iddpg_critic_sees_its_own_observation_and_action_only():
    """IDDPG's critic input for agent i is [o_i, a_i]: for one joint action, and for the actor update's
    rows (row i: agent i's new action at entry i, the others' from the buffer, which IDDPG ignores)."""
    env = make_vec_env("coordination_v0", 2)
    algo = MADDPG(env, MADDPGConfig(), "iddpg", seed=0)
    N, O, A = env.n_agents, env.obs_size, env.action_size
    assert algo.critics[0].input.weight.shape[-1] == O + A + N  # with the one-hot agent id of shared critics
    obs = torch.arange(2 * N * O, dtype=torch.float32).view(2, N, O)
    actions = -torch.arange(2 * N * A, dtype=torch.float32).view(2, N, A)
    inputs = algo._critic_input(obs, torch.zeros(2, env.state_size), actions)
    torch.testing.assert_close(inputs, torch.cat((obs, actions), -1))
    rows = torch.full((2, N, N, A), 99.0)
    for i in range(N):
        rows[:, i, i] = actions[:, i]
    torch.testing.assert_close(algo._critic_input(obs, torch.zeros(2, env.state_size), rows), torch.cat((obs, actions), -1))


@pytest.mark.parametrize(
    "algo, env, extra",
    [("maddpg", "goal_grid_v0", {}), ("matd3", "coordination_v0", {"critic_input": "obs"}), ("iddpg", "coordination_v0", {})],
)
def test_resume_continues_exactly(tmp_path, algo, env, extra):
    config = dict(learning_starts=200, batch_size=16, train_every=2, **extra)
    run = dict(num_envs=4, seed=3)
    first = train(algo, env, quiet_run(tmp_path / "a", total_steps=600, **run), MADDPGConfig(**config))
    resumed = train(algo, env, quiet_run(tmp_path / "a", total_steps=1200, **run), MADDPGConfig(**config), resume=first.run_dir)
    whole = train(algo, env, quiet_run(tmp_path / "b", total_steps=1200, **run), MADDPGConfig(**config))
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert a["gradient_steps"] == b["gradient_steps"] > 0
    for part in ("actor", "target_actor", "critics", "target_critics"):
        for name in a[part]:
            torch.testing.assert_close(a[part][name], b[part][name], rtol=0, atol=0)
    assert resumed.final["return"] == whole.final["return"]


def test_cli_runs_maddpg(tmp_path, capsys):
    argv = [
        "maddpg",
        "goal_grid_v0",
        "--total-steps",
        "300",
        "--num-envs",
        "4",
        "--learning-starts",
        "100",
        "--batch-size",
        "16",
        "--eval-episodes",
        "4",
        "--log-dir",
        str(tmp_path),
        "--progress",
        "False",
        "--tensorboard",
        "False",
    ]
    assert main(argv) == 0
    assert "maddpg" in capsys.readouterr().out
