"""MVTec AD layout (and anything shaped like it: glass, head CT, the reviewers' export).

``ROOT/<category>/{train,test}/<defect>/*.png`` with masks in
``ROOT/<category>/ground_truth/<defect>/<stem>_mask.png``; the defect ``good``
is normal. ROOT may also be one category folder (it has ``test/`` or
``train/`` itself). An anomalous image without a mask file keeps
``mask_path=None`` (image-level labels only, as in head CT).
"""

from __future__ import annotations

from pathlib import Path

from zsad_desktop.evaluation.datasets.listing import image_files, subfolders
from zsad_desktop.evaluation.datasets.sample import DatasetError, Sample


def _is_category(folder: Path) -> bool:
    return (folder / "test").is_dir() or (folder / "train").is_dir()


def _category(folder: Path, split: str) -> list[Sample]:
    samples = []
    for defect_dir in subfolders(folder / split):
        defect = defect_dir.name
        for image in image_files(defect_dir):
            if defect == "good":
                samples.append(Sample(image, None, 0, folder.name, defect, split))
                continue
            mask = folder / "ground_truth" / defect / f"{image.stem}_mask.png"
            samples.append(Sample(image, mask if mask.is_file() else None, 1, folder.name, defect, split))
    return samples


def read_mvtec(root: Path, split: str) -> dict[str, list[Sample]]:
    folders = [root] if _is_category(root) else [d for d in subfolders(root) if _is_category(d)]
    if not folders:
        raise DatasetError(
            f"{root} is not in the MVTec AD layout: expected <category>/test/<defect>/ folders"
            f" (or test/<defect>/ in {root} itself)"
        )
    return {folder.name: _category(folder, split) for folder in folders}
