"""Generate the documentation site's sources: one page per environment and per algorithm.

    python docs/build.py            # writes docs/src/ (then: mkdocs build, or make docs)

Everything comes from the code, so the pages cannot drift from it:

* an environment's page is its module docstring (the PettingZoo-style table, the rules, the
  arguments) under a picture of its first state, rendered with ``render_mode="rgb_array"``;
* an algorithm's page is its family's module docstring, the table of its hyper-parameters
  (defaults and attribute docstrings of its config dataclass, the ones ``marl-train --help``
  shows) and its tuned presets;
* the index lists both, with the first line of each docstring.

``docs/src/`` is generated (not committed); ``mkdocs.yml`` at the repository root points at it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import marl_envs  # noqa: E402
from marl_baselines.algos import ALGORITHMS  # noqa: E402
from marl_baselines.config import PRESETS, field_docs  # noqa: E402

__all__ = ["build", "env_page", "algorithm_page", "png_bytes"]


def png_bytes(image: np.ndarray) -> bytes:
    """An ``[H, W, 3]`` uint8 image as PNG file bytes (8-bit RGB, no filtering)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an [H, W, 3] uint8 image, got shape {image.shape} and dtype {image.dtype}")
    height, width, _ = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + image[y].tobytes() for y in range(height))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _markdown(doc: str) -> str:
    """Sphinx roles (``:class:`~a.b.C```) as markdown code spans (`` `C` ``, or the full path without ``~``)."""
    return re.sub(r":\w+:`(~?)([\w.]+)`", lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", doc)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].rstrip(".") if text else ""


def env_module(env_id: str):
    return importlib.import_module(marl_envs.spec(env_id).entry_point.split(":")[0])


def env_page(env_id: str, image_name: str) -> str:
    """The markdown page of one env: a title, its picture, its module docstring."""
    doc = _markdown(inspect.getdoc(env_module(env_id)) or "")
    summary, _, body = doc.partition("\n")
    return f"# {env_id}\n\n{summary}\n\n![{env_id} after reset(seed=0)]({image_name})\n\n{body.strip()}\n"


def env_picture(env_id: str) -> np.ndarray:
    env = marl_envs.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    env.close()
    return np.ascontiguousarray(image, dtype=np.uint8)


def _families() -> dict[str, list[str]]:
    """Algorithm names grouped by the module that implements them (one page per algorithm)."""
    groups: dict[str, list[str]] = {}
    for name, spec in ALGORITHMS.items():
        groups.setdefault(spec.config_class.__module__, []).append(name)
    return groups


def _cell(value) -> str:
    return str(value).replace("|", "\\|")


def algorithm_page(name: str) -> str:
    """The markdown page of one algorithm: family docstring, hyper-parameter table, presets, usage."""
    spec = ALGORITHMS[name]
    module = importlib.import_module(spec.config_class.__module__)
    siblings = [other for other in _families()[spec.config_class.__module__] if other != name]
    lines = [f"# {name}", "", f"{spec.description[0].upper()}{spec.description[1:]}.", ""]
    if siblings:
        lines += [f"Implemented with {', '.join(f'[{s}]({s}.md)' for s in siblings)} in `{module.__name__}`.", ""]
    lines += [
        _markdown(inspect.getdoc(module) or ""),
        "",
        "## Train",
        "",
        "```bash",
        f"marl-train {name} ENV [--key value ...]",
        f"marl-train {name} --help",
        "```",
        "",
    ]
    if spec.required_env is not None:
        lines += [f"Trains on `{spec.required_env}` only, through its native (batched) implementation.", ""]
    elif spec.discrete_only:
        lines += ["Discrete actions only: continuous envs of the suite take `--env-arg continuous_actions=False`.", ""]
    if spec.needs_episode_limit:
        lines += ["Needs an env with an episode limit (`max_cycles`): it stores whole episodes.", ""]
    docs = field_docs(spec.config_class)
    lines += [
        "## Hyper-parameters",
        "",
        f"`{spec.config_class.__name__}`; every field is a `marl-train` option (`--{'{name}'}` with dashes).",
        "",
    ]
    lines += ["| option | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(spec.config_class):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        lines.append(f"| `--{f.name.replace('_', '-')}` | `{_cell(default)}` | {_cell(docs.get(f.name, ''))} |")
    presets = [(env, preset) for (algo, env), preset in PRESETS.items() if algo == name]
    lines += ["", "## Presets", ""]
    if presets:
        lines += ["`marl-train` applies these when it trains this algorithm on the env (`--no-preset` turns them off).", ""]
        lines += ["| env | run settings | hyper-parameters | env arguments |", "|---|---|---|---|"]
        for env, preset in presets:
            cells = [", ".join(f"`{k}={v}`" for k, v in preset.get(part, {}).items()) or "-" for part in ("run", "algo", "env")]
            lines.append(f"| {env} | " + " | ".join(cells) + " |")
    else:
        lines.append("None: the defaults above apply.")
    return "\n".join(lines) + "\n"


def index_page() -> str:
    lines = [
        "# marl-suite",
        "",
        "Multi-agent reinforcement-learning environments that speak the PettingZoo API, each written once as a",
        "batched torch implementation, and the baselines that train on them. Set-up, quick start and",
        "benchmark tables: the repository's README.",
        "",
        "## Environments",
        "",
        "| env | what it is |",
        "|---|---|",
    ]
    for env_id in marl_envs.list_envs():
        lines.append(f"| [{env_id}](envs/{env_id}.md) | {_cell(_first_line(inspect.getdoc(env_module(env_id))))} |")
    lines += ["", "## Algorithms", "", "| algorithm | what it is |", "|---|---|"]
    for name, spec in ALGORITHMS.items():
        lines.append(f"| [{name}](algorithms/{name}.md) | {_cell(spec.description)} |")
    return "\n".join(lines) + "\n"


def build(out: Path) -> list[Path]:
    """Write the site's sources under ``out`` (replacing it); returns the files written."""
    if out.exists():
        shutil.rmtree(out)
    (out / "envs").mkdir(parents=True)
    (out / "algorithms").mkdir()
    written = []

    def write(path: Path, content: str | bytes) -> None:
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
        written.append(path)

    write(out / "index.md", index_page())
    for env_id in marl_envs.list_envs():
        write(out / "envs" / f"{env_id}.png", png_bytes(env_picture(env_id)))
        write(out / "envs" / f"{env_id}.md", env_page(env_id, f"{env_id}.png"))
    for name in ALGORITHMS:
        write(out / "algorithms" / f"{name}.md", algorithm_page(name))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "src", help="where to write the sources (default: docs/src)")
    args = parser.parse_args()
    written = build(args.out)
    print(f"wrote {len(written)} files under {args.out}")


if __name__ == "__main__":
    main()
