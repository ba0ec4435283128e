"""Generic folder layout, for a reviewer's own images: ``ROOT/images/*`` and ``ROOT/masks/<same stem>.png``.

An image whose mask has any foreground is anomalous; one without a mask
file, or with an all-black mask, is normal. The category is ROOT's folder
name. There is no split on disk: ``split`` is only recorded on the samples.
"""

from __future__ import annotations

from pathlib import Path

from zsad_desktop.evaluation.datasets.listing import image_files
from zsad_desktop.evaluation.datasets.sample import DatasetError, Sample, read_mask_file


def read_folder(root: Path, split: str) -> dict[str, list[Sample]]:
    images = root / "images"
    if not images.is_dir():
        raise DatasetError(
            f"{root} is not in the folder layout: expected {images}/ (and masks/<same stem>.png)"
        )
    samples = []
    for image in image_files(images):
        mask = root / "masks" / f"{image.stem}.png"
        if not mask.is_file():
            samples.append(Sample(image, None, 0, root.name, "good", split))
        elif read_mask_file(mask).any():
            samples.append(Sample(image, mask, 1, root.name, "anomaly", split))
        else:
            samples.append(Sample(image, mask, 0, root.name, "good", split))
    return {root.name: samples}
