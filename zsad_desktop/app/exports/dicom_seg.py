"""Reviewed masks as DICOM Segmentation objects (highdicom), for PACS and DICOM viewers.

One binary SEG per reviewed DICOM image with a defect: a single segment
"anomaly", algorithm type MANUAL (a reviewer accepted or drew it), referencing
the source's Study, Series and SOP Instance UIDs, and for a frame of a
multi-frame file that frame's number. highdicom maps frames by position only
where the source has a coordinate system; a multi-frame file without one
(secondary capture, cine) is given to it as one frame and the frame number
written into the references afterwards.
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from highdicom.spatial import get_image_coordinate_system
from pydicom.sr.codedict import codes

from zsad_desktop import __version__
from zsad_desktop.imaging.dicom import frame_total

SEGMENT_LABEL = "anomaly"
#: type 2 patient and study attributes a SEG copies: required but may be empty, so an absent one is
#: passed on empty (many exports drop them); missing UIDs (type 1) are a refusal
EMPTY_ALLOWED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)


class SegRefused(Exception):
    """The source lacks what a DICOM SEG must copy from it; the message says what."""


def write_dicom_seg(source: Path, frame: int | None, mask: np.ndarray, target: Path) -> None:
    """Write `mask` (H, W bool) of `source` (its `frame`, or None) to `target` as a DICOM SEG."""
    try:
        header = pydicom.dcmread(
            source, stop_before_pixels=True
        )  # highdicom needs the attributes, not pixels
    except (OSError, ValueError, EOFError, pydicom.errors.InvalidDicomError) as error:
        raise SegRefused(f"not a readable DICOM file ({error})") from None
    for keyword in EMPTY_ALLOWED:
        if keyword not in header:
            setattr(header, keyword, "")
    missing = [
        k
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
        if not header.get(k)
    ]
    if missing:
        raise SegRefused(f"the source has no {', '.join(missing)}")
    frames = frame_total(header)
    mask = np.asarray(mask, bool)
    if mask.shape != (int(header.get("Rows", 0)), int(header.get("Columns", 0))):
        raise SegRefused(
            f"mask size {mask.shape} differs from the image's {header.get('Rows')}x{header.get('Columns')}"
        )
    index = frame or 0
    patch_frame = frames > 1 and get_image_coordinate_system(header) is None
    if frames > 1 and not patch_frame:
        pixels = np.zeros((frames, *mask.shape), bool)
        pixels[index] = mask
    else:
        pixels = mask[None]
    if patch_frame:  # a one-frame view of the file; the frame is referenced below
        header.NumberOfFrames = 1
    try:
        seg = hd.seg.Segmentation(
            source_images=[header],
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=[_segment()],
            series_instance_uid=hd.UID(),
            series_number=9901,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="zsad-desktop",
            manufacturer_model_name="zsad-desktop",
            software_versions=str(__version__),
            device_serial_number="0",
            series_description="zsad reviewed anomaly",
        )
    except (AttributeError, ValueError, TypeError, KeyError, IndexError, NotImplementedError) as error:
        raise SegRefused(f"highdicom refused the source: {error or type(error).__name__}") from None
    if patch_frame:
        for item in seg.PerFrameFunctionalGroupsSequence:
            for derivation in item.get("DerivationImageSequence", []):
                for source_item in derivation.get("SourceImageSequence", []):
                    source_item.ReferencedFrameNumber = index + 1  # DICOM frame numbers start at 1
    seg.save_as(target)


def _segment() -> hd.seg.SegmentDescription:
    return hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=SEGMENT_LABEL,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )
