"""numpy arrays to Qt images (copies, so Qt never points into freed memory)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
