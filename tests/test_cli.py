"""``marl-train``: the option groups of ``--help``, one-line errors, canonical env names."""

from __future__ import annotations

import dataclasses
import json

import pytest

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig
from marl_baselines.train import _parser, cli, main

TINY = ["--num-envs", "4", "--eval-episodes", "4", "--learning-starts", "100", "--batch-size", "4", "--lr", "0.002",
        "--env-arg", "max_cycles=10", "--seed", "3", "--progress", "false", "--tensorboard", "false"]  # fmt: skip


def error_line(capsys) -> str:
    """The single line a refused command line leaves on stderr."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("marl-train: error: "), captured.err
    assert "usage:" not in captured.err and "Traceback" not in captured.err
    return lines[0]


# ---------------------------------------------------------------- --help and mistakes
def test_each_option_appears_once_under_the_algorithms_that_take_it():
    groups = {action.dest: group.title for group in _parser()._action_groups for action in group._group_actions if action.option_strings}
    for field_name in {f.name for spec in ALGORITHMS.values() for f in dataclasses.fields(spec.config_class)}:
        takers = [name for name, spec in ALGORITHMS.items() if field_name in {f.name for f in dataclasses.fields(spec.config_class)}]
        expected = "options of every algorithm" if len(takers) == len(ALGORITHMS) else f"options of {', '.join(takers)}"
        assert groups[field_name] == expected, field_name
    assert groups["gamma"] == "options of every algorithm" and groups["total_steps"] == "run options"
    assert "mappo" in groups["lr"] and "qmix" in groups["lr"] and "maddpg" not in groups["lr"]  # MADDPG has actor_lr and critic_lr
    option_strings = [s for action in _parser()._actions for s in action.option_strings]
    assert len(option_strings) == len(set(option_strings))


def test_help_gives_each_algorithms_default_and_meaning_where_they_differ(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert f"(defaults: iql/vdn/qmix {ValueDecompConfig().batch_size}; maddpg/matd3 {MADDPGConfig().batch_size})" in text
    assert "iql/vdn/qmix: Episodes" in text and "maddpg/matd3: Transitions per gradient step." in text


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["qmix", "goal_grid_v0", "--learning-rate", "0.01"], "unrecognized option --learning-rate (did you mean --lr?) (see marl-train --help)"),
        (["qmix", "goal_grid_v0", "--total", "3000"], "unrecognized option --total (did you mean --total-steps?)"),  # no abbreviations
        (["qmix", "goal_grid_v0", "extra"], "unexpected argument(s) extra"),
        ([], "the following arguments are required: algo, env (see marl-train --help)"),
        (["qmix", "goal_grid_v0", "--total-steps", "abc"], "argument --total-steps: invalid int value: 'abc'"),
    ],
    ids=["misspelt", "abbreviated", "stray", "no-positionals", "malformed"],
)
def test_command_line_mistakes_are_one_line(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_status:
        main(argv)
    assert exit_status.value.code == 2
    assert expected in error_line(capsys)
    assert not any(tmp_path.iterdir())  # nothing started


def test_options_and_positionals_in_any_order_and_the_canonical_env_name(tmp_path):
    result = cli(["--total-steps", "64", "qmix", *TINY, "--log-dir", str(tmp_path), "goal_grid-v0"])
    assert (result.algo, result.env, result.env_steps) == ("qmix", "goal_grid_v0", 64)
    assert result.run_dir.parent.parent == tmp_path / "goal_grid_v0"  # not goal_grid-v0
    assert json.loads((result.run_dir / "config.json").read_text())["env"] == "goal_grid_v0"
