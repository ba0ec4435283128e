"""Tiles and reduced levels of a large image, for a viewer that draws only what is on screen (Qt-free).

Level 0 is the array itself; level l halves level l-1, so a level-l pixel
stands for a 2^l x 2^l block of level 0 (the last row and column of an odd
side stand for a half block). Because every level is made of whole blocks,
a changed box of a mask can be reduced again on its own (`patch_levels`)
and match a full rebuild exactly.

The viewer draws the level whose pixels are as small as possible but not
smaller than a screen pixel (`level_for_scale`): a 20,000 px image fitted
into 800 screen pixels draws level 4 (1,250 px), a few tiles, never the 1,600
full-resolution ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

TILE = 512  # pixels a side; a tile of RGB pixels is about 1 MB once on screen

Box = tuple[int, int, int, int]  # top, left, height, width (as the mask editor reports a change)


@dataclass(frozen=True)
class TileGrid:
    """Square tiles over a width x height array; the last row and column may be smaller."""

    width: int
    height: int
    tile: int = TILE

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1 or self.tile < 1:
            raise ValueError(
                f"a tile grid needs positive sizes, not {self.width} x {self.height} in tiles of {self.tile}"
            )

    @property
    def columns(self) -> int:
        return -(-self.width // self.tile)

    @property
    def rows(self) -> int:
        return -(-self.height // self.tile)

    def tile_rect(self, row: int, column: int) -> tuple[int, int, int, int]:
        """x, y, width, height of one tile."""
        x, y = column * self.tile, row * self.tile
        return x, y, min(self.tile, self.width - x), min(self.tile, self.height - y)

    def tiles_in(self, x0: float, y0: float, x1: float, y1: float) -> list[tuple[int, int]]:
        """(row, column) of every tile that the rectangle [x0, x1) x [y0, y1) touches, clipped to the grid."""
        c0, r0 = max(0, math.floor(x0 / self.tile)), max(0, math.floor(y0 / self.tile))
        c1 = min(self.columns, math.ceil(x1 / self.tile))
        r1 = min(self.rows, math.ceil(y1 / self.tile))
        return [(r, c) for r in range(r0, r1) for c in range(c0, c1)]


def level_shape(height: int, width: int, level: int) -> tuple[int, int]:
    """The (height, width) of a level: each halving rounds up."""
    factor = 1 << level
    return -(-height // factor), -(-width // factor)


def level_count(height: int, width: int, tile: int = TILE) -> int:
    """Levels from full size down to the first that fits in one tile (at least one: the image itself)."""
    count = 1
    while max(level_shape(height, width, count - 1)) > tile:
        count += 1
    return count


def level_for_scale(scale: float, count: int) -> int:
    """The coarsest level whose pixels are still at least a screen pixel at `scale` (screen pixels per image pixel)."""
    if scale <= 0:
        raise ValueError(f"a zoom scale is positive, not {scale}")
    level = 0
    while level + 1 < count and (1 << (level + 1)) * scale <= 1.0 + 1e-9:
        level += 1
    return level


def choose_level(
    desired: int, available: Iterable[int], tiles_needed: Callable[[int], int], budget: int
) -> int:
    """The level to draw while some are still being built: the desired one, else the nearest finer one
    that needs at most `budget` tiles (sharper), else the nearest coarser one (a blurred moment), else the finest."""
    ready = sorted(set(available))
    if not ready:
        raise ValueError("no level is available to draw")
    if desired in ready:
        return desired
    for level in reversed([lv for lv in ready if lv < desired]):
        if tiles_needed(level) <= budget:
            return level
    coarser = [lv for lv in ready if lv > desired]
    return coarser[0] if coarser else ready[0]


# reducing --------------------------------------------------------------------------------------------
def _pair(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray:
    if how == "max":
        return np.maximum(a, b)
    if np.issubdtype(a.dtype, np.integer):
        return ((a.astype(np.uint32) + b + 1) // 2).astype(a.dtype)
    return ((a.astype(np.float32) + b) / 2).astype(a.dtype)


def _halve_even(a: np.ndarray, how: str) -> np.ndarray:
    if how == "mean" and a.dtype != bool:
        return cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)
    # max of each 2 x 2 block (for a bool mask: any), on strided views without a padded copy
    return np.maximum(np.maximum(a[0::2, 0::2], a[1::2, 0::2]), np.maximum(a[0::2, 1::2], a[1::2, 1::2]))


def halve(a: np.ndarray, how: str = "mean") -> np.ndarray:
    """One level down: each 2 x 2 block to its mean (image pixels) or its max (heatmaps: a small hot
    spot stays visible when zoomed out; masks: a thin region does too). An odd side's last row or
    column is reduced as if it were repeated."""
    if how not in ("mean", "max"):
        raise ValueError(f"reduce by 'mean' or 'max', not {how!r}")
    h, w = a.shape[:2]
    eh, ew = h - h % 2, w - w % 2
    out = np.empty(((h + 1) // 2, (w + 1) // 2) + a.shape[2:], a.dtype)
    if eh and ew:
        out[: eh // 2, : ew // 2] = _halve_even(a[:eh, :ew], how)
    if w % 2 and eh:
        out[: eh // 2, -1] = _pair(a[0:eh:2, -1], a[1:eh:2, -1], how)
    if h % 2 and ew:
        out[-1, : ew // 2] = _pair(a[-1, 0:ew:2], a[-1, 1:ew:2], how)
    if h % 2 and w % 2:
        out[-1, -1] = a[-1, -1]
    return out


def build_levels(
    array: np.ndarray, count: int, how: str = "mean", cancelled: Callable[[], bool] = lambda: False
) -> Iterator[tuple[int, np.ndarray]]:
    """Levels 1 .. count-1, each from the one before, as (level, array); stops early once `cancelled()`."""
    level = array
    for index in range(1, count):
        if cancelled():
            return
        level = halve(level, how)
        yield index, level


def preview(array: np.ndarray, level: int) -> np.ndarray:
    """A stand-in for `level` in milliseconds (every 2^level-th pixel, no averaging), shown until the real one is built."""
    step = 1 << level
    return np.ascontiguousarray(array[::step, ::step])


def patch_levels(levels: list[np.ndarray], box: Box, how: str) -> list[Box]:
    """Reduce again the part of levels 1.. under `box` (a change in level 0), in place; the box at each level."""
    top, left, height, width = box
    bottom, right = top + height, left + width
    boxes = [box]
    for index in range(1, len(levels)):
        top, left, bottom, right = top // 2, left // 2, -(-bottom // 2), -(-right // 2)
        finer = levels[index - 1]
        levels[index][top:bottom, left:right] = halve(finer[2 * top : 2 * bottom, 2 * left : 2 * right], how)
        boxes.append((top, left, bottom - top, right - left))
    return boxes
