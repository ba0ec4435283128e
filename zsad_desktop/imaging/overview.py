"""A small view of an image, for thumbnails: a large TIFF is read by rows or bands, never whole.

A 20,000 x 20,000 16-bit scan decoded whole for a 96 px thumbnail would cost
800 MB and seconds; here an uncompressed TIFF is sampled every n-th row from
its memory map, and a tiled or compressed one a band of rows at a time
(`regions.open_regions`). Other images are decoded as for display, then
sampled. The view is windowed as the viewer opens the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zsad_desktop.imaging.loader import pixels_to_rgb8
from zsad_desktop.imaging.regions import open_regions

BAND_ROWS = 512  # rows of a tiled or compressed TIFF decoded at a time


def read_overview_rgb8(path: Path | str, frame: int | None = None, side: int = 256) -> np.ndarray:
    """(h, w, 3) uint8, every n-th pixel of the image so that the longer side is `side` to 2 x `side`
    (the caller resizes it the rest of the way); `ImageLoadError` if it cannot be read."""
    with open_regions(path, frame) as regions:
        height, width = regions.shape[:2]
        step = max(1, max(height, width) // side)
        sampled = _every(regions.pixels, step)
        window = regions.default_window
    return pixels_to_rgb8(sampled, window)


def _every(pixels: Any, step: int) -> np.ndarray:
    if isinstance(pixels, np.ndarray):  # decoded, or memory-mapped: only the sampled rows are read
        return np.array(pixels[::step, ::step])
    rows = step * max(1, BAND_ROWS // step)  # a band starts on a sampled row
    # a copy of each sampled band, or the view would keep the whole band alive
    bands = [
        np.array(np.asarray(pixels[top : top + rows])[::step, ::step])
        for top in range(0, pixels.shape[0], rows)
    ]
    return np.concatenate(bands)
