"""Heatmap colouring and blending for display and exported heatmap PNGs."""

from __future__ import annotations

import cv2
import numpy as np

COLOUR_MAPS = {
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "magma": cv2.COLORMAP_MAGMA,
}


def colourise(heatmap01: np.ndarray, colour_map: str = "jet") -> np.ndarray:
    """A 0..1 map to (H, W, 3) RGB uint8."""
    index = np.clip(np.nan_to_num(heatmap01) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(index, COLOUR_MAPS[colour_map])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def blend(rgb8: np.ndarray, colour: np.ndarray, alpha: float) -> np.ndarray:
    return cv2.addWeighted(rgb8, 1.0 - alpha, colour, alpha, 0.0)
