"""One export as the user chose it (layout, target, options), run as a job and summed up in words.

The window's export dialog and `zsad export` both go through here, so they
offer the same layouts and say the same things.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zsad_desktop.app.exports.coco import export_coco
from zsad_desktop.app.exports.mvtec import export_mvtec
from zsad_desktop.app.exports.report import export_report
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store.errors import StoreError

#: layout name -> what the target is
LAYOUTS = {"mvtec": "folder", "coco": "file (.json)", "report": "file (.csv or .json)"}


@dataclass(frozen=True)
class ExportChoice:
    layout: str
    target: Path
    category: str = "reviewed"
    dicom_seg: bool = False


@dataclass
class ExportSummary:
    lines: list[str]  # what was written, for the user
    problems: list[str]  # per-image messages (patient-safe): skipped images, refused SEGs
    cancelled: bool = False


def run_export(
    workspace: Workspace,
    choice: ExportChoice,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportSummary:
    """Write the chosen export; an OSError (a full disk) names the export's target when the write did not."""
    try:
        return _run_export(workspace, choice, progress, cancel)
    except OSError as error:
        if error.filename is None:
            error.filename = str(choice.target)
        raise


def _run_export(
    workspace: Workspace,
    choice: ExportChoice,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportSummary:
    if choice.layout not in LAYOUTS:
        raise StoreError(f"unknown export layout {choice.layout!r}: choose one of {', '.join(LAYOUTS)}")
    if choice.dicom_seg and choice.layout != "mvtec":
        raise StoreError("DICOM SEG files are written with the MVTec layout only")
    if choice.layout == "mvtec":
        report = export_mvtec(
            workspace,
            choice.target,
            choice.category,
            progress=progress,
            cancel=cancel,
            dicom_seg=choice.dicom_seg,
        )
        lines = [
            f"{report.normal} normal and {report.anomalous} anomalous images exported to {report.folder}"
        ]
        if choice.dicom_seg:
            lines.append(f"{report.segmentations} DICOM SEG files in {report.folder / 'dicom_seg'}")
        problems = [f"skipped: {m}" for m in report.skipped] + [
            f"no DICOM SEG: {m}" for m in report.seg_skipped
        ]
        return ExportSummary(lines, problems, report.cancelled)
    if choice.layout == "coco":
        data = export_coco(workspace, choice.target, progress, cancel)
        if data is None:
            return ExportSummary([], [], cancelled=True)
        return ExportSummary(
            [
                f"{len(data['images'])} images, {len(data['annotations'])} defect regions "
                f"written to {choice.target}"
            ],
            [],
        )
    count = export_report(workspace, choice.target, cancel)
    if count is None:
        return ExportSummary([], [], cancelled=True)
    return ExportSummary([f"{count} images listed in {choice.target}"], [])
