"""Export reviewed masks: MVTec AD layout (+ anomalib config), COCO, reports.

Only reviewer decisions are exported, never unreviewed proposals. File names
come from image paths made safe: no export writes outside its target folder.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from zsad_desktop.app.reviews import current_review
from zsad_desktop.app.workspace import ImageRow, Workspace
from zsad_desktop.imaging import load_image
from zsad_desktop.imaging.masks import atomic_write, connected_regions
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError

EXPORTED = (ReviewStatus.NORMAL, ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED)
ANOMALY_LABEL = "anomaly"


@dataclass
class ExportReport:
    folder: Path
    normal: int = 0
    anomalous: int = 0
    files: int = 0


def safe_name(rel_path: str) -> str:
    """A flat file name from a relative path: separators become '__', odd characters '_'."""
    stem = Path(rel_path).with_suffix("").as_posix().replace("/", "__")
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") or "image"
    return stem[:180]


def inside(target: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(target.resolve()):
        raise StoreError(f"refusing to write {path}: outside the export folder {target}")
    return resolved


def _reviewed(workspace: Workspace) -> list[tuple[ImageRow, np.ndarray | None]]:
    rows = []
    for row in workspace.images(statuses=EXPORTED, order="name", include_errors=False):
        review = current_review(workspace, row.id)
        mask = workspace.files.read_mask(review.mask_file) if review and review.mask_file else None
        rows.append((row, mask))
    return rows


def _write_png(path: Path, pixels: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise StoreError(f"could not encode {path.name} as PNG")
    with atomic_write(path) as handle:
        handle.write(encoded.tobytes())


def _copy_as_png(source: Path, target: Path) -> None:
    if source.suffix.lower() == ".png":
        shutil.copyfile(source, target)
        return
    pixels = load_image(source).pixels  # full bit depth kept
    _write_png(target, cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels)


def export_mvtec(workspace: Workspace, target: Path, category: str = "reviewed") -> ExportReport:
    """`<target>/<category>/test/{good,anomaly}/`, `ground_truth/anomaly/*_mask.png`, and an anomalib config."""
    target = Path(target)
    root = inside(target, target / safe_name(category))
    report = ExportReport(root)
    for sub in ("test/good", f"test/{ANOMALY_LABEL}", f"ground_truth/{ANOMALY_LABEL}"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for row, mask in _reviewed(workspace):
        name = _unique(safe_name(row.rel_path), used)
        anomalous = mask is not None and mask.any()
        folder = f"test/{ANOMALY_LABEL}" if anomalous else "test/good"
        _copy_as_png(workspace.absolute_path(row), inside(target, root / folder / f"{name}.png"))
        report.files += 1
        if anomalous:
            _write_png(inside(target, root / f"ground_truth/{ANOMALY_LABEL}/{name}_mask.png"), mask.astype(np.uint8) * 255)
            report.anomalous += 1
            report.files += 1
        else:
            report.normal += 1
    _write_anomalib_config(root, category)
    return report


def _unique(name: str, used: set[str]) -> str:
    candidate, index = name, 1
    while candidate in used:
        index += 1
        candidate = f"{name}_{index}"
    used.add(candidate)
    return candidate


def _write_anomalib_config(root: Path, category: str) -> None:
    """anomalib's Folder datamodule reads this export directly (`anomalib train --config ...`)."""
    text = (
        "# anomalib Folder dataset over this export: anomalib train --model Padim --config anomalib_folder.yaml\n"
        "data:\n"
        "  class_path: anomalib.data.Folder\n"
        "  init_args:\n"
        f"    name: {json.dumps(category)}\n"
        f"    root: {json.dumps(str(root))}\n"
        "    normal_dir: test/good\n"
        f"    abnormal_dir: test/{ANOMALY_LABEL}\n"
        f"    mask_dir: ground_truth/{ANOMALY_LABEL}\n"
        "    normal_split_ratio: 0.5\n"
        "    test_split_mode: from_dir\n"
        "    val_split_mode: same_as_test\n"
    )
    with atomic_write(root / "anomalib_folder.yaml", mode="w") as handle:
        handle.write(text)


def export_coco(workspace: Workspace, target_file: Path) -> dict[str, Any]:
    """COCO instance segmentation: one RLE instance per connected defect region."""
    images, annotations = [], []
    for row, mask in _reviewed(workspace):
        height, width = (mask.shape if mask is not None else (row.height, row.width))
        images.append({"id": row.id, "file_name": row.rel_path, "width": int(width), "height": int(height)})
        if mask is None:
            continue
        labels, count = connected_regions(mask)
        for region in range(1, count + 1):
            binary = np.asfortranarray((labels == region).astype(np.uint8))
            rle = coco_mask.encode(binary)
            annotations.append({
                "id": len(annotations) + 1, "image_id": row.id, "category_id": 1, "iscrowd": 0,
                "segmentation": {"size": [int(x) for x in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "area": float(coco_mask.area(rle)), "bbox": [float(v) for v in coco_mask.toBbox(rle)],
            })
    data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": ANOMALY_LABEL}]}
    target_file = Path(target_file)
    target_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target_file, mode="w") as handle:
        json.dump(data, handle)
    return data


REPORT_FIELDS = ("path", "score", "status", "reviewer", "model_version", "defect_area", "note", "updated_at")


def review_report(workspace: Workspace) -> list[dict[str, Any]]:
    rows = []
    for row in workspace.images(order="name"):
        review = current_review(workspace, row.id) if row.content_hash else None
        area = int(workspace.files.read_mask(review.mask_file).sum()) if review and review.mask_file else 0
        rows.append({
            "path": row.rel_path, "score": row.score, "status": row.status.value, "reviewer": row.reviewer,
            "model_version": review.model_version if review else None, "defect_area": area,
            "note": review.note if review else None, "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        })
    return rows


def export_report(workspace: Workspace, target_file: Path) -> int:
    """CSV or JSON (by the file's suffix) with one line per image."""
    rows = review_report(workspace)
    target_file = Path(target_file)
    target_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target_file, mode="w") as handle:
        if target_file.suffix.lower() == ".json":
            json.dump(rows, handle, indent=1)
        else:
            writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    return len(rows)
