"""The training benchmark scripts run end to end in their --quick mode (they must never rot)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["train_speed.py", "returns_table.py"])
def test_quick_mode_prints_its_table(script):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "|---" in done.stdout and "command: python benchmarks/" in done.stdout
