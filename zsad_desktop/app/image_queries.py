"""The questions the gallery asks, as SQL that the indexes can answer at 100,000 images.

Reviews and predictions hang on the content hash, so every question is a
join of images with them. Each query starts from the table that narrows
the answer most (the predictions' (model, score) index for "next by score"
and score ranges, the reviews' status index for reviewed states) and
selects plain columns: building ORM objects per row would cost more than
the query itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

SORT_ORDERS = ("score", "name", "status")
UNREVIEWED = ReviewStatus.UNREVIEWED


@dataclass(frozen=True)
class ImageRow:
    """What the gallery and the review panel show of one image."""

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
    *head, status, score, reviewer, updated_at = values
    return ImageRow(*head, ReviewStatus(status), score, reviewer, updated_at)


def _unreviewed():
    return or_(Review.status.is_(None), Review.status == UNREVIEWED)


def _status_condition(statuses: Iterable[ReviewStatus]):
    wanted = {ReviewStatus(s) for s in statuses}
    reviewed = [s for s in wanted if s is not UNREVIEWED]
    condition = Review.status.in_(reviewed)
    return or_(_unreviewed(), condition) if UNREVIEWED in wanted else condition


def _from_images(model_id: str) -> Select:
    return (
        select(*_COLUMNS)
        .select_from(Image)
        .outerjoin(Prediction, and_(Prediction.image_hash == Image.content_hash, Prediction.model_version == model_id))
        .outerjoin(Review, Review.image_hash == Image.content_hash)
        .where(Image.missing.is_(False))
    )


def _from_predictions(model_id: str) -> Select:
    """Only images with a score from `model_id`: the (model, score) index drives the query."""
    return (
        select(*_COLUMNS)
        .select_from(Prediction)
        .join(Image, Image.content_hash == Prediction.image_hash)
        .outerjoin(Review, Review.image_hash == Image.content_hash)
        .where(Prediction.model_version == model_id, Image.missing.is_(False))
    )


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
    query = _from_predictions(model_id) if scored else _from_images(model_id)
    if statuses is not None:
        query = query.where(_status_condition(statuses))
    if min_score is not None:
        query = query.where(Prediction.score >= min_score)
    if max_score is not None:
        query = query.where(Prediction.score <= max_score)
    if not include_errors:
        query = query.where(Image.load_error.is_(None))
    if order == "score":
        query = query.order_by(Prediction.score.desc() if scored else Prediction.score.desc().nulls_last(), Image.rel_path)
    elif order == "status":
        query = query.order_by(_status, Image.rel_path)
    else:
        query = query.order_by(Image.rel_path)
    return query.limit(limit) if limit else query


def image_rows(session: Session, model_id: str, *filters: Any, **named: Any) -> list[ImageRow]:
    """Rows of `rows_query(model_id, ...)`."""
    return [_row(values) for values in session.execute(rows_query(model_id, *filters, **named))]


def one_row(session: Session, image_id: int, model_id: str) -> ImageRow | None:
    values = session.execute(_from_images(model_id).where(Image.id == image_id)).first()
    return _row(values) if values else None


def next_unreviewed_query(model_id: str) -> Select:
    """The unreviewed readable image with the highest score from `model_id`."""
    return (
        _from_predictions(model_id)
        .where(_unreviewed(), Image.load_error.is_(None))
        .order_by(Prediction.score.desc(), Image.rel_path)
        .limit(1)
    )


def first_unscored_query(model_id: str) -> Select:
    """The first unreviewed readable image by path that `model_id` has not scored yet."""
    return (
        _from_images(model_id)
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
        .where(Review.status != UNREVIEWED, Image.missing.is_(False))
        .group_by(Review.status)
    )
    counts = {s: 0 for s in ReviewStatus}
    for status, count in session.execute(reviewed):
        counts[ReviewStatus(status)] = count
    counts[UNREVIEWED] = total - sum(counts.values())
    return counts
