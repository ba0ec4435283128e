"""End to end: reviews in a workspace become a better model version, promoted and rolled back."""

import shutil

import pytest

from tests.conftest import TINY_TEXT768
from zsad_desktop.app.prediction.workspace_predictions import predict_images
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.training.retraining import (
    proposal_agreement,
    readiness,
    retrain,
    reviewed_images,
    split,
)
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError

BACKBONE = {"model_name": TINY_TEXT768, "pretrained": "random", "image_size": 112}


@pytest.fixture
def glass_workspace(tmp_path, shared_data):
    source = shared_data / "glass_anomaly" / "glass"
    shutil.copytree(source / "test", tmp_path / "glass" / "test")
    workspace = Workspace.open(tmp_path / "glass")
    scan(workspace)
    untrained = create_detector("baseline", device="cpu", **BACKBONE)
    model_versions.register_version(workspace, untrained.model_id, "baseline", BACKBONE, activate=True)
    yield workspace, untrained, source / "ground_truth"
    workspace.close()


def _review_all(workspace, truth, detector, limit=None):
    rows = workspace.images(order="name")[:limit]
    proposals = {p.image_id: p for p in predict_images(workspace, detector, [r.id for r in rows])}
    for row in rows:
        defect, name = row.rel_path.split("/")[-2:]
        if defect == "good":
            record_review(
                workspace, row.id, ReviewStatus.NORMAL, reviewer="qa", model_version=detector.model_id
            )
        else:
            mask = read_mask(truth / defect / name.replace(".png", "_mask.png"))
            record_review(
                workspace,
                row.id,
                ReviewStatus.CORRECTED,
                mask=mask,
                proposal=mask & False,
                reviewer="qa",
                model_version=detector.model_id,
            )
    return proposals


def test_retraining_needs_enough_reviews(glass_workspace):
    workspace, detector, truth = glass_workspace
    ready, message = readiness(workspace)
    assert not ready and "Review 8 more images" in message
    _review_all(workspace, truth, detector, limit=3)
    with pytest.raises(StoreError, match="more image"):
        retrain(workspace, device="cpu")


def test_retrained_version_beats_the_untrained_detector_then_promote_and_rollback(glass_workspace):
    workspace, untrained, truth = glass_workspace
    _review_all(workspace, truth, untrained)
    train, held_out = split(workspace, reviewed_images(workspace))
    assert {i.sample.label for i in held_out} == {0, 1} and len(held_out) < len(train)
    assert split(workspace, reviewed_images(workspace))[1] == held_out  # fixed per workspace

    outcome = retrain(workspace, method="crane", config={"epochs": 2, "batch_size": 8}, device="cpu")
    new, old = outcome.new_metrics, outcome.active_metrics
    assert new["pixel_auroc"] > old["pixel_auroc"] + 0.05, (new, old)
    assert model_versions.active_version(workspace).name == "v1"  # nothing changes before promotion
    version = outcome.version
    assert version.parent == "v1" and version.metrics["held_out"]["pixel_auroc"] == new["pixel_auroc"]

    model_versions.promote(workspace, version.name)
    assert workspace.active_model_id() == version.model_id
    model_versions.rollback(workspace)
    assert model_versions.active_version(workspace).name == "v1"
    assert proposal_agreement(workspace)["v1"]  # the untrained model's proposals are tracked
