"""Generated CT demo data: a head phantom as a DICOM series, some slices with a bleed.

For trying the radiology side (window/level presets, DICOM labels, frames)
without patient data: every pixel is computed here, the identifiers are
made up, and the patient is "Demo^Phantom". Values are Hounsfield units
stored as signed 16-bit with the usual intercept of -1024; the files carry
a brain window (40/80). The slices are single-frame files named like a PACS
export (IM0001, no suffix), plus one multi-frame file of the same volume.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

INTERCEPT = -1024.0
BLEED_HU = 70.0  # acute blood is brighter than brain (about 30 HU) in a brain window


def head_slice(size: int, position: float, rng: np.random.Generator) -> np.ndarray:
    """One axial slice in HU: air, skull, brain with ventricles; `position` in 0..1 shrinks the head at the ends."""
    hu = np.full((size, size), -1000.0, np.float32)
    centre = (size // 2, size // 2)
    scale = 0.75 + 0.25 * np.sin(np.pi * (0.15 + 0.7 * position))
    outer = (int(size * 0.36 * scale), int(size * 0.44 * scale))
    inner = (outer[0] - max(3, size // 40), outer[1] - max(3, size // 40))
    cv2.ellipse(hu, centre, outer, 0, 0, 360, 900.0, -1)  # skull
    cv2.ellipse(hu, centre, inner, 0, 0, 360, 32.0, -1)  # brain
    ventricle = (max(2, int(size * 0.05 * scale)), max(3, int(size * 0.11 * scale)))
    for dx in (-1, 1):
        cv2.ellipse(
            hu, (centre[0] + dx * size // 18, centre[1]), ventricle, dx * 15, 0, 360, 8.0, -1
        )  # fluid
    brain = hu == 32.0
    hu[brain] += rng.normal(0, 3.0, int(brain.sum())).astype(np.float32)  # tissue texture and noise
    return hu


def add_bleed(hu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hyperdense blob inside the brain; returns its mask."""
    size = hu.shape[0]
    brain = (hu > 15) & (hu < 60)
    ys, xs = np.nonzero(cv2.erode(brain.astype(np.uint8), np.ones((size // 10, size // 10), np.uint8)))
    pick = rng.integers(len(ys))
    mask = np.zeros(hu.shape, np.uint8)
    axes = tuple(int(v) for v in rng.integers(size // 30, size // 14, 2))
    cv2.ellipse(mask, (int(xs[pick]), int(ys[pick])), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    mask &= brain.astype(np.uint8)
    hu[mask > 0] = BLEED_HU + rng.normal(0, 4.0, int(mask.sum()))
    return mask > 0


def _dataset(
    path: Path,
    study: str,
    series: str,
    instance: int,
    slices: np.ndarray,
    description: str,
    frame_of_reference: str,
) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID, ds.Modality = "Demo^Phantom", "DEMO-0001", "CT"
    ds.SeriesDescription, ds.InstanceNumber = description, instance
    ds.Rows, ds.Columns = slices.shape[-2:]
    if slices.ndim == 3:
        ds.NumberOfFrames = slices.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1.0, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 80
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 5.0
    # where the slice lies: a DICOM SEG of a reviewed mask copies these from its source
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_of_reference, ""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    if slices.ndim == 2:
        ds.ImagePositionPatient = [0.0, 0.0, 5.0 * (instance - 1)]
    ds.PixelData = np.round(slices - INTERCEPT).astype(np.int16).tobytes()
    return ds


def write_ct_demo(target: Path, slices: int = 12, size: int = 256, bleeding: int = 4, seed: int = 0) -> Path:
    """Write the series (`target`/series/IM0001...), its masks (`target`/ground_truth) and a
    multi-frame copy (`target`/multiframe/volume.dcm) under `target`; returns it."""
    rng = np.random.default_rng(seed)
    target = Path(target)
    volume, masks = [], []
    with_bleed = set(
        rng.choice(np.arange(2, slices - 2), size=min(bleeding, max(0, slices - 4)), replace=False).tolist()
    )
    for index in range(slices):
        hu = head_slice(size, index / max(1, slices - 1), rng)
        masks.append(add_bleed(hu, rng) if index in with_bleed else np.zeros(hu.shape, bool))
        volume.append(hu)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for folder in ("series", "ground_truth", "multiframe"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    for index, (hu, mask) in enumerate(zip(volume, masks), start=1):
        path = target / "series" / f"IM{index:04d}"
        _dataset(path, study, series, index, hu, "Head phantom", frame_of_reference).save_as(
            path, enforce_file_format=True
        )
        if mask.any():
            cv2.imwrite(str(target / "ground_truth" / f"IM{index:04d}_mask.png"), mask.astype(np.uint8) * 255)
    path = target / "multiframe" / "volume.dcm"
    _dataset(
        path, study, generate_uid(), 1, np.stack(volume), "Head phantom volume", frame_of_reference
    ).save_as(path, enforce_file_format=True)
    return target
