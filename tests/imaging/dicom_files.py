"""DICOM files written by the tests themselves with pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

PATIENT = "Secret^Patient"


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    bits: int = 16,
    photometric: str = "MONOCHROME2",
    slope=None,
    intercept=None,
    window=None,
    signed: bool = False,
    preamble: bool = True,
    **elements,
) -> Path:
    """Grey (H, W) or multi-frame (F, H, W) pixels, or RGB (H, W, 3) with photometric="RGB"."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = PATIENT, "ID-4711"
    ds.SeriesDescription, ds.InstanceNumber, ds.Modality = "Head CT", 7, "CT"
    colour = photometric == "RGB"
    frames = pixels.shape[0] if pixels.ndim == 3 and not colour else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = (3 if colour else 1), photometric
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits == 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = slope, intercept or 0.0, "HU"
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    dtype = (np.int8 if signed else np.uint8) if bits == 8 else (np.int16 if signed else np.uint16)
    ds.PixelData = pixels.astype(dtype).tobytes()
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:  # a bare dataset: no preamble, no DICM, no file meta (old exports)
        ds.preamble = None
        ds.file_meta = FileMetaDataset()
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


def functional_groups(per_frame: list[dict]) -> dict:
    """Enhanced multi-frame elements: rescale and window per frame, not at the top level."""
    items = []
    for values in per_frame:
        item = Dataset()
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = (
            values["slope"],
            values["intercept"],
            "HU",
        )
        item.PixelValueTransformationSequence = Sequence([transform])
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = values["window"]
        item.FrameVOILUTSequence = Sequence([voi])
        items.append(item)
    return {"PerFrameFunctionalGroupsSequence": Sequence(items)}
