"""One image too large for the detector's input, predicted tile by tile with bounded memory.

The image is read by regions (memory-mapped or decoded tile by tile where the
file allows, see `imaging.regions`), each tile windowed to 8 bit with one
window for the whole image, and the blended heatmap kept at full resolution
only while that stays small (`FULL_HEATMAP_MAX_PIXELS`). Larger images keep
the reduced map that tiling makes for display; the stored file records the
image size it covers, and readers stretch it over the image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zsad_desktop.app.workspace.detector_input import DetectorInput
from zsad_desktop.detection.interface import Detection, Detector
from zsad_desktop.detection.tiling import TilingConfig, tiled_predict
from zsad_desktop.imaging.regions import open_regions
from zsad_desktop.imaging.window import apply_window

#: heatmaps up to this many pixels are kept at full resolution (64 MiB as float32, 32 MiB on disk before
#: compression); larger ones as the reduced map, at most `TilingConfig.display_max_side` on a side
FULL_HEATMAP_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class TiledImageDetection(Detection):
    """A tiled prediction: `heatmap` is at full resolution, or reduced when `image_shape` is larger."""

    image_shape: tuple[int, int] = (0, 0)
    tiles: int = 0

    @property
    def reduced(self) -> bool:
        return tuple(self.heatmap.shape) != tuple(self.image_shape)


def predict_tiled(
    detector: Detector,
    path: Path,
    frame: int | None,
    detector_input: DetectorInput,
    tiling: TilingConfig,
    cancel: threading.Event | None = None,
    full_max_pixels: int | None = None,
) -> TiledImageDetection:
    """Score the image at `path` by tiles; `InterruptedError` when `cancel` is set between tiles.
    The heatmap is kept at full resolution up to `full_max_pixels` (default `FULL_HEATMAP_MAX_PIXELS`)."""
    full_max_pixels = FULL_HEATMAP_MAX_PIXELS if full_max_pixels is None else full_max_pixels
    with open_regions(path, frame) as regions:
        height, width = regions.shape[:2]
        window = detector_input.window_for(regions.pixels, regions.default_window)
        full = np.empty((height, width), np.float32) if height * width <= full_max_pixels else None
        sink = _into(full) if full is not None else None
        result = tiled_predict(
            detector, regions.pixels, tiling, sink=sink, to_rgb8=_tile_to_rgb8(window), cancel=cancel
        )
    heatmap = full if full is not None else result.reduced_heatmap
    return TiledImageDetection(result.score, heatmap, detector.model_id, (height, width), result.tiles)


def _into(full: np.ndarray) -> Callable[[int, np.ndarray], None]:
    def write(top: int, band: np.ndarray) -> None:
        full[top : top + band.shape[0]] = band

    return write


def _tile_to_rgb8(window: tuple[float, float] | None) -> Callable[[np.ndarray], np.ndarray]:
    """Each tile through the image's one window (never its own: tiles must agree on what grey means)."""

    def convert(region: np.ndarray) -> np.ndarray:
        pixels = region if window is None else apply_window(region, *window)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        return np.ascontiguousarray(pixels[..., :3])

    return convert
