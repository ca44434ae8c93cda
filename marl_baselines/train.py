"""``marl-train ALGO ENV [--key value ...]``: train, evaluate, log, checkpoint, resume.

    marl-train qmix goal_grid_v0                       # the tuned preset of that pair
    marl-train vdn matrix_game_v0 --env-arg game=two_step --total-steps 20000
    marl-train --resume RUN_DIR --total-steps 120000   # continue a run (the logs folder it printed) with its own settings
    marl-train --help                                  # algorithms, envs, every option and its default
    torchrun --standalone --nproc-per-node 2 --no-python marl-train mappo target_grid_v0 --num-envs 8
                                                       # data-parallel: marl_baselines.distributed

The command line is :mod:`marl_baselines.cli`'s (also ``python -m marl_baselines.cli``). Each run writes under
``<log_dir>/<env>/<algo>/<seed>-<time>/``: ``config.json``, ``train.csv`` (training statistics),
``eval.csv`` (greedy evaluations), TensorBoard events, and ``checkpoint.pt``. ``--resume RUN_DIR``
restores the run's settings from its ``config.json`` and continues from ``checkpoint.pt``; options
given again may change only those in :data:`RESUMABLE` (see :func:`train`).

The greedy evaluation and the results table are :mod:`marl_baselines.evaluate`'s; reading a run
folder back for ``--resume`` is :mod:`marl_baselines.resume`'s.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import itertools
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

import marl_envs
from marl_baselines.algos import ALGORITHMS
from marl_baselines.buffers import episode_ended
from marl_baselines.config import RunConfig, resolve_device
from marl_baselines.distributed import DistributedAlgorithm
from marl_baselines.distributed import start as start_distributed
from marl_baselines.distributed import stop as stop_distributed
from marl_baselines.evaluate import RunResult, evaluate
from marl_baselines.resume import SavedRun, check_run_of, read_checkpoint, read_run, resume_settings
from marl_baselines.vec import make_vec_env
from marl_envs.core.syncs import forbid_host_syncs
from marl_envs.core.threads import torch_threads

__all__ = ["train", "build", "RecentReturns"]


class RecentReturns:
    """Returns of the last ``window`` finished episodes, kept on the training device.

    ``add`` runs every step without reading anything on the host (no device sync); ``mean()``
    reads the window, and the loop calls it only when it logs or refreshes the progress bar.
    """

    def __init__(self, num_envs: int, device: torch.device, window: int = 100):
        self.window = window
        self.running = torch.zeros(num_envs, device=device)  # return so far of each env's current episode
        self.returns = torch.zeros(window + 1, device=device)  # a ring; the last entry is scratch
        self.next = torch.zeros((), dtype=torch.int64, device=device)
        self.count = torch.zeros((), dtype=torch.int64, device=device)  # episodes finished in all

    def add(self, reward: torch.Tensor, ended: torch.Tensor) -> None:
        """This step's team reward ``[B]`` and which episodes ended ``[B]`` (in env order)."""
        self.running += reward
        ended_count = ended.sum()
        # Of the episodes ending now, the last `window` (in env order) enter the ring, in order.
        rank = ended.cumsum(0) - 1
        keep = ended & (rank >= ended_count - self.window)
        slots = torch.where(keep, (self.next + rank - (ended_count - self.window).clamp(min=0)) % self.window, self.window)
        self.returns[slots] = self.running
        self.next = (self.next + ended_count.clamp(max=self.window)) % self.window
        self.count += ended_count
        self.running.masked_fill_(ended, 0.0)

    def mean(self) -> float | None:
        """Mean return of the last ``window`` episodes (None before the first one ends); reads the device."""
        count = min(int(self.count), self.window)
        return float(self.returns[:count].mean()) if count else None

    def state_dict(self) -> dict:
        return {"running": self.running, "returns": self.returns, "next": self.next, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            getattr(self, name).copy_(value)


class _Logger:
    def __init__(self, run_dir: Path, tensorboard: bool, enabled: bool = True):
        self.run_dir, self.enabled = run_dir, enabled  # under torchrun only rank 0 writes
        self.files: dict[str, tuple[Any, csv.DictWriter]] = {}
        self.writer = None
        if tensorboard and enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir))
            except ImportError:  # tensorboard is a dependency, but never fail a run over logging
                self.writer = None

    def log(self, table: str, step: int, values: dict[str, float | torch.Tensor]) -> None:
        if not self.enabled:
            return
        # device statistics are read here, not per step
        values = {key: float(value) if isinstance(value, torch.Tensor) else value for key, value in values.items()}
        row = {"env_steps": step, **values}
        if table not in self.files:
            path = self.run_dir / f"{table}.csv"
            handle = path.open("a", newline="")
            writer = csv.DictWriter(handle, fieldnames=list(row), extrasaction="ignore")
            if path.stat().st_size == 0:
                writer.writeheader()
            self.files[table] = (handle, writer)
        handle, writer = self.files[table]
        writer.writerow(row)
        handle.flush()
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"{table}/{key}", value, step)

    def close(self) -> None:
        for handle, _ in self.files.values():
            handle.close()
        if self.writer is not None:
            self.writer.close()


