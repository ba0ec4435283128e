"""Reviewed masks as COCO instance segmentation: one RLE instance per connected defect region."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from zsad_desktop.app.exports.dicom_source import dicom_stem, with_frame
from zsad_desktop.app.exports.mvtec import ANOMALY_LABEL
from zsad_desktop.app.exports.reviewed import final_mask, reviewed_images
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.imaging.masks import atomic_write, connected_regions

Progress = Callable[[int, int], None]


def region_annotations(mask: np.ndarray, image_id: int, first_id: int) -> list[dict[str, Any]]:
    """COCO annotations of a mask's 8-connected regions, numbered from `first_id`."""
    labels, count = connected_regions(mask)
    annotations: list[dict[str, Any]] = []
    for region in range(1, count + 1):
        rle = coco_mask.encode(np.asfortranarray(labels == region, dtype=np.uint8))
        annotations.append(
            {
                "id": first_id + len(annotations),
                "image_id": image_id,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": {
                    "size": [int(x) for x in rle["size"]],
                    "counts": rle["counts"].decode("ascii"),
                },
                "area": float(coco_mask.area(rle)),
                "bbox": [float(v) for v in coco_mask.toBbox(rle)],
            }
        )
    return annotations


def export_coco(
    workspace: Workspace,
    target_file: Path | str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any] | None:
    """Normal, accepted and corrected images (normal ones without annotations, as negatives);
    `file_name` is the image's path relative to the workspace folder (`info.images_root`). A DICOM
    image, whose path may name the patient, is named `<SOPInstanceUID>[_fNNNN]` instead (its PNG's
    name in an MVTec export) with its `sop_instance_uid` and, for a frame, `frame`; with DICOM
    images `info` names no folder. Returns the data written, or None when cancelled (then nothing
    is written)."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    any_dicom = False
    reviewed = reviewed_images(workspace)
    for done, image in enumerate(reviewed, start=1):
        if cancel is not None and cancel.is_set():
            return None
        if progress is not None:
            progress(done, len(reviewed))
        mask = final_mask(workspace, image)
        height, width = mask.shape if mask is not None else (image.height, image.width)
        entry = {
            "id": image.image_id,
            "file_name": name_text(image.rel_path),
            "width": int(width or 0),
            "height": int(height or 0),
        }
        uid_stem = dicom_stem(workspace.folder / image.rel_path, None, image.image_id)
        if uid_stem is not None:  # DICOM: the instance (and frame) that tools outside match on
            entry["file_name"] = with_frame(uid_stem, image.frame)
            entry["sop_instance_uid"] = uid_stem
            any_dicom = True
        if image.frame is not None:
            entry["frame"] = image.frame
        images.append(entry)
        if mask is not None:
            annotations += region_annotations(mask, image.image_id, len(annotations) + 1)
    # A DICOM folder is often named after the patient: then the info names no folder.
    info = (
        {"description": "reviewed defects"}
        if any_dicom
        else {
            "description": f"reviewed defects of {name_text(workspace.folder.name)}",
            "images_root": name_text(str(workspace.folder)),
        }
    )  # valid UTF-8 whatever the names
    data = {
        "info": info,
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": ANOMALY_LABEL, "supercategory": "defect"}],
    }
    with atomic_write(Path(target_file), mode="w") as handle:
        json.dump(data, handle)
    return data
