"""Tests applied to every registered algorithm: a new one is covered the moment it is registered.

Each algorithm (and each agent network it can take) trains a few hundred env steps through
``marl_baselines.train.train`` on an env its :class:`~marl_baselines.algos.AlgorithmSpec` declares
it can take (one with discrete and one with continuous actions where it takes both), small
networks and buffers so that it updates within those steps; its checkpoint then loads back into a
fresh algorithm unchanged, and a run resumed from it ends where the uninterrupted run ends, bit for
bit; it trains through the PettingZoo source as well. Every algorithm also declares what its torchrun ranks share (``data_parallel_parts``), keeps
nothing of a step between ``act`` and ``observe``, and refuses an env that lacks what its spec says it needs.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from types import SimpleNamespace

import pytest
import torch
from helpers import quiet_run
from torch import nn

import marl_envs
from marl_baselines.agents import AGENT_NETWORKS, AgentOptions
from marl_baselines.algos import ALGORITHMS
from marl_baselines.train import build, train
from marl_baselines.vec import make_vec_env

SMALL = {
    "hidden_size": 16,
    "critic_hidden_size": 16,
    "belief_size": 8,
    "hypernet_hidden": 16,
    "mixer_embed": 8,
    "heads": 2,
    "key_size": 4,
    "rollout_steps": 8,
    "epochs": 1,
    "minibatches": 2,
    "batch_size": 4,
    "buffer_size": 200,
    "learning_starts": 64,
    "target_update_interval": 10,
    "exploitability_interval": 0,
    "snapshot_interval": 2,
}
"""Settings that make any algorithm update within a few hundred env steps (each applied where the config has the field)."""

STEPS, MORE_STEPS, NUM_ENVS = 256, 128, 4


def small_config(config_class: type, **overrides):
    names = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in {**SMALL, **overrides}.items() if k in names})


def short_episodes(env_id: str) -> dict:
    """Env arguments for episodes short enough that several end within the run."""
    return {"max_cycles": 10} if "max_cycles" in marl_envs.spec(env_id).arguments else {}


@functools.cache
def one_copy(env_id: str):
    return make_vec_env(env_id, 1, "cpu", **short_episodes(env_id))


def compatible_envs(name: str) -> list[str]:
    """The first registered env of each action kind (discrete, continuous) that ``name``'s spec accepts."""
    spec, chosen = ALGORITHMS[name], {}
    for env_id in marl_envs.list_envs():
        env = one_copy(env_id)
        try:
            spec.check(env)
        except ValueError:
            continue
        chosen.setdefault(env.discrete, env_id)
    return list(chosen.values())


ENVS = {name: compatible_envs(name) for name in ALGORITHMS}
CASES = [pytest.param(name, env_id, {}, id=f"{name}-{env_id}") for name, envs in ENVS.items() for env_id in envs]
CASES += [
    pytest.param(name, ENVS[name][0], {"agent": agent}, id=f"{name}-{ENVS[name][0]}-{agent}")
    for name, spec in ALGORITHMS.items()
    if issubclass(spec.config_class, AgentOptions)
    for agent in AGENT_NETWORKS
    if agent != AgentOptions.agent
]


def test_every_algorithm_has_a_compatible_env():
    assert all(ENVS.values()), {name: envs for name, envs in ENVS.items() if not envs}


def test_discrete_only_algorithms_take_no_continuous_policy_option():
    """A discrete-only algorithm's config leaves out the Gaussian policy's option (so marl-train refuses
    it) rather than accept and ignore it; the others that have it still take it."""
    from marl_baselines.algos.ppo import GaussianPolicyOptions

    continuous_only = {f.name for f in dataclasses.fields(GaussianPolicyOptions)}
    for name, spec in ALGORITHMS.items():
        names = {f.name for f in dataclasses.fields(spec.config_class)}
        if spec.discrete_only:
            assert not names & continuous_only, name
    assert {"mappo", "ippo", "ia2c", "maa2c"} <= {n for n, s in ALGORITHMS.items() if issubclass(s.config_class, GaussianPolicyOptions)}


