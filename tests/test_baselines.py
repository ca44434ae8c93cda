"""The baselines core: networks, buffers, targets, the training loop, its CLI, checkpoints and resume."""

from __future__ import annotations

import argparse
import io
import math
import os
import signal

import helpers
import pytest
import torch

from marl_baselines.algos.value_decomp import ValueDecompConfig, ValueDecomposition
from marl_baselines.buffers import EpisodeBuffer, RolloutBuffer
from marl_baselines.cli import cli, main
from marl_baselines.config import RunConfig
from marl_baselines.nets import AgentLinear, AgentNetwork, QMixer, VDNMixer, masked_argmax
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env


def quiet_run(tmp_path, **kwargs):
    return helpers.quiet_run(tmp_path, **{"eval_episodes": 4, **kwargs})


# ---------------------------------------------------------------- networks
def test_agent_linear_is_one_linear_layer_per_agent():
    layer = AgentLinear(3, 4, 2)
    x = torch.randn(5, 3, 4)
    for n in range(3):
        torch.testing.assert_close(layer(x)[:, n], x[:, n] @ layer.weight[n] + layer.bias[n])


def test_agent_network_shapes_sharing_and_ids():
    obs = torch.randn(7, 3, 5)
    for recurrent in (False, True):
        for share in (True, False):
            net = AgentNetwork(5, 4, 3, hidden_size=8, recurrent=recurrent, share_parameters=share)
            q, hidden = net(obs, net.initial_state(7) if recurrent else None)
            assert q.shape == (7, 3, 4) and (hidden is None) != recurrent
    shared = AgentNetwork(5, 4, 3, hidden_size=8)
    same = obs[:, :1].expand(7, 3, 5)
    q, _ = shared(same)
    assert not torch.allclose(q[:, 0], q[:, 1])  # the one-hot id tells identical observations apart
    q_no_id, _ = AgentNetwork(5, 4, 3, hidden_size=8, agent_id=False)(same)
    torch.testing.assert_close(q_no_id[:, 0], q_no_id[:, 1])


def test_gru_agent_follows_torch_gru_cell_and_sequences_match_steps():
    net = AgentNetwork(5, 4, 2, hidden_size=6, recurrent=True)
    cell = torch.nn.GRUCell(6, 6)
    with torch.no_grad():
        cell.weight_ih.copy_(net.gate_input.weight)
        cell.bias_ih.copy_(net.gate_input.bias)
        cell.weight_hh.copy_(net.gate_hidden.weight)
        cell.bias_hh.copy_(net.gate_hidden.bias)
    obs = torch.randn(3, 4, 2, 5)  # [batch, T, N, O]
    hidden, steps = torch.zeros(3 * 2, 6), []
    for t in range(4):
        x = net._embed(obs[:, t]).reshape(6, 6)
        hidden = cell(x, hidden)
        steps.append(net.output(hidden.reshape(3, 2, 6)))
    torch.testing.assert_close(net.forward_sequence(obs), torch.stack(steps, 1), rtol=1e-5, atol=1e-6)


def test_mixers():
    qs = torch.randn(6, 3, requires_grad=True)
    state = torch.randn(6, 10)
    torch.testing.assert_close(VDNMixer()(qs, state), qs.sum(-1))
    for layers in (1, 2):
        mixer = QMixer(3, 10, embed_size=8, hypernet_layers=layers)
        total = mixer(qs, state)
        assert total.shape == (6,)
        (gradient,) = torch.autograd.grad(total.sum(), qs)
        assert (gradient >= 0).all()  # monotonic in every agent's Q
    # biases depend on the state: same Qs, other states, other totals
    mixer = QMixer(3, 10)
    assert not torch.allclose(mixer(torch.zeros(2, 3), torch.randn(2, 10)), mixer(torch.zeros(2, 3), torch.randn(2, 10)))


def test_masked_argmax():
    values = torch.tensor([[1.0, 5.0, 3.0]])
    assert masked_argmax(values, None).item() == 1
    assert masked_argmax(values, torch.tensor([[True, False, True]])).item() == 2


