"""Frames of a multi-frame DICOM file are images of their own: scanned, viewed and reviewed one by one."""

import numpy as np
from sqlalchemy import select

from tests.imaging.dicom_files import PATIENT, write_dicom
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Review, ReviewStatus


def _frames(count: int) -> np.ndarray:
    # each frame a different constant block, so a wrong frame shows as wrong pixels
    return np.stack([np.full((24, 32), 1000 * (index + 1), np.uint16) for index in range(count)])


def test_each_frame_is_an_image_with_its_own_review(tmp_path):
    write_dicom(tmp_path / "cine.dcm", _frames(3), window=(2000, 4000))
    write_dicom(tmp_path / "single.dcm", _frames(1)[0], window=(2000, 4000))
    ws = Workspace.open(tmp_path)
    report = scan(ws)
    assert report.added == 2  # files, not frames
    rows = ws.images(order="name")
    assert [(r.rel_path, r.frame) for r in rows] == [
        ("cine.dcm", 0),
        ("cine.dcm", 1),
        ("cine.dcm", 2),
        ("single.dcm", None),
    ]
    assert len({r.content_hash for r in rows}) == 4
    assert rows[1].title == "cine.dcm [frame 2]"
    # the gallery names a DICOM image by its series and instance, never by the patient
    assert rows[1].gallery_name == "CT Head CT #7 frame 2" and rows[3].gallery_name == "CT Head CT #7"
    assert not any(PATIENT in (r.label or "") + r.title for r in rows)

    mask = np.zeros((24, 32), bool)
    mask[2:6, 3:9] = True
    record_review(ws, rows[1].id, ReviewStatus.CORRECTED, mask=mask)
    states = {r.frame: r.status for r in ws.images(order="name") if r.rel_path == "cine.dcm"}
    assert states == {0: ReviewStatus.UNREVIEWED, 1: ReviewStatus.CORRECTED, 2: ReviewStatus.UNREVIEWED}

    session = ReviewSession(ws, DetectorSettings())
    shown = [session.view(r.id).pixels8[0, 0] for r in rows[:3]]
    # window (2000, 4000) maps 1000, 2000, 3000 to 64, 128, 191 (rounded half up)
    assert shown == [64, 128, 191]
    assert session.view(rows[1].id).final_mask.sum() == mask.sum()
    session.close()


def test_rescan_of_a_replaced_file_with_fewer_frames_keeps_the_lost_frames_review(tmp_path):
    path = write_dicom(tmp_path / "cine.dcm", _frames(3))
    ws = Workspace.open(tmp_path)
    scan(ws)
    third = [r for r in ws.images(order="name") if r.frame == 2][0]
    record_review(ws, third.id, ReviewStatus.NORMAL)
    write_dicom(path, _frames(2))
    report = scan(ws)
    assert report.changed == 1 and report.added == 0
    assert [r.frame for r in ws.images(order="name")] == [0, 1]  # the third frame is gone from the gallery
    ws.close()
    again = Workspace.open(tmp_path)  # and its review is still in the store
    assert again.counts().get(ReviewStatus.NORMAL, 0) == 0
    with again.database.read() as session:
        assert (
            session.scalar(select(Review.status).where(Review.image_hash == third.content_hash))
            == ReviewStatus.NORMAL
        )
    again.close()
