"""Masks on disk, atomic file writes, and the region maths the editor and exports share.

Writes are atomic: a temporary file in the same folder, flushed and fsynced,
then renamed over the target, so a crash leaves the old file or the new one,
never half of either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import binary_fill_holes

from zsad_desktop.imaging.loaded import ImageLoadError

REPLACE_RETRIES = 5  # Windows: a virus scanner or indexer may hold the target open for a moment


def _new_file_mode() -> int:
    """0o666 less the umask, as open() would give; mkstemp's 0600 would hide masks from colleagues."""
    try:  # Linux tells the umask without changing it (no race with other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


NEW_FILE_MODE = _new_file_mode()


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "wb") -> Iterator[IO]:
    """Write `path` through a handle; the file appears (or is replaced) only if the block succeeds."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes whole files: mode 'wb' or 'w', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding, newline = (None, None) if "b" in mode else ("utf-8", "")
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(
            tmp, path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE
        )  # mkstemp made it 0600
        _replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a full disk fails a write(), which names no file: say which
        raise
    _sync_folder(path.parent)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    with atomic_write(path) as handle:
        handle.write(data)


def write_mask_png(path: Path | str, mask: np.ndarray) -> None:
    """A 0/255 single-channel PNG, the MVTec convention."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"a mask is a non-empty (H, W) array, got shape {mask.shape} for {path}")
    ok, encoded = cv2.imencode(".png", (mask > 0).astype(np.uint8) * 255)
    if not ok:
        raise ValueError(f"could not encode the mask for {path}")
    write_bytes_atomic(path, encoded.tobytes())


def read_mask(path: Path | str) -> np.ndarray:
    """A mask file as a bool (H, W) array: any non-zero grey, palette index or colour is foreground."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            mask = _foreground(image)
    except FileNotFoundError:
        raise ImageLoadError(path, "mask file not found") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad files
        empty = path.is_file() and path.stat().st_size == 0
        reason = "mask file is empty" if empty else f"mask file is not a readable image ({exc})"
        raise ImageLoadError(path, reason) from None
    return mask


def _foreground(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("P", "PA"):  # indexed masks (VOC, labelme): index 0 is background whatever its colour
        indices = np.asarray(image)
        return (indices[..., 0] if indices.ndim == 3 else indices) > 0
    if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
        return np.asarray(image) > 0
    grey_or_rgb = np.asarray(image.convert("L" if mode in ("LA", "La") else "RGB"))  # alpha is not the label
    return (grey_or_rgb.max(axis=2) if grey_or_rgb.ndim == 3 else grey_or_rgb) > 0


def connected_regions(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """(labels int32, count): regions numbered 1..count, 0 is background; 8- or 4-connected."""
    count, labels = cv2.connectedComponents(np.asarray(mask).astype(np.uint8), connectivity=connectivity)
    return labels, count - 1


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every enclosed background area filled (a ring becomes a disc)."""
    return binary_fill_holes(np.asarray(mask, bool))


def _replace(source: str, target: Path) -> None:
    for attempt in range(REPLACE_RETRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == REPLACE_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders for fsync."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
