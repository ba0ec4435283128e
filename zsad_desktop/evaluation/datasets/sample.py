"""What one benchmark image is (``Sample``), and its ground truth as pixels (``load_mask``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.imaging.masks import read_mask


class DatasetError(Exception):
    """A dataset folder or file that is not laid out as its layout expects; the message says what and where."""


@dataclass(frozen=True)
class Sample:
    image_path: Path
    mask_path: Path | None
    label: int  # 0 normal, 1 anomalous
    category: str
    defect: str  # "good"/"ok" for normal images
    split: str  # "train" or "test"

    @property
    def has_pixel_truth(self) -> bool:
        """Whether the pixels' ground truth is known: normal images (all zeros) or anomalous ones with a mask."""
        return self.label == 0 or self.mask_path is not None


def read_mask_file(path: Path) -> np.ndarray:
    """A mask file as bool (any non-zero pixel is foreground), or ``DatasetError`` naming the file."""
    try:
        return read_mask(path)
    except ImageLoadError as error:
        raise DatasetError(f"{path}: cannot read the mask ({error.reason})") from error


def load_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """The sample's ground truth as bool (H, W) = ``shape``.

    Zeros for a normal image, and also for an anomalous one without a mask
    (check ``sample.has_pixel_truth`` first when that matters). A mask of
    another size is resized with nearest-neighbour, so it stays binary.
    """
    height, width = int(shape[0]), int(shape[1])
    if sample.mask_path is None:
        return np.zeros((height, width), bool)
    mask = read_mask_file(sample.mask_path)
    if mask.shape != (height, width):
        mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return mask
