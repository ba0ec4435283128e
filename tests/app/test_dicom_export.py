"""Exports of DICOM images: named by SOP Instance UID (never the patient), stored values kept, DICOM SEG."""

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.app.exports import export_mvtec
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ReviewStatus

PATIENT_NAME = "Doe^Jane"


def _study():
    """The UIDs a DICOM SEG must reference (absent type 2 attributes, e.g. birth date, it passes on empty)."""
    return dict(
        StudyInstanceUID=generate_uid(),
        SeriesInstanceUID=generate_uid(),
        PatientName=PATIENT_NAME,
        PatientSex="F",
        SeriesNumber=3,
    )


def _mask(shape, top):
    mask = np.zeros(shape, bool)
    mask[top : top + 4, 2:9] = True
    return mask


@pytest.fixture
def dicom_workspace(tmp_path):
    """A 16-bit CT, an 8-bit image and a 3-frame file, named after the patient as careless exports are."""
    folder = tmp_path / "Doe_Jane"
    folder.mkdir()
    rng = np.random.default_rng(3)
    ct = rng.integers(0, 4000, (24, 32)).astype(np.uint16)
    small = rng.integers(0, 255, (20, 16)).astype(np.uint8)
    cine = np.stack([np.full((24, 32), 1000 * (i + 1), np.uint16) for i in range(3)])
    paths = {
        "ct": write_dicom(
            folder / "Doe_Jane_ct.dcm", ct, slope=1.0, intercept=-1024.0, window=(40, 400), **_study()
        ),
        "small": write_dicom(folder / "Doe_Jane_small.dcm", small, bits=8, PatientName=PATIENT_NAME),
        "cine": write_dicom(folder / "Doe_Jane_cine.dcm", cine, **_study()),
    }
    ws = Workspace.open(folder)
    scan(ws)
    yield ws, paths, {"ct": ct, "small": small, "cine": cine}
    ws.close()


