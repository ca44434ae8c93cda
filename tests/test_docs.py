"""The documentation generator (docs/build.py): a page per env and per algorithm, built from the code."""

from __future__ import annotations

import dataclasses
import importlib.util
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import marl_envs
from marl_baselines.algos import ALGORITHMS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def docs_build():
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decode_png(data: bytes) -> np.ndarray:
    """Decode the unfiltered 8-bit RGB PNGs the generator writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        position += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + 3 * width)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:].reshape(height, width, 3)


def test_png_round_trip(docs_build):
    image = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(docs_build.png_bytes(image)), image)
    with pytest.raises(ValueError, match=r"expected an \[H, W, 3\] uint8 image, got shape \(7, 5\)"):
        docs_build.png_bytes(image[..., 0])


def test_a_page_and_a_picture_per_env_and_a_page_per_algorithm(docs_build, tmp_path):
    written = {path.relative_to(tmp_path).as_posix() for path in docs_build.build(tmp_path / "src")}
    envs, algos = marl_envs.list_envs(), list(ALGORITHMS)
    expected = {"src/index.md"} | {f"src/envs/{e}.{ext}" for e in envs for ext in ("md", "png")} | {f"src/algorithms/{a}.md" for a in algos}
    assert written == expected
    index = (tmp_path / "src" / "index.md").read_text()
    assert all(f"(envs/{e}.md)" in index for e in envs) and all(f"(algorithms/{a}.md)" in index for a in algos)

    for env_id in envs:
        page = (tmp_path / "src" / "envs" / f"{env_id}.md").read_text()
        assert page.startswith(f"# {env_id}\n") and f"({env_id}.png)" in page
        assert "## Arguments" in page  # the module docstring's sections are on the page
        picture = decode_png((tmp_path / "src" / "envs" / f"{env_id}.png").read_bytes())
        env = marl_envs.make(env_id, render_mode="rgb_array")
        env.reset(seed=0)
        np.testing.assert_array_equal(picture, env.render())  # the env's own first frame

    for name, spec in ALGORITHMS.items():
        page = (tmp_path / "src" / "algorithms" / f"{name}.md").read_text()
        assert page.startswith(f"# {name}\n") and ":class:" not in page
        for field in dataclasses.fields(spec.config_class):
            assert f"| `--{field.name.replace('_', '-')}` |" in page, (name, field.name)


def test_presets_appear_on_their_algorithm_pages(docs_build):
    page = docs_build.algorithm_page("qmix")
    assert "| goal_grid_v0 |" in page and "`total_steps=60000`" in page
