import numpy as np

from zsad_desktop.app import model_versions
from zsad_desktop.app.predictions import predict_images
from zsad_desktop.app.reviews import record_review

from zsad_desktop.store import ReviewStatus

from tests.app.conftest import HAZELNUT_SIZE
from tests.app.fakes import FAKE_METHOD, BrightnessDetector


def _scored(workspace):
    detector = BrightnessDetector()
    model_versions.register_version(workspace, detector.model_id, FAKE_METHOD, {}, activate=True)
    list(predict_images(workspace, detector, [r.id for r in workspace.images()]))
    return workspace.images(order="score")


def test_gallery_sorts_by_score_and_next_unreviewed_follows_it(workspace):
    by_score = _scored(workspace)
    scores = [r.score for r in by_score]
    assert None not in scores and scores == sorted(scores, reverse=True)
    assert workspace.next_unreviewed().id == by_score[0].id
    record_review(workspace, by_score[0].id, ReviewStatus.NORMAL)
    record_review(workspace, by_score[1].id, ReviewStatus.UNREVIEWED)  # set back: counts as unreviewed
    assert workspace.next_unreviewed().id == by_score[1].id
    for row in by_score[1:]:
        record_review(workspace, row.id, ReviewStatus.SKIPPED)
    assert workspace.next_unreviewed() is None


def test_unscored_images_come_after_scored_ones(workspace):
    rows = workspace.images(order="name")
    detector = BrightnessDetector()
    model_versions.register_version(workspace, detector.model_id, FAKE_METHOD, {}, activate=True)
    list(predict_images(workspace, detector, [rows[-1].id]))
    assert workspace.next_unreviewed().id == rows[-1].id
    record_review(workspace, rows[-1].id, ReviewStatus.NORMAL)
    assert workspace.next_unreviewed().id == rows[0].id  # then by name
    listed = workspace.images(order="score")
    assert listed[0].id == rows[-1].id and all(r.score is None for r in listed[1:])


def test_filters_by_status_and_score_range(workspace):
    by_score = _scored(workspace)
    low, high = by_score[6].score, by_score[2].score
    in_range = workspace.images(min_score=low, max_score=high)
    assert [r.id for r in in_range] == [r.id for r in by_score[2:7]]
    mask = np.zeros(HAZELNUT_SIZE, bool)
    mask[:3, :3] = True
    record_review(workspace, by_score[3].id, ReviewStatus.CORRECTED, mask=mask)
    record_review(workspace, by_score[8].id, ReviewStatus.NORMAL)
    assert [r.id for r in workspace.images(statuses=[ReviewStatus.CORRECTED])] == [by_score[3].id]
    both = workspace.images(statuses=[ReviewStatus.CORRECTED, ReviewStatus.NORMAL], order="name")
    assert {r.id for r in both} == {by_score[3].id, by_score[8].id}
    unreviewed_in_range = workspace.images(statuses=[ReviewStatus.UNREVIEWED], min_score=low, max_score=high)
    assert [r.id for r in unreviewed_in_range] == [r.id for r in by_score[2:7] if r.id != by_score[3].id]
    assert workspace.images(statuses=[ReviewStatus.UNREVIEWED, ReviewStatus.CORRECTED], limit=3) == by_score[:3]
    assert workspace.images(statuses=[]) == []


def test_counts_per_status_add_up(workspace):
    rows = workspace.images(order="name")
    record_review(workspace, rows[0].id, ReviewStatus.NORMAL)
    record_review(workspace, rows[1].id, ReviewStatus.REJECTED)
    record_review(workspace, rows[2].id, ReviewStatus.REJECTED)
    record_review(workspace, rows[3].id, ReviewStatus.UNREVIEWED)
    counts = workspace.counts()
    assert counts[ReviewStatus.NORMAL] == 1 and counts[ReviewStatus.REJECTED] == 2
    assert counts[ReviewStatus.UNREVIEWED] == len(rows) - 3 and sum(counts.values()) == len(rows)
    (workspace.folder / rows[1].rel_path).unlink()
    from zsad_desktop.app.scanning import scan

    scan(workspace)
    assert workspace.counts()[ReviewStatus.REJECTED] == 1  # a vanished image is not counted


def test_queries_use_indexes(workspace):
    """The planner answers the gallery's questions from indexes, not by sorting whole tables."""
    from sqlalchemy import func, select, text

    from zsad_desktop.app import image_queries
    from zsad_desktop.store import Image

    _scored(workspace)
    model = workspace.active_model_id()
    expected = {
        "next": (image_queries.next_unreviewed_query(model, 100), "ix_predictions_model_score"),
        "range": (image_queries.rows_query(model, None, 0.2, 0.4, "score", 50, True), "ix_predictions_model_score"),
        "counts": (select(Image.review_status, func.count()).where(Image.missing.is_(False)).group_by(Image.review_status),
                   "COVERING INDEX ix_images_review_status"),
    }
    with workspace.database.read() as session:
        for name, (statement, index) in expected.items():
            compiled = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
            plan = " | ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert index in plan, (name, plan)
            assert "SCAN images |" not in plan + " |" and "SCAN reviews" not in plan, (name, plan)


def test_next_unreviewed_looks_past_the_quick_looks(workspace, monkeypatch):
    from zsad_desktop.app import image_queries

    monkeypatch.setattr(image_queries, "QUICK_LOOKS", (2, 3, None))
    assert workspace.next_unreviewed().rel_path == workspace.images(order="name")[0].rel_path  # nothing scored yet
    by_score = _scored(workspace)
    for row in by_score[:5]:  # beyond both quick looks
        record_review(workspace, row.id, ReviewStatus.ACCEPTED, mask=np.ones(HAZELNUT_SIZE, bool))
    assert workspace.next_unreviewed().id == by_score[5].id
    for row in by_score[5:]:
        record_review(workspace, row.id, ReviewStatus.NORMAL)
    assert workspace.next_unreviewed() is None
