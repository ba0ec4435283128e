"""numpy arrays to Qt images (copies, so Qt never points into freed memory)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from zsad_desktop.imaging.overlay import colourise


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w, _ = rgba.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def heatmap_pixmap(heatmap01: np.ndarray, colour_map: str, opacity: float) -> QPixmap:
    colour = colourise(heatmap01, colour_map)
    alpha = np.full(heatmap01.shape + (1,), int(255 * opacity), np.uint8)
    return QPixmap.fromImage(rgba_to_qimage(np.concatenate([colour, alpha], axis=2)))


def mask_pixmap(mask: np.ndarray, rgb: tuple[int, int, int], opacity: float, outline: bool = False) -> QPixmap:
    import cv2

    mask = np.asarray(mask, bool)
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (*rgb, int(255 * opacity))
    if outline:
        edge = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        rgba[edge] = (*rgb, 255)
    return QPixmap.fromImage(rgba_to_qimage(rgba))


def colour_bar(colour_map: str, width: int = 16, height: int = 160) -> QPixmap:
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    return QPixmap.fromImage(rgb_to_qimage(colourise(ramp, colour_map)))