# ---------------------------------------------------------------- buffers and targets
def test_episode_buffer_stores_whole_episodes_with_final_observations():
    env = make_vec_env("goal_grid_v0", 3, max_cycles=4)
    buffer = EpisodeBuffer(5, 4, 3, env.n_agents, env.obs_size, env.state_size)
    out = env.reset(seed=0)
    buffer.start(out)
    first_obs = out.obs.clone()
    generator = torch.Generator().manual_seed(0)
    finals = []
    for t in range(8):  # two whole episodes per env: 6 episodes into a ring of 5
        actions = env.random_actions(generator)
        out = env.step(actions)
        buffer.add(actions, out)
        if t == 3:
            finals.append(out.final_obs.clone())
    assert len(buffer) == 5 and buffer.next_slot == 1
    stored = buffer.storage
    # the first committed episodes are those of the first round (slots 1, 2 hold envs 1, 2)
    torch.testing.assert_close(stored["obs"][1, 0], first_obs[1])
    torch.testing.assert_close(stored["obs"][2, 4], finals[0][2])  # the final observation, not the next episode's first
    assert stored["filled"][1].tolist() == [True] * 4
    assert not stored["terminal"].any()  # truncated at max_cycles, not terminal
    batch = buffer.sample(4, torch.Generator().manual_seed(1))
    assert batch.obs.shape == (4, 5, 2, 6) and batch.actions.shape == (4, 4, 2) and batch.action_mask is None


def test_episode_buffer_marks_terminal_steps():
    env = make_vec_env("goal_grid_v0", 1, starts=[(3, 0), (0, 3)])
    buffer = EpisodeBuffer(4, env.max_episode_steps, 1, 2, env.obs_size, env.state_size)
    buffer.start(env.reset(seed=0))
    actions = torch.tensor([[1, 3]])  # both step onto their goals: success
    buffer.add(actions, env.step(actions))
    assert len(buffer) == 1
    assert buffer.storage["terminal"][0, 0] and buffer.storage["filled"][0].sum() == 1
    assert buffer.storage["reward"][0, 0].tolist() == [10.0, 10.0]


def _fill(buffer: EpisodeBuffer, env, out, steps: int, seed: int = 0):
    """Step ``env`` with random actions into ``buffer``; returns the last step, the episodes that ended
    (in the order the buffer commits them: step by step, env by env) as (obs, actions, reward), and
    the buffer's allocated (rows, length) after each step."""
    generator = torch.Generator().manual_seed(seed)
    running = [([out.obs[b]], [], []) for b in range(env.num_envs)]
    episodes, shapes = [], []
    for _ in range(steps):
        actions = env.random_actions(generator)
        out = env.step(actions)
        buffer.add(actions, out)
        shapes.append((buffer.rows, buffer.length))
        ended = (out.terminated | out.truncated).all(-1)
        for b in range(env.num_envs):
            obs, taken, reward = running[b]
            obs.append(out.final_obs[b])
            taken.append(actions[b])
            reward.append(out.reward[b])
            if ended[b]:
                episodes.append(tuple(torch.stack(part) for part in running[b]))
                running[b] = ([out.obs[b]], [], [])
    return out, episodes, shapes


def test_episode_buffer_grows_with_the_episodes_it_holds_and_keeps_them():
    """Storage starts empty and doubles as episodes come: each episode stays in its slot through
    every reallocation, and the slots and steps allocated stay below twice what is held."""
    env = make_vec_env("goal_grid_v0", 3, size=2, max_cycles=12)  # a 2x2 grid: episodes of 1 to 12 steps
    buffer = EpisodeBuffer(100, 12, 3, env.n_agents, env.obs_size, env.state_size)
    out = env.reset(seed=1)
    buffer.start(out)
    assert buffer.rows == 0 and buffer.storage["obs"].shape[0] == 0
    out, episodes, shapes = _fill(buffer, env, out, 40)
    holding = [(rows, length) for rows, length in shapes if rows]
    assert len({rows for rows, _ in holding}) > 2 and len({length for _, length in holding}) > 2  # both grew while holding episodes
    assert len(buffer) == len(episodes) < buffer.capacity  # no slot was overwritten
    for slot, (obs, actions, reward) in enumerate(episodes):
        steps = len(reward)
        assert torch.equal(buffer.storage["obs"][slot, : steps + 1], obs)
        assert torch.equal(buffer.storage["actions"][slot, :steps], actions)
        assert torch.equal(buffer.storage["reward"][slot, :steps], reward)
        assert buffer.storage["filled"][slot].sum() == steps and not buffer.storage["obs"][slot, steps + 1 :].any()
    longest = max(int(buffer.step_index.max()), *(len(reward) for _, _, reward in episodes))
    assert longest <= buffer.length < 2 * longest and len(buffer) <= buffer.rows < 2 * len(buffer)


