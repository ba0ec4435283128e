"""Reviewed images in the MVTec AD layout, with an anomalib Folder config beside them.

    <target>/<category>/test/good/<name>.png
    <target>/<category>/test/<label>/<name>.png
    <target>/<category>/ground_truth/<label>/<name>_mask.png
    <target>/<category>/anomalib_folder.yaml (and .json)
    <target>/<category>/dicom_seg/<name>_seg.dcm (on request, DICOM images with a defect)

A DICOM image is named by its SOP Instance UID (and frame), never by its
file name, which may carry the patient's; see dicom_source.py.

The category folder is built under a hidden temporary name and swapped in
at the end, so an export is there whole or not at all, and a re-export
leaves no stale files of an earlier one. A folder that is not an earlier
export is never replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from zsad_desktop.app.exports.dicom_source import dicom_png_pixels, dicom_stem
from zsad_desktop.app.exports.names import UniqueNames, inside, safe_name
from zsad_desktop.app.exports.reviewed import final_mask, reviewed_images
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import ImageLoadError, load_image, to_rgb8
from zsad_desktop.store.errors import StoreError

ANOMALY_LABEL = "anomaly"
MARKER = ".zsad-export"  # says "this folder is an export zsad-desktop may replace"
CONFIG_NAME = "anomalib_folder"

Progress = Callable[[int, int], None]


@dataclass
class ExportReport:
    folder: Path
    normal: int = 0
    anomalous: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)  # images that could not be read, with the reason
    segmentations: int = 0  # DICOM SEG files written
    seg_skipped: list[str] = field(default_factory=list)  # DICOM images whose SEG could not be made, and why
    cancelled: bool = False


def export_mvtec(
    workspace: Workspace,
    target: Path | str,
    category: str = "reviewed",
    label: str = ANOMALY_LABEL,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    dicom_seg: bool = False,
) -> ExportReport:
    """Normal, accepted and corrected reviews as an MVTec AD category under `target`; with
    `dicom_seg`, a DICOM SEG beside each DICOM image's mask."""
    target = Path(target).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    category, label = safe_name(category, "reviewed"), safe_name(label, ANOMALY_LABEL)
    if label == "good":
        raise StoreError("the anomaly label cannot be 'good': that folder holds the normal images")
    final = inside(target, target / category)
    if final.exists() and not (final / MARKER).is_file() and (not final.is_dir() or any(final.iterdir())):
        raise StoreError(f"{final} exists and is not an earlier export: choose another folder or category")
    staging = Path(tempfile.mkdtemp(dir=target, prefix=f".{category}.partial-"))
    try:
        report = _write(workspace, staging, label, progress, cancel, dicom_seg)
        if report.cancelled:
            return ExportReport(final, cancelled=True)
        _write_anomalib_config(staging, final, category, label)
        (staging / MARKER).write_text("exported by zsad-desktop; re-exporting replaces this folder\n")
        _swap_in(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.folder = final
    return report


def _write(
    workspace: Workspace,
    root: Path,
    label: str,
    progress: Progress | None,
    cancel: threading.Event | None,
    dicom_seg: bool = False,
) -> ExportReport:
    report = ExportReport(root)
    for sub in ("test/good", f"test/{label}", f"ground_truth/{label}"):
        (root / sub).mkdir(parents=True)
    names = UniqueNames()
    images = reviewed_images(workspace)
    for done, image in enumerate(images, start=1):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            return report
        mask = final_mask(workspace, image)
        anomalous = mask is not None and bool(mask.any())
        source = workspace.folder / image.rel_path
        uid_stem = dicom_stem(source, image.frame, image.image_id)
        name = names(f"{uid_stem}.dcm" if uid_stem else image.rel_path)  # the suffix keeps a UID's last part
        folder = f"test/{label}" if anomalous else "test/good"
        try:
            png = inside(root, root / folder / f"{name}.png")
            if uid_stem:
                _write_png(png, _bgr(dicom_png_pixels(source, image.frame)))
            else:
                _copy_as_png(source, png)
        except ImageLoadError as error:  # a DICOM path may name the patient: say the UID instead
            report.skipped.append(f"{name}: {error.reason}" if uid_stem else str(error))
            continue
        report.files += 1
        if anomalous and mask is not None:
            _write_png(
                inside(root, root / f"ground_truth/{label}/{name}_mask.png"), mask.astype(np.uint8) * 255
            )
            report.anomalous += 1
            report.files += 1
            if dicom_seg and uid_stem:
                _write_seg(report, source, image.frame, mask, root / "dicom_seg", name)
        else:
            report.normal += 1
        if progress is not None:
            progress(done, len(images))
    return report


def _write_seg(
    report: ExportReport, source: Path, frame: int | None, mask: np.ndarray, folder: Path, name: str
) -> None:
    # highdicom takes most of a second to import: only exports with DICOM images pay for it
    from zsad_desktop.app.exports.dicom_seg import SegRefused, write_dicom_seg

    folder.mkdir(exist_ok=True)
    try:
        write_dicom_seg(source, frame, mask, inside(folder.parent, folder / f"{name}_seg.dcm"))
    except SegRefused as error:  # one odd source does not stop the export
        report.seg_skipped.append(f"{name}: {error}")
        return
    report.segmentations += 1
    report.files += 1


def _write_png(path: Path, pixels: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise StoreError(f"could not encode {path.name} as PNG")
    path.write_bytes(encoded.tobytes())  # inside the staging folder: the swap makes it atomic


def _copy_as_png(source: Path, target: Path) -> None:
    """PNG files are copied byte for byte; others are converted, keeping 8 or 16 bits per
    channel; signed or floating data (CT in Hounsfield units) is written as the reviewer saw it."""
    if source.suffix.lower() == ".png":
        try:
            shutil.copyfile(source, target)
        except OSError as error:
            raise ImageLoadError(source, f"cannot be copied ({error.strerror or error})") from None
        return
    loaded = load_image(source)
    pixels = loaded.pixels
    if pixels.dtype not in (np.uint8, np.uint16):
        pixels = to_rgb8(loaded)
    _write_png(target, _bgr(pixels))


def _bgr(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels[..., :3], cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels


def _write_anomalib_config(root: Path, final: Path, category: str, label: str) -> None:
    """anomalib's Folder datamodule reads the export directly:
    `anomalib train --model Padim --config <export>/anomalib_folder.yaml`."""
    init_args = {
        "name": category,
        "root": str(final),
        "normal_dir": "test/good",
        "abnormal_dir": f"test/{label}",
        "mask_dir": f"ground_truth/{label}",
        "normal_split_ratio": 0.5,  # half the normal images train, the rest join the test set
        "test_split_mode": "from_dir",
        "val_split_mode": "same_as_test",
    }
    config = {"data": {"class_path": "anomalib.data.Folder", "init_args": init_args}}
    lines = [
        "# anomalib Folder dataset over this export: anomalib train --model Padim --config anomalib_folder.yaml",
        "data:",
        "  class_path: anomalib.data.Folder",
        "  init_args:",
    ]
    lines += [
        f"    {key}: {json.dumps(value)}" for key, value in init_args.items()
    ]  # JSON scalars are valid YAML
    (root / f"{CONFIG_NAME}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / f"{CONFIG_NAME}.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _swap_in(staging: Path, final: Path) -> None:
    """Replace `final` by `staging` with renames: readers see the old export or the new one."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
