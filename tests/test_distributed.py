"""Data-parallel training (marl_baselines.distributed): 2 gloo ranks on the CPU against one process.

* exactness: ranks holding one half of a fixed batch each end with the parameters one process
  reaches on the whole batch (a toy network with a branch only one rank takes, MAPPO with ICM,
  QMIX with ICM), clipping included;
* ``torchrun --nproc-per-node 2 marl-train ... --num-envs N`` against one process with
  ``--num-envs 2N``: the same env-step grid and loss curves of the same shape, and both ranks end
  (and save) identical networks; then ``--resume`` continues a torchrun run.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import multiprocessing, nn

from marl_baselines import distributed
from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.ppo import PPOConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig
from marl_baselines.buffers import EpisodeBatch
from marl_baselines.vec import make_vec_env

ROOT = Path(__file__).resolve().parent.parent
HALF = 8  # samples, envs or episodes per rank; the single process holds 2 * HALF
CPU = torch.device("cpu")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, directory: str, job) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    world, _ = distributed.start("cpu")
    try:
        torch.save(job(world), Path(directory) / f"rank{rank}.pt")
    finally:
        distributed.stop(world)


def run_ranks(job, tmp_path: Path, world_size: int = 2) -> list[dict]:
    """``job(world)`` on ``world_size`` spawned gloo ranks (torchrun's environment variables); their results."""
    multiprocessing.spawn(_rank_main, args=(world_size, free_port(), str(tmp_path), job), nprocs=world_size)
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(world_size)]


def assert_same(ranks: list[dict], reference: dict, atol: float = 1e-6) -> None:
    for name, value in reference.items():
        torch.testing.assert_close(ranks[1][name], ranks[0][name], rtol=0, atol=0, msg=lambda m: f"{name}: ranks differ: {m}")
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-5, atol=atol, msg=lambda m: f"{name}: not the whole batch's: {m}")


