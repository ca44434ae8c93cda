"""The training benchmark scripts run end to end in their --quick mode (they must never rot)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.scripts

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, *arguments: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python benchmarks/<script> arguments``, which must succeed; its output."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *arguments], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done


@pytest.mark.parametrize("script", ["train_speed.py", "returns_table.py", "threads.py", "compile_speed.py"])
def test_quick_mode_prints_its_table(script):
    done = run_benchmark(script, "--quick")
    assert "|---" in done.stdout and "command: python benchmarks/" in done.stdout


def test_returns_table_plots_learning_curves(tmp_path):
    run_benchmark("returns_table.py", "--quick", "--out", str(tmp_path))
    table = (tmp_path / "returns_table.md").read_text()
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]) for line in table.splitlines() if line.startswith("| ")}
    # its presets differ in continuous_actions: one random-policy row and one plot per argument set
    for arguments, algo in (("continuous_actions=False", "mappo"), ("continuous_actions=True", "masac")):
        label = f"cooperative_navigation_v0 ({arguments})"
        assert {(label, "random policy"), (label, algo)} <= rows
        assert (tmp_path / f"returns_cooperative_navigation_v0-{arguments}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_returns_table_groups_presets_by_env_arguments():
    """Pairs with equal env arguments share a group (and a random-policy row), in preset order."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from returns_table import argument_groups, arguments_text

    pairs = [("a", {"env": {"x": 1}}), ("b", {}), ("c", {"env": {"x": 1}}), ("d", {"run": {}})]
    groups = argument_groups("some_env", pairs)
    assert [(kwargs, [algo for algo, _ in group]) for kwargs, group in groups] == [({"x": 1}, ["a", "c"]), ({}, ["b", "d"])]
    assert argument_groups("target_grid_v0", [("a", {})])[0][0] == {"max_cycles": 20}  # ENV_KWARGS under the preset's
    assert arguments_text({"y": True, "x": 2}) == "x=2, y=True" and arguments_text({}) == "defaults"


