"""Heatmap colouring and blending for display, and heatmaps as 16-bit PNG pixels."""

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
PNG16_TOP = 65535


def colourise(heatmap01: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """A (H, W) map in 0..1 (clipped; NaN as 0) to (H, W, 3) RGB uint8."""
    if colormap not in COLOUR_MAPS:
        raise ValueError(f"unknown colour map {colormap!r}; choose one of {', '.join(COLOUR_MAPS)}")
    heatmap01 = np.asarray(heatmap01)
    if heatmap01.ndim != 2:
        raise ValueError(f"a heatmap is (H, W), got shape {heatmap01.shape}")
    index = np.clip(np.nan_to_num(heatmap01.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(index, COLOUR_MAPS[colormap])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def blend(rgb8: np.ndarray, colour: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """`colour` over `rgb8` (both (H, W, 3) uint8) with opacity `alpha`: one number, or an
    (H, W) map in 0..1 (e.g. the heatmap itself, so cold areas stay clear)."""
    if rgb8.shape != colour.shape:
        raise ValueError(f"image {rgb8.shape} and overlay {colour.shape} differ in shape")
    if np.ndim(alpha) == 0:
        weight = float(np.clip(alpha, 0.0, 1.0))
        return cv2.addWeighted(rgb8, 1.0 - weight, colour, weight, 0.0)
    weights = np.clip(np.nan_to_num(np.asarray(alpha, np.float32)), 0.0, 1.0)
    if weights.shape != rgb8.shape[:2]:
        raise ValueError(f"alpha map {weights.shape} does not match the image {rgb8.shape[:2]}")
    weights = weights[..., None]
    mixed = rgb8.astype(np.float32) * (1.0 - weights) + colour.astype(np.float32) * weights
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def heatmap_to_png16(heatmap01: np.ndarray) -> np.ndarray:
    """0..1 (clipped; NaN as 0) to uint16 0..65535 for a lossless-enough PNG (steps of 1/65535)."""
    values = np.clip(np.nan_to_num(np.asarray(heatmap01, np.float32)), 0.0, 1.0)
    return np.round(values * PNG16_TOP).astype(np.uint16)


def png16_to_heatmap(pixels: np.ndarray) -> np.ndarray:
    """The inverse of `heatmap_to_png16`, as float32 0..1."""
    return np.asarray(pixels, np.float32) / PNG16_TOP
