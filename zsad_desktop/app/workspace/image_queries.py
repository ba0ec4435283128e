"""The questions the gallery asks, as SQL that the indexes can answer at 100,000 images.

Predictions hang on the content hash, so a score is a join; the review
state is repeated on each image row, so counting and filtering by state is
not. Each query starts from the index that narrows the answer most (the
predictions' (model, score) index for "next by score" and score ranges, the
images' (state, missing) index for reviewed states) and selects plain
columns: building ORM objects per row would cost more than the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

SORT_ORDERS = ("score", "name", "status", "informative")
UNREVIEWED = ReviewStatus.UNREVIEWED


class ImageRow(NamedTuple):
    """What the gallery and the review panel show of one image (a named tuple: 100,000 are built fast)."""

    id: int
    rel_path: str
    frame: int | None  # which frame of a multi-frame DICOM file; None for single-frame files
    label: str | None  # DICOM's patient-safe label ("CT Head #7 frame 2"); None for photos
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
    informativeness: float | None = None  # the "most informative first" score (app.review.informative_order)

    @property
    def title(self) -> str:
        """The path (a name that is not UTF-8 readably, see imaging.file_names), and for a frame of a
        multi-frame file which one (counted from 1, as viewers do)."""
        path = name_text(self.rel_path)
        return path if self.frame is None else f"{path} [frame {self.frame + 1}]"

    @property
    def gallery_name(self) -> str:
        """Short name under a thumbnail: DICOM's patient-safe label (file names of DICOM exports may
        carry the patient's name), else the file's folder and name (tells apart 000.png of each defect)."""
        return self.label or "/".join(self.title.split("/")[-2:])


_status = Image.review_status
_COLUMNS = (
    Image.id,
    Image.rel_path,
    Image.frame,
    Image.label,
    Image.content_hash,
    Image.width,
    Image.height,
    Image.bit_depth,
    Image.modality,
    Image.load_error,
    _status,
    Prediction.score,
    Review.reviewer,
    Review.updated_at,
    Prediction.informativeness,
)


def _row(values: Any) -> ImageRow:
    return ImageRow._make(values)  # the columns are in ImageRow's order; the status type gives ReviewStatus


def _unreviewed() -> ColumnElement[bool]:
    return Image.review_status == UNREVIEWED


#: a frame's place among its file's frames: the unique index's own expression, so the name order walks that index
FRAME_ORDER = func.coalesce(Image.frame, -1)


def _prediction_of(
    model_id: str, input_key: Any = None, content_hash: Any = Image.content_hash
) -> ColumnElement[bool]:
    """The join condition of an image's prediction by `model_id`, made with `input_key` when given."""
    condition = and_(Prediction.image_hash == content_hash, Prediction.model_version == model_id)
    return condition if input_key is None else and_(condition, Prediction.detector_input == input_key)


def _joined(
    model_id: str,
    scored: bool = False,
    columns: tuple | None = None,
    images_first: bool = False,
    input_key: Any = None,
) -> Select:
    """Images present, with the score of `model_id` and who reviewed them when (or only `columns`,
    without the reviews). An inner join with predictions when a score range needs a score anyway,
    so the planner may start from the score index; the outer joins fix the order. `images_first`
    hides the images' hash index from the join, so SQLite walks images (by name or state) and looks
    their predictions up, rather than the other way round. `input_key` (SQL over the image's columns,
    `WorkspaceInput.key_column()`) picks the prediction made with the workspace's current detector
    input: without it an image predicted under two choices would be two rows."""
    content_hash = Image.content_hash.concat("") if images_first else Image.content_hash
    on_prediction = _prediction_of(model_id, input_key, content_hash)
    query = select(*(columns or _COLUMNS)).select_from(Image)
    query = query.join(Prediction, on_prediction) if scored else query.outerjoin(Prediction, on_prediction)
    if columns is None:
        query = query.outerjoin(Review, Review.image_hash == Image.content_hash)
    return query.where(Image.missing.is_(False))


def filtered(
    model_id: str,
    statuses: Iterable[ReviewStatus] | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    include_errors: bool = True,
    scored: bool | None = None,
    columns: tuple | None = None,
    walk: str | None = None,
    input_key: Any = None,
) -> tuple[Select, Any]:
    """The gallery's rows for a filter (`scored`: only scored images, only unscored ones, or both when
    None), with the score expression to sort them by. `walk` ("score" or "name") is the index a page
    in that order should walk; None leaves the planner free (whole lists, counts)."""
    wanted = None if statuses is None else {ReviewStatus(s) for s in statuses}
    reviewed = wanted is not None and UNREVIEWED not in wanted
    ranged = min_score is not None or max_score is not None
    query = _joined(
        model_id,
        bool(scored) or ranged,
        columns,
        images_first=walk == "name" or (reviewed and walk is not None),
        input_key=input_key,
    )
    if wanted is not None:
        # Reviewed states are few images each: start from the state index. The unreviewed state is
        # most of the folder: a page walks the score or name index and skips the few others.
        status = _status.concat("") if walk is not None and not reviewed else _status
        query = query.where(status.in_(sorted(wanted)))
    # Reviewed states are the narrower filter (a few images each, while scores cover the folder):
    # `score + 0` keeps SQLite's planner from walking the whole score index to filter or sort.
    score = Prediction.score + 0 if reviewed or walk == "name" else Prediction.score
    if min_score is not None:
        query = query.where(score >= min_score)
    if max_score is not None:
        query = query.where(score <= max_score)
    if scored is False:
        query = query.where(Prediction.id.is_(None))
    if not include_errors:
        query = query.where(Image.load_error.is_(None))
    return query, score


