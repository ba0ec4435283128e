"""A CSV or JSON report with one line per image: what was decided, by whom, on which model's proposal."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any

from zsad_desktop.app.exports.dicom_source import exported_path
from zsad_desktop.app.exports.reviewed import reviewed_images
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.imaging.masks import atomic_write

REPORT_FIELDS = ("path", "score", "status", "reviewer", "model_version", "defect_area", "note", "updated_at")


def review_report(workspace: Workspace, cancel: threading.Event | None = None) -> list[dict[str, Any]] | None:
    """Every image present, by path (a DICOM image by its UID stem: its path may name the patient);
    `score` from the active model, `defect_area` in pixels of the final mask. None when cancelled."""
    rows = []
    for image in reviewed_images(workspace, statuses=None):
        if cancel is not None and cancel.is_set():
            return None
        area = image.mask_area
        if area is None and image.mask_file:  # reviews saved before areas were stored
            area = int(workspace.files.read_mask(image.mask_file).sum())
        rows.append(
            {
                "path": name_text(
                    exported_path(workspace.folder, image.rel_path, image.frame, image.image_id)
                ),
                "score": image.score,
                "status": image.status.value,
                "reviewer": image.reviewer,
                "model_version": image.model_version,
                "defect_area": area or 0,
                "note": image.note,
                "updated_at": image.updated_at.isoformat() if image.updated_at else None,
            }
        )
    return rows


def export_report(
    workspace: Workspace, target_file: Path | str, cancel: threading.Event | None = None
) -> int | None:
    """CSV, or JSON when the file name ends in .json; returns the number of images listed, or None
    when cancelled (then nothing is written)."""
    rows = review_report(workspace, cancel)
    if rows is None:
        return None
    target_file = Path(target_file)
    with atomic_write(target_file, mode="w") as handle:
        if target_file.suffix.lower() == ".json":
            json.dump(rows, handle, indent=1)
        else:
            writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    return len(rows)