def build(algo_name: str, env_name, run: RunConfig, algo_config, env_kwargs: dict):
    """Check everything, then make the envs and the algorithm (errors come before any training).

    ``env_name``: a registered marl_envs name, or a callable returning any PettingZoo
    ParallelEnv (then always through the PettingZoo source).
    """
    if algo_name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo_name!r}; choose from {', '.join(ALGORITHMS)}")
    run.check()
    spec = ALGORITHMS[algo_name]
    device = resolve_device(run.device)
    source = run.source if isinstance(env_name, str) else "pettingzoo"
    if source == "native":
        # A sync-free step skips the env's action checks (they read the actions on the host); the
        # actions come from the algorithm, always legal. Explicit --env-arg values win.
        sync_free = run.check_syncs or run.sync_free == "on" or (run.sync_free == "auto" and device.type != "cpu")
        if sync_free:
            env_kwargs = {"sync_free": True, "validate_actions": False, **env_kwargs}
        elif run.sync_free == "off":
            env_kwargs = {"sync_free": False, **env_kwargs}
    env = make_vec_env(env_name, run.num_envs, device, source=source, **env_kwargs)
    spec.check(env, marl_envs.spec(env_name).arguments if isinstance(env_name, str) else (), run.compile)
    eval_env = make_vec_env(env_name, run.eval_episodes, device, source=source, **env_kwargs)
    algo = spec.build(env, algo_config, run.seed)
    if run.compile == "on":  # auto: off everywhere for now (RunConfig.compile says why)
        algo.compile()
    return algo, env, eval_env


def train(
    algo_name: str,
    env_name,
    run: RunConfig | None = None,
    algo_config=None,
    env_kwargs: dict | None = None,
    resume: str | Path | None = None,
    quiet: bool = False,
) -> RunResult:
    """Train ``algo_name`` on ``env_name`` (a registered name, or a callable returning any PettingZoo
    ParallelEnv, such as ``mpe2.simple_spread_v3.parallel_env``); returns the evaluations.

    ``resume``: a run folder (or the ``checkpoint.pt`` in one) to continue. It must hold a run of
    ``algo_name`` on ``env_name`` (else a ValueError naming both). ``run``, ``algo_config`` and
    ``env_kwargs`` left at None are the run's own (its ``config.json``); given ones must equal them
    except the run settings in :data:`RESUMABLE` (``total_steps`` to extend the run, the evaluation
    and checkpoint intervals, ``eval_episodes``, ``checkpoint_buffer``, ``progress``,
    ``tensorboard``, ``threads``): any other difference is a ValueError listing them, raised before
    anything is written. Each accepted change is printed (unless ``quiet``) and recorded in
    ``config.json`` (``run``, and a ``resumes`` entry per resumed session). A run already at
    ``total_steps`` says so and returns its saved evaluations, training and writing nothing.

    Under ``torchrun`` every rank trains its own envs and the gradients are averaged
    (:mod:`marl_baselines.distributed`): env-step counts (``total_steps``, the intervals, the
    algorithms' schedules) are those of all ranks together, and only rank 0 logs and evaluates
    (the other ranks' results hold no evaluations).

    Torch runs on ``run.threads`` intra-op threads for the duration of the call (restored after).
    """
    saved, changes = None, []
    if resume is not None:
        saved = read_run(resume)
        run, algo_config, env_kwargs, changes = resume_settings(saved, algo_name, env_name, run, algo_config, env_kwargs)
    run = run or RunConfig()
    run.check()
    with torch_threads(run.threads):
        return _train(algo_name, env_name, run, algo_config, env_kwargs, resume, quiet, saved, changes)


