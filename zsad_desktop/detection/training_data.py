"""Training samples (image + mask + label) with joint image-and-mask augmentation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from zsad_desktop.imaging import read_rgb8
from zsad_desktop.imaging.masks import read_mask


@dataclass(frozen=True)
class TrainingSample:
    image_path: Path
    mask_path: Path | None  # None: normal, or anomalous without a pixel mask
    label: int  # 0 normal, 1 anomalous


def augmentation(rotation: float = 10.0, translate: float = 0.05, flips: bool = True, colour_jitter: bool = False) -> v2.Compose:
    steps: list = []
    if flips:
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if rotation or translate:
        steps.append(v2.RandomAffine(degrees=rotation, translate=(translate, translate)))
    if colour_jitter:
        steps.append(v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2))
    return v2.Compose(steps)


class SegmentationDataset(torch.utils.data.Dataset):
    """Items: (image (3, S, S) normalised, mask (S, S) float 0/1, label)."""

    def __init__(self, samples: Sequence[TrainingSample], size: int, mean, std, augment: v2.Compose | None = None):
        self.samples = list(samples)
        self.size = size
        self.augment = augment
        self.resize_image = v2.Resize((size, size), interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
        self.resize_mask = v2.Resize((size, size), interpolation=v2.InterpolationMode.NEAREST)
        self.normalise = v2.Normalize(mean, std)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        rgb = read_rgb8(sample.image_path)
        mask = read_mask(sample.mask_path) if sample.mask_path else np.zeros(rgb.shape[:2], bool)
        image = tv_tensors.Image(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))  # a writable copy
        target = tv_tensors.Mask(torch.from_numpy(mask.astype(np.uint8))[None])
        image, target = self.resize_image(image), self.resize_mask(target)
        if self.augment is not None:
            image, target = self.augment(image, target)
        pixels = self.normalise(image.float() / 255.0)
        return pixels, target[0].float(), sample.label
