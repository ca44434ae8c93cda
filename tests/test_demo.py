"""The env tour (``make envs``) runs over every registered env and prints one row each."""

from marl_envs import demo, list_envs


def test_env_tour_prints_a_row_per_env(capsys):
    demo.main(["--num-envs", "8", "--seconds", "0.01", "--episodes", "1"])
    text = capsys.readouterr().out
    for env_id in list_envs():
        assert f"| {env_id} " in text
    assert "Box(49,) + mask" in text  # poker's dict observation
