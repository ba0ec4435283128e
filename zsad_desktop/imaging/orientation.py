"""EXIF/TIFF orientation (tag 274) applied to numpy arrays of any bit depth.

Pillow's `ImageOps.exif_transpose` does this for images Pillow decodes; the
16-bit colour PNGs (OpenCV) and TIFFs (tifffile) are turned here instead, the
same eight ways.
"""

from __future__ import annotations

import numpy as np

ORIENTATION_TAG = 0x0112


def apply_orientation(pixels: np.ndarray, orientation: int | None) -> np.ndarray:
    """Turn stored pixels into the upright view the orientation tag describes."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(pixels, -1)  # a quarter turn clockwise
    if orientation == 7:
        return np.rot90(pixels, 2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels  # 1, missing or invalid: as stored


def swaps_sides(orientation: int | None) -> bool:
    """True where the upright view is the stored one turned by a quarter (width and height swap)."""
    return orientation in (5, 6, 7, 8)
