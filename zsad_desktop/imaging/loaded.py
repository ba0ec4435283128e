"""What the image readers hand back: pixels in their native range, header facts, one error type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zsad_desktop.imaging.file_names import name_text


class ImageLoadError(Exception):
    """A file that cannot be shown: `path` says which, `reason` says why in the reviewer's words."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{name_text(str(path))}: {reason}")  # printable and storable whatever the name
        self.path = Path(path)
        self.reason = reason

    def __reduce__(
        self,
    ) -> tuple[
        type[ImageLoadError], tuple[Path, str]
    ]:  # keeps the two-argument form through pickling (worker processes)
        return type(self), (self.path, self.reason)


@dataclass
class LoadedImage:
    """Pixels as stored: (H, W) grey or (H, W, 3) RGB; uint8, uint16, or float32
    (DICOM after the modality rescale, float TIFF, signed or 32-bit integer TIFF)."""

    pixels: np.ndarray
    bit_depth: int
    modality: str  # "photo" or "dicom"
    path: Path
    frame: int | None = None  # which frame of a multi-frame file; None for single-frame files
    label: str = ""  # patient-safe: never a DICOM patient name or ID
    default_window: tuple[float, float] | None = None  # (centre, width) the file asks for

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]


@dataclass(frozen=True)
class ImageInfo:
    """Header facts, read without decoding the pixels (folder scans of 100k files)."""

    width: int
    height: int
    bit_depth: int
    modality: str
    frames: int = 1
    label: str = ""  # DICOM: patient-safe (modality, series description, instance number); "" for photos


@dataclass(frozen=True)
class ImageEntry:
    """One displayable image of a file: a multi-frame DICOM gives one per frame."""

    path: Path
    frame: int | None
    label: str
