"""Training samples (image + mask + label) with joint image-and-mask augmentation.

The augmentation follows AA-CLIP's training data (Mwxinnn/AA-CLIP,
dataset/__init__.py): each with probability 0.5 a rotation up to 30 degrees
and a translation up to 15 %, then horizontal and vertical flips, applied to
image and mask together with nearest-neighbour sampling; optionally (its
second stage) brightness, contrast and saturation jitter of 0.5, each with
probability 0.7, on the image only. Pixels moved in from outside take the
normalisation mean (the reference transforms the normalised tensor with a
zero fill), the mask takes 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from open_clip import OPENAI_DATASET_MEAN
from torchvision import tv_tensors
from torchvision.transforms import v2

from zsad_desktop.imaging import read_rgb8
from zsad_desktop.imaging.masks import read_mask


@dataclass(frozen=True)
class TrainingSample:
    image_path: Path
    mask_path: Path | None  # None: normal, or anomalous without a pixel mask
    label: int  # 0 normal, 1 anomalous
    category: str | None = None  # the product or organ, e.g. a benchmark's category folder ("hazelnut")
    frame: int | None = None  # the frame of a multi-frame DICOM file

    def read_rgb8(self):
        """The image as the detector sees it (8-bit RGB)."""
        return read_rgb8(self.image_path, self.frame)


def mean_fill(mean: Sequence[float] = OPENAI_DATASET_MEAN) -> tuple[int, int, int]:
    """The uint8 colour that normalises to (about) zero."""
    return tuple(int(round(255 * m)) for m in mean)


def augmentation(
    rotation: float = 30.0,
    translate: float = 0.15,
    flips: bool = True,
    colour_jitter: bool = False,
    p: float = 0.5,
    fill: Sequence[int] | None = None,
) -> v2.Compose:
    """Joint image-and-mask augmentation on uint8 images and `tv_tensors.Mask` targets.

    `rotation` in degrees and `translate` as a fraction of the size are each
    applied with probability `p`; flips with probability 0.5 each.
    """
    fills = {tv_tensors.Image: tuple(fill or mean_fill()), tv_tensors.Mask: 0}
    steps: list = []
    if colour_jitter:  # image only: v2 colour transforms leave masks alone
        steps += [
            v2.RandomApply([v2.ColorJitter(**{name: 0.5})], p=0.7)
            for name in ("brightness", "contrast", "saturation")
        ]
    if rotation:
        steps.append(v2.RandomApply([v2.RandomRotation(degrees=rotation, fill=fills)], p=p))
    if translate:
        steps.append(
            v2.RandomApply([v2.RandomAffine(degrees=0, translate=(translate, translate), fill=fills)], p=p)
        )
    if flips:
        steps += [v2.RandomHorizontalFlip(p=0.5), v2.RandomVerticalFlip(p=0.5)]
    return v2.Compose(steps or [v2.Identity()])


class SegmentationDataset(torch.utils.data.Dataset):
    """Items: (image (3, S, S) normalised, mask (S, S) float 0/1, label).

    With ``with_info=True`` a fourth item says per sample
    ``{"category": str ("" if none), "mask_known": bool}``: an anomalous image
    without a mask gets an all-zero mask that must not count as "all normal".
    """

    def __init__(
        self,
        samples: Sequence[TrainingSample],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augment: v2.Compose | None = None,
        with_info: bool = False,
    ):
        self.samples = list(samples)
        self.size = size
        self.augment = augment
        self.with_info = with_info
        self.resize_image = v2.Resize(
            (size, size), interpolation=v2.InterpolationMode.BICUBIC, antialias=True
        )
        self.resize_mask = v2.Resize((size, size), interpolation=v2.InterpolationMode.NEAREST)
        self.normalise = v2.Normalize(mean, std)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        rgb = sample.read_rgb8()
        mask = read_mask(sample.mask_path) if sample.mask_path is not None else np.zeros(rgb.shape[:2], bool)
        image = tv_tensors.Image(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))  # a writable copy
        target = tv_tensors.Mask(torch.from_numpy(mask.astype(np.uint8))[None])
        image, target = self.resize_image(image), self.resize_mask(target)
        if self.augment is not None:
            image, target = self.augment(image, target)
        pixels = self.normalise(image.float() / 255.0)
        item = (
            pixels.as_subclass(torch.Tensor),
            target[0].float().as_subclass(torch.Tensor),
            int(sample.label),
        )
        if self.with_info:
            return (
                *item,
                {
                    "category": sample.category or "",
                    "mask_known": sample.mask_path is not None or int(sample.label) == 0,
                },
            )
        return item
