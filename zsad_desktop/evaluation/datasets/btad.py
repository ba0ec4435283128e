"""BTAD layout: ``ROOT/<NN>/{train,test}/{ok,ko}/`` with masks in ``ROOT/<NN>/ground_truth/ko/``.

A mask has the image's stem and ends in ``.png`` or ``.bmp`` (both occur).
ROOT may also be one category folder (it has ``<split>/ok`` or ``<split>/ko``).
"""

from __future__ import annotations

from pathlib import Path

from zsad_desktop.evaluation.datasets.listing import image_files, subfolders
from zsad_desktop.evaluation.datasets.sample import DatasetError, Sample

MASK_SUFFIXES = (".png", ".bmp")


def _is_category(folder: Path) -> bool:
    return any((folder / split / kind).is_dir() for split in ("train", "test") for kind in ("ok", "ko"))


def _mask_of(folder: Path, image: Path) -> Path | None:
    candidates = (folder / "ground_truth" / "ko" / f"{image.stem}{suffix}" for suffix in MASK_SUFFIXES)
    return next((m for m in candidates if m.is_file()), None)


def _category(folder: Path, split: str) -> list[Sample]:
    samples = [Sample(p, None, 0, folder.name, "ok", split) for p in image_files(folder / split / "ok")]
    samples += [
        Sample(p, _mask_of(folder, p), 1, folder.name, "ko", split)
        for p in image_files(folder / split / "ko")
    ]
    return samples


def read_btad(root: Path, split: str) -> dict[str, list[Sample]]:
    folders = [root] if _is_category(root) else [d for d in subfolders(root) if _is_category(d)]
    if not folders:
        raise DatasetError(
            f"{root} is not in the BTAD layout: expected <NN>/{{train,test}}/ok/ and <NN>/test/ko/ folders"
        )
    return {folder.name: _category(folder, split) for folder in folders}
