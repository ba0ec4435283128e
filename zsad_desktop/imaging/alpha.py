"""Transparency: images are shown, and fed to the detector, composited on white as viewers show them."""

from __future__ import annotations

import numpy as np


def on_white(colour: np.ndarray, alpha: np.ndarray, top: float) -> np.ndarray:
    """`colour` over a white background with `alpha` (0..top), in `colour`'s dtype."""
    weight = alpha.astype(np.float32) / top
    if colour.ndim == 3 and weight.ndim == 2:
        weight = weight[..., None]
    mixed = colour.astype(np.float32) * weight + top * (1.0 - weight)
    if np.issubdtype(colour.dtype, np.integer):
        mixed = np.clip(mixed + 0.5, 0, top)
    return mixed.astype(colour.dtype)
