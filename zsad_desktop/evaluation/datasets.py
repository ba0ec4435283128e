"""Readers for benchmark datasets with masks: what to evaluate, not the pixels.

``read_dataset(root, layout, split, categories)`` returns the samples of each
category; ``load_mask(sample, shape)`` reads one ground truth. Layouts:

- ``mvtec`` (MVTec AD and anything shaped like it, e.g. the reviewers' export):
  ``ROOT/<category>/{train,test}/<defect>/*.png`` with masks in
  ``ROOT/<category>/ground_truth/<defect>/<stem>_mask.png``; the defect
  ``good`` is normal. ROOT may also be one category folder (it has a
  ``test/`` or ``train/`` folder itself).
- ``visa``: ``ROOT/split_csv/1cls.csv`` with columns object, split, label
  (``normal``/``anomaly``), image, mask; paths relative to ROOT.
- ``btad``: ``ROOT/<NN>/{train,test}/{ok,ko}/`` with masks in
  ``ROOT/<NN>/ground_truth/ko/<stem>.png`` (or ``.bmp``).
- ``folder`` (any images of your own): ``ROOT/images/*`` and
  ``ROOT/masks/<same stem>.png``. An image with a mask that has any
  foreground is anomalous; one without a mask file, or with an all-black
  mask, is normal. The category is ROOT's folder name; ``split`` is only
  recorded on the samples.

An anomalous sample may lack a mask (image-level labels only, e.g. head CT):
its ``mask_path`` is None and ``has_pixel_truth`` is False, so that callers
can leave it out of pixel metrics (pass ``None`` as its mask to ``evaluate``).
Folders and files whose names start with a dot are ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from zsad_desktop.imaging import ImageLoadError, is_image_file
from zsad_desktop.imaging.masks import read_mask

LAYOUTS = ("mvtec", "visa", "btad", "folder")
VISA_COLUMNS = ("object", "split", "label", "image", "mask")


class DatasetError(Exception):
    """A dataset folder or file that is not laid out as its layout expects; the message says what and where."""


@dataclass(frozen=True)
class Sample:
    image_path: Path
    mask_path: Path | None
    label: int  # 0 normal, 1 anomalous
    category: str
    defect: str
    split: str

    @property
    def has_pixel_truth(self) -> bool:
        """Whether the pixels' ground truth is known: normal images (all zeros) or anomalous ones with a mask."""
        return self.label == 0 or self.mask_path is not None


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _subfolders(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and _visible(d)) if folder.is_dir() else []


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _visible(p) and is_image_file(p))


def _mvtec_category(folder: Path, split: str) -> list[Sample]:
    samples = []
    for defect_dir in _subfolders(folder / split):
        defect = defect_dir.name
        for image in _images(defect_dir):
            if defect == "good":
                samples.append(Sample(image, None, 0, folder.name, defect, split))
                continue
            mask = folder / "ground_truth" / defect / f"{image.stem}_mask.png"
            samples.append(Sample(image, mask if mask.is_file() else None, 1, folder.name, defect, split))
    return samples


def read_mvtec(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    def is_category(folder: Path) -> bool:
        return (folder / "test").is_dir() or (folder / "train").is_dir()

    folders = [root] if is_category(root) else [d for d in _subfolders(root) if is_category(d)]
    if not folders:
        raise DatasetError(
            f"{root} is not in the MVTec AD layout: expected <category>/test/<defect>/ folders (or test/ in {root} itself)"
        )
    return {f.name: _mvtec_category(f, split) for f in folders if not categories or f.name in categories}


def _visa_rows(table: Path) -> list[dict[str, str]]:
    with open(table, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in VISA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{table}: missing column(s) {', '.join(missing)}; expected {', '.join(VISA_COLUMNS)}")
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        if row["label"].strip().lower() not in ("normal", "anomaly"):
            raise DatasetError(f"{table}, line {line}: label {row['label']!r} is neither 'normal' nor 'anomaly'")
    return rows


def read_visa(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    table = root / "split_csv" / "1cls.csv"
    if not table.is_file():
        raise DatasetError(f"{root} is not in the VisA layout: expected its split file at {table}")
    out: dict[str, list[Sample]] = {}
    for row in _visa_rows(table):
        category = row["object"].strip()
        if row["split"].strip() != split or (categories and category not in categories):
            continue
        anomalous = row["label"].strip().lower() == "anomaly"
        mask = root / row["mask"].strip() if anomalous and (row["mask"] or "").strip() else None
        defect = "anomaly" if anomalous else "good"
        out.setdefault(category, []).append(Sample(root / row["image"].strip(), mask, int(anomalous), category, defect, split))
    return out


def read_btad(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    folders = [d for d in _subfolders(root) if (d / split).is_dir()]
    if not folders:
        raise DatasetError(f"{root} is not in the BTAD layout: expected <NN>/{split}/ok/ and <NN>/{split}/ko/ folders")
    out = {}
    for folder in folders:
        if categories and folder.name not in categories:
            continue
        samples = [Sample(p, None, 0, folder.name, "ok", split) for p in _images(folder / split / "ok")]
        for image in _images(folder / split / "ko"):
            candidates = (folder / "ground_truth" / "ko" / f"{image.stem}{suffix}" for suffix in (".png", ".bmp"))
            mask = next((m for m in candidates if m.is_file()), None)
            samples.append(Sample(image, mask, 1, folder.name, "ko", split))
        out[folder.name] = samples
    return out


def read_folder(root: Path, split: str, categories: list[str] | None) -> dict[str, list[Sample]]:
    images = root / "images"
    if not images.is_dir():
        raise DatasetError(f"{root} is not in the folder layout: expected {images}/ (and masks/<same stem>.png)")
    if categories and root.name not in categories:
        return {}
    samples = []
    for image in _images(images):
        mask = root / "masks" / f"{image.stem}.png"
        if mask.is_file() and _read(mask).any():
            samples.append(Sample(image, mask, 1, root.name, "anomaly", split))
        else:
            samples.append(Sample(image, mask if mask.is_file() else None, 0, root.name, "good", split))
    return {root.name: samples}


READERS = {"mvtec": read_mvtec, "visa": read_visa, "btad": read_btad, "folder": read_folder}


def read_dataset(
    root: Path | str, layout: str = "mvtec", split: str = "test", categories: list[str] | None = None
) -> dict[str, list[Sample]]:
    """Samples per category (categories sorted as found, samples in file order); empty categories are dropped."""
    root = Path(root)
    if layout not in READERS:
        raise DatasetError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    found = {name: samples for name, samples in READERS[layout](root, split, categories).items() if samples}
    if not found:
        wanted = f" for categories {', '.join(categories)}" if categories else ""
        raise DatasetError(f"no {split} images found in {root} ({layout} layout){wanted}")
    return found


def _read(path: Path) -> np.ndarray:
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
    mask = _read(sample.mask_path)
    if mask.shape != (height, width):
        mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return mask
