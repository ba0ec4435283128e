"""TIFF pages through tifffile, which keeps 12/16-bit, signed and float samples.

The first page is the image (later pages of industrial and slide TIFFs are
usually thumbnails or reduced resolutions). Colour models tifffile leaves
raw (CMYK, YCbCr, CIELab) and codecs it lacks without imagecodecs (LZW,
JPEG) are handed to Pillow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile
from tifffile import PHOTOMETRIC

from zsad_desktop.imaging.alpha import on_white
from zsad_desktop.imaging.loaded import ImageInfo, ImageLoadError
from zsad_desktop.imaging.orientation import ORIENTATION_TAG, apply_orientation, swaps_sides

TIFFFILE_MODELS = (PHOTOMETRIC.MINISWHITE, PHOTOMETRIC.MINISBLACK, PHOTOMETRIC.RGB, PHOTOMETRIC.PALETTE)


def read_tiff(path: Path, pillow_reader: Callable[[Path], np.ndarray]) -> tuple[np.ndarray, int]:
    """(pixels, bit depth) of the first page; `pillow_reader` is the fallback decoder."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        if page.photometric not in TIFFFILE_MODELS:
            return _with_pillow(path, pillow_reader, None)
        try:
            pixels = page.asarray()
        except (KeyError, ValueError) as exc:
            if "imagecodecs" not in str(exc):
                raise
            return _with_pillow(path, pillow_reader, exc)
        pixels, depth = _as_displayable(page, pixels, path)
        orientation = _orientation(page)
    return np.ascontiguousarray(apply_orientation(pixels, orientation)), depth


def tiff_info(path: Path) -> ImageInfo:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        width, height = page.imagewidth, page.imagelength
        if swaps_sides(_orientation(page)):
            width, height = height, width
        depth = 8 if page.photometric == PHOTOMETRIC.PALETTE else max(8, int(page.bitspersample))
    return ImageInfo(int(width), int(height), depth, "photo")


def _orientation(page: tifffile.TiffPage) -> int | None:
    tag = page.tags.get(ORIENTATION_TAG)
    return int(tag.value) if tag is not None else None


def _with_pillow(
    path: Path, pillow_reader: Callable[[Path], np.ndarray], cause: Exception | None
) -> tuple[np.ndarray, int]:
    try:
        pixels = pillow_reader(path)
    except Exception as exc:  # noqa: BLE001 - any Pillow failure: say what would decode it instead
        if cause is None:
            raise
        reason = f"TIFF compression needs an extra decoder: pip install imagecodecs ({cause})"
        raise ImageLoadError(path, reason) from exc
    return pixels, 16 if pixels.dtype == np.uint16 else (8 if pixels.dtype == np.uint8 else 32)


def _as_displayable(page: tifffile.TiffPage, pixels: np.ndarray, path: Path) -> tuple[np.ndarray, int]:
    """Samples last, palette looked up, white-is-zero flipped, alpha composited on white."""
    if "sample" in page.dims and pixels.ndim == 3:
        pixels = np.moveaxis(pixels, page.dims.index("sample"), -1)
    if pixels.ndim != 2 and not (pixels.ndim == 3 and pixels.shape[2] <= 8):
        raise ImageLoadError(path, f"unsupported TIFF page layout {page.dims} {pixels.shape}")
    bits = int(page.bitspersample)
    if page.photometric == PHOTOMETRIC.PALETTE and page.colormap is not None:
        colours: np.ndarray = page.colormap[:, pixels]  # (3, H, W)
        colours = colours >> 8 if colours.max() > 255 else colours
        return np.moveaxis(colours, 0, -1).astype(np.uint8), 8
    if pixels.dtype == np.bool_:
        pixels = ~pixels if page.photometric == PHOTOMETRIC.MINISWHITE else pixels
        return pixels.astype(np.uint8) * 255, 8
    if page.photometric == PHOTOMETRIC.MINISWHITE and np.issubdtype(pixels.dtype, np.unsignedinteger):
        pixels = (2**bits - 1) - pixels
    if pixels.ndim == 3:
        channels = pixels.shape[2]
        top = float(np.iinfo(pixels.dtype).max) if np.issubdtype(pixels.dtype, np.integer) else 1.0
        if channels == 1:
            pixels = pixels[..., 0]
        elif channels == 2:
            pixels = on_white(pixels[..., 0], pixels[..., 1], top)
        elif (
            channels >= 4 and page.extrasamples and int(page.extrasamples[0]) in (1, 2)
        ):  # (un)associated alpha
            pixels = on_white(pixels[..., :3], pixels[..., 3], top)
        else:
            pixels = pixels[..., :3]
    if pixels.dtype in (np.uint8, np.uint16):
        return pixels, bits
    depth = (
        32 if pixels.dtype.kind == "f" else bits
    )  # signed or 32-bit integers: exact in float32 up to 2**24
    return pixels.astype(np.float32), depth
