"""DICOM decoding with pydicom: modality rescale, MONOCHROME1, windows, frames.

Values come back as float32 in the modality's units (Hounsfield for CT).
MONOCHROME1 ("white is zero") is turned into MONOCHROME2 by mirroring the
values over the stored range, and the file's window with them, so bright
always means dense. Enhanced multi-frame files keep rescale and window per
frame in functional groups; those are read for the frame shown.

Labels are patient-safe (modality, series description, instance and frame
number), never the patient's name or ID, so they can appear in logs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from zsad_desktop.imaging.decode_limit import refuse_if_too_large
from zsad_desktop.imaging.loaded import ImageEntry, ImageInfo, ImageLoadError, LoadedImage

DEFER_BYTES = 1024 * 1024  # big values (pixel data) stay on disk until a frame is decoded
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
UNDEFINED_LENGTH = 0xFFFFFFFF


def read_header(path: Path) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, defer_size=DEFER_BYTES)
    except InvalidDicomError:
        pass  # no preamble: old or raw exports named .dcm; read what is there
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise ImageLoadError(path, f"not a readable DICOM file ({exc})") from None
    try:
        ds = pydicom.dcmread(path, defer_size=DEFER_BYTES, force=True)
    except Exception as exc:  # noqa: BLE001 - forced parsing of a non-DICOM file fails in many ways
        raise ImageLoadError(path, f"not a readable DICOM file ({exc})") from None
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    return ds


def frame_total(ds: pydicom.Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def safe_label(ds: pydicom.Dataset, frame: int | None = None) -> str:
    parts = [str(ds.get("Modality", "") or "DICOM")]
    if ds.get("SeriesDescription"):
        parts.append(str(ds.SeriesDescription))
    parts.append(f"#{ds.get('InstanceNumber', '?')}")
    if frame is not None:
        parts.append(f"frame {frame + 1}")
    return " ".join(parts)


def sop_instance_uid(path: Path) -> str | None:
    """The file's SOP Instance UID: a patient-safe name for exported files."""
    uid = str(_header_without_pixels(path).get("SOPInstanceUID", "") or "").strip()
    return uid or None


def stored_values(path: Path, frame: int | None = None) -> np.ndarray:
    """A frame's stored pixel values as the file holds them (no rescale, no window)."""
    ds = read_header(path)
    _check_complete(path, ds)
    return _decode(path, ds, (frame or 0) if frame_total(ds) > 1 else None)


def dicom_info(path: Path) -> ImageInfo:
    ds = _header_without_pixels(path)
    if "Rows" not in ds or "Columns" not in ds:
        raise ImageLoadError(path, "DICOM file has no image (no Rows/Columns)")
    return ImageInfo(
        int(ds.Columns),
        int(ds.Rows),
        int(ds.get("BitsStored", 8) or 8),
        "dicom",
        frame_total(ds),
        safe_label(ds),
    )


def dicom_entries(path: Path) -> list[ImageEntry]:
    ds = _header_without_pixels(path)
    frames = frame_total(ds)
    if frames == 1:
        return [ImageEntry(path, None, safe_label(ds))]
    return [ImageEntry(path, index, safe_label(ds, index)) for index in range(frames)]


def load_dicom(path: Path, frame: int | None = None) -> LoadedImage:
    ds = read_header(path)
    if not any(tag in ds for tag in PIXEL_KEYWORDS):
        raise ImageLoadError(path, "DICOM file has no pixel data")
    _check_complete(path, ds)
    refuse_if_too_large(path, int(ds.get("Columns", 0) or 0), int(ds.get("Rows", 0) or 0), "DICOM frame")
    frames = frame_total(ds)
    index = frame or 0
    if not 0 <= index < frames:
        raise ImageLoadError(path, f"frame {index} requested, the file has {frames}")
    raw = _decode(path, ds, index if frames > 1 else None)
    shown_frame = index if frames > 1 else None
    bits = int(ds.get("BitsStored", 0) or (32 if "PixelData" not in ds else 8))  # float pixel data has none
    label = safe_label(ds, shown_frame)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if photometric == "PALETTE COLOR":
        colours = apply_color_lut(raw, ds)
        colours = (colours >> 8) if colours.max() > 255 else colours
        return LoadedImage(colours.astype(np.uint8), 8, "dicom", path, shown_frame, label)
    if raw.ndim == 3:  # RGB (YBR already converted by pydicom)
        return LoadedImage(np.ascontiguousarray(raw), bits, "dicom", path, shown_frame, label)
    values = _rescaled(raw, ds, index)
    window = _window(ds, index)
    if photometric == "MONOCHROME1":
        mirror = _mirror_point(ds, index)
        values = mirror - values
        window = (mirror - window[0], window[1]) if window else None
    return LoadedImage(values, bits, "dicom", path, shown_frame, label, window)


