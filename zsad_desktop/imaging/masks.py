"""Masks on disk and the region maths the editor and exports share.

Writes are atomic: a temporary file in the same folder, flushed to disk,
then renamed over the target, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes

from zsad_desktop.imaging.loader import ImageLoadError


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "wb") -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_mask_png(path: Path | str, mask: np.ndarray) -> None:
    """A 0/255 single-channel PNG, the MVTec convention."""
    ok, encoded = cv2.imencode(".png", (np.asarray(mask) > 0).astype(np.uint8) * 255)
    if not ok:
        raise ValueError(f"could not encode mask for {path}")
    with atomic_write(path) as handle:
        handle.write(encoded.tobytes())


def read_mask(path: Path | str) -> np.ndarray:
    """A mask file as a bool array (any non-zero pixel is foreground)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ImageLoadError(path, "mask file is missing or empty")
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageLoadError(path, "mask file is not a readable image")
    if pixels.ndim == 3:
        pixels = pixels.max(axis=2)
    return pixels > 0


def connected_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(labels, count): 8-connected regions numbered 1..count, 0 is background."""
    count, labels = cv2.connectedComponents(np.asarray(mask).astype(np.uint8), connectivity=8)
    return labels, count - 1


def fill_holes(mask: np.ndarray) -> np.ndarray:
    return binary_fill_holes(np.asarray(mask, bool))
