"""A run folder read back: the settings and the checkpoint ``marl-train --resume RUN_DIR`` continues from.

A run folder (``<log_dir>/<env>/<algo>/<seed>-<time>/``) holds ``config.json`` (the algorithm, the
env, the run settings, the algorithm's config and the env arguments) and ``checkpoint.pt`` (under
torchrun, one per rank). A resumed run keeps every saved setting but those in :data:`RESUMABLE`.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import marl_envs
from marl_baselines.algos import ALGORITHMS
from marl_baselines.config import RunConfig

__all__ = ["RESUMABLE", "SavedRun", "read_run", "resume_settings", "check_run_of", "read_checkpoint"]

RESUMABLE = (
    "total_steps",
    "eval_interval",
    "eval_episodes",
    "checkpoint_interval",
    "checkpoint_buffer",
    "progress",
    "tensorboard",
    "threads",
    "compile",
)
"""The run settings a resumed run may change. The others (``num_envs``, ``seed``, ``device``,
``source``, ``sync_free``, ``check_syncs``, ``log_dir``), every algorithm option and every env
argument shape the networks, the envs or the state a checkpoint holds (or, for ``log_dir``, the run
stays in its folder), so a resumed run keeps the saved ones."""


@dataclass(frozen=True)
class SavedRun:
    """A run folder's ``config.json`` read back: the settings ``--resume`` restores."""

    run_dir: Path
    checkpoint: Path  # rank 0's (or the single process's) checkpoint
    algo: str
    env: str  # the canonical env name (or a PettingZoo env's name)
    run: RunConfig
    algo_config: Any
    env_kwargs: dict
    record: dict  # the whole config.json, rewritten when the run resumes


def read_run(resume: str | Path) -> SavedRun:
    """The run saved in ``resume`` (a run folder, or the ``checkpoint.pt`` in one); a one-line
    ValueError when it is not a folder holding a ``config.json`` and a checkpoint of marl-train.

    Fields a later version added are left at their defaults, fields it removed are dropped."""
    path = Path(resume)
    if not path.exists():
        raise ValueError(f"resume: {path} does not exist (expected a run folder LOG_DIR/ENV/ALGO/SEED-TIME that marl-train wrote)")
    run_dir, checkpoint = (path, path / "checkpoint.pt") if path.is_dir() else (path.parent, path)
    missing = [name for name, file in (("config.json", run_dir / "config.json"), (checkpoint.name, checkpoint)) if not file.is_file()]
    if missing:
        found = sorted(p.name for p in run_dir.iterdir())
        shown = ", ".join(found[:8]) + (", ..." if len(found) > 8 else "") if found else "nothing"
        raise ValueError(
            f"resume: {run_dir} has no {' and no '.join(missing)} (a run folder holds config.json and checkpoint.pt; found {shown})"
        )
    try:
        record = json.loads((run_dir / "config.json").read_text())
        algo, env = record["algo"], record["env"]
        saved_run, saved_algo, env_kwargs = record["run"], record["algo_config"], record["env_kwargs"]
    except (ValueError, KeyError, TypeError) as error:  # bad JSON, or a JSON without the run's settings
        raise ValueError(f"resume: {run_dir / 'config.json'} is not a marl-train run's config ({type(error).__name__}: {error})") from None
    if algo not in ALGORITHMS:
        raise ValueError(f"resume: {run_dir} holds a run of {algo!r}, not an algorithm marl-train knows ({', '.join(ALGORITHMS)})")
    return SavedRun(
        run_dir,
        checkpoint,
        algo,
        env,
        _known_fields(RunConfig, saved_run),
        _known_fields(ALGORITHMS[algo].config_class, saved_algo),
        dict(env_kwargs),
        record,
    )


def _known_fields(config_class: type, values: dict):
    names = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{key: value for key, value in values.items() if key in names})


def _plain(value: Any) -> Any:
    """``value`` as config.json holds it (tuples as lists), so that saved and given settings compare."""
    return json.loads(json.dumps(value, default=str))


def resume_settings(saved: SavedRun, algo_name: str, env_name, run, algo_config, env_kwargs):
    """The settings of the resumed run ``saved``: the saved ones where None is given; a given one must
    equal the saved one, except the RESUMABLE run settings. Returns ``(run, algo_config, env_kwargs,
    changes)`` with ``changes`` the accepted ``(name, saved, given)``; one ValueError names every refused one."""
    check_run_of(saved, algo_name, marl_envs.spec(env_name).id if isinstance(env_name, str) else None)  # a callable's name: once built
    run = saved.run if run is None else run
    algo_config = saved.algo_config if algo_config is None else algo_config
    env_kwargs = dict(saved.env_kwargs) if env_kwargs is None else env_kwargs
    changes, refused = [], []
    for name, old, new in [
        *((f.name, getattr(saved.run, f.name), getattr(run, f.name)) for f in dataclasses.fields(RunConfig)),
        *_differences(dataclasses.asdict(saved.algo_config), dataclasses.asdict(algo_config), ""),
        *_differences(saved.env_kwargs, env_kwargs, "env argument "),
    ]:
        if _plain(old) != _plain(new):
            (changes if name in RESUMABLE else refused).append((name, old, new))
    if refused:
        found = "; ".join(f"{name} {_shown(old)}, not {_shown(new)}" for name, old, new in refused)
        raise ValueError(f"resume: {saved.run_dir} was trained with {found}; a resumed run may change only {', '.join(RESUMABLE)}")
    return run, algo_config, env_kwargs, changes


def check_run_of(saved: SavedRun, algo_name: str, env_name: str | None) -> None:
    """A ValueError naming both runs unless ``saved`` is a run of ``algo_name`` on ``env_name``
    (a canonical env name; None: not known yet, not checked)."""
    if algo_name != saved.algo or (env_name is not None and env_name != saved.env):
        asked = f"{algo_name} on {env_name}" if env_name is not None else algo_name
        raise ValueError(f"resume: {saved.run_dir} holds a {saved.algo} run on {saved.env}, not {asked}")


_UNSET = object()


def _differences(saved: dict, given: dict, prefix: str):
    """``(prefix + key, saved value, given value)`` for every key of either dict (_UNSET where absent)."""
    return [(prefix + key, saved.get(key, _UNSET), given.get(key, _UNSET)) for key in {**saved, **given}]


def _shown(value: Any) -> str:
    return "unset" if value is _UNSET else repr(value)


def read_checkpoint(path: Path, device) -> dict:
    """``torch.load`` of a checkpoint, with a one-line ValueError for a missing or unreadable file."""
    if not path.is_file():
        raise ValueError(
            f"resume: {path.parent} has no {path.name} (each rank resumes from its own checkpoint: run with as many ranks as the run had)"
        )
    try:
        return torch.load(path, weights_only=False, map_location=device)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as error:
        message = str(error).strip().splitlines()
        raise ValueError(f"resume: {path} is not a readable checkpoint ({message[0] if message else type(error).__name__})") from None
