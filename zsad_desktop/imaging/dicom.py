"""DICOM decoding with pydicom: modality LUT, MONOCHROME1, windows, frames.

Labels are patient-safe (series description and instance number), never the
patient's name, so they can appear in file names and logs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut

from zsad_desktop.imaging.loader import ImageInfo, ImageLoadError, LoadedImage

#: transfer syntaxes whose pixel data need a decoder that pydicom lacks by itself
DECODER_HINTS = {
    "1.2.840.10008.1.2.4.50": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.51": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.57": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.70": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.80": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.81": "pylibjpeg pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.90": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.91": "pylibjpeg pylibjpeg-openjpeg",
}


def _read(path: Path, pixels: bool) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise ImageLoadError(path, f"not a readable DICOM file ({exc})") from None


def safe_label(ds: pydicom.Dataset, frame: int | None = None) -> str:
    series = str(ds.get("SeriesDescription", "") or ds.get("Modality", "DICOM"))
    parts = [series, f"#{ds.get('InstanceNumber', '?')}"]
    if frame is not None:
        parts.append(f"frame {frame + 1}")
    return " ".join(parts)


def _first(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value[0] if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else value)
    except (TypeError, ValueError):
        return None


def dicom_info(path: Path) -> ImageInfo:
    ds = _read(path, pixels=False)
    try:
        return ImageInfo(int(ds.Columns), int(ds.Rows), int(ds.get("BitsStored", 8)), "dicom", int(ds.get("NumberOfFrames", 1) or 1))
    except AttributeError:
        raise ImageLoadError(path, "DICOM file has no image (no Rows/Columns)") from None


def load_dicom(path: Path, frame: int | None = None) -> LoadedImage:
    ds = _read(path, pixels=True)
    if "PixelData" not in ds:
        raise ImageLoadError(path, "DICOM file has no pixel data")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    index = frame or 0
    if not 0 <= index < frames:
        raise ImageLoadError(path, f"frame {index} requested, the file has {frames}")
    try:
        raw = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - pydicom raises several types for missing decoders
        syntax = str(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        hint = DECODER_HINTS.get(syntax, "pylibjpeg or python-gdcm")
        raise ImageLoadError(path, f"compressed DICOM ({syntax}) needs an extra decoder: pip install {hint} ({exc})") from None
    if frames > 1:
        raw = raw[index]
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if raw.ndim == 3:  # colour DICOM (RGB, YBR converted by pydicom)
        pixels = raw.astype(np.uint8) if raw.dtype == np.uint8 else raw
        return LoadedImage(pixels, int(ds.get("BitsStored", 8)), "dicom", path, frame if frames > 1 else None, safe_label(ds, frame))
    values = apply_modality_lut(raw, ds).astype(np.float32)
    centre, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if photometric == "MONOCHROME1":
        # Inverted so that bright is dense, as everywhere else; the window moves with it.
        low, high = float(values.min()), float(values.max())
        values = (low + high) - values
        if centre is not None:
            centre = (low + high) - centre
    window = (centre, width) if centre is not None and width else None
    bits = int(ds.get("BitsStored", 16))
    return LoadedImage(values, bits, "dicom", path, index if frames > 1 else None, safe_label(ds, index if frames > 1 else None), window)
