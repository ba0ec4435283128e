import os
import shutil

import numpy as np
import pytest

from zsad_desktop.app.reviews import final_mask, history, record_review
from zsad_desktop.app.scanning import scan
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError


def test_scan_finds_every_image_and_records_unreadable_ones(hazelnut_copy):
    (hazelnut_copy / "broken.png").write_bytes(b"not a png at all")
    ws = Workspace.open(hazelnut_copy)
    report = scan(ws)
    expected = len([p for p in hazelnut_copy.rglob("*.png")])
    assert report.added == expected and len(report.unreadable) == 1
    rows = {r.rel_path: r for r in ws.images(order="name")}
    assert rows["broken.png"].load_error and rows["crack/000.png"].width == 256
    assert ws.counts()[ReviewStatus.UNREVIEWED] == expected


def test_rescan_is_incremental_and_a_moved_file_keeps_its_review(workspace):
    first = workspace.images(order="name")[0]
    record_review(workspace, first.id, ReviewStatus.NORMAL, reviewer="ana")
    report = scan(workspace)
    assert report.added == 0 and report.changed == 0 and report.unchanged == len(workspace.images())
    source = workspace.folder / first.rel_path
    (workspace.folder / "moved").mkdir()
    shutil.move(source, workspace.folder / "moved" / "renamed.png")
    report = scan(workspace)
    assert report.added == 1 and report.missing == 1
    moved = next(r for r in workspace.images() if r.rel_path == "moved/renamed.png")
    assert moved.status is ReviewStatus.NORMAL and moved.reviewer == "ana"
    assert first.rel_path not in {r.rel_path for r in workspace.images()}


def test_changed_file_is_rehashed(workspace):
    row = workspace.images(order="name")[0]
    path = workspace.folder / row.rel_path
    path.write_bytes(path.read_bytes() + b"\0")
    os.utime(path, ns=(1, 1))
    assert scan(workspace).changed == 1
    assert workspace.image(row.id).content_hash != row.content_hash


def test_reviews_keep_full_history_and_the_proposal(workspace):
    row = workspace.images(order="name")[0]
    proposal = np.zeros((256, 256), bool)
    proposal[10:20, 10:20] = True
    corrected = proposal.copy()
    corrected[30:40, 30:40] = True
    record_review(workspace, row.id, ReviewStatus.ACCEPTED, mask=proposal, proposal=proposal, reviewer="ana")
    record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=corrected, reviewer="ben", note="missed a spot")
    np.testing.assert_array_equal(final_mask(workspace, row.id), corrected)
    steps = history(workspace, row.id)
    assert [(s.from_status, s.to_status, s.reviewer) for s in steps] == [
        (None, ReviewStatus.ACCEPTED, "ana"), (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED, "ben")]
    assert workspace.files.read_mask(steps[0].mask_file).sum() == 100  # the earlier mask is still there
    with pytest.raises(StoreError, match="needs its mask"):
        record_review(workspace, row.id, ReviewStatus.CORRECTED)


def test_queries_filter_by_status_and_score(workspace):
    from tests.store.fakes import BrightnessDetector
    from zsad_desktop.app.model_versions import register_version
    from zsad_desktop.app.predictions import predict_images

    detector = BrightnessDetector()
    register_version(workspace, detector.model_id, "brightness", {}, activate=True)
    ids = [r.id for r in workspace.images()]
    results = list(predict_images(workspace, detector, ids))
    assert len(results) == len(ids) and detector.calls == len(ids)
    list(predict_images(workspace, detector, ids))
    assert detector.calls == len(ids)  # cached: never computed twice
    by_score = workspace.images(order="score")
    scores = [r.score for r in by_score]
    assert scores == sorted(scores, reverse=True)
    top = by_score[0]
    record_review(workspace, top.id, ReviewStatus.NORMAL)
    assert workspace.next_unreviewed().id == by_score[1].id
    middle = scores[len(scores) // 2]
    assert all(r.score >= middle for r in workspace.images(min_score=middle))
    assert [r.id for r in workspace.images(statuses=[ReviewStatus.NORMAL])] == [top.id]


def test_read_only_folder_keeps_its_database_in_the_user_data_dir(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = shared_data / "mvtec_ad" / "hazelnut"
    if os.access(folder, os.W_OK):
        pytest.skip("the shared data is writable here")
    ws = Workspace.open(folder)
    assert str(ws.files.root).startswith(str(tmp_path))
    ws.close()
