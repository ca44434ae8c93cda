"""TarMAC and the graph-attention agent (marl_baselines/comm.py): equivariance, masking, attention,
sequences, scaling to more agents, and the configuration errors."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from marl_baselines.agents import AgentOptions, build_agent_network
from marl_baselines.comm import GraphAgentNetwork, GraphAttentionLayer, TarMACLayer, TarMACNetwork, communication_mask
from marl_baselines.nets import AgentNetwork

B, N, O, H = 5, 4, 7, 16


def networks(comm: bool = True, recurrent: bool = True, seed: int = 0):
    """A TarMAC (two rounds, two heads, gated, no agent id) and a GNN (two layers, two heads)."""
    torch.manual_seed(seed)
    tarmac = TarMACNetwork(O, 3, N, H, recurrent=recurrent, agent_id=False, comm=comm, comm_rounds=2, heads=2, key_size=4, gate=True)
    torch.manual_seed(seed)
    gnn = GraphAgentNetwork(O, 3, N, H, recurrent=recurrent, comm=comm, num_layers=2, heads=2)
    with torch.no_grad():  # messages at full strength (they start at 0, see test_communication_starts_switched_off)
        tarmac.message_scale.fill_(1.0)
        gnn.layer_scales.fill_(1.0)
    return {"tarmac": tarmac, "gnn": gnn}


def inputs(seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    obs = torch.randn(B, N, O, generator=generator)
    hidden = torch.randn(B, N, H, generator=generator).tanh()
    adjacency = torch.rand(B, N, N, generator=generator) < 0.6
    return obs, hidden, adjacency


# ---------------------------------------------------------------- permutation equivariance
@pytest.mark.parametrize("layer", ["tarmac", "gat"])
def test_layers_are_permutation_equivariant(layer):
    torch.manual_seed(0)
    module = TarMACLayer(H, key_size=4, heads=2, gate=True) if layer == "tarmac" else GraphAttentionLayer(H, H, heads=2)
    x = torch.randn(B, N, H)
    mask = communication_mask(N, torch.rand(B, N) < 0.8, torch.rand(B, N, N) < 0.6, True, self_loops=layer == "gat")
    out, attention = module(x, mask)
    permutation = torch.tensor([2, 0, 3, 1])
    permuted_out, permuted_attention = module(x[:, permutation], mask[:, permutation][:, :, permutation])
    torch.testing.assert_close(permuted_out, out[:, permutation], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(permuted_attention, attention[:, :, permutation][..., permutation], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_networks_are_permutation_equivariant(kind):
    net = networks()[kind]
    obs, hidden, adjacency = inputs()
    alive = torch.ones(B, N, dtype=torch.bool)
    alive[0, 1] = False
    out, new_hidden = net(obs, hidden, alive, adjacency)
    p = torch.tensor([3, 1, 0, 2])
    permuted, permuted_hidden = net(obs[:, p], hidden[:, p], alive[:, p], adjacency[:, p][:, :, p])
    torch.testing.assert_close(permuted, out[:, p], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(permuted_hidden, new_hidden[:, p], rtol=1e-5, atol=1e-6)


def test_agent_ids_break_the_symmetry_when_asked():
    torch.manual_seed(0)
    net = TarMACNetwork(O, 3, N, H, agent_id=True)
    same = torch.randn(1, 1, O).expand(1, N, O)
    out, _ = net(same)
    assert not torch.allclose(out[0, 0], out[0, 1])
    with pytest.raises(ValueError, match="one-hot ids for 4 agents and got 6"):
        net(torch.randn(1, 6, O))


# ---------------------------------------------------------------- masking
@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_a_dead_agent_neither_sends_nor_receives(kind):
    net = networks()[kind]
    obs, hidden, _ = inputs()
    alive = torch.ones(B, N, dtype=torch.bool)
    alive[:, 2] = False
    out, new_hidden = net(obs, hidden, alive)
    # sends nothing: whatever the dead agent observes or remembers, no one else's output changes
    changed_obs, changed_hidden = obs.clone(), hidden.clone()
    changed_obs[:, 2] += 10 * torch.randn(B, O)
    changed_hidden[:, 2] = -changed_hidden[:, 2]
    other_out, other_hidden = net(changed_obs, changed_hidden, alive)
    others = torch.tensor([0, 1, 3])
    torch.testing.assert_close(other_out[:, others], out[:, others], rtol=0, atol=0)
    torch.testing.assert_close(other_hidden[:, others], new_hidden[:, others], rtol=0, atol=0)
    assert not torch.allclose(other_out[:, 2], out[:, 2])  # (its own output does depend on them)
    # receives nothing: its output is what it would be with communication off (same weights)
    silent = networks(comm=False)[kind]
    silent.load_state_dict(net.state_dict())
    torch.testing.assert_close(out[:, 2], silent(obs, hidden, alive)[0][:, 2], rtol=1e-6, atol=1e-6)
    attention = net.get_attention_weights()  # [B, rounds/layers, heads, N, N]
    assert (attention[..., :, 2] == 0).all() == (kind == "tarmac")  # no one attends to it (a GAT node has its self-loop)
    assert (attention[..., [0, 1, 3], 2] == 0).all()
    if kind == "tarmac":
        assert (attention[..., 2, :] == 0).all()
    else:
        assert (attention[..., 2, 2] == 1).all()


@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_only_neighbours_are_heard(kind):
    net = networks()[kind]
    obs, hidden, _ = inputs()
    adjacency = torch.zeros(B, N, N, dtype=torch.bool)
    adjacency[:, 0, 1] = adjacency[:, 1, 0] = True  # 0 and 1 hear each other; 2 and 3 are alone
    out, _ = net(obs, hidden, None, adjacency)
    changed = obs.clone()
    changed[:, 1] += 1.0
    changed_out, _ = net(changed, hidden, None, adjacency)
    assert not torch.allclose(changed_out[:, 0], out[:, 0])  # 0 hears 1
    torch.testing.assert_close(changed_out[:, 2:], out[:, 2:], rtol=0, atol=0)  # 2 and 3 do not


@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_no_comm_ablation_cuts_every_path_between_agents(kind):
    """comm=True: agent 0's output has a gradient with respect to agent 1's observation (the
    messages are differentiable); comm=False: exactly zero, with the same parameters."""
    for comm in (True, False):
        net = networks(comm=comm)[kind]
        obs, hidden, _ = inputs()
        obs.requires_grad_(True)
        out, _ = net(obs, hidden)
        (gradient,) = torch.autograd.grad(out[:, 0].sum(), obs)
        assert (gradient[:, 1].abs().sum() > 0) == comm
        assert gradient[:, 0].abs().sum() > 0
    assert sum(p.numel() for p in networks(comm=True)[kind].parameters()) == sum(p.numel() for p in networks(comm=False)[kind].parameters())


def test_communication_starts_switched_off():
    """The message scales start at 0: a fresh network computes what its no-comm self computes
    (same seed, same parameters), and only the scale's gradient is non-zero on the message path."""
    obs, hidden, _ = inputs()
    for kind in ("tarmac", "gnn"):
        torch.manual_seed(0)
        fresh = (
            TarMACNetwork(O, 3, N, H, agent_id=False, comm_rounds=2, heads=2)
            if kind == "tarmac"
            else GraphAgentNetwork(O, 3, N, H, recurrent=True, heads=2)
        )
        silent = copy.deepcopy(fresh)
        silent.comm = False
        out, next_hidden = fresh(obs, hidden)
        torch.testing.assert_close(out, silent(obs, hidden)[0], rtol=0, atol=0)
        out.square().sum().backward()
        scale = fresh.message_scale if kind == "tarmac" else fresh.layer_scales
        assert (scale.grad.abs() > 0).all()


