"""Readers for benchmark datasets with masks.

Layouts:
- ``mvtec``: ``ROOT/<category>/{train,test}/<defect>/*.png`` with masks in
  ``ground_truth/<defect>/<stem>_mask.png``; ``good`` is normal. ROOT may
  also be one category folder (it has a ``test/`` folder itself).
- ``visa``: ``ROOT/split_csv/1cls.csv`` with columns object, split, label
  (normal/anomaly), image, mask; paths relative to ROOT.
- ``btad``: ``ROOT/<NN>/{train,test}/{ok,ko}/`` with masks in
  ``ground_truth/ko/<stem>.png`` (or ``.bmp``).
- ``folder``: ``ROOT/images/*`` and ``ROOT/masks/<same stem>.png``; an image
  without a mask is normal. The category is ROOT's name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from zsad_desktop.imaging import is_image_file
from zsad_desktop.imaging.masks import read_mask

LAYOUTS = ("mvtec", "visa", "btad", "folder")


class DatasetError(Exception):
    pass


@dataclass(frozen=True)
class Sample:
    image_path: Path
    mask_path: Path | None
    label: int  # 0 normal, 1 anomalous
    category: str
    defect: str
    split: str


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p)) if folder.is_dir() else []


def _mvtec_category(folder: Path, split: str) -> list[Sample]:
    samples = []
    split_dir = folder / split
    if not split_dir.is_dir():
        return samples
    for defect_dir in sorted(d for d in split_dir.iterdir() if d.is_dir()):
        defect = defect_dir.name
        for image in _images(defect_dir):
            if defect == "good":
                samples.append(Sample(image, None, 0, folder.name, defect, split))
                continue
            mask = folder / "ground_truth" / defect / f"{image.stem}_mask.png"
            samples.append(Sample(image, mask if mask.is_file() else None, 1, folder.name, defect, split))
    return samples


def read_mvtec(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    if (root / "test").is_dir():
        folders = [root]
    else:
        folders = sorted(d for d in root.iterdir() if d.is_dir() and (d / "test").is_dir())
    if not folders:
        raise DatasetError(f"{root} is not in the MVTec AD layout: expected <category>/test/<defect>/ folders (or test/ itself)")
    return {f.name: _mvtec_category(f, split) for f in folders if not categories or f.name in categories}


def read_visa(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    table = root / "split_csv" / "1cls.csv"
    if not table.is_file():
        raise DatasetError(f"{root} is not in the VisA layout: expected its split file at {table}")
    out: dict[str, list[Sample]] = {}
    with open(table, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split or (categories and row["object"] not in categories):
                continue
            anomalous = row["label"].strip().lower() == "anomaly"
            mask = root / row["mask"] if anomalous and row.get("mask") else None
            sample = Sample(root / row["image"], mask, int(anomalous), row["object"], "anomaly" if anomalous else "good", split)
            out.setdefault(row["object"], []).append(sample)
    return out


def read_btad(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    folders = sorted(d for d in root.iterdir() if d.is_dir() and (d / split).is_dir())
    if not folders:
        raise DatasetError(f"{root} is not in the BTAD layout: expected <NN>/{split}/{{ok,ko}}/ folders")
    out = {}
    for folder in folders:
        if categories and folder.name not in categories:
            continue
        samples = [Sample(p, None, 0, folder.name, "ok", split) for p in _images(folder / split / "ok")]
        for image in _images(folder / split / "ko"):
            mask = next((m for m in (folder / "ground_truth" / "ko" / f"{image.stem}{s}" for s in (".png", ".bmp")) if m.is_file()), None)
            samples.append(Sample(image, mask, 1, folder.name, "ko", split))
        out[folder.name] = samples
    return out


def read_folder(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    images = root / "images"
    if not images.is_dir():
        raise DatasetError(f"{root} is not in the folder layout: expected {images}/ (and masks/ with the same stems)")
    samples = []
    for image in _images(images):
        mask = root / "masks" / f"{image.stem}.png"
        samples.append(Sample(image, mask if mask.is_file() else None, int(mask.is_file()), root.name, "anomaly" if mask.is_file() else "good", split))
    return {root.name: samples}


READERS = {"mvtec": read_mvtec, "visa": read_visa, "btad": read_btad, "folder": read_folder}


def read_dataset(root: Path | str, layout: str = "mvtec", split: str = "test", categories: list[str] | None = None) -> dict[str, list[Sample]]:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if layout not in READERS:
        raise DatasetError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    found = {k: v for k, v in READERS[layout](root, split, categories).items() if v}
    if not found:
        raise DatasetError(f"no {split} images found in {root} ({layout} layout)")
    return found


def load_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """The sample's mask as bool (H, W); zeros for normal images or a missing mask."""
    if sample.mask_path is None:
        return np.zeros(shape, bool)
    mask = read_mask(sample.mask_path)
    if mask.shape != tuple(shape):
        mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return mask
