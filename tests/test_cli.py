"""``marl-train``: resuming a run with its own settings, the option groups of ``--help``, one-line errors, canonical env names."""

from __future__ import annotations

import dataclasses
import json
import shutil

import helpers
import pytest
import torch

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig
from marl_baselines.cli import _parser, cli, main
from marl_baselines.resume import RESUMABLE
from marl_baselines.train import train

# Settings of a tiny QMIX run that differ from the qmix goal_grid_v0 preset (60k steps, 16 envs, lr 1e-3, ...).
TINY = [
    "--num-envs",
    "4",
    "--eval-episodes",
    "4",
    "--learning-starts",
    "100",
    "--batch-size",
    "4",
    "--lr",
    "0.002",
    "--env-arg",
    "max_cycles=10",
    "--seed",
    "3",
    "--progress",
    "false",
    "--tensorboard",
    "false",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 600-step run (started with the env's dashed alias), never modified: tests resume a copy."""
    log_dir = tmp_path_factory.mktemp("logs")
    return cli(["qmix", "goal_grid-v0", "--total-steps", "600", *TINY, "--log-dir", str(log_dir)])


@pytest.fixture
def run_dir(finished_run, tmp_path):
    return shutil.copytree(finished_run.run_dir, tmp_path / "run")


def snapshot(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def error_line(capsys) -> str:
    """The single line a refused command line leaves on stderr."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("marl-train: error: "), captured.err
    assert "usage:" not in captured.err and "Traceback" not in captured.err
    return lines[0]


def refused(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_status:
        cli(argv)
    assert exit_status.value.code == 2
    return error_line(capsys)


# ---------------------------------------------------------------- resume
def test_resume_restores_the_runs_settings_and_continues_exactly(run_dir, tmp_path, capsys):
    """Resumed with only a longer --total-steps, the run keeps its own settings (not the preset's)
    and ends with the networks of the run that went through in one go, bit for bit."""
    capsys.readouterr()
    # options equal to the saved ones are no change
    resumed = cli(["--resume", str(run_dir), "--total-steps", "1200", "--num-envs", "4", "--lr", "0.002"])
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("resume:")] == ["resume: total_steps 600 -> 1200"]
    assert "| env steps      | 1,200 (600 this session) |" in out
    whole = cli(["qmix", "goal_grid_v0", "--total-steps", "1200", *TINY, "--log-dir", str(tmp_path / "whole")])
    assert resumed.env_steps == whole.env_steps == 1200 and resumed.run_dir == run_dir
    a = torch.load(run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert a["gradient_steps"] == b["gradient_steps"] > 0
    for network in ("agent", "mixer"):
        for name in a[network]:
            torch.testing.assert_close(a[network][name], b[network][name], rtol=0, atol=0)
    # config.json holds the settings the run goes on with, and where it was resumed
    saved, reference = (json.loads((folder / "config.json").read_text()) for folder in (run_dir, whole.run_dir))
    assert {**saved["run"], "log_dir": None} == {**reference["run"], "log_dir": None}
    assert saved["algo_config"] == reference["algo_config"] and saved["env_kwargs"] == reference["env_kwargs"] == {"max_cycles": 10}
    assert saved["resumes"] == [{"env_steps": 600, "changed": {"total_steps": [600, 1200]}}]
    # resumed again without options: the new total_steps is the run's own
    assert main(["--resume", str(run_dir)]) == 0
    assert "run already at 1,200 of 1,200 env steps; nothing to train" in capsys.readouterr().out


def test_resuming_a_finished_run_trains_and_writes_nothing(finished_run, run_dir, capsys):
    before = snapshot(run_dir)
    capsys.readouterr()
    assert main(["--resume", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run already at 600 of 600 env steps; nothing to train (pass --total-steps N to continue)\n")
    assert f"| greedy return  | {finished_run.final['return']:.2f} ±" in out  # the saved final results
    assert "| env steps      | 600 (none this session) |" in out and "env steps/s" not in out
    result = cli(["qmix", "goal_grid-v0", "--resume", str(run_dir / "checkpoint.pt"), "--total-steps", "300"])
    assert "run already at 600 env steps, past total_steps 300; nothing to train" in capsys.readouterr().out
    assert result.env_steps == result.start_steps == 600 and result.evaluations == finished_run.evaluations
    assert snapshot(run_dir) == before


def test_resume_refuses_changes_outside_the_resumable_settings(run_dir, capsys):
    before = snapshot(run_dir)
    allowed = ", ".join(RESUMABLE)
    for options, expected in [
        (["--lr", "0.01"], "lr 0.002, not 0.01"),
        (["--num-envs", "8", "--total-steps", "1200"], "num_envs 4, not 8"),
        (["--env-arg", "max_cycles=20"], "env argument max_cycles 10, not 20"),
        (["--env-arg", "view=2"], "env argument view unset, not 2"),
        (["--seed", "4", "--recurrent"], "seed 3, not 4; recurrent False, not True"),
    ]:
        line = refused(capsys, ["--resume", str(run_dir), *options])
        assert f"was trained with {expected}; a resumed run may change only {allowed}" in line
    line = refused(capsys, ["--resume", str(run_dir), "--no-preset"])
    assert "--no-preset: a resumed run takes its settings from its config.json" in line
    assert snapshot(run_dir) == before  # a refused resume changes nothing


def test_resume_checks_the_run_is_the_one_named(run_dir, capsys):
    line = refused(capsys, ["mappo", "target_grid_v0", "--resume", str(run_dir)])
    assert line.endswith(f"resume: {run_dir} holds a qmix run on goal_grid_v0, not mappo on target_grid_v0")
    line = refused(capsys, ["qmix", "--resume", str(run_dir)])
    assert "with --resume, give ALGO and ENV both (checked against the run's) or neither; got only 'qmix'" in line
    other = shutil.copytree(run_dir, run_dir.parent / "other")
    line = refused(capsys, ["--resume", str(run_dir), str(other)])  # a shell pattern that matched two runs
    assert f"--resume takes one run folder; got {run_dir}, {other}" in line
    with pytest.raises(ValueError, match="holds a qmix run on goal_grid_v0, not vdn on goal_grid_v0$"):
        train("vdn", "goal_grid_v0", resume=run_dir)
    with pytest.raises(ValueError, match="holds a qmix run on goal_grid_v0, not qmix on target_grid_v0$"):
        train("qmix", "target_grid_v0", resume=run_dir)


def test_python_resume_takes_the_saved_settings_and_refuses_others(run_dir, tmp_path):
    before = snapshot(run_dir)
    result = train("qmix", "goal_grid-v0", resume=run_dir, quiet=True)  # run, algo config, env arguments: the saved ones
    assert (result.env, result.env_steps, result.start_steps) == ("goal_grid_v0", 600, 600)
    with pytest.raises(
        ValueError,
        match="was trained with num_envs 4, not 8; seed 3, not 0; log_dir '.*', not '.*'; lr 0.002, not 0.0005; batch_size 4, not 32; .*; a resumed run may change only",
    ):
        train("qmix", "goal_grid_v0", helpers.quiet_run(tmp_path, num_envs=8, total_steps=1200), ValueDecompConfig(), resume=run_dir)
    assert snapshot(run_dir) == before
    assert not any(tmp_path.glob("goal_grid_v0"))


def test_resume_of_what_is_not_a_run_is_one_line(tmp_path, capsys):
    line = refused(capsys, ["--resume", str(tmp_path / "nowhere")])
    assert f"resume: {tmp_path / 'nowhere'} does not exist (expected a run folder" in line
    (tmp_path / "train.csv").write_text("env_steps\n")
    line = refused(capsys, ["--resume", str(tmp_path)])
    assert (
        f"resume: {tmp_path} has no config.json and no checkpoint.pt (a run folder holds config.json and checkpoint.pt; found train.csv)"
        in line
    )
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert "config.json is not a marl-train run's config" in refused(capsys, ["--resume", str(tmp_path)])
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"algo": "qmix", "env": "goal_grid_v0", "run": {"progress": False, "tensorboard": False}, "algo_config": {}, "env_kwargs": {}}
        )
    )
    assert f"resume: {tmp_path / 'checkpoint.pt'} is not a readable checkpoint" in refused(capsys, ["--resume", str(tmp_path)])


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
    value_based, deterministic = "iql/vdn/qmix/cw_qmix/ow_qmix", "maddpg/matd3/iddpg/isac/masac"
    assert f"(defaults: {value_based} {ValueDecompConfig().batch_size}; {deterministic} {MADDPGConfig().batch_size})" in text
    assert f"{value_based}: Episodes" in text and f"{deterministic}: Transitions per gradient step." in text


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["qmix", "goal_grid_v0", "--learning-rate", "0.01"],
            "unrecognized option --learning-rate (did you mean --lr?) (see marl-train --help)",
        ),
        (["qmix", "goal_grid_v0", "--total", "3000"], "unrecognized option --total (did you mean --total-steps?)"),  # no abbreviations
        (["qmix", "goal_grid_v0", "extra"], "unexpected argument(s) extra"),
        ([], "ALGO and ENV are required, or --resume RUN_DIR to continue a run (see marl-train --help)"),
        (["qmix", "goal_grid_v0", "--total-steps", "abc"], "argument --total-steps: invalid int value: 'abc'"),
        (["coma", "goal_grid_v0", "--log-std-init", "0.3"], "--log-std-init: not an option of coma"),  # discrete only
    ],
    ids=["misspelt", "abbreviated", "stray", "no-positionals", "malformed", "not-this-algorithm"],
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