# ---------------------------------------------------------------- attention weights
@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_attention_weights_sum_to_one_over_the_senders(kind):
    net = networks()[kind]
    obs, hidden, adjacency = inputs()
    adjacency[:, 3, :] = False  # agent 3 hears no one
    alive = torch.ones(B, N, dtype=torch.bool)
    alive[1, 0] = False
    net(obs, hidden, alive, adjacency)
    attention = net.get_attention_weights()
    assert attention.shape == (B, 2, 2, N, N)  # two rounds (TarMAC) or layers (GNN), two heads
    assert not attention.requires_grad and (attention >= 0).all()
    sums = attention.sum(-1)
    hears = communication_mask(N, alive, adjacency, True, kind == "gnn").any(-1)  # [B, N]
    torch.testing.assert_close(sums, hears[:, None, None].float().expand_as(sums), rtol=1e-6, atol=1e-6)
    assert hears.all() == (kind == "gnn")  # a GAT node always hears itself; TarMAC's agent 3 hears no one


def test_attention_follows_the_queries_and_keys():
    """TarMAC's weights are softmax(q_i . k_j / sqrt(d)) over the senders: check one against a hand computation."""
    torch.manual_seed(0)
    layer = TarMACLayer(H, key_size=4, heads=1)
    x = torch.randn(1, 3, H)
    mask = communication_mask(3, None, None, True, self_loops=False)
    message, attention = layer(x, mask)
    with torch.no_grad():
        q, k, v = layer.query(x)[0], layer.key(x)[0], layer.value(x)[0]
    scores = torch.stack([q[0] @ k[1], q[0] @ k[2]]) / 2.0
    expected = torch.softmax(scores, 0)
    torch.testing.assert_close(attention[0, 0, 0], torch.stack([torch.tensor(0.0), *expected]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(message[0, 0], expected[0] * v[1] + expected[1] * v[2], rtol=1e-5, atol=1e-6)


def test_graph_attention_scores_are_dynamic():
    """GATv2 scores by hand, e_ij = a . LeakyReLU(r * z_i + z_j) with z = W x, softmax over the senders
    (self-loops included); and the receivers do not all rank the senders alike (with GAT's
    a . [z_i, z_j] they would: the ranking would depend on the sender alone)."""
    torch.manual_seed(0)
    layer = GraphAttentionLayer(H, H, heads=1)
    x = torch.randn(1, 5, H)
    out, attention = layer(x, communication_mask(5, None, None, True, self_loops=True))
    with torch.no_grad():
        z = layer.linear(x)[0]
        r, a = layer.attend_receiver[0], layer.attend_sender[0]
        scores = torch.tensor([[float(a @ F.leaky_relu(r * z[i] + z[j], 0.2)) for j in range(5)] for i in range(5)])
    expected = torch.softmax(scores, -1)
    torch.testing.assert_close(attention[0, 0], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out[0], expected @ z + layer.bias, rtol=1e-5, atol=1e-5)
    assert len({tuple(row.argsort().tolist()) for row in attention[0, 0]}) > 1


# ---------------------------------------------------------------- sequences and scaling
@pytest.mark.parametrize("kind", ["tarmac", "gnn"])
def test_sequences_equal_steps_with_resets(kind):
    net = networks()[kind]
    generator = torch.Generator().manual_seed(2)
    T = 6
    obs = torch.randn(B, T, N, O, generator=generator)
    alive = torch.rand(B, T, N, generator=generator) < 0.8
    adjacency = torch.rand(B, T, N, N, generator=generator) < 0.6
    starts = torch.zeros(B, T, dtype=torch.bool)
    starts[:2, 3] = True
    hidden = start = torch.randn(B, N, H, generator=generator).tanh()
    steps, attentions = [], []
    for t in range(T):
        hidden = hidden.masked_fill(starts[:, t, None, None], 0.0)
        out, hidden = net(obs[:, t], hidden, alive[:, t], adjacency[:, t])
        steps.append(out)
        attentions.append(net.get_attention_weights())
    sequence = net.forward_sequence(obs, start, starts, alive, adjacency)
    torch.testing.assert_close(sequence, torch.stack(steps, 1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net.get_attention_weights(), torch.stack(attentions, 1), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(net.forward_sequence(obs, start, None, alive, adjacency)[:2, 3:], sequence[:2, 3:])


def test_gnn_evaluates_unchanged_on_more_agents():
    """The same weights run on 6 agents; two separate groups of 3 (no edges between them) each get
    exactly the outputs the 3-agent graph gives."""
    torch.manual_seed(0)
    net = GraphAgentNetwork(O, 5, 3, H, recurrent=True, num_layers=2, heads=2)
    with torch.no_grad():
        net.layer_scales.fill_(1.0)
    obs3 = torch.randn(B, 3, O)
    hidden3 = torch.randn(B, 3, H).tanh()
    out3, next3 = net(obs3, hidden3)
    obs6 = torch.cat((obs3, obs3.flip(0)), 1)
    hidden6 = torch.cat((hidden3, hidden3.flip(0)), 1)
    groups = torch.zeros(6, 6, dtype=torch.bool)
    groups[:3, :3] = groups[3:, 3:] = True
    out6, next6 = net(obs6, hidden6, None, groups.expand(B, 6, 6))
    torch.testing.assert_close(out6[:, :3], out3, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out6[:, 3:], out3.flip(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(next6[:, :3], next3, rtol=1e-5, atol=1e-6)
    full, _ = net(obs6, hidden6)  # fully connected: the second group's agents are now heard
    assert full.shape == (B, 6, 5) and not torch.allclose(full[:, :3], out3)
    assert net.initial_state(2, n_agents=6).shape == (2, 6, H)
    assert net.forward_sequence(torch.randn(2, 4, 6, O)).shape == (2, 4, 6, 5)


# ---------------------------------------------------------------- construction
def test_build_agent_network_and_its_errors():
    assert isinstance(build_agent_network(AgentOptions(), O, 3, N, H, True, True, True), AgentNetwork)
    tarmac = build_agent_network(AgentOptions(agent="tarmac", heads=2, comm_rounds=3, comm_gate=True), O, 3, N, H, True, True, True)
    assert isinstance(tarmac, TarMACNetwork) and tarmac.comm_rounds == 3 and tarmac.layer.gate is not None and tarmac.agent_id
    gnn = build_agent_network(AgentOptions(agent="gnn", comm=False, num_layers=3, heads=2), O, 3, N, H, False, True, True)
    assert isinstance(gnn, GraphAgentNetwork) and len(gnn.layers) == 3 and not gnn.comm and not gnn.agent_id  # never an id
    for options, kwargs, message in [
        (AgentOptions(agent="commnet"), {}, "agent must be one of mlp, tarmac, gnn, got 'commnet'"),
        (AgentOptions(agent="gnn", graph="radius"), {}, "graph must be one of full, env, got 'radius'"),
        (AgentOptions(agent="tarmac", comm_rounds=0), {}, "comm_rounds must be >= 1, got 0"),
        (AgentOptions(agent="gnn", heads=3), {}, "heads must divide hidden_size for agent='gnn': got heads=3, hidden_size=16"),
        (AgentOptions(agent="tarmac"), {"share": False}, "share_parameters=False is not supported with agent='tarmac'"),
    ]:
        with pytest.raises(ValueError, match=message):
            build_agent_network(options, O, 3, N, H, True, kwargs.get("share", True), True)


# ---------------------------------------------------------------- in the algorithms
ALGOS = ("iql", "vdn", "qmix", "mappo", "ippo", "maddpg", "matd3")


def small_config(algo: str, **options):
    from marl_baselines.algos import ALGORITHMS

    cls = ALGORITHMS[algo].config_class
    per_family = {
        "ValueDecompConfig": {"learning_starts": 64, "batch_size": 4},
        "PPOConfig": {"rollout_steps": 16, "minibatches": 2, "epochs": 1},
        "MADDPGConfig": {"learning_starts": 64, "batch_size": 16},
    }[cls.__name__]
    return cls(**per_family, **options)


@pytest.mark.parametrize("agent", ["tarmac", "gnn"])
@pytest.mark.parametrize("algo", ALGOS)
def test_every_algorithm_trains_each_communicating_agent_with_curiosity(tmp_path, algo, agent):
    import math

    from helpers import quiet_run

    from marl_baselines.train import train

    recurrent = {"recurrent": True} if algo not in ("maddpg", "matd3") else {}  # MADDPG replays single transitions
    config = small_config(algo, agent=agent, icm=True, heads=2, **recurrent)
    result = train(
        algo,
        "target_grid_v0",
        quiet_run(tmp_path, total_steps=256, num_envs=4, eval_episodes=2),
        config,
        {"max_cycles": 10, "view_radius": 1},
    )
    assert result.env_steps == 256 and math.isfinite(result.final["return"])
    state = torch.load(result.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert state["curiosity"]["optimizer"]["state"], "the curiosity module was trained"


@pytest.mark.parametrize(
    "algo, options",
    [
        ("mappo", {"agent": "tarmac", "recurrent": True, "icm": True, "comm_rounds": 2}),
        ("qmix", {"agent": "gnn", "recurrent": True, "icm": True}),
    ],
    ids=["mappo-tarmac", "qmix-gnn"],
)
def test_resume_continues_exactly_with_communicating_agents_and_curiosity(tmp_path, algo, options):
    from helpers import quiet_run

    from marl_baselines.train import train

    env_kwargs = {"max_cycles": 10, "view_radius": 1}
    run = dict(num_envs=4, seed=3, eval_episodes=2)
    config = lambda: small_config(algo, **options)  # noqa: E731
    first = train(algo, "target_grid_v0", quiet_run(tmp_path / "a", total_steps=600, **run), config(), env_kwargs)
    resumed = train(algo, "target_grid_v0", quiet_run(tmp_path / "a", total_steps=1200, **run), config(), env_kwargs, resume=first.run_dir)
    whole = train(algo, "target_grid_v0", quiet_run(tmp_path / "b", total_steps=1200, **run), config(), env_kwargs)
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    network = "actor" if algo == "mappo" else "agent"
    for name in a[network]:
        torch.testing.assert_close(a[network][name], b[network][name], rtol=0, atol=0)
    for name in a["curiosity"]["module"]:
        torch.testing.assert_close(a["curiosity"]["module"][name], b["curiosity"]["module"][name], rtol=0, atol=0)
    assert resumed.final["return"] == whole.final["return"]


def test_marl_train_no_comm_and_icm_from_the_command_line(tmp_path):
    import json

    from marl_baselines.cli import main

    assert (
        main(
            [
                "qmix",
                "target_grid_v0",
                "--agent",
                "tarmac",
                "--no-comm",
                "--recurrent",
                "--icm",
                "--heads",
                "2",
                "--env-arg",
                "max_cycles=10",
                "--total-steps",
                "128",
                "--num-envs",
                "4",
                "--learning-starts",
                "64",
                "--batch-size",
                "2",
                "--eval-episodes",
                "2",
                "--log-dir",
                str(tmp_path),
                "--progress",
                "false",
                "--no-tensorboard",
            ]
        )
        == 0
    )
    (run_dir,) = (tmp_path / "target_grid_v0" / "qmix").iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["algo_config"]["agent"] == "tarmac" and config["algo_config"]["comm"] is False
    assert config["algo_config"]["icm"] is True and config["algo_config"]["recurrent"] is True
    assert config["run"]["tensorboard"] is False


def test_bad_agent_options_fail_before_training(tmp_path):
    from helpers import quiet_run

    from marl_baselines.algos.ppo import PPOConfig
    from marl_baselines.train import train

    for config, env, kwargs, message in [
        (PPOConfig(agent="gat"), "target_grid_v0", {}, "agent must be one of mlp, tarmac, gnn, got 'gat'"),
        (
            PPOConfig(agent="gnn", graph="env"),
            "goal_grid_v0",
            {},
            "graph='env' needs the env's adjacency, and goal_grid_v0 has no agent graph",
        ),
        (PPOConfig(agent="gnn", graph="env"), "target_grid_v0", {"source": "pettingzoo"}, "the pettingzoo source carries no adjacency"),
        (PPOConfig(icm=True, icm_eta=-1.0), "target_grid_v0", {}, "icm_eta must be >= 0, got -1.0"),
    ]:
        with pytest.raises(ValueError, match=message):
            train("mappo", env, quiet_run(tmp_path, num_envs=4, **kwargs), config)
    assert not any(tmp_path.iterdir())


def test_tarmac_trains_end_to_end_through_its_messages():
    """One PPO update moves TarMAC's signature and query weights only when messages flow: the
    gradient reaches them through the attention, from the policy loss. (Three epochs: the message
    scale starts at 0, so they get a gradient only once it has moved, and a large enough one to
    show in float32 weights after a few minibatches.)"""
    from marl_baselines.algos.ppo import PPO, PPOConfig
    from marl_baselines.vec import make_vec_env

    env = make_vec_env("target_grid_v0", 4, view_radius=1, max_cycles=10)
    moved = {}
    for comm in (True, False):
        algo = PPO(env, PPOConfig(agent="tarmac", recurrent=True, comm=comm, rollout_steps=8, minibatches=2, epochs=3), "state", seed=0)
        before = {name: p.detach().clone() for name, p in algo.actor.layer.named_parameters()}
        out = env.reset(seed=0)
        algo.start(out)
        hidden = algo.initial_hidden(4)
        for _ in range(8):
            actions, hidden, act_info = algo.act(out, hidden, explore=True)
            after = env.step(actions)
            algo.observe(out, actions, act_info, after, 0)
            out = after
        assert algo.updates == 1
        moved[comm] = {name: not torch.equal(p, before[name]) for name, p in algo.actor.layer.named_parameters()}
    assert moved[True]["key.weight"] and moved[True]["query.weight"] and moved[True]["value.weight"]
    assert not any(moved[False].values())  # no messages, no gradient: Adam leaves them exactly as they were


def test_gnn_policy_trained_on_three_agents_acts_for_six():
    from marl_baselines.agents import transfer_agent_network
    from marl_baselines.algos.ppo import PPO, PPOConfig
    from marl_baselines.evaluate import evaluate
    from marl_baselines.vec import make_vec_env

    kwargs = {"num_agent_neighbors": 2, "num_landmark_neighbors": 3}
    config = PPOConfig(agent="gnn", rollout_steps=8, minibatches=2)
    three = PPO(make_vec_env("cooperative_navigation_v0", 4, N=3, **kwargs), config, "state", seed=0)
    six_env = make_vec_env("cooperative_navigation_v0", 4, N=6, **kwargs)
    six = PPO(six_env, config, "state", seed=1)
    transfer_agent_network(three, six)
    for name, p in three.actor.state_dict().items():
        assert torch.equal(six.actor.state_dict()[name], p)
    out = six_env.reset(seed=0)
    actions, _, _ = six.act(out, None, explore=False)
    assert actions.shape == (4, 6)
    assert evaluate(six, six_env, seed=0)["length"] == 25
