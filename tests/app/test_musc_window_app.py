"""musc in a review session, without Qt: references from the workspace (cached), the folder mutually
scored in subsets, NORMAL reviews joining the references, cancel leaving whole subsets only."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import TINY
from zsad_desktop.app.prediction import workspace_predictions
from zsad_desktop.app.prediction.musc_folder import DONE_SETTING, score_workspace
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.store import Prediction, ReviewStatus


def musc_settings() -> DetectorSettings:
    return DetectorSettings(
        method="musc",
        model_name=TINY,
        pretrained="random",
        image_size=112,
        device="cpu",
        first_look=0,
        precision="float32",
        extra={"subset_size": 4, "reference_size": 4},
    )


def _rows(workspace, model_id):
    from sqlalchemy import select

    with workspace.database.read() as session:
        return {
            p.image_hash: (p.score, p.heatmap_file)
            for p in session.scalars(select(Prediction).where(Prediction.model_version == model_id))
        }


@pytest.fixture
def session(hazelnut_copy):
    session = ReviewSession.open(hazelnut_copy, musc_settings())
    scan(session.workspace)
    yield session
    session.close()


def test_references_folder_scoring_normals_and_cache(session, hazelnut_copy):
    workspace = session.workspace
    seen = []
    session.musc.progress = lambda done, total: seen.append((done, total))
    held = threading.Event()
    session.queue.submit("hold", lambda progress, cancel: held.wait(600), 0)  # the folder waits for this test
    detector = session.detector()
    assert detector.model_id == session.model_id() and ":" in detector.settings()["references"]
    assert session.musc.cache.passes == len(session.musc.reference_ids) == 4
    ids = [r.id for r in workspace.images(order="name", include_errors=False)]
    # the image on screen and the folder as the window asks: against the references
    outcome = next(workspace_predictions.predict_images(workspace, detector, ids[:1]))
    before = _rows(workspace, detector.model_id)
    assert len(before) == 1 and outcome.score == pytest.approx(before[next(iter(before))][0])
    list(workspace_predictions.predict_images(workspace, detector, ids))
    referenced = _rows(workspace, detector.model_id)
    assert not seen
    # the whole folder, mutually, in subsets in the background: each replaces the reference-scored rows
    held.set()
    assert session.queue.wait_idle(300)
    mutual = _rows(workspace, detector.model_id)
    assert set(mutual) == set(referenced)
    assert len(seen) == -(-len(ids) // 4) and seen[-1] == (len(ids), len(ids))
    assert all(mutual[h][1] != referenced[h][1] for h in mutual)  # new heatmap files
    assert all(workspace.files.path(f).is_file() for _, f in mutual.values())
    assert not any(workspace.files.path(f).exists() for _, f in referenced.values())
    assert score_workspace(workspace, detector) == 0  # stored subsets are not scored again

    # a NORMAL review joins the references first: a new version records them
    outside = next(i for i in ids if i not in session.musc.reference_ids)
    session.decide(outside, ReviewStatus.NORMAL)
    assert session.queue.wait_idle(120)
    renewed = session.detector()
    assert renewed is not detector and session.musc.reference_ids[0] == outside
    assert renewed.settings()["references"].split(":")[1] == "1n"
    assert session.model_id() == renewed.model_id != detector.model_id
    assert session.musc.cache.passes == 5  # one new image's tokens; the others from the cache

    # reopened: the references' features come from the workspace's cache, no backbone pass
    session.close()
    again = ReviewSession.open(hazelnut_copy, musc_settings())
    try:
        passes = []
        handle = again_backbone_counter(passes)
        reopened = again.detector()
        handle.remove()
        assert again.musc.cache.passes == 0 and sum(passes) == 0
        assert reopened.model_id == renewed.model_id
    finally:
        again.close()


def again_backbone_counter(passes):
    from zsad_desktop.detection.backbone import BackboneSpec, shared_backbone

    backbone = shared_backbone(BackboneSpec(TINY, "random", image_size=112), "cpu")
    return backbone.model.visual.conv1.register_forward_hook(lambda _m, i, _o: passes.append(i[0].shape[0]))


def test_cancel_keeps_whole_subsets_only(session, monkeypatch):
    monkeypatch.setattr(session.musc, "schedule_folder", lambda detector: None)  # scored here instead
    workspace = session.workspace
    detector = session.detector()
    ids = [r.id for r in workspace.images(order="name", include_errors=False)]
    list(workspace_predictions.predict_images(workspace, detector, ids))
    referenced = _rows(workspace, detector.model_id)
    cancel = threading.Event()
    with pytest.raises(InterruptedError):
        score_workspace(workspace, detector, lambda done, total: cancel.set(), cancel)
    after = _rows(workspace, detector.model_id)
    changed = [h for h in after if after[h][1] != referenced[h][1]]
    assert set(after) == set(referenced)  # one row per image: nothing lost, nothing doubled
    assert workspace.setting(DONE_SETTING + detector.model_id) == [0]
    assert 2 <= len(changed) <= 4  # exactly the first subset landed
    assert all(workspace.files.path(f).is_file() for _, f in after.values())
    # resumed: the rest lands, the first subset is not scored again
    assert score_workspace(workspace, detector) == len(ids) - len(changed)
