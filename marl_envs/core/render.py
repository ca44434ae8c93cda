"""Pictures of grid worlds as uint8 RGB arrays, with NumPy only (no display, no pygame)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["AGENT_COLOURS", "TARGET_COLOUR", "grid_image"]

AGENT_COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207))
TARGET_COLOUR = (230, 180, 20)
_BACKGROUND = (245, 245, 245)
_LINES = (200, 200, 200)
_CELL = 24


def grid_image(height: int, width: int, cells: Iterable[tuple[int, int, tuple[int, int, int], str]]) -> np.ndarray:
    """A ``height x width`` grid, ``_CELL`` pixels a cell, with marks drawn in order.

    Each mark is ``(row, col, colour, kind)``: ``"goal"`` fills the cell with a pale tint,
    ``"agent"`` draws a square inset by a quarter cell, ``"target"`` a smaller diamond-ish square,
    ``"shade"`` darkens the cell slightly (a view window).
    """
    image = np.empty((height * _CELL + 1, width * _CELL + 1, 3), np.uint8)
    image[:] = _BACKGROUND
    image[::_CELL, :] = _LINES
    image[:, ::_CELL] = _LINES
    for row, col, colour, kind in cells:
        top, left = row * _CELL + 1, col * _CELL + 1
        block = image[top : top + _CELL - 1, left : left + _CELL - 1]
        if kind == "goal":
            block[:] = (np.asarray(colour) * 0.35 + 255 * 0.65).astype(np.uint8)
        elif kind == "shade":
            block[:] = (block * 0.9).astype(np.uint8)
        else:
            inset = _CELL // 4 if kind == "agent" else _CELL // 3
            block[inset:-inset, inset:-inset] = colour
    return image


def bars_image(values, height: int = 96, bar: int = 10, gap: int = 4) -> np.ndarray:
    """A bar chart of ``values`` around a zero line (positive up, blue; negative down, red).

    Bars are scaled by ``max(1, max |value|)``, so values within [-1, 1] keep their true height.
    """
    values = np.asarray(values, np.float64).ravel()
    scale = max(1.0, float(np.abs(values).max(initial=0.0)))
    half = height // 2
    image = np.empty((height + 1, gap + len(values) * (bar + gap), 3), np.uint8)
    image[:] = _BACKGROUND
    image[half] = _LINES
    for i, value in enumerate(values):
        left = gap + i * (bar + gap)
        size = int(round(abs(value) / scale * (half - 2)))
        if value >= 0:
            image[half - size : half, left : left + bar] = AGENT_COLOURS[0]
        else:
            image[half + 1 : half + 1 + size, left : left + bar] = AGENT_COLOURS[1]
    return image
