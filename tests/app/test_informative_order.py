"""Most informative first: a repeatable order from fixed scores, no disagreement when versions agree,
stored with the predictions by a queued job, walked by the gallery and the "next" key."""

import random

import numpy as np
import pytest

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.prediction.jobs import JobQueue
from zsad_desktop.app.prediction.workspace_predictions import predict_images
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.review.informative_order import (
    next_most_informative,
    queue_informativeness,
    refresh_informativeness,
)
from zsad_desktop.app.review.informative_score import (
    closeness,
    disagreement,
    informativeness,
    most_informative_first,
)
from zsad_desktop.app.training import model_versions
from zsad_desktop.detection.interface import Detection
from zsad_desktop.store import ReviewStatus


class ContrastDetector(BrightnessDetector):
    """Another opinion: the spread of the brightness."""

    @property
    def model_id(self) -> str:
        return f"test-contrast:{self.version}"

    def predict(self, images):
        return [Detection(float(d.heatmap.std()), d.heatmap, self.model_id) for d in super().predict(images)]


def test_the_order_is_the_same_for_the_same_scores_whatever_order_they_come_in():
    scores = {f"img{i:02}": s for i, s in enumerate([0.1, 0.5, 0.5, 0.9, 0.3, 0.7, 0.5, 0.2])}
    parent = {k: 1 - s for k, s in scores.items()}
    expected = most_informative_first(informativeness(scores, parent))
    keys = list(scores)
    for seed in range(5):
        random.Random(seed).shuffle(keys)
        assert (
            most_informative_first(
                informativeness({k: scores[k] for k in keys}, {k: parent[k] for k in keys})
            )
            == expected
        )
    # without a second opinion: the three images at the median first, equal values by name
    assert most_informative_first(informativeness(scores))[:3] == ["img01", "img02", "img06"]


def test_closeness_is_highest_at_the_threshold_and_zero_at_the_ends():
    assert closeness([1, 2, 3, 4, 5]).tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]
    assert closeness([1, 2, 3, 4, 5], threshold=4).argmax() == 3


def test_disagreement_is_zero_when_both_versions_agree_and_one_when_they_are_opposite():
    scores = np.array([0.2, 0.9, 0.4, 0.6])
    assert disagreement(scores, scores).tolist() == [0, 0, 0, 0]
    assert disagreement(scores, 3 * scores + 1).tolist() == [0, 0, 0, 0]  # the same ranking on another scale
    assert disagreement(scores, -scores).max() == 1.0
    agreed = informativeness(dict(enumerate(scores)), dict(enumerate(scores)))
    assert agreed == informativeness(dict(enumerate(scores)))
    with pytest.raises(ValueError, match="different images"):
        disagreement([1, 2], [1])


def _versions(workspace, first, second):
    ids = [r.id for r in workspace.images(order="name")]
    for detector, parent in ((first, None), (second, "v1")):
        list(predict_images(workspace, detector, ids))
        model_versions.register_version(
            workspace, detector.model_id, "test", {}, parent=parent, activate=True
        )


def test_a_queued_job_stores_the_scores_and_the_gallery_and_next_key_follow_them(workspace):
    _versions(workspace, BrightnessDetector("v1"), ContrastDetector("v2"))
    assert all(r.informativeness is None for r in workspace.images())
    queue = JobQueue("test")
    done = []
    queue_informativeness(queue, workspace, on_done=done.append).wait(60)
    queue.shutdown()
    rows = workspace.images()
    assert done == [len(rows)] and all(r.informativeness is not None for r in rows)
    ids = {r.rel_path: r.id for r in rows}  # keyed by name: the gallery breaks ties by name too
    parent_scores = {
        r.rel_path: r.score for r in workspace.images(model_id=BrightnessDetector("v1").model_id)
    }
    values = informativeness({r.rel_path: r.score for r in rows}, parent_scores)
    assert values != informativeness({r.rel_path: r.score for r in rows})  # the versions disagree somewhere
    expected = [ids[name] for name in most_informative_first(values)]
    listing = workspace.listing(order="informative")
    assert (
        [r.id for r in listing.first(len(rows))]
        == [r.id for r in workspace.images(order="informative")]
        == expected
    )
    assert [
        r.id for r in listing.first(3) + listing.after(listing.key(listing.first(3)[-1]), 100)
    ] == expected
    assert next_most_informative(workspace).id == expected[0]
    record_review(workspace, expected[0], ReviewStatus.NORMAL)
    assert next_most_informative(workspace).id == expected[1]


def test_versions_that_agree_leave_only_closeness_and_before_the_job_next_is_by_score(workspace):
    _versions(workspace, BrightnessDetector("v1"), BrightnessDetector("v2"))
    assert next_most_informative(workspace) == workspace.next_unreviewed()
    assert refresh_informativeness(workspace) == len(workspace.images())
    rows = workspace.images(order="name")
    stored = {r.id: r.informativeness for r in rows}
    assert stored == pytest.approx({k: float(v) for k, v in zip(stored, closeness([r.score for r in rows]))})
