"""Readers for benchmark datasets with masks: what to evaluate, not the pixels.

``read_dataset(root, layout, split, categories)`` returns the samples of each
category; ``load_mask(sample, shape)`` reads one ground truth. One module per
layout (each module's docstring shows its folders):

- ``mvtec``: ``ROOT/<category>/{train,test}/<defect>/*.png``,
  ``ROOT/<category>/ground_truth/<defect>/<stem>_mask.png``; ROOT may be one category.
- ``visa``: ``ROOT/split_csv/1cls.csv`` (object, split, label, image, mask), paths relative to ROOT.
- ``btad``: ``ROOT/<NN>/{train,test}/{ok,ko}/``, ``ROOT/<NN>/ground_truth/ko/<stem>.png|.bmp``.
- ``folder``: ``ROOT/images/*`` and ``ROOT/masks/<same stem>.png``; no mask
  (or an all-black one) means normal.

An anomalous sample may lack a mask (image-level labels only, e.g. head CT):
its ``mask_path`` is None and ``has_pixel_truth`` is False, so that callers
can leave it out of pixel metrics (pass ``None`` as its mask to ``evaluate``).
Folders and files whose names start with a dot are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zsad_desktop.evaluation.datasets.btad import read_btad
from zsad_desktop.evaluation.datasets.folder import read_folder
from zsad_desktop.evaluation.datasets.mvtec import read_mvtec
from zsad_desktop.evaluation.datasets.sample import DatasetError, Sample, load_mask
from zsad_desktop.evaluation.datasets.visa import read_visa

# Each reader returns every category it finds, even one with no image in the split.
READERS: dict[str, Callable[[Path, str], dict[str, list[Sample]]]] = {
    "mvtec": read_mvtec,
    "visa": read_visa,
    "btad": read_btad,
    "folder": read_folder,
}
LAYOUTS = tuple(READERS)
SPLITS = ("train", "test")


def read_dataset(
    root: Path | str, layout: str = "mvtec", split: str = "test", categories: list[str] | None = None
) -> dict[str, list[Sample]]:
    """Samples per category (categories sorted as found, samples in file order).

    Categories without an image in ``split`` are dropped. Raises
    ``DatasetError`` for an unknown layout or split, a folder not laid out as
    ``layout`` expects, a requested category that does not exist, or no image
    at all.
    """
    root = Path(root)
    if layout not in READERS:
        raise DatasetError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    found = READERS[layout](root, split)
    if categories:
        unknown = [c for c in categories if c not in found]
        if unknown:
            raise DatasetError(
                f"no category {', '.join(map(repr, unknown))} in {root} ({layout} layout); found: {', '.join(found) or 'none'}"
            )
        found = {name: samples for name, samples in found.items() if name in categories}
    found = {name: samples for name, samples in found.items() if samples}
    if not found:
        wanted = f" for categories {', '.join(categories)}" if categories else ""
        raise DatasetError(f"no {split} images found in {root} ({layout} layout){wanted}")
    return found


__all__ = ["LAYOUTS", "READERS", "DatasetError", "Sample", "load_mask", "read_dataset"]