def _uid(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def test_dicom_exports_are_named_by_uid_keep_stored_values_and_masks(dicom_workspace, tmp_path):
    ws, paths, pixels = dicom_workspace
    rows = {(r.rel_path, r.frame): r for r in ws.images()}
    ct_mask, frame_mask = _mask((24, 32), 3), _mask((24, 32), 10)
    record_review(ws, rows[("Doe_Jane_ct.dcm", None)].id, ReviewStatus.CORRECTED, mask=ct_mask)
    record_review(ws, rows[("Doe_Jane_cine.dcm", 2)].id, ReviewStatus.ACCEPTED, mask=frame_mask)
    record_review(ws, rows[("Doe_Jane_cine.dcm", 0)].id, ReviewStatus.NORMAL)
    record_review(ws, rows[("Doe_Jane_small.dcm", None)].id, ReviewStatus.NORMAL)
    report = export_mvtec(ws, tmp_path / "out")
    assert (report.normal, report.anomalous, report.skipped) == (2, 2, [])

    written = sorted(p.relative_to(report.folder).as_posix() for p in report.folder.rglob("*.png"))
    ct_uid, cine_uid, small_uid = _uid(paths["ct"]), _uid(paths["cine"]), _uid(paths["small"])
    assert written == sorted(
        [
            f"test/anomaly/{ct_uid}.png",
            f"ground_truth/anomaly/{ct_uid}_mask.png",
            f"test/anomaly/{cine_uid}_f0002.png",
            f"ground_truth/anomaly/{cine_uid}_f0002_mask.png",
            f"test/good/{cine_uid}_f0000.png",
            f"test/good/{small_uid}.png",
        ]
    )
    every_name = " ".join(p.name for p in report.folder.rglob("*"))
    assert "Doe" not in every_name and "Jane" not in every_name

    def read(relative):
        return cv2.imread(str(report.folder / relative), cv2.IMREAD_UNCHANGED)

    np.testing.assert_array_equal(read(f"ground_truth/anomaly/{ct_uid}_mask.png") > 0, ct_mask)
    np.testing.assert_array_equal(read(f"ground_truth/anomaly/{cine_uid}_f0002_mask.png") > 0, frame_mask)
    ct_png = read(f"test/anomaly/{ct_uid}.png")
    assert ct_png.dtype == np.uint16
    np.testing.assert_array_equal(ct_png, pixels["ct"])  # stored values, not HU nor the window
    np.testing.assert_array_equal(read(f"test/anomaly/{cine_uid}_f0002.png"), pixels["cine"][2])
    small_png = read(f"test/good/{small_uid}.png")
    assert small_png.dtype == np.uint8
    np.testing.assert_array_equal(small_png, pixels["small"])


def test_signed_dicom_values_become_the_windowed_8bit_image(tmp_path):
    folder = tmp_path / "signed"
    folder.mkdir()
    values = np.full((16, 16), -500, np.int16)
    values[:8] = 500
    write_dicom(folder / "s.dcm", values, signed=True, window=(0, 1000))
    with Workspace.open(folder) as ws:
        scan(ws)
        record_review(ws, ws.images()[0].id, ReviewStatus.NORMAL)
        report = export_mvtec(ws, tmp_path / "out")
    (png,) = (report.folder / "test" / "good").iterdir()
    image = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint8 and image[0, 0] > 200 and image[-1, -1] < 50


def _review_defects(ws):
    rows = {(r.rel_path, r.frame): r for r in ws.images()}
    masks = {
        ("Doe_Jane_ct.dcm", None): _mask((24, 32), 3),
        ("Doe_Jane_cine.dcm", 1): _mask((24, 32), 12),
        ("Doe_Jane_small.dcm", None): _mask((20, 16), 5),
    }
    for key, mask in masks.items():
        record_review(ws, rows[key].id, ReviewStatus.CORRECTED, mask=mask)
    record_review(ws, rows[("Doe_Jane_cine.dcm", 0)].id, ReviewStatus.NORMAL)
    return masks


def test_dicom_seg_holds_the_reviewed_mask_and_references_its_source(dicom_workspace, tmp_path):
    ws, paths, _ = dicom_workspace
    masks = _review_defects(ws)
    report = export_mvtec(ws, tmp_path / "out", dicom_seg=True)
    # the 8-bit file has no study and series UIDs, which a SEG must reference: said, by UID, and the rest goes on
    small_uid = _uid(paths["small"])
    assert len(report.seg_skipped) == 1 and report.seg_skipped[0].startswith(small_uid)
    assert "Doe" not in report.seg_skipped[0] and "StudyInstanceUID" in report.seg_skipped[0]
    assert report.segmentations == 2 and report.anomalous == 3
    segs = sorted((report.folder / "dicom_seg").iterdir())
    names = {p.name for p in segs}
    ct_uid, cine_uid = _uid(paths["ct"]), _uid(paths["cine"])
    assert names == {f"{ct_uid}_seg.dcm", f"{cine_uid}_f0001_seg.dcm"}  # none for the normal frame
    for key, path, name, frame_number in (
        (("Doe_Jane_ct.dcm", None), paths["ct"], f"{ct_uid}_seg.dcm", None),
        (("Doe_Jane_cine.dcm", 1), paths["cine"], f"{cine_uid}_f0001_seg.dcm", 2),
    ):
        source = pydicom.dcmread(path, stop_before_pixels=True)
        seg = hd.seg.segread(report.folder / "dicom_seg" / name)
        assert seg.SegmentSequence[0].SegmentLabel == "anomaly"
        assert seg.SegmentSequence[0].SegmentAlgorithmType == "MANUAL"
        assert seg.StudyInstanceUID == source.StudyInstanceUID
        referenced = seg.ReferencedSeriesSequence[0]
        assert referenced.SeriesInstanceUID == source.SeriesInstanceUID
        assert referenced.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
        (frame_item,) = seg.PerFrameFunctionalGroupsSequence
        source_ref = frame_item.DerivationImageSequence[0].SourceImageSequence[0]
        assert source_ref.ReferencedSOPInstanceUID == source.SOPInstanceUID
        assert source_ref.get("ReferencedFrameNumber") == frame_number
        assert (seg.Rows, seg.Columns) == (source.Rows, source.Columns)
        np.testing.assert_array_equal(seg.pixel_array.astype(bool), masks[key])


def test_without_the_option_no_seg_is_written(dicom_workspace, tmp_path):
    ws, _, _ = dicom_workspace
    _review_defects(ws)
    report = export_mvtec(ws, tmp_path / "out")
    assert report.segmentations == 0 and not (report.folder / "dicom_seg").exists()


def test_zsad_export_dicom_seg_from_the_command_line(dicom_workspace, tmp_path, capsys):
    from zsad_desktop import cli

    ws, paths, _ = dicom_workspace
    _review_defects(ws)
    folder = str(ws.folder)
    assert cli.main(["export", folder, "--out", str(tmp_path / "out"), "--dicom-seg"]) == 0
    out, err = capsys.readouterr()
    assert "2 DICOM SEG files" in out and f"no DICOM SEG: {_uid(paths['small'])}" in err
    assert "Doe" not in out + err.replace(folder, "")  # messages name images by UID
    assert len(list((tmp_path / "out" / "reviewed" / "dicom_seg").iterdir())) == 2
    assert (
        cli.main(["export", folder, "--format", "coco", "--out", str(tmp_path / "c.json"), "--dicom-seg"])
        == 2
    )
    assert not (tmp_path / "c.json").exists()


def test_seg_of_a_frame_of_a_positioned_multiframe_source(tmp_path):
    """A source with a frame of reference and plane positions: highdicom maps the frame itself."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from zsad_desktop.app.exports.dicom_seg import write_dicom_seg

    shared, orientation, measures = Dataset(), Dataset(), Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures.PixelSpacing, measures.SliceThickness = [0.5, 0.5], 1.0
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = (
        Sequence([orientation]),
        Sequence([measures]),
    )
    per_frame = []
    for index in range(3):
        item, position = Dataset(), Dataset()
        position.ImagePositionPatient = [0.0, 0.0, float(index)]
        item.PlanePositionSequence = Sequence([position])
        per_frame.append(item)
    source = write_dicom(
        tmp_path / "volume.dcm",
        np.stack([np.full((24, 32), i, np.uint16) for i in range(3)]),
        SOPClassUID=pydicom.uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        FrameOfReferenceUID=generate_uid(),
        SharedFunctionalGroupsSequence=Sequence([shared]),
        PerFrameFunctionalGroupsSequence=Sequence(per_frame),
        **_study(),
    )
    mask = _mask((24, 32), 7)
    write_dicom_seg(source, 1, mask, tmp_path / "seg.dcm")
    seg = hd.seg.segread(tmp_path / "seg.dcm")
    (item,) = seg.PerFrameFunctionalGroupsSequence
    assert int(item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber) == 2
    np.testing.assert_array_equal(seg.pixel_array.astype(bool), mask)


def test_coco_entries_of_dicom_frames_carry_uid_and_frame(dicom_workspace, tmp_path):
    from zsad_desktop.app.exports import export_coco

    ws, paths, _ = dicom_workspace
    masks = _review_defects(ws)
    data = export_coco(ws, tmp_path / "coco.json")
    cine_uid, ct_uid = _uid(paths["cine"]), _uid(paths["ct"])
    cine = [e for e in data["images"] if e["sop_instance_uid"] == cine_uid]
    assert sorted(e["frame"] for e in cine) == [0, 1]
    assert sorted(e["file_name"] for e in cine) == [
        f"{cine_uid}_f0000",
        f"{cine_uid}_f0001",
    ]  # never the path
    ct = next(e for e in data["images"] if e["sop_instance_uid"] == ct_uid)
    assert "frame" not in ct and ct["file_name"] == ct_uid
    assert sum(a["area"] for a in data["annotations"]) == sum(int(m.sum()) for m in masks.values())