def rows_query(
    model_id: str,
    statuses: Iterable[ReviewStatus] | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    order: str = "score",
    limit: int | None = None,
    include_errors: bool = True,
    input_key: Any = None,
) -> Select:
    """Every row of a filter in one query: the gallery reads pages instead (see `gallery_listing`)."""
    if order not in SORT_ORDERS:
        raise ValueError(f"order must be one of {SORT_ORDERS}, not {order!r}")
    query, score = filtered(model_id, statuses, min_score, max_score, include_errors, input_key=input_key)
    scored = min_score is not None or max_score is not None
    if order == "score":
        query = query.order_by(
            score.desc() if scored else score.desc().nulls_last(), Image.rel_path, FRAME_ORDER
        )
    elif order == "status":
        query = query.order_by(_status, Image.rel_path, FRAME_ORDER)
    elif order == "informative":
        query = query.order_by(Prediction.informativeness.desc().nulls_last(), Image.rel_path, FRAME_ORDER)
    else:
        query = query.order_by(Image.rel_path, FRAME_ORDER)
    return query.limit(limit) if limit else query


def image_rows(session: Session, model_id: str, *filters: Any, **named: Any) -> list[ImageRow]:
    """Rows of `rows_query(model_id, ...)`, through the Core connection: the ORM's result layer
    would add a third to a 100,000-row gallery."""
    return list(map(ImageRow._make, session.connection().execute(rows_query(model_id, *filters, **named))))


def one_row(session: Session, image_id: int, model_id: str, input_key: Any = None) -> ImageRow | None:
    values = session.execute(_joined(model_id, input_key=input_key).where(Image.id == image_id)).first()
    return _row(values) if values else None


def next_unreviewed_query(model_id: str, among_top: int | None = None, input_key: Any = None) -> Select:
    """The unreviewed readable image with the highest score from `model_id`; with `among_top`, only
    among that many best-scored images: a short walk down the score index, whatever the planner
    thinks of the state index (which it prefers, not knowing that LIMIT 1 stops early)."""
    query = _joined(model_id, scored=True, input_key=input_key)
    if among_top:
        top = (
            select(Prediction.id)
            .where(Prediction.model_version == model_id)
            .order_by(Prediction.score.desc())
            .limit(among_top)
            .subquery()
        )
        query = query.join(top, top.c.id == Prediction.id)
    return (
        query.where(_unreviewed(), Image.load_error.is_(None))
        .order_by(Prediction.score.desc(), Image.rel_path)
        .limit(1)
    )


def first_unscored_query(model_id: str, among_first: int | None = None, input_key: Any = None) -> Select:
    """The first unreviewed readable image by path that `model_id` has not scored yet; with
    `among_first`, only among that many first paths."""
    query = _joined(model_id, input_key=input_key)
    if among_first:
        first = (
            select(Image.id)
            .where(Image.missing.is_(False))
            .order_by(Image.rel_path)
            .limit(among_first)
            .subquery()
        )
        query = query.join(first, first.c.id == Image.id)
    return (
        query.where(_unreviewed(), Image.load_error.is_(None), Prediction.id.is_(None))
        .order_by(Image.rel_path)
        .limit(1)
    )


def ids_to_predict(session: Session, model_id: str | None, input_key: Any = None) -> list[int]:
    """Readable images present, by name, without a prediction of `model_id` made with `input_key`
    (every readable image when `model_id` is None): one column, so cheap at 100,000 images."""
    query = select(Image.id).where(Image.missing.is_(False), Image.load_error.is_(None))
    if model_id is not None:
        query = query.outerjoin(Prediction, _prediction_of(model_id, input_key)).where(
            Prediction.id.is_(None)
        )
    return list(session.scalars(query.order_by(Image.rel_path, FRAME_ORDER)))


#: how far the quick looks go before asking the whole table (a reviewer works from the top down)
QUICK_LOOKS = (100, 3000, None)


def next_unreviewed(session: Session, model_id: str, input_key: Any = None) -> ImageRow | None:
    """The unreviewed image to show next: highest score first, then the unscored ones by path."""
    scored = select(Prediction.id).where(Prediction.model_version == model_id)
    present = select(Image.id).where(Image.missing.is_(False))
    for query, candidates in ((next_unreviewed_query, scored), (first_unscored_query, present)):
        for among in QUICK_LOOKS:
            values = session.execute(query(model_id, among, input_key)).first()
            if values is not None:
                return _row(values)
            if among and _fewer_than(session, candidates, among):
                break  # the quick look saw them all (a workspace not predicted yet, say)
    return None


def _fewer_than(session: Session, candidates: Select, count: int) -> bool:
    counted = session.scalar(select(func.count()).select_from(candidates.limit(count).subquery()))
    return (counted or 0) < count


def status_counts(session: Session) -> dict[ReviewStatus, int]:
    """Images present per review state: one pass over the (state, missing) index, no join."""
    counts = {s: 0 for s in ReviewStatus}
    query = (
        select(Image.review_status, func.count())
        .where(Image.missing.is_(False))
        .group_by(Image.review_status)
    )
    for status, count in session.execute(query):
        counts[ReviewStatus(status)] = count
    return counts
