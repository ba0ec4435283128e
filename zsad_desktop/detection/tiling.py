"""Tiled inference for images larger than the detector's input.

The image is cut into overlapping tiles, each scored at the detector's input
size, and the tile heatmaps are blended back with weights that fall off
towards tile borders. Memory stays bounded: tiles are read from a region
reader (a numpy array or a memory-mapped file), blended in one horizontal
band of tiles at a time, and each finished band is handed to `sink` (to be
written to a memory-mapped full-resolution map) and reduced into a small map
for display. The whole float map of a 20,000 x 20,000 image never exists.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from zsad_desktop.detection.interface import Detector


class RegionReader(Protocol):
    shape: tuple[int, ...]  # (H, W) or (H, W, C)

    def __getitem__(self, key) -> np.ndarray: ...


@dataclass(frozen=True)
class TilingConfig:
    tile_size: int = 1036  # pixels of the image per tile (2x a 518 input: detail is kept, few tiles)
    overlap: int = 128  # pixels shared by neighbouring tiles
    display_max_side: int = 2048  # side of the reduced map kept for display
    batch_size: int = 4

    @classmethod
    def for_input_size(cls, input_size: int) -> TilingConfig:
        return cls(tile_size=2 * input_size, overlap=max(16, input_size // 4))

    def needs_tiling(self, height: int, width: int) -> bool:
        return max(height, width) > self.tile_size


@dataclass
class TiledDetection:
    score: float
    reduced_heatmap: np.ndarray  # float32, at most display_max_side on its long side
    scale: float  # reduced size / full size
    tiles: int


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    count = math.ceil((length - tile) / stride) + 1
    starts = [min(i * stride, length - tile) for i in range(count)]
    return sorted(set(starts))


def blend_weights(height: int, width: int, overlap: int) -> np.ndarray:
    """1 inside the tile, a linear ramp over `overlap` pixels at its borders."""

    def ramp(n: int) -> np.ndarray:
        if overlap <= 0:
            return np.ones(n, np.float32)
        edge = np.minimum(np.arange(n) + 1, np.arange(n)[::-1] + 1).astype(np.float32)
        return np.clip(edge / overlap, 1.0 / overlap, 1.0)

    return np.outer(ramp(height), ramp(width))


def _as_rgb(region: np.ndarray) -> np.ndarray:
    if region.ndim == 2:
        return np.repeat(region[..., None], 3, axis=2)
    return region[..., :3]


def tiled_predict(
    detector: Detector,
    image: RegionReader,
    config: TilingConfig = TilingConfig(),
    sink: Callable[[int, np.ndarray], None] | None = None,
    to_rgb8: Callable[[np.ndarray], np.ndarray] = _as_rgb,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TiledDetection:
    """Score a large image tile by tile.

    `sink(row, band)` receives finished rows of the full-resolution heatmap
    (float32, band of shape (rows, W)) from top to bottom.
    """
    height, width = image.shape[:2]
    ys = tile_starts(height, config.tile_size, config.overlap)
    xs = tile_starts(width, config.tile_size, config.overlap)
    th, tw = min(config.tile_size, height), min(config.tile_size, width)
    weights = blend_weights(th, tw, config.overlap)
    scale = min(1.0, config.display_max_side / max(height, width))
    reduced_shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    reduced_sum = np.zeros(reduced_shape, np.float32)
    reduced_count = np.zeros((reduced_shape[0], 1), np.float32)
    # The band covers rows [band_top, band_top + th) of the full map.
    band_sum = np.zeros((th, width), np.float32)
    band_weight = np.zeros((th, width), np.float32)
    band_top = 0
    best = -math.inf
    done, total = 0, len(ys) * len(xs)

    def flush(until: int) -> None:
        nonlocal band_top
        rows = until - band_top
        if rows <= 0:
            return
        finished = band_sum[:rows] / np.maximum(band_weight[:rows], 1e-12)
        if sink is not None:
            sink(band_top, finished)
        _reduce_into(reduced_sum, reduced_count, finished, band_top, scale)
        for band in (band_sum, band_weight):  # shift up in place: no second band in memory
            band[: th - rows] = band[rows:]
            band[th - rows :] = 0
        band_top = until

    for y in ys:
        flush(y)
        for start in range(0, len(xs), config.batch_size):
            if cancel is not None and cancel.is_set():
                raise InterruptedError("tiled prediction cancelled")
            chunk = xs[start : start + config.batch_size]
            tiles = [to_rgb8(np.asarray(image[y : y + th, x : x + tw])) for x in chunk]
            for x, detection in zip(chunk, detector.predict(tiles)):
                best = max(best, detection.score)
                offset = y - band_top
                band_sum[offset : offset + th, x : x + tw] += detection.heatmap * weights
                band_weight[offset : offset + th, x : x + tw] += weights
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    flush(height)
    reduced = reduced_sum / np.maximum(reduced_count, 1)
    return TiledDetection(float(best), reduced, scale, total)


def _reduce_into(
    acc_sum: np.ndarray, acc_count: np.ndarray, rows: np.ndarray, top: int, scale: float
) -> None:
    """Average finished full-resolution rows into the reduced map (area on columns, mean on rows)."""
    narrow = cv2.resize(rows, (acc_sum.shape[1], rows.shape[0]), interpolation=cv2.INTER_AREA)
    index = np.minimum(((top + np.arange(rows.shape[0])) * scale).astype(int), acc_sum.shape[0] - 1)
    np.add.at(acc_sum, index, narrow)
    np.add.at(acc_count, index, 1)
