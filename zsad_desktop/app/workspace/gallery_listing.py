"""The gallery's list of images, read a page at a time: counts, pages and positions at 100,000 images.

A listing is one order and filter of the folder's images. Its rows come in
segments, each walked in the order of an index: for the score order, the
scored images down the predictions' score index, then the unscored ones by
name. A page that follows one already read starts from that page's last key
("keyset" paging: as cheap at row 90,000 as at row 0, and steady while rows
change); a jump into the middle counts rows off from the nearer end of a
segment. Ties are broken by name and frame, which are unique, so the order
is total and no page repeats or skips a row.

Every call opens its own read transaction, so a worker thread may read
pages while the window's thread reads others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, and_, func, or_, tuple_
from sqlalchemy.orm import Session

from zsad_desktop.app.workspace import image_queries
from zsad_desktop.app.workspace.image_queries import FRAME_ORDER, SORT_ORDERS, ImageRow
from zsad_desktop.store import Database, Image, Prediction, ReviewStatus

#: where a row stands: (segment, its values of the segment's order columns)
Key = tuple[int, tuple]


def _frame(row: ImageRow) -> int:
    return -1 if row.frame is None else row.frame


@dataclass(frozen=True)
class _Segment:
    rows: Select  # filtered, not ordered: to find one image
    count: Select
    paged: Select  # the same rows, written so that the planner walks the index of the order
    order: tuple[tuple[Any, bool], ...]  # (column, descending); only the first may descend
    values: Callable[[ImageRow], tuple]
    holds: Callable[[ImageRow], bool]

    def ordered(self, reverse: bool = False) -> Select:
        columns = [
            column.desc() if descending != reverse else column.asc() for column, descending in self.order
        ]
        return self.paged.order_by(*columns)

    def beyond(self, values: tuple, before: bool = False):
        """Rows strictly after `values` in this order (before them with `before`). The first column's
        bound comes first and alone, so the planner walks its index from there."""
        (first, descending), rest = self.order[0], self.order[1:]
        upwards = descending == before  # does "beyond" mean a larger first value?
        loose = first >= values[0] if upwards else first <= values[0]
        strict = first > values[0] if upwards else first < values[0]
        if not rest:
            return strict
        columns, tail = tuple_(*(column for column, _ in rest)), tuple_(*values[1:])
        return and_(loose, or_(strict, columns < tail if before else columns > tail))


class GalleryListing:
    """One order and filter of the gallery: `count()`, `first(n)`, `rows(offset, n)`, `after(key, n)`,
    `before(key, n)`, `position(image_id)`; `key(row)` says where a row read from it stands."""

    def __init__(
        self,
        database: Database,
        model_id: str,
        order: str = "score",
        statuses: Iterable[ReviewStatus] | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        include_errors: bool = True,
        input_key: Any = None,
    ):
        if order not in SORT_ORDERS:
            raise ValueError(f"order must be one of {SORT_ORDERS}, not {order!r}")
        self.database, self.model_id, self.order = database, model_id, order
        self.input_key = input_key  # SQL: the prediction made with the workspace's detector input
        statuses = None if statuses is None else [ReviewStatus(s) for s in statuses]
        self._filter = (statuses, min_score, max_score, include_errors)
        ranged = min_score is not None or max_score is not None
        name = ((Image.rel_path, False), (FRAME_ORDER, False))

        def by_name(row: ImageRow) -> tuple:
            return row.rel_path, _frame(row)

        if order == "score":
            self._segments = [
                self._segment(
                    lambda score: ((score, True), *name),
                    lambda r: (r.score, *by_name(r)),
                    lambda r: r.score is not None,
                    scored=True,
                    walk="score",
                )
            ]
            if not ranged:  # a score range leaves the unscored out
                self._segments.append(
                    self._segment(lambda _s: name, by_name, lambda r: r.score is None, scored=False)
                )
        elif order == "status":  # one segment per state, each by name: every state its own index walk
            self._segments = [
                self._segment(lambda _s: name, by_name, lambda r, s=state: r.status == s, statuses=[state])
                for state in sorted(ReviewStatus, key=lambda s: s.value)
                if statuses is None or state in statuses
            ]
        elif (
            order == "informative"
        ):  # images with the score computed, most informative first; then the rest by name
            informative = Prediction.informativeness
            self._segments = [
                self._where(
                    self._segment(
                        lambda _s: ((informative, True), *name),
                        lambda r: (r.informativeness, *by_name(r)),
                        lambda r: r.informativeness is not None,
                        scored=True,
                        walk="score",
                    ),
                    informative.is_not(None),
                ),
                self._where(
                    self._segment(lambda _s: name, by_name, lambda r: r.informativeness is None),
                    informative.is_(None),
                ),
            ]
        else:
            self._segments = [self._segment(lambda _s: name, by_name, lambda _r: True)]
        self._counts: list[int] | None = None
        self._lock = threading.Lock()

    def _segment(
        self, order, values, holds, scored: bool | None = None, walk: str = "name", statuses=None
    ) -> _Segment:
        statuses, *rest = self._filter if statuses is None else (statuses, *self._filter[1:])
        key = self.input_key
        rows, score = image_queries.filtered(self.model_id, statuses, *rest, scored=scored, input_key=key)
        count, _ = image_queries.filtered(
            self.model_id, statuses, *rest, scored=scored, columns=(func.count(),), input_key=key
        )
        paged, _ = image_queries.filtered(
            self.model_id, statuses, *rest, scored=scored, walk=walk, input_key=key
        )
        return _Segment(rows, count, paged, order(score), values, holds)

    @staticmethod
    def _where(segment: _Segment, condition: Any) -> _Segment:
        return replace(
            segment,
            rows=segment.rows.where(condition),
            count=segment.count.where(condition),
            paged=segment.paged.where(condition),
        )

    # where rows stand ---------------------------------------------------------------------------
    def key(self, row: ImageRow) -> Key:
        """Where `row` (as read from this listing) stands in it."""
        index = next((i for i, segment in enumerate(self._segments) if segment.holds(row)), 0)
        return index, self._segments[index].values(row)

    def segment_counts(self) -> list[int]:
        """Rows per segment, counted once per listing (a listing is a snapshot of the order, not live)."""
        with self._lock:
            if self._counts is None:
                with self.database.read() as session:
                    self._counts = [session.scalar(segment.count) for segment in self._segments]
            return list(self._counts)

    def count(self) -> int:
        return sum(self.segment_counts())

    def position(self, image_id: int) -> int | None:
        """The row number of `image_id` in this listing, or None if the filter leaves it out."""
        counts = self.segment_counts()
        with self.database.read() as session:
            for index, segment in enumerate(self._segments):
                values = session.execute(segment.rows.where(Image.id == image_id)).first()
                if values is not None:
                    mine = segment.values(ImageRow._make(values))
                    ahead = session.scalar(segment.count.where(segment.beyond(mine, before=True)))
                    return sum(counts[:index]) + ahead
        return None

    # pages --------------------------------------------------------------------------------------
    def first(self, limit: int) -> list[ImageRow]:
        """The first `limit` rows (no count needed: what the window shows as soon as a folder opens)."""
        return self.after(None, limit)

    def after(self, key: Key | None, limit: int) -> list[ImageRow]:
        """Up to `limit` rows after the row at `key` (from the start with None)."""
        start, values = key if key is not None else (0, None)
        rows: list[ImageRow] = []
        with self.database.read() as session:
            for index in range(start, len(self._segments)):
                segment = self._segments[index]
                query = segment.ordered()
                if index == start and values is not None:
                    query = query.where(segment.beyond(values))
                rows += _read(session, query.limit(limit - len(rows)))
                if len(rows) >= limit:
                    break
        return rows

    def before(self, key: Key, limit: int) -> list[ImageRow]:
        """Up to `limit` rows before the row at `key`, in the listing's order."""
        start, values = key
        rows: list[ImageRow] = []  # nearest first
        with self.database.read() as session:
            for index in range(start, -1, -1):
                segment = self._segments[index]
                query = segment.ordered(reverse=True)
                if index == start:
                    query = query.where(segment.beyond(values, before=True))
                rows += _read(session, query.limit(limit - len(rows)))
                if len(rows) >= limit:
                    break
        return rows[::-1]

    def rows(self, offset: int, limit: int) -> list[ImageRow]:
        """Up to `limit` rows from row number `offset`: for a jump, when no neighbouring page is at hand."""
        counts = self.segment_counts()
        rows: list[ImageRow] = []
        with self.database.read() as session:
            for segment, count in zip(self._segments, counts):
                if offset >= count:
                    offset -= count
                    continue
                take = min(limit - len(rows), count - offset)
                if offset > count - offset - take:  # nearer the end: count back from there
                    rows += _read(
                        session, segment.ordered(reverse=True).offset(count - offset - take).limit(take)
                    )[::-1]
                else:
                    rows += _read(session, segment.ordered().offset(offset).limit(take))
                offset = 0
                if len(rows) >= limit:
                    break
        return rows


def _read(session: Session, query: Select) -> list[ImageRow]:
    return list(map(ImageRow._make, session.connection().execute(query)))
