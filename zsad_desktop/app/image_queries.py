"""The questions the gallery asks, as SQL that the indexes can answer at 100,000 images.

Reviews and predictions hang on the content hash, so every question is a
join of images with them. Each query starts from the table that narrows
the answer most (the predictions' (model, score) index for "next by score"
and score ranges, the reviews' status index for reviewed states) and
selects plain columns: building ORM objects per row would cost more than
the query itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

SORT_ORDERS = ("score", "name", "status")
UNREVIEWED = ReviewStatus.UNREVIEWED
REVIEWED = [s for s in ReviewStatus if s is not UNREVIEWED]


class ImageRow(NamedTuple):
    """What the gallery and the review panel show of one image (a named tuple: 100,000 are built fast)."""

    id: int
    rel_path: str
    content_hash: str | None
    width: int | None
    height: int | None
    bit_depth: int | None
    modality: str | None
    load_error: str | None
    status: ReviewStatus
    score: float | None
    reviewer: str | None
    updated_at: datetime | None


_status = func.coalesce(Review.status, literal(UNREVIEWED, Review.__table__.c.status.type))
_COLUMNS = (
    Image.id, Image.rel_path, Image.content_hash, Image.width, Image.height, Image.bit_depth, Image.modality,
    Image.load_error, _status, Prediction.score, Review.reviewer, Review.updated_at,
)


def _row(values: Any) -> ImageRow:
    return ImageRow._make(values)  # the columns are in ImageRow's order; the status type gives ReviewStatus


def _unreviewed():
    return or_(Review.status.is_(None), Review.status == UNREVIEWED)


def _status_condition(wanted: set[ReviewStatus]):
    reviewed = [s for s in wanted if s is not UNREVIEWED]
    condition = Review.status.in_(reviewed)
    return or_(_unreviewed(), condition) if UNREVIEWED in wanted else condition


def _joined(model_id: str, scored: bool = False, reviewed: bool = False) -> Select:
    """Images present, with the score of `model_id` and the review. An inner join where the filter
    needs the row anyway (a score range needs a score; reviewed states need a review), so the
    planner may start from whichever index narrows most; outer joins fix the order."""
    on_prediction = and_(Prediction.image_hash == Image.content_hash, Prediction.model_version == model_id)
    on_review = Review.image_hash == Image.content_hash
    query = select(*_COLUMNS).select_from(Image)
    query = query.join(Prediction, on_prediction) if scored else query.outerjoin(Prediction, on_prediction)
    query = query.join(Review, on_review) if reviewed else query.outerjoin(Review, on_review)
    return query.where(Image.missing.is_(False))


def rows_query(
    model_id: str,
    statuses: Iterable[ReviewStatus] | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    order: str = "score",
    limit: int | None = None,
    include_errors: bool = True,
) -> Select:
    if order not in SORT_ORDERS:
        raise ValueError(f"order must be one of {SORT_ORDERS}, not {order!r}")
    scored = min_score is not None or max_score is not None
    wanted = None if statuses is None else {ReviewStatus(s) for s in statuses}
    reviewed = wanted is not None and UNREVIEWED not in wanted
    query = _joined(model_id, scored, reviewed)
    if wanted is not None:
        query = query.where(_status_condition(wanted))
    # Reviewed states are the narrower filter (a few images each, while scores cover the folder):
    # `score + 0` keeps SQLite's planner from walking the whole score index to filter or sort.
    score = Prediction.score + 0 if reviewed else Prediction.score
    if min_score is not None:
        query = query.where(score >= min_score)
    if max_score is not None:
        query = query.where(score <= max_score)
    if not include_errors:
        query = query.where(Image.load_error.is_(None))
    if order == "score":
        query = query.order_by(score.desc() if scored else score.desc().nulls_last(), Image.rel_path)
    elif order == "status":
        query = query.order_by(_status, Image.rel_path)
    else:
        query = query.order_by(Image.rel_path)
    return query.limit(limit) if limit else query


def image_rows(session: Session, model_id: str, *filters: Any, **named: Any) -> list[ImageRow]:
    """Rows of `rows_query(model_id, ...)`."""
    return list(map(ImageRow._make, session.execute(rows_query(model_id, *filters, **named))))


def one_row(session: Session, image_id: int, model_id: str) -> ImageRow | None:
    values = session.execute(_joined(model_id).where(Image.id == image_id)).first()
    return _row(values) if values else None


def next_unreviewed_query(model_id: str) -> Select:
    """The unreviewed readable image with the highest score from `model_id`."""
    return (
        _joined(model_id, scored=True)
        .where(_unreviewed(), Image.load_error.is_(None))
        .order_by(Prediction.score.desc(), Image.rel_path)
        .limit(1)
    )


def first_unscored_query(model_id: str) -> Select:
    """The first unreviewed readable image by path that `model_id` has not scored yet."""
    return (
        _joined(model_id)
        .where(_unreviewed(), Image.load_error.is_(None), Prediction.id.is_(None))
        .order_by(Image.rel_path)
        .limit(1)
    )


def next_unreviewed(session: Session, model_id: str) -> ImageRow | None:
    """The unreviewed image to show next: highest score first, then the unscored ones by path."""
    values = session.execute(next_unreviewed_query(model_id)).first()
    if values is None:
        values = session.execute(first_unscored_query(model_id)).first()
    return _row(values) if values else None


def status_counts(session: Session) -> dict[ReviewStatus, int]:
    """Images per review state. Reviewed states are counted from the (smaller) reviews table;
    everything else present is unreviewed."""
    total = session.scalar(select(func.count()).select_from(Image).where(Image.missing.is_(False))) or 0
    reviewed = (
        select(Review.status, func.count())
        .select_from(Review)
        .join(Image, Image.content_hash == Review.image_hash)
        .where(Review.status.in_(REVIEWED), Image.missing.is_(False))
        .group_by(Review.status)
    )
    counts = {s: 0 for s in ReviewStatus}
    for status, count in session.execute(reviewed):
        counts[ReviewStatus(status)] = count
    counts[UNREVIEWED] = total - sum(counts.values())
    return counts
