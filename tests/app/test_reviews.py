import numpy as np
import pytest

from tests.app.conftest import HAZELNUT_SIZE
from zsad_desktop.app.review.decisions import (
    current_review,
    final_mask,
    history,
    proposal_mask,
    record_review,
)
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError


def _square(top, size=10):
    mask = np.zeros(HAZELNUT_SIZE, bool)
    mask[top : top + size, top : top + size] = True
    return mask


def test_reviews_keep_full_history_and_the_proposal(workspace):
    row = workspace.images(order="name")[0]
    proposal = _square(10)
    corrected = proposal | _square(30)
    record_review(
        workspace,
        row.id,
        ReviewStatus.ACCEPTED,
        mask=proposal,
        proposal=proposal,
        reviewer="ana",
        model_version="m1",
    )
    stored = record_review(
        workspace, row.id, ReviewStatus.CORRECTED, mask=corrected, reviewer="ben", note="missed a spot"
    )
    assert (
        stored.status is ReviewStatus.CORRECTED and stored.mask_area == 200 and stored.model_version == "m1"
    )
    np.testing.assert_array_equal(final_mask(workspace, row.id), corrected)
    np.testing.assert_array_equal(proposal_mask(workspace, row.id), proposal)  # the model's original stays
    steps = history(workspace, row.id)
    assert [(s.from_status, s.to_status, s.reviewer, s.note) for s in steps] == [
        (None, ReviewStatus.ACCEPTED, "ana", None),
        (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED, "ben", "missed a spot"),
    ]
    assert steps[0].model_version == "m1" and steps[0].proposal_file and steps[1].proposal_file is None
    assert workspace.files.read_mask(steps[0].mask_file).sum() == 100  # the earlier mask is still there
    assert steps[0].at <= steps[1].at and steps[1].mask_area == 200


def test_every_status_round_trips_and_only_masked_ones_keep_a_mask(workspace):
    row = workspace.images(order="name")[0]
    for status in ReviewStatus:
        mask = _square(5)
        record_review(workspace, row.id, status, mask=mask, reviewer="ana")
        review = current_review(workspace, row.id)
        assert review.status is status and workspace.image(row.id).status is status
        assert (review.mask_file is not None) == status.has_final_mask
        assert review.mask_area == (
            100 if status.has_final_mask else 0 if status is ReviewStatus.NORMAL else None
        )
    assert len(history(workspace, row.id)) == len(ReviewStatus)


def test_bad_reviews_are_refused_with_the_reason(workspace):
    row = workspace.images(order="name")[0]
    with pytest.raises(StoreError, match="needs its mask"):
        record_review(workspace, row.id, ReviewStatus.CORRECTED)
    with pytest.raises(StoreError, match="10x10 pixels but the image is 256x256"):
        record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=np.ones((10, 10), bool))
    with pytest.raises(StoreError, match="no image with id"):
        record_review(workspace, 10**6, ReviewStatus.NORMAL)
    with pytest.raises(ValueError):
        record_review(workspace, row.id, "maybe")
    assert current_review(workspace, row.id) is None and history(workspace, row.id) == []


def test_unreadable_image_cannot_be_reviewed(hazelnut_copy):
    from zsad_desktop.app.workspace.scanning import scan
    from zsad_desktop.app.workspace.workspace import Workspace

    (hazelnut_copy / "gone.png").write_bytes(b"\x89PNG broken")
    with Workspace.open(hazelnut_copy) as ws:
        scan(ws)
        (hazelnut_copy / "gone.png").chmod(0)
        broken = next(r for r in ws.images() if r.rel_path == "gone.png")
        assert broken.load_error
        record_review(ws, broken.id, ReviewStatus.SKIPPED)  # hashed, so it can still be skipped
        assert ws.image(broken.id).status is ReviewStatus.SKIPPED


def test_identical_pixels_at_two_paths_share_one_review(workspace):
    import shutil

    from zsad_desktop.app.workspace.scanning import scan

    row = workspace.images(order="name")[0]
    shutil.copy(workspace.folder / row.rel_path, workspace.folder / "copy.png")
    scan(workspace)
    copy = next(r for r in workspace.images() if r.rel_path == "copy.png")
    record_review(workspace, copy.id, ReviewStatus.NORMAL)
    assert workspace.image(row.id).status is ReviewStatus.NORMAL
