"""The ``marl-train`` command line: its options (one per config field), its parsing and its entry point.

    marl-train qmix goal_grid_v0 --total-steps 20000 --lr 5e-4 --env-arg size=7

Every field of :class:`~marl_baselines.config.RunConfig` and of each algorithm's config is an
option (``--field-name``), documented by the field's docstring; ``--env-arg KEY=VALUE`` passes an
argument to the env. Training itself is :func:`marl_baselines.train.train`.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import json
import sys
from pathlib import Path
from typing import Any

import marl_envs
from marl_baselines.algos import ALGORITHMS
from marl_baselines.config import PRESETS, RunConfig, field_docs
from marl_baselines.distributed import World
from marl_baselines.evaluate import RunResult, summary_table
from marl_baselines.resume import RESUMABLE, check_run_of, read_run
from marl_baselines.train import train

__all__ = ["cli", "main", "env_argument", "configs_from_args"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``marl-train: error: ... (see marl-train --help)``, no usage
    block), the closest known option suggested for a mistyped one, and options and positionals
    in any order."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_intermixed_args(args, namespace)
        if extras:
            self.error(self._unrecognised(extras))
        return parsed

    def _unrecognised(self, extras: list[str]) -> str:
        options = [word.partition("=")[0] for word in extras if word.startswith("-")]
        if not options:  # when there are unknown options, the stray words are their values
            return f"unexpected argument(s) {' '.join(extras)} (the command line is ALGO ENV, then --options)"
        known = [string for action in self._actions for string in action.option_strings if string.startswith("--")]
        named = []
        for option in options:
            # "learning rate" is spelled lr here (--lr, --actor-lr, --icm-lr)
            close = difflib.get_close_matches(option.replace("learning-rate", "lr"), known, n=1)
            named.append(option + (f" (did you mean {close[0]}?)" if close else ""))
        return f"unrecognized option{'s' if len(named) > 1 else ''} {', '.join(named)}"


def _parser() -> argparse.ArgumentParser:
    """The ``marl-train`` parser. Options are grouped by who takes them: the run options, then one
    group per set of algorithms sharing options (from ``options of every algorithm`` down to one
    family's own), each option once, with each algorithm's default where they differ."""
    algos = "\n".join(f"  {name:<8} {spec.description}" for name, spec in ALGORITHMS.items())
    envs = ", ".join(marl_envs.list_envs())
    parser = _Parser(
        prog="marl-train",
        description="Train a MARL algorithm on an environment of marl_envs, or continue a run (--resume).",
        epilog=f"algorithms:\n{algos}\n\nenvs: {envs}\n\npresets (applied before your options): "
        + ", ".join(f"{a} {e}" for a, e in PRESETS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --total is not --total-steps
    )
    parser.add_argument("algo", nargs="?", help="algorithm: " + ", ".join(ALGORITHMS) + " (with --resume: optional, the run's)")
    parser.add_argument("env", nargs="?", help="a registered env name (marl_envs.list_envs()) (with --resume: optional, the run's)")
    parser.add_argument(
        "--env-arg",
        type=env_argument,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an env constructor argument (repeatable), e.g. --env-arg game=two_step",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR (the logs folder a run prints, LOG_DIR/ENV/ALGO/SEED-TIME, or its checkpoint.pt) with its own "
        "settings (its config.json: algorithm, env, env arguments, every option; no preset). ALGO and ENV may be left out (if given they "
        f"must be the run's). Options given again may change only {', '.join('--' + n.replace('_', '-') for n in RESUMABLE)} "
        "(e.g. --total-steps to train on); any other must equal the saved value. Each change is printed and kept in config.json",
    )
    parser.add_argument("--no-preset", action="store_true", help="ignore the tuned preset of this algorithm and env")
    classes: dict[type, list[str]] = {RunConfig: []}  # config class -> the algorithms that take it
    takers: dict[str, list[str]] = {}  # algorithm option -> the algorithms whose config has it
    for name, spec in ALGORITHMS.items():
        classes.setdefault(spec.config_class, []).append(name)
        for f in dataclasses.fields(spec.config_class):
            takers.setdefault(f.name, []).append(name)
    groups: dict[tuple[str, ...], list[str]] = {(): [f.name for f in dataclasses.fields(RunConfig)]}
    for option, names in takers.items():
        groups.setdefault(tuple(names), []).append(option)
    # run options, then the options most algorithms share first (ties: the registry's order)
    for names, options in sorted(groups.items(), key=lambda item: -len(item[0]) if item[0] else -len(ALGORITHMS) - 1):
        title = (
            "run options"
            if not names
            else "options of every algorithm"
            if len(names) == len(ALGORITHMS)
            else f"options of {', '.join(names)}"
        )
        group = parser.add_argument_group(title)
        for option in options:
            _add_option(
                group, option, {cls: users for cls, users in classes.items() if any(f.name == option for f in dataclasses.fields(cls))}
            )
    return parser


def _add_option(group, name: str, classes: dict[type, list[str]]) -> None:
    """``--name VALUE`` (and ``--no-name`` for a boolean) for the field ``name`` of the config
    classes ``classes`` (each with the algorithms taking it): its help gives each algorithm's
    description and default where they differ."""
    fields = {cls: next(f for f in dataclasses.fields(cls) if f.name == name) for cls in classes}
    first = next(iter(fields.values()))
    kind = {"bool": _boolean, "int": int, "float": float}.get(str(first.type), str)
    option = "--" + name.replace("_", "-")
    docs = _by_value([(users, field_docs(cls).get(name, "")) for cls, users in classes.items()])
    defaults = _by_value([(users, fields[cls].default) for cls, users in classes.items()])
    help_text = " ".join(f"{'/'.join(users)}: {doc}" for doc, users in docs.items()) if len(docs) > 1 else next(iter(docs))
    if len(defaults) > 1:
        help_text += " (defaults: " + "; ".join(f"{'/'.join(users)} {default}" for default, users in defaults.items()) + ")"
    else:
        help_text += f" (default: {next(iter(defaults))})"
    if kind is _boolean:
        # --icm alone means true; --icm false and --no-icm mean false
        group.add_argument(
            option, dest=name, type=_boolean, nargs="?", const=True, default=argparse.SUPPRESS, metavar="BOOL", help=help_text
        )
        group.add_argument(
            "--no-" + option[2:], dest=name, action="store_const", const=False, default=argparse.SUPPRESS, help=f"same as {option} false"
        )
        return
    group.add_argument(option, dest=name, type=kind, default=argparse.SUPPRESS, metavar=str(first.type).upper(), help=help_text)


def _by_value(values: list[tuple[list[str], Any]]) -> dict[str, list[str]]:
    """Each distinct value (as text) with the algorithms that have it, in the order first seen."""
    together: dict[str, list[str]] = {}
    for users, value in values:
        together.setdefault(str(value), []).extend(users)
    return together


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def env_argument(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` (the argparse type of ``--env-arg``) as ``(key, value)``: VALUE is read as a
    Python literal (``3``, ``0.5``, ``True``, ``None``, ``[(3, 0), (0, 3)]``), else as JSON
    (``true``, ``null``), else kept as a string (``game=climbing``)."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"--env-arg takes KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def configs_from_args(args: argparse.Namespace) -> tuple[str, str, RunConfig, Any, dict]:
    """A parsed command line as (algorithm, env, run config, algorithm config, env arguments).

    A new run: the preset of the pair (unless ``--no-preset``), then the options. A resumed run
    (``--resume``): the run's own settings from its ``config.json`` instead of a preset, then the
    options (:func:`train` refuses those a resumed run may not change); ALGO and ENV are the run's
    when left out."""
    if args.resume is None:
        algo, env = args.algo, args.env
    else:
        if args.no_preset:
            raise ValueError("--no-preset: a resumed run takes its settings from its config.json, never from a preset")
        saved = read_run(args.resume)
        algo, env = (saved.algo, saved.env) if args.algo is None else (args.algo, args.env)
        check_run_of(saved, algo, marl_envs.spec(env).id if args.algo is not None else saved.env)
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    if args.resume is None:
        env_id = marl_envs.spec(env).id  # a clear error for an unknown env, before anything else
        base = {} if args.no_preset else PRESETS.get((algo, env_id), {})
    else:
        base = {"run": dataclasses.asdict(saved.run), "algo": dataclasses.asdict(saved.algo_config), "env": saved.env_kwargs}
    given = vars(args)
    run_fields = {f.name for f in dataclasses.fields(RunConfig)}
    config_class = ALGORITHMS[algo].config_class
    algo_fields = {f.name for f in dataclasses.fields(config_class)}
    cli_only = {"algo", "env", "env_arg", "resume", "no_preset"}
    foreign = sorted(k for k in given if k not in run_fields | algo_fields | cli_only)
    if foreign:  # an option of another algorithm's config: refuse it rather than ignore it
        options = ", ".join("--" + k.replace("_", "-") for k in foreign)
        raise ValueError(
            f"{options}: not an option of {algo} (its options: marl-train --help, under the headings naming {algo} or every algorithm)"
        )
    run = RunConfig(**{**base.get("run", {}), **{k: v for k, v in given.items() if k in run_fields}})
    algo_config = config_class(**{**base.get("algo", {}), **{k: v for k, v in given.items() if k in algo_fields}})
    env_kwargs = dict(base.get("env", {}))
    env_kwargs.update(args.env_arg)
    return algo, env, run, algo_config, env_kwargs


def cli(argv: list[str] | None = None) -> RunResult:
    """Parse ``argv`` like ``marl-train``, train, print the summary table, return the result.

    A mistake on the command line ends with one line on stderr and exit status 2 (no traceback)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.resume is None and args.env is None:
        parser.error(
            "ALGO and ENV are required" + (f" (got only {args.algo!r})" if args.algo else "") + ", or --resume RUN_DIR to continue a run"
        )
    folders = [word for word in (args.algo, args.env) if args.resume is not None and word is not None and Path(word).is_dir()]
    if folders:  # a pattern such as --resume runs/demo/goal_grid_v0/qmix/0-* that matched several runs
        parser.error(f"--resume takes one run folder; got {', '.join([args.resume, *folders])}")
    if args.resume is not None and args.algo is not None and args.env is None:
        parser.error(f"with --resume, give ALGO and ENV both (checked against the run's) or neither; got only {args.algo!r}")
    try:
        algo, env, run, algo_config, env_kwargs = configs_from_args(args)
        result = train(algo, env, run, algo_config, env_kwargs, resume=args.resume)
    except (ValueError, TypeError) as error:
        parser.exit(2, f"marl-train: error: {error}\n")
    if World.from_environment().main:  # under torchrun, rank 0 prints
        print(summary_table(result))
    return result


def main(argv: list[str] | None = None) -> int:
    """The ``marl-train`` console script: exit status 0 after a finished run."""
    cli(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