def _train(algo_name, env_name, run: RunConfig, algo_config, env_kwargs, resume, quiet, saved: SavedRun | None, changes) -> RunResult:
    env_kwargs = env_kwargs or {}
    if algo_config is None and algo_name in ALGORITHMS:
        algo_config = ALGORITHMS[algo_name].config_class()
    world, device = start_distributed(run.device)
    if world.parallel:  # this rank's device and sampling seed; rank 0 keeps the run's seed
        algo, env, eval_env = build(
            algo_name, env_name, dataclasses.replace(run, seed=world.seed(run.seed), device=device), algo_config, env_kwargs
        )
        algo = DistributedAlgorithm(algo, world)  # rank 0's networks everywhere, gradients averaged
    else:
        algo, env, eval_env = build(algo_name, env_name, run, algo_config, env_kwargs)
    # the label of logs and results: the registered name ("goal_grid-v0" is goal_grid_v0), or the PettingZoo env's
    env_name = marl_envs.spec(env_name).id if isinstance(env_name, str) else env.name
    if saved is not None:
        check_run_of(saved, algo_name, env_name)

    recent_returns = RecentReturns(env.num_envs, env.device)
    if resume is not None:
        path = world.checkpoint_path(resume)  # RUN_DIR/checkpoint.pt; under torchrun rank r > 0 reads its own
        checkpoint = read_checkpoint(path, env.device)
        if checkpoint.get("world_size", 1) != world.size:
            raise ValueError(
                f"{path} was saved by {checkpoint.get('world_size', 1)} rank(s); resume it with as many (--nproc-per-node), not {world.size}"
            )
        run_dir = path.parent
        env_steps, evaluations = checkpoint["env_steps"], checkpoint["evaluations"]
        if env_steps >= run.total_steps:  # nothing to train: no evaluation, no checkpoint, no log
            if world.main and not quiet:
                where = (
                    f"{env_steps:,} of {run.total_steps:,} env steps"
                    if env_steps == run.total_steps
                    else f"{env_steps:,} env steps, past total_steps {run.total_steps:,}"
                )
                print(f"run already at {where}; nothing to train (pass --total-steps N to continue)")
            if world.parallel:
                algo.close()
                stop_distributed(world)
            return RunResult(algo_name, env_name, env_steps, 0.0, run_dir, evaluations, start_steps=env_steps)
        algo.load_state_dict(checkpoint["algo"])
        env = checkpoint["env"]
        # where the next transition starts: algorithms keep no part of a step between act and observe
        out, hidden = checkpoint["out"], checkpoint["hidden"]
        recent_returns.load_state_dict(checkpoint["recent_returns"])
        if checkpoint["algo"]["buffer"] is None:
            algo.start(out)
        if world.main:  # config.json: the settings the run goes on with, and where it was resumed
            record = {**saved.record, "run": dataclasses.asdict(run)}
            record["resumes"] = [
                *record.get("resumes", []),
                {"env_steps": env_steps, "changed": {name: [old, new] for name, old, new in changes}},
            ]
            # written aside, then renamed: a crash mid-write never leaves a run without its settings
            (run_dir / "config.json.new").write_text(json.dumps(record, indent=2, default=str))
            (run_dir / "config.json.new").replace(run_dir / "config.json")
            if not quiet:
                print(f"resuming {algo_name} on {env_name} at {env_steps:,} of {run.total_steps:,} env steps ({run_dir})")
                for name, old, new in changes:
                    print(f"resume: {name} {old} -> {new}")
    else:
        run_dir = _new_run_dir(Path(run.log_dir) / env_name / algo_name, run.seed, world)
        config = {
            "algo": algo_name,
            "env": env_name,
            "run": dataclasses.asdict(run),
            "algo_config": dataclasses.asdict(algo_config),
            "env_kwargs": env_kwargs,
        }
        if world.parallel:
            config["world_size"] = world.size
        if world.main:
            (run_dir / "config.json").write_text(json.dumps(config, indent=2, default=str))
        out = env.reset(seed=world.env_seed(run.seed, env.num_envs))  # a single process: run.seed
        algo.start(out)
        hidden = algo.initial_hidden(env.num_envs)
        env_steps, evaluations = 0, []

    logger = _Logger(run_dir, run.tensorboard, enabled=world.main)
    progress = None
    if run.progress and not quiet and world.main:
        # disable=None: no bar when the output is not a terminal (logs, CI); evaluations still print
        progress = tqdm(
            total=run.total_steps,
            initial=env_steps,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            mininterval=0.5,
            disable=None,
            desc=f"{algo_name} {env_name}",
        )
    start, start_steps = time.perf_counter(), env_steps
    next_eval = _next_multiple(env_steps, run.eval_interval)
    next_checkpoint = _next_multiple(env_steps, run.checkpoint_interval)
    last_stats: dict[str, float | torch.Tensor] = {}
    check_syncs = forbid_host_syncs if run.check_syncs else contextlib.nullcontext

    def save_checkpoint() -> None:
        checkpoint = {
            "algo": algo.state_dict(include_buffer=run.checkpoint_buffer),
            "env": env,
            "out": out,
            "hidden": hidden,
            "env_steps": env_steps,
            "evaluations": evaluations,
            "recent_returns": recent_returns.state_dict(),
        }
        if world.parallel:  # every rank saves its own envs, buffer and generator
            checkpoint["world_size"] = world.size
        torch.save(checkpoint, run_dir / world.checkpoint_name)

    def run_evaluation() -> None:
        if not world.main:  # rank 0 evaluates; the others wait for it at their next all-reduce
            return
        began = time.perf_counter()
        result = evaluate(algo, eval_env, seed=run.seed + 1_000_003)
        result["env_steps"] = env_steps
        result["seconds"] = time.perf_counter() - start  # wall time of this session of the run
        result["eval_seconds"] = time.perf_counter() - began  # of which this evaluation took
        evaluations.append(result)
        logger.log("eval", env_steps, result)
        if run.progress and not quiet:
            tqdm.write(
                f"[eval @ {env_steps:,}] return {result['return']:.2f} ± {result['return_ci95']:.2f}, success {result['success']:.0%}"
            )

    # Ctrl-C asks the loop to stop at the end of the current step, where the env, the buffer and the
    # counters agree: the checkpoint then resumes exactly. A second Ctrl-C stops at once.
    stop_requested = False

    def request_stop(signum, frame) -> None:
        nonlocal stop_requested
        if stop_requested:
            raise KeyboardInterrupt
        stop_requested = True

    interrupt_handler = None
    # Not under torchrun: the ranks would stop at different steps (there, --checkpoint-interval and --resume).
    if threading.current_thread() is threading.main_thread() and not world.parallel:
        interrupt_handler = signal.signal(signal.SIGINT, request_stop)
    try:
        while env_steps < run.total_steps:
            if stop_requested:
                save_checkpoint()
                print(f"\ninterrupted at {env_steps:,} env steps; continue with --resume {run_dir}", file=sys.stderr)
                raise KeyboardInterrupt
            # One training step; nothing in it reads the device from the host (run.check_syncs enforces it).
            with check_syncs():
                before = out
                actions, hidden, act_info = algo.act(before, hidden, explore=True, env_steps=env_steps)
                out = env.step(actions)
                env_steps += env.num_envs * world.size  # all ranks' env steps
                stats = algo.observe(before, actions, act_info, out, env_steps)
                ended = episode_ended(out)
                recent_returns.add(out.reward.sum(-1), ended)
                if hidden is not None:
                    hidden = hidden.masked_fill(ended[:, None, None], 0.0)
            if stats:
                last_stats = stats
            if progress is not None:
                progress.update(env.num_envs * world.size)
                if progress.n % (env.num_envs * 50) < env.num_envs and (recent := recent_returns.mean()) is not None:
                    progress.set_postfix(
                        ret=f"{recent:.2f}", sps=f"{(env_steps - start_steps) / (time.perf_counter() - start):,.0f}", refresh=False
                    )
            if next_eval and env_steps >= next_eval:
                recent = recent_returns.mean()
                logger.log(
                    "train",
                    env_steps,
                    {
                        **last_stats,
                        "episode_return": 0.0 if recent is None else recent,
                        "steps_per_second": (env_steps - start_steps) / (time.perf_counter() - start),
                    },
                )
                run_evaluation()
                next_eval += run.eval_interval
            if next_checkpoint and env_steps >= next_checkpoint:
                save_checkpoint()
                next_checkpoint += run.checkpoint_interval
        if not evaluations or evaluations[-1]["env_steps"] != env_steps:
            run_evaluation()
        save_checkpoint()
    finally:
        if interrupt_handler is not None:
            signal.signal(signal.SIGINT, interrupt_handler)
        if progress is not None:
            progress.close()
        logger.close()
    if world.parallel:
        algo.check_synchronised()  # every rank ends with rank 0's networks, or the run fails
        algo.close()
        stop_distributed(world)
    return RunResult(algo_name, env_name, env_steps, time.perf_counter() - start, run_dir, evaluations, start_steps=start_steps)


def _new_run_dir(parent: Path, seed: int, world) -> Path:
    """A run directory no other run writes to: ``<seed>-<date>-<time>``, with ``-2``, ``-3``... for runs
    that start in the same second with the same env, algorithm and seed (a sweep over settings run
    in parallel). Rank 0 makes it and every rank of a torchrun launch uses its name."""
    name = None
    if world.main:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        parent.mkdir(parents=True, exist_ok=True)
        for copy in itertools.count(1):
            name = f"{seed}-{stamp}" + (f"-{copy}" if copy > 1 else "")
            try:
                (parent / name).mkdir()
                break
            except FileExistsError:
                continue
    run_dir = parent / world.broadcast(name)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _next_multiple(value: int, interval: int) -> int:
    return (value // interval + 1) * interval if interval else 0


# ---------------------------------------------------------------------- command line
if __name__ == "__main__":
    from marl_baselines.cli import main

    sys.exit(main(sys.argv[1:]))