def states(**modules: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().clone() for prefix, module in modules.items() for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------- exactness
class Toy:
    """An "algorithm" owning one network and its optimiser: three steps, each on a fixed batch.

    Only samples of one kind reach ``extra``, and all of them lie in rank 0's half: rank 1 has no
    gradient for it (None), and ``unused`` has none anywhere (Adam must skip it, as in one process).
    """

    def __init__(self, seed: int):
        torch.manual_seed(seed)
        self.net = nn.ModuleDict(
            {"body": nn.Linear(4, 16), "head": nn.Linear(16, 1), "extra": nn.Linear(16, 1), "unused": nn.Linear(16, 1)}
        )
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=0.05)
        self.averaged_gradients = distributed.AveragedGradients(self.optimizer)
        self.device = CPU

    def data_parallel_parts(self) -> distributed.DataParallelParts:
        return distributed.DataParallelParts(networks=(self.net,), gradients=(self.averaged_gradients,))

    @staticmethod
    def data(step: int, part: slice = slice(None)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(100 + step)
        x, y = torch.randn(2 * HALF, 4, generator=generator), torch.randn(2 * HALF, generator=generator)
        kind = torch.arange(2 * HALF) < 3
        return x[part], y[part], kind[part]

    def gradients(self, x, y, kind) -> None:
        h = torch.tanh(self.net["body"](x))
        per_sample = (self.net["head"](h).squeeze(-1) - y).pow(2)
        if kind.any():
            per_sample = per_sample + torch.where(kind, self.net["extra"](h).squeeze(-1).pow(2), 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        per_sample.mean().backward()

    def train(self, part: slice = slice(None), clip: float = 0.1) -> dict:
        for step in range(3):
            self.gradients(*self.data(step, part))
            self.averaged_gradients.clip(clip)
            self.optimizer.step()
        return states(net=self.net)


def goal_grid(num_envs: int = 1):
    return make_vec_env("goal_grid_v0", num_envs, CPU)


def ppo(num_envs: int, seed: int):
    config = PPOConfig(rollout_steps=6, epochs=2, minibatches=1, normalize_advantages=False, grad_clip=0.05, icm=True)
    return ALGORITHMS["mappo"].build(goal_grid(num_envs), config, seed)


def fill_rollout(algo, envs: slice) -> None:
    """A fixed rollout of 2 * HALF envs (episode ends, truncations, random values), ``envs`` of it."""
    buffer, generator = algo.buffer, torch.Generator().manual_seed(7)
    T, N = buffer.steps, algo.n_agents
    core = {
        "reward": torch.randn(T, 2 * HALF, N, generator=generator),
        "value": torch.randn(T, 2 * HALF, N, generator=generator),
        "final_value": torch.randn(T, 2 * HALF, N, generator=generator),
    }
    terminated = torch.rand(T, 2 * HALF, N, generator=generator) < 0.1
    ended = terminated | (torch.rand(T, 2 * HALF, N, generator=generator) < 0.1)
    for name, value in core.items():
        getattr(buffer, name).copy_(value[:, envs])
    buffer.terminated.copy_(terminated[:, envs])
    buffer.ended.copy_(ended[:, envs])
    for name, tensor in buffer.extra.items():
        shape = (T, 2 * HALF, *tensor.shape[2:])
        if tensor.dtype == torch.bool:
            value = torch.ones(shape, dtype=torch.bool)
        elif tensor.dtype == torch.int64:
            value = torch.randint(goal_grid().action_size, shape, generator=generator)
        elif name == "log_prob":
            value = torch.full(shape, -1.386) + 0.1 * torch.randn(shape, generator=generator)
        else:
            value = torch.randn(shape, generator=generator)
        tensor.copy_(value[:, envs])
    buffer.position = T


def ppo_states(algo) -> dict:
    return states(actor=algo.actor, critic=algo.critic, value_norm=algo.value_norm, icm=algo.curiosity.module)


def qmix(num_envs: int, seed: int):
    config = ValueDecompConfig(batch_size=HALF, grad_clip=0.05, icm=True, target_update_interval=1, lr=0.01)
    return ALGORITHMS["qmix"].build(goal_grid(num_envs), config, seed)


def episode_batch(episodes: slice) -> EpisodeBatch:
    """2 * HALF fixed episodes of 5 steps (every step filled: every rank's loss averages as many)."""
    env, generator, L = goal_grid(), torch.Generator().manual_seed(11), 5
    N = env.n_agents
    obs = torch.randn(2 * HALF, L + 1, N, env.obs_size, generator=generator)
    state = torch.randn(2 * HALF, L + 1, env.state_size, generator=generator)
    terminal = torch.zeros(2 * HALF, L, dtype=torch.bool)
    terminal[:, -1] = True
    batch = EpisodeBatch(
        obs,
        state,
        torch.ones(2 * HALF, L + 1, N, dtype=torch.bool),
        None,
        torch.randint(env.action_size, (2 * HALF, L, N), generator=generator),
        torch.randn(2 * HALF, L, N, generator=generator),
        terminal,
        torch.ones(2 * HALF, L, dtype=torch.bool),
    )
    return EpisodeBatch(*(field[episodes] if field is not None else None for field in batch))


def qmix_train(algo, episodes: slice) -> dict:
    batch = episode_batch(episodes)
    algo.buffer.sample = lambda batch_size, generator=None: batch
    for _ in range(2):
        algo.train_step()
    return states(
        agent=algo.agent, mixer=algo.mixer, target_agent=algo.target_agent, target_mixer=algo.target_mixer, icm=algo.curiosity.module
    )


def exactness_job(world: distributed.World) -> dict:
    """Every algorithm starts from its rank's own seed: DistributedAlgorithm must copy rank 0's networks."""
    half = slice(world.rank * HALF, (world.rank + 1) * HALF)
    toy = distributed.DistributedAlgorithm(Toy(seed=world.rank), world)
    mappo = distributed.DistributedAlgorithm(ppo(HALF, world.seed(0)), world)
    fill_rollout(mappo.algorithm, half)
    mappo.algorithm.train()
    value_decomposition = distributed.DistributedAlgorithm(qmix(HALF, world.seed(0)), world)
    result = {
        "toy": toy.algorithm.train(half),
        "mappo": ppo_states(mappo.algorithm),
        "qmix": qmix_train(value_decomposition.algorithm, half),
    }
    # buffer_ready(): rank 0 holds a batch's worth of finished episodes, rank 1 not yet; then both do
    buffer, ready = value_decomposition.algorithm.buffer, []
    buffer.size = HALF if world.rank == 0 else HALF - 1
    ready.append(value_decomposition.algorithm.buffer_ready())
    buffer.size = HALF
    ready.append(value_decomposition.algorithm.buffer_ready())
    result["ready"] = ready
    for wrapped in (toy, mappo, value_decomposition):
        wrapped.check_synchronised()
        wrapped.close()
    return result


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return run_ranks(exactness_job, tmp_path_factory.mktemp("exactness"))


def test_averaged_gradients_are_the_whole_batch_gradients_clipping_included(two_ranks):
    reference = Toy(seed=0).train()
    assert_same([r["toy"] for r in two_ranks], reference)
    assert torch.equal(reference["net.unused.weight"], Toy(seed=0).net["unused"].weight)  # no gradient: untouched
    # the check can fail: clipping each rank's gradient before averaging ends elsewhere
    naive = Toy(seed=0)
    for step in range(3):
        halves = []
        for part in (slice(0, HALF), slice(HALF, None)):
            naive.gradients(*naive.data(step, part))
            nn.utils.clip_grad_norm_(naive.net.parameters(), 0.1)
            halves.append({name: p.grad for name, p in naive.net.named_parameters()})
        for name, p in naive.net.named_parameters():
            grads = [h[name] for h in halves if h[name] is not None]
            p.grad = sum(grads) / 2 if grads else None
        naive.optimizer.step()
    assert (naive.net["body"].weight - reference["net.body.weight"]).abs().max() > 1e-3


def test_mappo_ranks_train_like_one_process_on_the_whole_rollout(two_ranks):
    """Two epochs on one minibatch each (so no rank draws its own minibatch split), value clipping,
    value normalisation (fed both ranks' returns), ICM's own optimiser; advantage standardisation
    is off (with it each rank standardises its own minibatch: close to, not exactly, the same)."""
    algo = ppo(2 * HALF, 0)
    fill_rollout(algo, slice(None))
    algo.train()
    assert_same([r["mappo"] for r in two_ranks], ppo_states(algo))
    assert float(algo.value_norm.count) == 6 * 2 * HALF * algo.n_agents  # both halves' returns


def test_qmix_ranks_train_like_one_process_on_the_whole_batch(two_ranks):
    reference = qmix_train(qmix(2 * HALF, 0), slice(None))
    assert_same([r["qmix"] for r in two_ranks], reference)


def test_a_replay_decision_is_one_of_all_ranks(two_ranks):
    """QMIX trains once its buffer holds batch_size finished episodes: not while one rank's does not."""
    assert [r["ready"] for r in two_ranks] == [[False, True], [False, True]]


# ---------------------------------------------------------------------- torchrun and marl-train
QUIET = ["--progress", "false", "--tensorboard", "false", "--eval-episodes", "4"]
# --check-syncs: the data-parallel step stays free of host reads (on the CPU, a proxy for CUDA's device syncs)
MAPPO = [
    "mappo",
    "matrix_game_v0",
    "--total-steps",
    "2048",
    "--eval-interval",
    "256",
    "--rollout-steps",
    "8",
    "--sync-free",
    "on",
    "--check-syncs",
    *QUIET,
]
QMIX = [
    "qmix",
    "matrix_game_v0",
    "--total-steps",
    "2048",
    "--eval-interval",
    "256",
    "--learning-starts",
    "256",
    "--epsilon-anneal-steps",
    "1024",
    "--target-update-interval",
    "50",
    *QUIET,
]


def torchrun(argv: list[str], log_dir: Path) -> Path:
    """``torchrun --standalone --nproc-per-node 2 -m marl_baselines.cli ARGV``; returns the run directory.
    ``--standalone`` lets torchrun pick a free port, so tests may run in parallel."""
    environment = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "marl_baselines.cli",
        *argv,
        "--log-dir",
        str(log_dir),
    ]
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-4000:]
    assert finished.stdout.count("| algorithm") == 1  # rank 0 prints the summary
    (run_dir,) = log_dir.glob("*/*/*")
    return run_dir


