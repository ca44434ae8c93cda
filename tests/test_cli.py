"""``marl-train``: the option groups of ``--help``."""

from __future__ import annotations

import dataclasses

import pytest

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.maddpg import MADDPGConfig
from marl_baselines.algos.value_decomp import ValueDecompConfig
from marl_baselines.train import _parser, main


# ---------------------------------------------------------------- --help
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
