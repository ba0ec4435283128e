import numpy as np
import pytest

from tests.app import fake_images
from tests.app.conftest import HAZELNUT_SIZE
from tests.app.fakes import FAKE_METHOD, BrightnessDetector
from zsad_desktop.app.prediction.workspace_predictions import predict_images
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.workspace import SORT_ORDERS, Workspace
from zsad_desktop.store import ReviewStatus

# SQLAlchemy 2.1 deprecates parts of its result API (Result.tuples()): the queries must not lean on them.
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


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
    assert (
        workspace.images(statuses=[ReviewStatus.UNREVIEWED, ReviewStatus.CORRECTED], limit=3) == by_score[:3]
    )
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
    from zsad_desktop.app.workspace.scanning import scan

    scan(workspace)
    assert workspace.counts()[ReviewStatus.REJECTED] == 1  # a vanished image is not counted


def test_queries_use_indexes(workspace):
    """The planner answers the gallery's questions from indexes, not by sorting whole tables."""
    from sqlalchemy import func, select, text

    from zsad_desktop.app.workspace import image_queries
    from zsad_desktop.store import Image

    _scored(workspace)
    model = workspace.active_model_id()
    expected = {
        "next": (image_queries.next_unreviewed_query(model, 100), "ix_predictions_model_score"),
        "range": (
            image_queries.rows_query(model, None, 0.2, 0.4, "score", 50, True),
            "ix_predictions_model_score",
        ),
        "counts": (
            select(Image.review_status, func.count())
            .where(Image.missing.is_(False))
            .group_by(Image.review_status),
            "COVERING INDEX ix_images_review_status",
        ),
    }
    with workspace.database.read() as session:
        for name, (statement, index) in expected.items():
            compiled = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
            plan = " | ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert index in plan, (name, plan)
            assert "SCAN images |" not in plan + " |" and "SCAN reviews" not in plan, (name, plan)


def test_next_unreviewed_looks_past_the_quick_looks(workspace, monkeypatch):
    from zsad_desktop.app.workspace import image_queries

    monkeypatch.setattr(image_queries, "QUICK_LOOKS", (2, 3, None))
    assert (
        workspace.next_unreviewed().rel_path == workspace.images(order="name")[0].rel_path
    )  # nothing scored yet
    by_score = _scored(workspace)
    for row in by_score[:5]:  # beyond both quick looks
        record_review(workspace, row.id, ReviewStatus.ACCEPTED, mask=np.ones(HAZELNUT_SIZE, bool))
    assert workspace.next_unreviewed().id == by_score[5].id
    for row in by_score[5:]:
        record_review(workspace, row.id, ReviewStatus.NORMAL)
    assert workspace.next_unreviewed() is None


# The gallery's pages -------------------------------------------------------------------------------
FILTERS = [
    {},
    {"statuses": [ReviewStatus.UNREVIEWED]},
    {"statuses": [ReviewStatus.CORRECTED, ReviewStatus.NORMAL]},
    {"min_score": 0.5},
    {"statuses": [ReviewStatus.UNREVIEWED], "min_score": 0.2, "max_score": 0.6},
    {"include_errors": False},
]


@pytest.fixture
def big(tmp_path):
    """600 image rows with tied scores, frames, unscored, reviewed, unreadable and vanished images."""
    with Workspace.open(tmp_path) as ws:
        fake_images.fill(ws, 600)
        yield ws


@pytest.mark.parametrize("order", SORT_ORDERS)
@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all"
)
def test_pages_read_by_key_or_offset_follow_the_whole_list(big, order, filters):
    whole = big.images(order=order, **filters)
    listing = big.listing(order=order, **filters)
    assert listing.count() == len(whole) > 0
    forward, key = [], None
    while page := listing.after(key, 37):
        forward += page
        key = listing.key(page[-1])
        assert len(forward) <= len(whole), "a page repeats rows"
    assert forward == whole
    backward, key = [], listing.key(whole[-1])
    while page := listing.before(key, 37):
        backward = page + backward
        key = listing.key(page[0])
        assert len(backward) <= len(whole), "a page repeats rows"
    assert backward == whole[:-1]
    assert [row for offset in range(0, len(whole), 53) for row in listing.rows(offset, 53)] == whole
    assert listing.first(5) == whole[:5]
    for position in (0, len(whole) // 3, len(whole) - 1):
        assert listing.position(whole[position].id) == position


def test_the_whole_list_is_in_score_then_name_order_and_pages_keep_ties_apart(big):
    whole = big.images()
    scored = [r for r in whole if r.score is not None]
    assert whole[len(scored) :] == [r for r in whole if r.score is None]  # unscored last
    assert [(-r.score, r.rel_path, r.frame or -1) for r in scored] == sorted(
        (-r.score, r.rel_path, r.frame or -1) for r in scored
    )
    tie = max({r.score for r in scored}, key=lambda s: sum(r.score == s for r in scored))
    assert sum(r.score == tie for r in scored) > 40  # a tie spans pages of 20
    listing = big.listing()
    pages = [listing.rows(offset, 20) for offset in range(0, len(whole), 20)]
    ids = [r.id for page in pages for r in page]
    assert len(ids) == len(set(ids)) == len(whole)
    by_name = [(r.rel_path, r.frame) for r in big.images(order="name")]
    assert by_name == sorted(by_name, key=lambda name: (name[0], -1 if name[1] is None else name[1]))
    assert sum(frame is not None for _, frame in by_name) > 20


def test_counts_follow_the_filters(big):
    everything = big.images()
    assert big.listing(min_score=0.5).count() == sum(
        r.score is not None and r.score >= 0.5 for r in everything
    )
    assert (
        big.listing(order="status", statuses=[ReviewStatus.SKIPPED]).count()
        == sum(r.status is ReviewStatus.SKIPPED for r in everything)
        > 0
    )
    assert (
        big.listing(include_errors=False).count()
        == sum(not r.load_error for r in everything)
        < len(everything)
    )
    assert big.listing(statuses=[]).count() == 0 and big.listing(statuses=[]).first(10) == []
    assert big.listing(max_score=-1).position(everything[0].id) is None  # filtered out
    with pytest.raises(ValueError, match="order must be one of"):
        big.listing(order="size")


def test_a_review_or_a_vanished_image_after_a_page_leaves_the_next_page_in_step(big):
    listing = big.listing(statuses=[ReviewStatus.UNREVIEWED])
    first = listing.first(30)
    record_review(big, first[29].id, ReviewStatus.NORMAL)  # the last row read leaves the filter
    record_review(big, first[0].id, ReviewStatus.NORMAL)
    following = listing.after(listing.key(first[-1]), 30)
    assert following == big.images(statuses=[ReviewStatus.UNREVIEWED])[28:58]
