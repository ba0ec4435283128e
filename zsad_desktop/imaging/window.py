"""Window/level: map a window of a wide value range onto 0..255 for display.

Used for 16-bit photographs, CT and other DICOM images, which keep their full
range in memory; only what is shown (or fed to the detector) is 8 bit.
The window is linear: centre - width/2 -> 0, centre + width/2 -> 255,
clipped, rounded half up. (DICOM's own formula uses width - 1 and centre - 0.5;
the two differ by at most one grey level.)
"""

from __future__ import annotations

import numpy as np

#: (centre, width) in Hounsfield units, the presets radiologists know by name
PRESETS: dict[str, tuple[float, float]] = {
    "CT brain": (40.0, 80.0),
    "CT subdural": (75.0, 215.0),
    "CT stroke": (40.0, 40.0),
    "CT soft tissue": (50.0, 400.0),
    "CT lung": (-600.0, 1500.0),
    "CT bone": (400.0, 1800.0),
}
CHUNK_ELEMENTS = 1 << 22  # float32 scratch of 16 MiB per chunk, whatever the image size
MIN_WIDTH = 1e-6


def apply_window(pixels: np.ndarray, centre: float, width: float) -> np.ndarray:
    """`pixels` (any shape, any numeric dtype) as uint8 through the window (centre, width).

    uint8/uint16/bool go through a lookup table; other types are converted in row
    chunks so a 20k x 20k float image needs no full-size float copy. NaN shows as 0.
    """
    pixels = np.asarray(pixels)
    low, width = _low_and_width(centre, width)
    if pixels.dtype in (np.uint8, np.uint16, np.bool_):
        levels = np.arange(
            2 ** (8 * pixels.dtype.itemsize) if pixels.dtype != np.bool_ else 2, dtype=np.float64
        )
        table = _to_uint8(levels, low, width)
        return table[pixels.astype(np.intp, copy=False) if pixels.dtype == np.bool_ else pixels]
    out = np.empty(pixels.shape, np.uint8)
    if pixels.ndim == 0 or pixels.size == 0:
        out[...] = _to_uint8(pixels.astype(np.float64), low, width)
        return out
    rows = max(1, CHUNK_ELEMENTS // max(1, pixels[0].size))
    for start in range(0, pixels.shape[0], rows):
        out[start : start + rows] = _to_uint8(pixels[start : start + rows], low, width)
    return out


def percentile_window(
    pixels: np.ndarray, lo: float = 0.5, hi: float = 99.5, max_samples: int = 1_000_000
) -> tuple[float, float]:
    """(centre, width) spanning the `lo`..`hi` percentiles of the finite values.

    Large images are sampled by whole rows (all columns and channels kept). A flat
    image gets a window one level wide centred on its value: it shows as mid grey.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim >= 2 and pixels.size > max_samples:
        step = int(np.ceil(pixels.size / max_samples))
        pixels = pixels[::step]
    sample = pixels.reshape(-1)
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(sample.astype(np.float64, copy=False), [lo, hi])
    if high <= low or (high - low < 1.0 and sample.dtype.kind in "uib"):
        return float(low), 1.0
    return float((low + high) / 2), float(high - low)


def full_range_window(bit_depth: int) -> tuple[float, float]:
    """The window that shows every value of `bit_depth` bits, 0 black and the top white."""
    top = float(2**bit_depth - 1)
    return top / 2, top


def _low_and_width(centre: float, width: float) -> tuple[float, float]:
    width = max(float(width), MIN_WIDTH)
    return float(centre) - width / 2, width


def _to_uint8(values: np.ndarray, low: float, width: float) -> np.ndarray:
    work = np.float64 if values.dtype == np.float64 else np.float32  # lookup tables are built in float64
    # times 255 before dividing: exact halves (25 * 255 / 50 = 127.5) round up, not down by an ulp
    scaled = (values.astype(work) - work(low)) * work(255.0) / work(width) + work(0.5)
    np.clip(scaled, 0, 255, out=scaled)
    return np.nan_to_num(scaled, nan=0.0, copy=False).astype(np.uint8)
