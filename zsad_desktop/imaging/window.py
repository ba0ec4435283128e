"""Window/level: map a window of a wide value range onto 0..255 for display.

Used for 16-bit photographs, CT and other DICOM images, which keep their full
range in memory; only what is shown (or fed to the detector) is 8 bit.
"""

from __future__ import annotations

import numpy as np

#: (centre, width) presets radiologists know by name
PRESETS: dict[str, tuple[float, float]] = {
    "CT brain": (40.0, 80.0),
    "CT subdural": (75.0, 215.0),
    "CT bone": (400.0, 1800.0),
    "CT lung": (-600.0, 1500.0),
    "CT soft tissue": (50.0, 400.0),
}
CHUNK_ROWS = 2048


def apply_window(pixels: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Linear window: centre - width/2 -> 0, centre + width/2 -> 255, clipped; in row chunks."""
    width = max(float(width), 1e-6)
    low = float(centre) - width / 2
    scale = 255.0 / width
    out = np.empty(pixels.shape, np.uint8)
    for start in range(0, pixels.shape[0], CHUNK_ROWS):
        block = pixels[start : start + CHUNK_ROWS].astype(np.float32)
        out[start : start + CHUNK_ROWS] = np.clip((block - low) * scale + 0.5, 0, 255).astype(np.uint8)
    return out


def percentile_window(pixels: np.ndarray, low: float = 0.5, high: float = 99.5, max_samples: int = 1_000_000) -> tuple[float, float]:
    """(centre, width) spanning the given percentiles; large images are subsampled."""
    flat = pixels.reshape(-1)
    step = max(1, flat.size // max_samples)
    lo, hi = np.percentile(flat[::step].astype(np.float64), [low, high])
    if hi <= lo:
        hi = lo + 1.0
    return float((lo + hi) / 2), float(hi - lo)


def full_range_window(bit_depth: int) -> tuple[float, float]:
    top = float(2**bit_depth - 1)
    return top / 2, top