def assert_same_state(first, second, where: str = "state") -> None:
    """Equal nested checkpoints: tensors bit for bit (NaN equals NaN), the rest by ``==``."""
    assert type(first) is type(second), f"{where}: {type(first).__name__} vs {type(second).__name__}"
    if isinstance(first, dict):
        assert first.keys() == second.keys(), f"{where}: keys {sorted(first)} vs {sorted(second)}"
        for key in first:
            assert_same_state(first[key], second[key], f"{where}.{key}")
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second), f"{where}: {len(first)} vs {len(second)} entries"
        for index, (a, b) in enumerate(zip(first, second)):
            assert_same_state(a, b, f"{where}[{index}]")
    elif isinstance(first, torch.Tensor):
        assert first.shape == second.shape and first.dtype == second.dtype, (
            f"{where}: {first.shape} {first.dtype} vs {second.shape} {second.dtype}"
        )
        same = torch.equal(first, second) or (
            first.is_floating_point()
            and torch.equal(first.nan_to_num(), second.nan_to_num())
            and torch.equal(first.isnan(), second.isnan())
        )
        assert same, f"{where}: tensors differ"
    else:
        assert first == second, f"{where}: {first!r} vs {second!r}"


@pytest.mark.parametrize(("name", "env_id", "overrides"), CASES)
def test_trains_and_resumes_from_its_checkpoint_exactly(tmp_path, name, env_id, overrides):
    config, env_kwargs = small_config(ALGORITHMS[name].config_class, **overrides), short_episodes(env_id)
    settings = {"num_envs": NUM_ENVS, "eval_episodes": 2, "eval_interval": STEPS, "seed": 3}
    first = train(name, env_id, quiet_run(tmp_path / "first", total_steps=STEPS, **settings), config, env_kwargs)
    assert first.env_steps == STEPS and first.final["length"] > 0
    with (first.run_dir / "train.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    assert set(row) - {"env_steps", "episode_return", "steps_per_second"}, f"{name} did not update within {STEPS} env steps"

    # the checkpoint loads back into a fresh algorithm unchanged
    run = quiet_run(tmp_path / "first", total_steps=STEPS, **settings)
    saved = torch.load(first.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    fresh, _, _ = build(name, env_id, run, config, env_kwargs)
    fresh.load_state_dict(saved)
    assert_same_state(fresh.state_dict(), saved)

    # resumed, the run ends where one that went through at once ends
    resumed = train(
        name, env_id, quiet_run(tmp_path / "first", total_steps=STEPS + MORE_STEPS, **settings), resume=first.run_dir, quiet=True
    )
    assert (resumed.start_steps, resumed.env_steps) == (STEPS, STEPS + MORE_STEPS)
    whole = train(name, env_id, quiet_run(tmp_path / "whole", total_steps=STEPS + MORE_STEPS, **settings), config, env_kwargs)
    assert_same_state(
        torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"],
        torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"],
    )


@pytest.mark.parametrize("name", [name for name, spec in ALGORITHMS.items() if spec.required_env is None])
def test_trains_through_the_pettingzoo_source(tmp_path, name):
    """The same short run with the env stepped as PettingZoo ParallelEnv copies (``source="pettingzoo"``,
    what any PettingZoo env gets): it updates and evaluates."""
    env_id = ENVS[name][0]
    config = small_config(ALGORITHMS[name].config_class)
    run = quiet_run(tmp_path, total_steps=STEPS, num_envs=NUM_ENVS, eval_episodes=2, eval_interval=STEPS, seed=3, source="pettingzoo")
    result = train(name, env_id, run, config, short_episodes(env_id))
    assert result.env_steps == STEPS and result.final["length"] > 0
    with (result.run_dir / "train.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    assert set(row) - {"env_steps", "episode_return", "steps_per_second"}, f"{name} did not update within {STEPS} env steps"


def reachable(algorithm) -> tuple[set[int], set[int]]:
    """The ids of every parameter and buffer and of every optimiser reachable from the algorithm's
    attributes (through lists, tuples, dicts and plain objects of this package)."""
    tensors, optimizers, seen = set(), set(), set()

    def visit(value) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, nn.Module):
            tensors.update(id(t) for t in (*value.parameters(), *value.buffers()))
        elif isinstance(value, nn.Parameter):
            tensors.add(id(value))
        elif isinstance(value, torch.optim.Optimizer):
            optimizers.add(id(value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif type(value).__module__.startswith("marl_baselines") and hasattr(value, "__dict__"):
            for item in vars(value).values():
                visit(item)

    for item in vars(algorithm).values():
        visit(item)
    return tensors, optimizers


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_data_parallel_parts_declare_every_network_and_optimiser(name):
    """What torchrun shares is declared (marl_baselines.distributed): a network or optimiser left out
    would start from each rank's own weights, or be stepped on each rank's own gradient."""
    spec = ALGORITHMS[name]
    icm = {"icm": True} if any(f.name == "icm" for f in dataclasses.fields(spec.config_class)) else {}
    env_id = ENVS[name][0]
    algorithm = spec.build(make_vec_env(env_id, NUM_ENVS, "cpu", **short_episodes(env_id)), small_config(spec.config_class, **icm), 0)
    parts = algorithm.data_parallel_parts()
    declared = set()
    for network in parts.networks:
        declared.update(id(t) for t in ((*network.parameters(), *network.buffers()) if isinstance(network, nn.Module) else (network,)))
    tensors, optimizers = reachable(algorithm)
    assert declared == tensors, (
        f"{len(tensors - declared)} parameters and buffers of {name} are not declared; {len(declared - tensors)} declared are not its own"
    )
    assert {id(g.optimizer) for g in parts.gradients} == optimizers, f"{name}: declared optimisers differ from those it holds"
    assert all(callable(getattr(statistic, "share_across_ranks", None)) for statistic in parts.statistics)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_acting_leaves_the_algorithm_as_it_was(name):
    """What ``act`` works out for a step reaches ``observe`` in its ``act_info`` (the training loop holds
    the transition), so acting rebinds and changes no attribute of the algorithm but advances its random
    generator: a checkpoint taken between steps misses nothing of a step in progress."""
    spec, env_id = ALGORITHMS[name], ENVS[name][0]
    env = make_vec_env(env_id, NUM_ENVS, "cpu", **short_episodes(env_id))
    algorithm = spec.build(env, small_config(spec.config_class), 0)
    out = env.reset(seed=0)
    algorithm.start(out)

    def attributes() -> dict:
        return {key: (id(value), value.clone() if isinstance(value, torch.Tensor) else None) for key, value in vars(algorithm).items()}

    before = attributes()
    actions, _, act_info = algorithm.act(out, algorithm.initial_hidden(NUM_ENVS), explore=True)
    after = attributes()
    assert after.keys() == before.keys(), f"act added {sorted(after.keys() - before.keys())}"
    for key, (identity, tensor) in before.items():
        assert after[key][0] == identity, f"act rebound {name}.{key}"
        assert tensor is None or torch.equal(after[key][1], tensor), f"act changed {name}.{key}"
    assert isinstance(act_info, dict) and all(isinstance(value, torch.Tensor) for value in act_info.values())


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_an_env_without_what_the_spec_declares_is_refused_by_name(name):
    """Each declared need, missing from an env, is a one-line error naming the algorithm, the env and the need."""
    spec = ALGORITHMS[name]
    fine = {"name": spec.required_env or "some_env_v0", "source": "native", "discrete": True, "max_episode_steps": 25}
    spec.check(SimpleNamespace(**fine))
    refusals = []
    if spec.discrete_only:
        refusals.append(({"discrete": False}, f"{name} needs discrete actions, and {fine['name']} has continuous ones"))
    if spec.needs_episode_limit:
        refusals.append(
            ({"max_episode_steps": None}, f"{name} needs an episode limit for its episode buffer, and {fine['name']} reports none")
        )
    if spec.required_env is not None:
        refusals.append(
            ({"name": "other_v0"}, f"{name} trains on {spec.required_env} through the native source, got 'other_v0' \\(native source\\)")
        )
        refusals.append(
            (
                {"source": "pettingzoo"},
                f"{name} trains on {spec.required_env} through the native source, got '{spec.required_env}' \\(pettingzoo source\\)",
            )
        )
    if not spec.compilable:
        refusals.append(({}, f"--compile on: {name} has no compiled update"))
    for changes, message in refusals:
        with pytest.raises(ValueError, match=message):
            spec.check(SimpleNamespace(**{**fine, **changes}), compile="on" if not changes else "off")
