"""Regions of a large image without decoding all of it: for tiled inference of line-scan and wafer images.

A plain TIFF page (grey or RGB, no orientation flip, no alpha) is read in place:
memory-mapped when it is stored uncompressed in one piece, else through zarr,
which decodes only the TIFF tiles or strips a region touches. Every other
image is decoded whole by `load_image`, as for display. Either way the caller
slices `ImageRegions.pixels` like an array: `pixels[y0:y1, x0:x1]`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from tifffile import PHOTOMETRIC, PLANARCONFIG

from zsad_desktop.imaging.loaded import ImageLoadError
from zsad_desktop.imaging.loader import load_image
from zsad_desktop.imaging.orientation import ORIENTATION_TAG
from zsad_desktop.imaging.photo import TIFF_SIGNATURES


@dataclass
class ImageRegions:
    pixels: Any  # (H, W) or (H, W, 3): a numpy array, a numpy memmap or a zarr array
    default_window: tuple[float, float] | None
    in_place: bool  # True: read from the file region by region; False: decoded whole

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)


@contextlib.contextmanager
def open_regions(path: Path | str, frame: int | None = None) -> Iterator[ImageRegions]:
    """The image at `path` (frame `frame`) for reading by regions; `ImageLoadError` if it cannot be read."""
    path = Path(path)
    tif = _plain_tiff(path) if frame in (None, 0) else None
    if tif is None:
        loaded = load_image(path, frame)
        yield ImageRegions(loaded.pixels, loaded.default_window, in_place=False)
        return
    with tif:
        yield ImageRegions(_in_place(tif, path), None, in_place=True)


def _plain_tiff(path: Path) -> tifffile.TiffFile | None:
    """The open TIFF when its first page can be read in place as the loader would show it, else None."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) not in TIFF_SIGNATURES:
                return None
        tif = tifffile.TiffFile(path)
    except Exception:  # noqa: BLE001 - a damaged file fails in many ways here: the loader says what is wrong
        return None
    try:
        page = tif.pages.first
    except Exception:  # noqa: BLE001 - as above (no first page, a broken directory)
        tif.close()
        return None
    orientation = page.tags.get(ORIENTATION_TAG)
    plain = (
        page.photometric in (PHOTOMETRIC.MINISBLACK, PHOTOMETRIC.RGB)
        and (orientation is None or int(orientation.value) == 1)
        and not page.extrasamples
        and page.samplesperpixel in (1, 3)
        and (page.samplesperpixel == 1 or page.planarconfig == PLANARCONFIG.CONTIG)
        and np.dtype(page.dtype).kind in "uif"
        and page.shaped[0] == 1
        and page.shaped[1] == 1  # no volume or separate planes
    )
    if not plain:
        tif.close()
        return None
    return tif


def _in_place(tif: tifffile.TiffFile, path: Path) -> Any:
    page = tif.pages.first
    if page.is_memmappable:
        return tifffile.memmap(path, page=0, mode="r")
    try:
        import zarr
    except ImportError:  # pragma: no cover - zarr is a dependency; without it, the whole page is decoded
        return page.asarray()
    try:
        return zarr.open(page.aszarr(), mode="r")
    except Exception as exc:  # noqa: BLE001 - a codec tifffile lacks (pip install imagecodecs) and the like
        raise ImageLoadError(path, f"TIFF cannot be read by regions ({type(exc).__name__}: {exc})") from exc