def test_env_throughput_quick_mode_writes_its_table_and_plot(tmp_path):
    run_benchmark("env_throughput.py", "--quick", "--out", str(tmp_path))
    table = (tmp_path / "env_throughput_cpu.md").read_text()
    assert "command: python benchmarks/env_throughput.py --quick" in table
    import marl_envs

    for name in ("mpe2 simple_spread_v3", "mpe2 simple_tag_v3", *marl_envs.list_envs()):
        assert f"| {name}" in table
    assert (tmp_path / "env_throughput_cpu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comm_ablation_quick_mode_writes_its_tables(tmp_path):
    run_benchmark("comm_ablation.py", "--quick", "--out", str(tmp_path), timeout=900)
    table = (tmp_path / "comm_ablation.md").read_text()
    assert "command: python benchmarks/comm_ablation.py --quick" in table
    first_cells = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")}
    rows = (
        "(a) mlp, env channel",
        "tarmac, env channel silenced",
        "tarmac, env channel silenced, --no-comm",
        "gnn, env channel silenced",
        "gnn, env channel silenced, --no-comm",
        "(c) mlp, env channel silenced",
        "**tarmac: comm - no-comm (same seed)**",
        "**gnn: comm - no-comm (same seed)**",
        "tarmac",
        "gnn, --no-comm",
        "random policy",
        "gnn trained on 3, evaluated on 6",
        "random policy on 6",
    )
    for row in rows:
        assert row in first_cells, row
    for section in ("## speaker_listener_v0:", "## reference_v0:", "## target_grid_v0:"):
        assert section in table, section
    for env in ("speaker_listener_v0", "reference_v0", "target_grid_v0"):
        assert (tmp_path / f"comm_ablation_{env}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_madvrl_poker_quick_mode_writes_its_tables_and_plots(tmp_path):
    run_benchmark("madvrl_poker.py", "--quick", "--out", str(tmp_path))
    table = (tmp_path / "madvrl_poker.md").read_text()
    assert "command: python benchmarks/madvrl_poker.py --quick" in table
    for row in (
        "| madvrl ",
        "| gru_ac ",
        "vs always_raise",
        "vs hand_strength",
        "## Exploitability on 2-player Leduc hold'em",
        "## Exploitability on 2-player Kuhn poker",
    ):
        assert row in table, row
    for variant in ("leduc", "kuhn"):
        assert (tmp_path / f"madvrl_poker_{variant}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_margins_collects_each_asserted_quantity_over_seeds_and_threads(tmp_path):
    """One cheap learning test, two seeds and a second thread count: a row per asserted quantity,
    a column per run, every value present."""
    run_benchmark(
        "learning_margins.py",
        "--seeds",
        "0",
        "1",
        "--threads",
        "1",
        "2",
        "--workers",
        "1",
        "--paths",
        "tests/test_learning_value_decomp.py",
        "-k",
        "two_step",
        "--out",
        str(tmp_path),
        "--keep",
        str(tmp_path / "records.jsonl"),
    )
    table = (tmp_path / "learning_margins.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| test "))
    assert [cell.strip() for cell in header.split("|")[4:7]] == ["seed 0", "seed 1", "seed 0, 2 threads"], header
    rows = [line for line in table.splitlines() if line.startswith("| test_two_step_game")]
    assert len(rows) == 2 and all("—" not in row for row in rows), rows
    records = (tmp_path / "records.jsonl").read_text().splitlines()
    assert len(records) == 6  # 2 quantities x 3 runs


def test_profile_training_accounts_for_the_whole_run(tmp_path):
    run_benchmark("profile_training.py", "--quick", "--out", str(tmp_path))
    text = (tmp_path / "profile_training_cpu.md").read_text()
    phase_table, operator_table = text.split("\n## The ")
    assert "aten::" in operator_table  # torch.profiler's operators
    rows = [line.split("|")[1:-1] for line in phase_table.splitlines() if line.startswith("| mappo")]
    phases = {cells[1].strip(): float(cells[2]) for cells in rows}
    assert {"env step", "act", "storage", "update", "evaluation", "the rest"} <= set(phases)
    whole = next(value for name, value in phases.items() if name.startswith("**whole run**"))
    assert whole > 0 and all(phases[name] >= 0 for name in ("env step", "act", "storage", "update", "evaluation", "logging"))
    assert phases["env step"] > 0 and phases["act"] > 0 and phases["update"] > 0  # the timers saw the loop's calls


def test_peers_quick_mode_writes_its_tables_and_plots(tmp_path):
    """Ours always; JaxMARL's rows where its interpreter is set up (make bench-peers), else rows that say it was not run."""
    jax_python = ROOT / ".venv-peers" / "bin" / "python"
    run_benchmark("peers.py", "--quick", "--out", str(tmp_path), "--jax-python", str(jax_python), timeout=900)
    table = (tmp_path / "peers_cpu.md").read_text()
    assert "command: python benchmarks/peers.py --quick" in table and "load average" in table
    rows = (
        "| mappo (ours), 1 core ",
        "| ippo (ours), all cores ",
        "| JaxMARL IPPO-FF, 1 core ",
        "| JaxMARL IPPO-FF, all cores ",
        "| ours: batched step, 1 thread(s) ",
        "| ours: compiled rollout, rewards kept, 1 thread(s) ",
        "| ours: compilation, compiled rollout, every field kept (s) ",
        "| PettingZoo step, single instance (steps/s) ",
    )
    for row in rows:
        assert row in table, row
    if jax_python.exists():
        assert "| JaxMARL: lax.scan of steps " in table and "| ours' best / JaxMARL's best " in table and "not run" not in table
    else:
        assert "not run: no peers' interpreter (make bench-peers)" in table
    for plot in ("peers_cpu_throughput.png", "peers_cpu_learning.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gpu_check_quick_mode_runs_every_step(tmp_path):
    """Without CUDA the quick mode runs each step at toy sizes on the CPU (the CUDA tests are skipped)."""
    run_benchmark("gpu_check.py", "--quick", "--out", str(tmp_path), timeout=900)
    table = (tmp_path / "gpu_check_cuda.md").read_text()
    steps = (
        "| pytest -m cuda ",
        "| env throughput ",
        "| train_speed (qmix, mappo) ",
        "| compile_speed (mappo) ",
        "| mappo to -60 ",
        "| compiled env throughput ",
    )
    for step in steps:
        assert step in table, step
    assert "failed" not in table and "timed out" not in table
    assert re.search(r"\| compiled env throughput\s+\| passed ", table), table
    assert "Environment throughput, compiled steps" in (tmp_path / "env_throughput_compiled_cpu.md").read_text()


def test_gpu_check_refuses_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the refusal is for machines without one")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "no CUDA device visible" in done.stderr


def test_inductor_bools_quick_mode_measures_both_variants(tmp_path):
    run_benchmark("inductor_bools.py", "--quick", "--out", str(tmp_path))
    table = (tmp_path / "inductor_bools_cpu.md").read_text()
    assert "C++ compiler: " in table and "| inductor's flags | -fno-tree-loop-vectorize dropped |" in table
    for measure in ("compiled `x <= 0` (bool out)", "compiled `x.relu()` (float out)", "eager `x <= 0` (control)"):
        assert re.search(rf"\| {re.escape(measure)}, ns per element +\| [0-9.]+ +\| [0-9.]+ +\| [0-9.]+x", table), measure


@pytest.mark.skipif(sys.platform != "linux", reason="inductor passes the flag to GCC on Linux")
def test_inductor_bools_drops_the_flag_only_inside_its_block():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from inductor_bools import FLAG, flag_dropped
    from torch._inductor import cpp_builder

    def flags():
        return cpp_builder._get_optimization_cflags("g++")[0]

    assert FLAG in flags()  # what inductor passes GCC on Linux (torch 2.13)
    with flag_dropped():
        assert FLAG not in flags() and "O3" in flags()
    assert FLAG in flags()


def test_cuda_venv_sees_the_packages_of_a_python_that_is_itself_a_venv(tmp_path):
    """make gpu-check's .venv-cuda, made from a Python inside a virtual environment (as on the lent GPU
    machines, where that environment holds the CUDA torch): --system-site-packages alone does not see
    that environment's torch; tools/share_site_packages.py makes it, after the new environment's own."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests run outside a virtual environment: nothing to share beyond --system-site-packages")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    where_torch = [python, "-c", "import torch; print(torch.__file__)"]
    assert subprocess.run(where_torch, capture_output=True, text=True).returncode != 0
    subprocess.run([sys.executable, str(ROOT / "tools" / "share_site_packages.py"), str(venv)], check=True, capture_output=True)
    import torch

    assert subprocess.run(where_torch, capture_output=True, text=True, check=True).stdout.strip() == torch.__file__
    path = subprocess.run([python, "-c", "import sys; print(sys.path)"], capture_output=True, text=True, check=True).stdout
    assert path.index(str(venv)) < path.index(str(Path(torch.__file__).parents[1]))  # its own packages first