def _check_complete(path: Path, ds: pydicom.Dataset) -> None:
    """A cut-off file is an error even where the asked frame happens to be whole."""
    for keyword in PIXEL_KEYWORDS:
        element = ds.get_item(keyword, keep_deferred=True) if keyword in ds else None
        length = getattr(element, "length", UNDEFINED_LENGTH)  # only raw (not yet decoded) elements have it
        if element is None or length == UNDEFINED_LENGTH:  # encapsulated: the decoder finds a cut
            continue
        if element.value is not None:
            present = len(element.value)
        else:  # deferred: still on disk
            present = max(0, path.stat().st_size - element.value_tell)  # type: ignore[attr-defined]  # set on deferred elements only, not in the stub
        if present < length:
            raise ImageLoadError(path, f"DICOM pixel data is truncated ({present} of {length} bytes present)")


def _header_without_pixels(path: Path) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return read_header(path)  # forced read of a file without preamble
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise ImageLoadError(path, f"not a readable DICOM file ({exc})") from None


def _decode(path: Path, ds: pydicom.Dataset, index: int | None) -> np.ndarray:
    syntax = ds.file_meta.get("TransferSyntaxUID")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImageLoadError(path, f"DICOM transfer syntax {syntax} is not supported") from None
    if not decoder.is_available:
        raise ImageLoadError(
            path, f"compressed DICOM ({syntax.name}) needs an extra decoder: {_install_hint(decoder)}"
        )
    # From the path only the asked frame is read; a file without preamble is decoded from the dataset.
    source = str(path) if ds.preamble is not None else ds
    try:
        return pixel_array(source, index=index)
    except Exception as exc:  # noqa: BLE001 - decoders raise many types for damaged pixel data
        raise ImageLoadError(
            path, f"DICOM pixel data could not be decoded ({type(exc).__name__}: {exc})"
        ) from None


def _install_hint(decoder: Any) -> str:
    """'pip install pylibjpeg pylibjpeg-libjpeg, or pip install python-gdcm' from pydicom's missing plugins."""
    options = []
    for (
        line
    ) in decoder.missing_dependencies:  # "pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1"
        wanted = line.split("requires", 1)[-1].split(" and ")
        names = [re.split(r"[<>=!~ ]", name.strip(), maxsplit=1)[0] for name in wanted]
        names = ["python-gdcm" if name == "gdcm" else name for name in names if name and name != "numpy"]
        if names:
            options.append("pip install " + " ".join(names))
    options.sort(key=lambda option: "pylibjpeg" not in option)  # the pure-pip choice first
    return ", or ".join(options) or "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg"


def _frame_item(ds: pydicom.Dataset, index: int, sequence: str) -> pydicom.Dataset | None:
    """An enhanced multi-frame attribute group: the frame's own, else the shared one."""
    for groups, item_index in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        items = ds.get(groups)
        if items and item_index < len(items) and items[item_index].get(sequence):
            return items[item_index].get(sequence)[0]
    return None


def _rescale_source(ds: pydicom.Dataset, index: int) -> pydicom.Dataset:
    if "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds:
        return ds
    return _frame_item(ds, index, "PixelValueTransformationSequence") or ds


def _rescaled(raw: np.ndarray, ds: pydicom.Dataset, index: int) -> np.ndarray:
    source = _rescale_source(ds, index)
    if source is ds:
        return np.asarray(apply_modality_lut(raw, ds), dtype=np.float32)
    slope, intercept = (
        float(source.get("RescaleSlope", 1) or 1),
        float(source.get("RescaleIntercept", 0) or 0),
    )
    return raw.astype(np.float32) * np.float32(slope) + np.float32(intercept)


def _mirror_point(ds: pydicom.Dataset, index: int) -> float:
    """Lowest plus highest storable value after rescale: the same for every frame of a series."""
    bits = int(ds.get("BitsStored", 16) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    ends = _rescaled(np.array([low, high], np.int64 if signed else np.uint32), ds, index)
    return float(ends[0] + ends[1])


def _first_number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _window(ds: pydicom.Dataset, index: int) -> tuple[float, float] | None:
    source = ds if "WindowCenter" in ds else (_frame_item(ds, index, "FrameVOILUTSequence") or ds)
    centre, width = _first_number(source.get("WindowCenter")), _first_number(source.get("WindowWidth"))
    if centre is None or width is None or width <= 0:
        return None
    return centre, width