def one_process(argv: list[str], log_dir: Path) -> Path:
    from marl_baselines.cli import cli

    return cli([*argv, "--log-dir", str(log_dir)]).run_dir


def curve(run_dir: Path, stat: str) -> tuple[list[int], list[float]]:
    with (run_dir / "train.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [int(row["env_steps"]) for row in rows], [float(row[stat]) for row in rows]


def assert_same_shape(parallel: Path, doubled: Path, stat: str, tolerance: float = 0.25) -> float:
    """The two runs log ``stat`` at the same env steps; both curves fall (the mean of the last two
    points below half the first), and their means over the run (the area under the curve, which
    is what a learning curve's shape decides) agree within ``tolerance``. Returns that area."""
    steps, values = curve(parallel, stat)
    reference_steps, reference = curve(doubled, stat)
    assert steps == reference_steps and len(steps) >= 8, (steps, reference_steps)
    for name, points in (("torchrun", values), ("one process", reference)):
        assert sum(points[-2:]) / 2 < 0.5 * points[0], f"{stat} of {name} does not fall: {points}"
    area, reference_area = sum(values) / len(values), sum(reference) / len(reference)
    assert abs(area - reference_area) <= tolerance * abs(reference_area), (
        f"{stat}: mean {area:.4f} over the run, one process with twice the envs {reference_area:.4f}\n{values}\n{reference}"
    )
    return reference_area


def checkpoints(run_dir: Path) -> list[dict]:
    assert sorted(p.name for p in run_dir.glob("checkpoint*.pt")) == ["checkpoint-rank1.pt", "checkpoint.pt"]
    return [torch.load(run_dir / name, weights_only=False) for name in ("checkpoint.pt", "checkpoint-rank1.pt")]


def assert_networks_equal(first: dict, second: dict, names: tuple[str, ...]) -> None:
    for name in names:
        tensors = first["algo"][name]["state"] if name.endswith("optimizer") else first["algo"][name]
        for key, value in tensors.items():
            other = second["algo"][name]["state"][key] if name.endswith("optimizer") else second["algo"][name][key]
            torch.testing.assert_close(other, value, rtol=0, atol=0, msg=lambda m: f"{name}.{key}: {m}")


@pytest.fixture(scope="module")
def mappo_torchrun(tmp_path_factory) -> Path:
    return torchrun([*MAPPO, "--num-envs", "8"], tmp_path_factory.mktemp("mappo_torchrun"))


def test_torchrun_mappo_learns_like_one_process_with_twice_the_envs(mappo_torchrun, tmp_path):
    doubled = one_process([*MAPPO, "--num-envs", "16"], tmp_path / "doubled")
    single = one_process([*MAPPO, "--num-envs", "8"], tmp_path / "single")
    for stat in ("entropy", "value_loss"):
        area = assert_same_shape(mappo_torchrun, doubled, stat)
        # The check can fail: one process with 8 envs (twice the updates per env step) falls much faster.
        _, control = curve(single, stat)
        assert sum(control) / len(control) < 0.6 * area, control

    rank0, rank1 = checkpoints(mappo_torchrun)
    assert rank0["env_steps"] == rank1["env_steps"] == 2048 and rank0["world_size"] == 2
    assert_networks_equal(rank0, rank1, ("actor", "critic", "value_norm", "optimizer"))
    # each rank its own envs and sampling: not the same data twice
    assert not torch.equal(rank0["algo"]["generator"], rank1["algo"]["generator"])
    assert not torch.equal(rank0["algo"]["buffer"]["extra"]["actions"], rank1["algo"]["buffer"]["extra"]["actions"])
    assert sorted(p.name for p in mappo_torchrun.iterdir()) == [
        "checkpoint-rank1.pt",
        "checkpoint.pt",
        "config.json",
        "eval.csv",
        "train.csv",
    ]


def test_torchrun_qmix_learns_like_one_process_with_twice_the_envs_and_batch(tmp_path):
    parallel = torchrun([*QMIX, "--num-envs", "8", "--batch-size", "16", "--buffer-size", "500"], tmp_path / "torchrun")
    doubled = one_process([*QMIX, "--num-envs", "16", "--batch-size", "32", "--buffer-size", "1000"], tmp_path / "doubled")
    assert_same_shape(parallel, doubled, "loss")
    rank0, rank1 = checkpoints(parallel)
    assert_networks_equal(rank0, rank1, ("agent", "mixer", "target_agent", "target_mixer", "optimizer"))


def resume_job(world: distributed.World) -> None:
    from marl_baselines.cli import cli

    log_dir = os.environ["MARL_TEST_LOG_DIR"]
    first = cli([*MAPPO, "--num-envs", "8", "--total-steps", "1024", "--log-dir", log_dir])
    cli([*MAPPO, "--num-envs", "8", "--log-dir", log_dir, "--resume", str(first.run_dir)])


def test_resume_continues_a_torchrun_run_exactly(mappo_torchrun, tmp_path, monkeypatch):
    """Stopped at 1024 env steps and resumed to 2048 (each rank from its own checkpoint): the networks
    of the run that went through in one go, bit for bit."""
    monkeypatch.setenv("MARL_TEST_LOG_DIR", str(tmp_path / "logs"))
    run_ranks(resume_job, tmp_path)
    (run_dir,) = (tmp_path / "logs").glob("*/*/*")
    resumed, whole = checkpoints(run_dir), checkpoints(mappo_torchrun)
    for rank in (0, 1):
        assert resumed[rank]["env_steps"] == 2048
        assert_networks_equal(resumed[rank], whole[rank], ("actor", "critic", "value_norm"))
        assert torch.equal(resumed[rank]["algo"]["generator"], whole[rank]["algo"]["generator"])
