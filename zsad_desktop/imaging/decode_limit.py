"""The largest image decoded whole, checked from the header before any pixel is decoded.

PNG, JPEG, BMP, GIF, WebP, TIFFs that cannot be read by regions and DICOM frames are
decoded into memory in one piece, with a few working copies on top (a 30,000 x 30,000
PNG of 870 KB took 5.3 GB). Such images above `max_decode_pixels()` are refused with a
message that names the limit and how to raise it. Plain TIFFs that tiled prediction
reads region by region (`imaging.regions`) never meet this limit there.

The limit is ZSAD_MAX_DECODE_PIXELS in the environment (a number of pixels, e.g.
900000000 for 30,000 x 30,000), else DEFAULT_MAX_PIXELS.
"""

from __future__ import annotations

import os
from pathlib import Path

from zsad_desktop.imaging.loaded import ImageLoadError

ENV_VARIABLE = "ZSAD_MAX_DECODE_PIXELS"
#: 20,000 x 20,000: a wafer or line-scan image still opens; peak memory about 2.5 GB for 8-bit RGB
DEFAULT_MAX_PIXELS = 20_000 * 20_000


def max_decode_pixels() -> int:
    """The limit in force: the environment's, when set to a positive whole number, else the default."""
    text = os.environ.get(ENV_VARIABLE, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(
            f"{ENV_VARIABLE}={os.environ[ENV_VARIABLE]!r}: expected a positive number of pixels, "
            f"e.g. {30_000 * 30_000} for 30,000 x 30,000"
        )
    return value


def refuse_if_too_large(path: Path | str, width: int, height: int, kind: str) -> None:
    """`ImageLoadError` when a `kind` image of `width` x `height` is over the limit to decode whole."""
    limit = max_decode_pixels()
    if width * height > limit:
        raise ImageLoadError(
            path,
            f"{width:,} x {height:,} pixels ({width * height / 1e6:,.0f} megapixels) is more than the "
            f"{limit / 1e6:,.0f} megapixels decoded whole ({kind}); set {ENV_VARIABLE} to a larger number "
            "of pixels to open it, or store it as a tiled TIFF, which is read by regions",
        )