@pytest.mark.parametrize("sync_free", [False, True])
def test_episode_buffer_state_dict_holds_what_is_stored_and_restores_it(sync_free):
    env = make_vec_env("goal_grid_v0", 3, size=2, max_cycles=12)

    def new_buffer():
        return EpisodeBuffer(100, 12, 3, env.n_agents, env.obs_size, env.state_size, sync_free=sync_free)

    buffer = new_buffer()
    out = env.reset(seed=2)
    buffer.start(out)
    out, _, _ = _fill(buffer, env, out, 20)
    state = buffer.state_dict()
    size, stored = len(buffer), buffer.storage["filled"][: len(buffer)]
    longest = max(int(stored.sum(1).max()), int(buffer.step_index.max()))  # stored or staged
    assert state["storage"]["filled"].shape == (size, longest) and state["storage"]["obs"].shape[:2] == (size, longest + 1)
    assert state["staging"]["reward"].shape[:2] == (3, longest)
    assert helpers.saved_bytes(state) <= helpers.saved_bytes_bound(state)  # copies, not views of the whole storage

    copy = new_buffer()
    copy.load_state_dict(torch.load(io.BytesIO(helpers.saved(state)), weights_only=False))
    generator = torch.Generator().manual_seed(3)
    for _ in range(2):  # as loaded, and after both took the same steps
        assert (copy.rows, copy.length, len(copy)) == (buffer.rows, buffer.length, len(buffer))
        for name in buffer.storage:
            assert torch.equal(copy.storage[name][: buffer.rows], buffer.storage[name][: buffer.rows]), name
            assert torch.equal(copy.staging[name], buffer.staging[name]), name
        batches = [b.sample(16, torch.Generator().manual_seed(4)) for b in (buffer, copy)]
        for a, b in zip(*batches):
            assert (a is None and b is None) or torch.equal(a, b)
        for _ in range(15):
            actions = env.random_actions(generator)
            out = env.step(actions)
            buffer.add(actions, out)
            copy.add(actions, out)


def _filled_buffer(episodes: int = 6, max_cycles: int = 10):
    env = make_vec_env("target_grid_v0", 2, max_cycles=max_cycles)
    buffer = EpisodeBuffer(episodes, max_cycles, 2, env.n_agents, env.obs_size, env.state_size)
    buffer.start(env.reset(seed=0))
    generator = torch.Generator().manual_seed(0)
    while len(buffer) < episodes:
        actions = env.random_actions(generator)
        buffer.add(actions, env.step(actions))
    return env, buffer


def test_episode_chunks_are_slices_of_stored_episodes_with_burn_in():
    env, buffer = _filled_buffer()
    stored = buffer.storage
    batch = buffer.sample_chunks(64, chunk_length=4, burn_in=3, generator=torch.Generator().manual_seed(1))
    assert batch.obs.shape == (64, 8, env.n_agents, env.obs_size) and batch.actions.shape == (64, 7, env.n_agents)
    seen_starts = set()
    for row in range(64):
        # find the stored episode and the window's first step this row was cut from
        n = int(batch.filled[row].sum())  # the window's steps inside the episode
        assert batch.filled[row, :n].all()
        matches = [
            (e, first)
            for e in range(len(buffer))
            for first in range(10)
            if torch.equal(stored["obs"][e, first : first + n + 1], batch.obs[row, : n + 1])
        ]
        assert len(matches) == 1, row
        e, first = matches[0]
        learn = batch.learn[row].nonzero().squeeze(-1).tolist()
        chunk_start = first + learn[0]
        assert chunk_start % 4 == 0 and chunk_start - first == min(chunk_start, 3)  # full burn-in unless the episode starts
        assert learn == list(range(chunk_start - first, min(chunk_start + 4, 10) - first))  # 10-step episodes
        torch.testing.assert_close(batch.reward[row, :n], stored["reward"][e, first : first + n])
        seen_starts.add(chunk_start)
    assert seen_starts == {0, 4, 8}  # every chunk of a 10-step episode is drawn (the last one holds steps 8, 9)
    last = batch.learn.sum(1) == 2  # the last chunk of an episode holds 2 steps, and its window runs past the end
    assert last.any() and not batch.filled[last][:, -1].any()


