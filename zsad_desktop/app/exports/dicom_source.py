"""Exported names and pixels of DICOM sources: patient-safe names, stored values kept.

A DICOM file's name, and the folders above it, may carry the patient's name
(PACS exports often do), so its exports are named by the SOP Instance UID,
plus `_fNNNN` for a frame of a multi-frame file, never by its path: file names,
COCO `file_name`, the report's `path` and messages alike. The image PNG of an MVTec export
holds the stored values (8 or 16 bit, no rescale, no window) so training
tools see what the scanner wrote; signed or floating-point data cannot be a
PNG as it is and is written as the windowed 8-bit image the reviewer saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zsad_desktop.imaging import ImageLoadError, is_dicom_file, load_image, to_rgb8
from zsad_desktop.imaging.dicom import sop_instance_uid, stored_values


def dicom_stem(source: Path, frame: int | None, image_id: int) -> str | None:
    """`<SOPInstanceUID>[_fNNNN]` for a DICOM source, None for other files. A DICOM file without a
    readable UID is named by its database id: still nothing from the file name."""
    if not is_dicom_file(source):
        return None
    try:
        uid = sop_instance_uid(source)
    except ImageLoadError:
        uid = None
    return with_frame(uid or f"dicom_image_{image_id}", frame)


def with_frame(stem: str, frame: int | None) -> str:
    """`stem`, or for a frame of a multi-frame file `stem_fNNNN`."""
    return stem if frame is None else f"{stem}_f{frame:04d}"


def exported_path(workspace_folder: Path, rel_path: str, frame: int | None, image_id: int) -> str:
    """How an export names an image: its relative path, or for a DICOM source its UID stem (the
    folders above a DICOM file are often named after the patient too)."""
    return dicom_stem(workspace_folder / rel_path, frame, image_id) or rel_path


def dicom_png_pixels(source: Path, frame: int | None) -> np.ndarray:
    """Stored values when they fit a PNG (unsigned 8/16 bit grey or RGB), else the windowed 8-bit image."""
    values = stored_values(source, frame)
    if values.dtype in (np.uint8, np.uint16):
        return values
    loaded = load_image(source, frame)
    shown = to_rgb8(loaded)
    return shown[..., 0] if loaded.pixels.ndim == 2 else shown  # grey stays one channel
