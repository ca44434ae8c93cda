"""The baselines reach the envs only through marl_envs' public API (DESIGN.md: the baselines know
environments through the PettingZoo API or the batched API), checked on every module's source.

Allowed: ``marl_envs`` and its public names; the PettingZoo modules ``marl_envs.<name>_v<k>``;
``marl_envs.core`` and its modules' public names; ``marl_envs.poker_analysis`` and the
``marl_envs.analysis`` package. Not allowed: anything under ``marl_envs.envs`` (an env's
internals), any other module of marl_envs, and any name or module starting with an underscore.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import marl_envs

PACKAGE = Path(__file__).resolve().parent.parent / "marl_baselines"
MODULES = sorted(PACKAGE.rglob("*.py"))
PUBLIC_MODULES = (
    re.compile(r"marl_envs\.core(\.[a-z][a-z0-9_]*)?"),
    re.compile(r"marl_envs\.poker_analysis"),
    re.compile(r"marl_envs\.analysis(\.[a-z][a-z0-9_]*)?"),
    re.compile(r"marl_envs\.[a-z][a-z0-9_]*_v\d+"),  # the PettingZoo modules: env, raw_env, parallel_env
)


def _allowed(module: str, names: list[str]) -> bool:
    """Whether ``from module import names`` (``import module`` when ``names`` is empty) stays in the public API."""
    if any(name.startswith("_") for name in names):
        return False
    if module == "marl_envs":
        return all(name in marl_envs.__all__ or any(p.fullmatch(f"marl_envs.{name}") for p in PUBLIC_MODULES) for name in names)
    return any(pattern.fullmatch(module) for pattern in PUBLIC_MODULES)


def violations(source: str) -> list[str]:
    """``line: import`` of every import of marl_envs in ``source`` outside the public API, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imports = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imports = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in imports:
            if (module == "marl_envs" or module.startswith("marl_envs.")) and not _allowed(module, names):
                found.append(f"{node.lineno}: {module}" + (f" import {', '.join(names)}" if names else ""))
    return found


def test_the_check_catches_what_it_must():
    assert violations("from marl_envs.envs.poker import PokerEnv") == ["1: marl_envs.envs.poker import PokerEnv"]
    assert violations("def f():\n    import marl_envs.envs.poker_rules") == ["2: marl_envs.envs.poker_rules"]
    assert violations("from marl_envs import envs, demo") and violations("from marl_envs.core.batched import _plain_tensors")
    assert violations("import marl_envs.throughput") and violations("from marl_envs.core._private import x")
    allowed = (
        "import marl_envs\nfrom marl_envs import EnvStep, make_batched, poker_v0\nfrom marl_envs.core.rng import seeds_for\n"
        "from marl_envs.poker_analysis import game\nfrom marl_envs.analysis.poker_strategies import FixedStrategy\n"
        "import marl_envs.poker_analysis\nfrom .nets import mlp\nimport torch"
    )
    assert violations(allowed) == []


def test_every_module_is_found():
    names = {path.relative_to(PACKAGE).as_posix() for path in MODULES}
    assert {"__init__.py", "vec/__init__.py", "vec/pettingzoo.py", "train.py", "algos/madvrl.py", "algos/ppo.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_marl_baselines_imports_only_the_public_api_of_marl_envs(path):
    assert violations(path.read_text()) == [], f"marl_baselines/{path.relative_to(PACKAGE).as_posix()} imports marl_envs internals"


SOURCES = sorted(
    p
    for top in ("marl_envs", "marl_baselines", "benchmarks", "tests", "examples", "docs", "tools")
    for p in (PACKAGE.parent / top).rglob("*.py")
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(PACKAGE.parent).as_posix())
def test_every_source_file_stays_under_600_lines(path):
    """A file past 600 lines holds more than one room: split it along its parts (issue 18's rule)."""
    assert len(path.read_text().splitlines()) < 600, f"{path.relative_to(PACKAGE.parent)}: split it"