def test_whole_episode_chunks_give_the_whole_episode_loss():
    """A chunk as long as the episode limit, without burn-in, is the whole episode: same loss."""
    env, _ = _filled_buffer()
    losses = []
    for chunk_length in (0, 10):
        torch.manual_seed(0)
        algo = ValueDecomposition(env, ValueDecompConfig(recurrent=True, chunk_length=chunk_length, td_lambda=0.6), "qmix", seed=0)
        _, algo.buffer = _filled_buffer()
        algo.generator.manual_seed(5)
        batch = algo.buffer.sample_chunks(8, 10, 0, algo.generator) if chunk_length else None
        algo.generator.manual_seed(5)
        whole = algo.buffer.sample(8, algo.generator)
        losses.append(algo.loss(batch if chunk_length else whole)[0])
        if chunk_length:
            torch.testing.assert_close(batch.obs, whole.obs)
    torch.testing.assert_close(losses[0], losses[1])


def test_burn_in_reaching_the_episode_start_gives_the_whole_episode_q_values():
    """With a burn-in at least as long as the chunk's offset, the GRU replays the episode from its
    start: the Q-values on the chunk's steps equal those of the whole-episode replay."""
    env, buffer = _filled_buffer()
    net = AgentNetwork(env.obs_size, env.action_size, env.n_agents, recurrent=True)
    batch = buffer.sample_chunks(16, chunk_length=3, burn_in=9, generator=torch.Generator().manual_seed(2))
    whole = buffer.sample(16, torch.Generator().manual_seed(2))  # the same episodes (same draws for the episode index)
    q_chunk, q_whole = net.forward_sequence(batch.obs), net.forward_sequence(whole.obs)
    for row in range(16):
        steps = batch.learn[row].nonzero().squeeze(-1)
        assert steps.numel() > 0
        torch.testing.assert_close(q_chunk[row, steps], q_whole[row, steps])  # the window starts at step 0 here


def test_returns_worked_by_hand():
    reward = torch.tensor([[1.0, 2.0, 4.0]])
    next_value = torch.tensor([[10.0, 20.0, 40.0]])
    terminal = torch.tensor([[False, False, True]])
    filled = torch.ones(1, 3, dtype=torch.bool)

    def returns(**config):
        algo = ValueDecomposition.__new__(ValueDecomposition)
        algo.config = ValueDecompConfig(gamma=0.5, **config)
        return algo._returns(reward, next_value, terminal, filled).tolist()

    # one step: r_t + 0.5 V_{t+1}, no bootstrap after the terminal step
    assert returns() == [[1 + 0.5 * 10, 2 + 0.5 * 20, 4]]
    # two steps: 1 + 0.5 * 2 + 0.25 * 20 = 7; 2 + 0.5 * 4 = 4 (the episode ends); 4
    assert returns(n_step=2) == [[7, 4, 4]]
    # lambda = 0.5: G2 = 4; G1 = 2 + 0.5 (0.5 * 20 + 0.5 * 4) = 8; G0 = 1 + 0.5 (0.5 * 10 + 0.5 * 8) = 5.5
    assert returns(td_lambda=0.5) == [[5.5, 8, 4]]
    # a truncated last step bootstraps from its final observation
    algo = ValueDecomposition.__new__(ValueDecomposition)
    algo.config = ValueDecompConfig(gamma=0.5)
    truncated = algo._returns(reward, next_value, torch.zeros_like(terminal), filled)
    assert truncated[0, 2] == 4 + 0.5 * 40


def test_gae_worked_by_hand():
    buffer = RolloutBuffer(3, 1, 1)
    ones = torch.ones(1, 1)
    no = torch.zeros(1, 1, dtype=torch.bool)
    # values V = 1 everywhere, rewards 1, 0, 2; the episode terminates at the last step
    buffer.add(ones, ones, ones, no, no)
    buffer.add(ones, 0 * ones, ones, no, no)
    buffer.add(ones, 2 * ones, 0 * ones, ~no, no)
    advantages, returns = buffer.advantages(gamma=0.5, lam=0.5)
    # deltas: 1 + 0.5 - 1 = 0.5; 0 + 0.5 - 1 = -0.5; 2 - 1 = 1
    # A2 = 1; A1 = -0.5 + 0.25 * 1 = -0.25; A0 = 0.5 + 0.25 * -0.25 = 0.4375
    assert advantages.flatten().tolist() == [0.4375, -0.25, 1.0]
    assert returns.flatten().tolist() == [1.4375, 0.75, 2.0]


