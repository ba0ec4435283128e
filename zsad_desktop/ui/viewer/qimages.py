"""numpy arrays to Qt images (copies, so Qt never points into freed memory)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def pixels_to_qimage(pixels: np.ndarray) -> QImage:
    """An (H, W) grey or (H, W, 3+) RGB uint8 array; grey stays one byte a pixel."""
    if pixels.ndim == 3:
        return rgb_to_qimage(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"pixels are (H, W) or (H, W, 3), got shape {pixels.shape}")
    grey = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = grey.shape
    return QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