# ---------------------------------------------------------------- the training loop
def test_bad_configuration_fails_before_training(tmp_path):
    for algo, env, kwargs, message in [
        ("qmax", "goal_grid_v0", {}, "unknown algorithm 'qmax'; choose from iql, vdn, qmix"),
        (
            "qmix",
            "coordination_v0",
            {},
            "qmix needs discrete actions, and coordination_v0 has continuous ones \\(pass --env-arg continuous_actions=False\\)",
        ),
        ("qmix", "goal_grid_v0", {"total_steps": -5}, "total_steps must be >= 0"),
        ("qmix", "no_such_env", {}, "unknown environment 'no_such_env'"),
    ]:
        with pytest.raises(ValueError, match=message):
            train(algo, env, quiet_run(tmp_path, **kwargs))
    with pytest.raises(ValueError, match="lr must be >= 0"):
        train("qmix", "goal_grid_v0", quiet_run(tmp_path), ValueDecompConfig(lr=-1))
    with pytest.raises(
        ValueError, match="burn_in warms up the hidden state before a chunk: it needs chunk_length >= 1, got burn_in=4 with chunk_length=0"
    ):
        train("qmix", "goal_grid_v0", quiet_run(tmp_path), ValueDecompConfig(recurrent=True, burn_in=4))
    assert not any(tmp_path.iterdir())  # nothing was started


def test_command_line_help_and_options(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for expected in ("qmix", "goal_grid_v0", "--total-steps", "--epsilon-anneal-steps", "(default: 0.99)", "--env-arg"):
        assert expected in text
    result = cli(
        [
            "vdn",
            "matrix_game_v0",
            "--env-arg",
            "game=two_step",
            "--total-steps",
            "64",
            "--num-envs",
            "4",
            "--eval-episodes",
            "2",
            "--learning-starts",
            "0",
            "--batch-size",
            "2",
            "--log-dir",
            str(tmp_path),
            "--progress",
            "false",
            "--tensorboard",
            "false",
        ]
    )
    assert result.env_steps == 64 and (result.run_dir / "eval.csv").exists() and (result.run_dir / "checkpoint.pt").exists()
    final = result.evaluations[-1]  # when it ended, and how long the evaluation itself took
    assert 0 < final["eval_seconds"] <= final["seconds"] <= result.seconds
    assert "| greedy return" in capsys.readouterr().out
    # the console script's status after a finished run is 0 (a RunResult would make it 1)
    assert (
        main(
            [
                "iql",
                "matrix_game_v0",
                "--total-steps",
                "16",
                "--num-envs",
                "4",
                "--eval-episodes",
                "2",
                "--log-dir",
                str(tmp_path),
                "--progress",
                "false",
                "--tensorboard",
                "false",
            ]
        )
        == 0
    )
    with pytest.raises(SystemExit) as exit_status:
        main(["qmix", "goal_grid_v0", "--total-steps", "-1"])
    assert exit_status.value.code == 2
    assert "total_steps must be >= 0" in capsys.readouterr().err


def test_resume_continues_exactly(tmp_path):
    config = dict(learning_starts=200, batch_size=8, train_every=2, epsilon_anneal_steps=2000, target_update_interval=10)
    run = dict(num_envs=4, seed=3)
    first = train("qmix", "goal_grid_v0", quiet_run(tmp_path / "a", total_steps=1200, **run), ValueDecompConfig(**config))
    resumed = train(
        "qmix", "goal_grid_v0", quiet_run(tmp_path / "a", total_steps=2400, **run), ValueDecompConfig(**config), resume=first.run_dir
    )
    whole = train("qmix", "goal_grid_v0", quiet_run(tmp_path / "b", total_steps=2400, **run), ValueDecompConfig(**config))
    assert resumed.env_steps == whole.env_steps == 2400
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert a["gradient_steps"] == b["gradient_steps"] > 0
    for name in a["agent"]:
        torch.testing.assert_close(a["agent"][name], b["agent"][name], rtol=0, atol=0)
    for name in a["mixer"]:
        torch.testing.assert_close(a["mixer"][name], b["mixer"][name], rtol=0, atol=0)


@pytest.mark.parametrize(("algo", "sync_free"), [("vdn", "off"), ("vdn", "on"), ("maddpg", "off")])
def test_checkpoint_of_short_episodes_is_sized_by_what_the_buffer_holds(tmp_path, algo, sync_free):
    """Two-step episodes of an env whose limit is 1,000 steps: the checkpoint stores the episodes
    (transitions) held, at the longest held length, not the buffer's capacity of max-length slots."""
    from marl_baselines.algos import ALGORITHMS

    config = ALGORITHMS[algo].config_class(learning_starts=40, batch_size=8)
    result = train(
        algo, "matrix_game_v0", quiet_run(tmp_path, total_steps=200, num_envs=4, sync_free=sync_free), config, {"game": "two_step"}
    )
    path = result.run_dir / "checkpoint.pt"
    checkpoint = torch.load(path, weights_only=False)
    buffer = checkpoint["algo"]["buffer"]
    if algo == "maddpg":
        assert all(len(tensor) == buffer["size"] == result.env_steps for tensor in buffer["storage"].values())  # one transition a step
    else:
        stored = buffer["storage"]["filled"]
        longest = max(int(stored.sum(1).max()), int(buffer["step_index"].max()))
        assert stored.shape == (buffer["size"], longest) and buffer["size"] > 0 and longest < 1000
        assert buffer["staging"]["filled"].shape == (4, longest)
    checkpoint["algo"]["buffer"] = None
    assert path.stat().st_size - helpers.saved_bytes(checkpoint) <= helpers.saved_bytes_bound(buffer)


@pytest.mark.parametrize("sync_free", ["off", "on"])
def test_resume_is_exact_while_the_episode_buffer_grows(tmp_path, sync_free):
    """Stopped while the buffer still grows (sync-free, by host-side bounds), resumed runs on with the
    same storage shapes, episodes and networks as an uninterrupted run."""
    config = dict(learning_starts=0, batch_size=4, buffer_size=200, target_update_interval=10)
    run, env_kwargs = dict(num_envs=4, seed=1, sync_free=sync_free), {"size": 3, "max_cycles": 10}
    first = train("qmix", "goal_grid_v0", quiet_run(tmp_path / "a", total_steps=120, **run), ValueDecompConfig(**config), env_kwargs)
    stopped = torch.load(first.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    resumed = train(
        "qmix",
        "goal_grid_v0",
        quiet_run(tmp_path / "a", total_steps=400, **run),
        ValueDecompConfig(**config),
        env_kwargs,
        resume=first.run_dir,
    )
    whole = train("qmix", "goal_grid_v0", quiet_run(tmp_path / "b", total_steps=400, **run), ValueDecompConfig(**config), env_kwargs)
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert stopped["gradient_steps"] > 0 and stopped["buffer"]["rows"] < a["buffer"]["rows"]  # trained, then grew after the resume
    assert a["gradient_steps"] == b["gradient_steps"]
    for part in ("agent", "mixer"):
        for name in a[part]:
            torch.testing.assert_close(a[part][name], b[part][name], rtol=0, atol=0)
    for key, value in a["buffer"].items():
        if isinstance(value, dict):
            for name in value:
                assert torch.equal(value[name], b["buffer"][key][name]), (key, name)
        else:
            assert torch.equal(value, b["buffer"][key]) if isinstance(value, torch.Tensor) else value == b["buffer"][key], key


def test_checkpoint_without_the_buffer_holds_none_and_resumes_with_an_empty_one(tmp_path):
    config = ValueDecompConfig(learning_starts=0, batch_size=4)
    run = dict(num_envs=4, checkpoint_buffer=False)
    first = train("qmix", "goal_grid_v0", quiet_run(tmp_path, total_steps=200, **run), config)
    assert torch.load(first.run_dir / "checkpoint.pt", weights_only=False)["algo"]["buffer"] is None
    resumed = train("qmix", "goal_grid_v0", quiet_run(tmp_path, total_steps=400, **run), config, resume=first.run_dir)
    assert resumed.env_steps == 400 and math.isfinite(resumed.final["return"])


def test_pettingzoo_source_trains(tmp_path):
    result = train(
        "qmix",
        "goal_grid_v0",
        quiet_run(tmp_path, total_steps=400, num_envs=2, source="pettingzoo"),
        ValueDecompConfig(learning_starts=100, batch_size=2),
    )
    assert result.env_steps == 400 and math.isfinite(result.final["return"])


def test_ctrl_c_stops_at_a_step_boundary_and_resumes_exactly(tmp_path, monkeypatch):
    config = dict(learning_starts=40, batch_size=4)
    calls = {"n": 0}
    original = ValueDecomposition.observe

    def observe_then_ctrl_c(self, before, actions, act_info, after, env_steps):
        calls["n"] += 1
        if calls["n"] == 50:  # Ctrl-C arrives in the middle of a step
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, before, actions, act_info, after, env_steps)

    monkeypatch.setattr(ValueDecomposition, "observe", observe_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        train("qmix", "goal_grid_v0", quiet_run(tmp_path / "a", total_steps=800, num_envs=4), ValueDecompConfig(**config))
    (run_dir,) = (tmp_path / "a" / "goal_grid_v0" / "qmix").iterdir()
    assert torch.load(run_dir / "checkpoint.pt", weights_only=False)["env_steps"] == 50 * 4  # the step finished
    monkeypatch.setattr(ValueDecomposition, "observe", original)
    resumed = train(
        "qmix", "goal_grid_v0", quiet_run(tmp_path / "a", total_steps=800, num_envs=4), ValueDecompConfig(**config), resume=run_dir
    )
    whole = train("qmix", "goal_grid_v0", quiet_run(tmp_path / "b", total_steps=800, num_envs=4), ValueDecompConfig(**config))
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]["agent"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]["agent"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_env_argument_reads_literals_json_and_words():
    from marl_baselines.cli import env_argument

    assert env_argument("game=climbing") == ("game", "climbing")
    assert env_argument("starts=[(3, 0), (0, 3)]") == ("starts", [(3, 0), (0, 3)])
    assert env_argument("continuous_actions=false") == env_argument("continuous_actions=False") == ("continuous_actions", False)
    with pytest.raises(argparse.ArgumentTypeError, match="--env-arg takes KEY=VALUE, got 'oops'"):
        env_argument("oops")


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch):
    """A sweep that starts runs of one env, algorithm and seed in parallel must not mix their logs
    and checkpoints (comm_ablation.py's settings with and without --no-comm did, before)."""
    import time

    from marl_baselines.distributed import World
    from marl_baselines.train import _new_run_dir

    monkeypatch.setattr(time, "strftime", lambda form: "20261204-120000")
    world = World.from_environment()
    made = [_new_run_dir(tmp_path / "goal_grid_v0" / "qmix", 3, world) for _ in range(3)]
    assert [p.name for p in made] == ["3-20261204-120000", "3-20261204-120000-2", "3-20261204-120000-3"]
    assert all(p.is_dir() for p in made)
    first = train("qmix", "goal_grid_v0", helpers.quiet_run(tmp_path, total_steps=64, num_envs=4, eval_episodes=2, seed=3))
    second = train("qmix", "goal_grid_v0", helpers.quiet_run(tmp_path, total_steps=64, num_envs=4, eval_episodes=2, seed=3))
    assert first.run_dir != second.run_dir and (second.run_dir / "checkpoint.pt").exists()


def test_training_curve_leaves_every_evaluation_out(tmp_path):
    """RunResult.training_curve: at each of this session's evaluations, the wall time so far minus
    every evaluation up to it; training_seconds: the session's wall time minus all of them."""
    result = train(
        "vdn",
        "matrix_game_v0",
        RunConfig(total_steps=64, num_envs=4, eval_interval=16, eval_episodes=2, log_dir=str(tmp_path), progress=False, tensorboard=False),
        None,
        {"game": "two_step"},
    )
    curve = result.training_curve()
    assert [steps for steps, _, _ in curve] == [16, 32, 48, 64]
    spent = 0.0
    for (steps, seconds, evaluation), original in zip(curve, result.evaluations):
        spent += original["eval_seconds"]
        assert evaluation is original and seconds == pytest.approx(original["seconds"] - spent)
    assert result.training_seconds == pytest.approx(result.seconds - spent) and 0 < result.training_seconds < result.seconds
