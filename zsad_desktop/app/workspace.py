"""A workspace: one image folder, its review database and its pixel files.

The database lives in the folder's `.zsad/` (or at a given URL, such as a
PostgreSQL server a team shares); masks and heatmaps sit beside it. Every
method opens its own short transaction, so the window's thread and the
workers' threads can use one `Workspace` at once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import and_, func, select

from zsad_desktop.store import Database, Image, ModelVersion, PixelFiles, Prediction, Review, ReviewStatus, Setting, open_database
from zsad_desktop.store.database import sqlite_url
from zsad_desktop.store.errors import StoreError

DATA_DIR = ".zsad"
DEFAULT_SETTINGS: dict[str, Any] = {"object_name": "object", "method": "baseline", "display_threshold": 0.5}
SORT_ORDERS = ("score", "name", "status")


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


class Workspace:
    def __init__(self, folder: Path, database: Database, files: PixelFiles):
        self.folder = folder
        self.database = database
        self.files = files

    @classmethod
    def open(cls, folder: Path | str, db_url: str | None = None, data_dir: Path | None = None) -> "Workspace":
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise StoreError(f"{folder} is not a folder")
        data = Path(data_dir) if data_dir else default_data_dir(folder)
        data.mkdir(parents=True, exist_ok=True)
        database = open_database(db_url or sqlite_url(data / "reviews.sqlite"))
        return cls(folder, database, PixelFiles(data))

    def close(self) -> None:
        self.database.dispose()

    # settings ---------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        with self.database.session() as session:
            row = session.get(Setting, key)
            if row is not None:
                return row.value.get("v")
        return DEFAULT_SETTINGS.get(key, default) if default is None else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.database.session() as session:
            session.merge(Setting(key=key, value={"v": value}))

    # queries ----------------------------------------------------------------
    def active_model_id(self) -> str | None:
        with self.database.session() as session:
            return session.scalar(select(ModelVersion.model_id).where(ModelVersion.active.is_(True)))

    def images(
        self,
        statuses: Iterable[ReviewStatus] | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        order: str = "score",
        model_id: str | None = None,
        limit: int | None = None,
        include_errors: bool = True,
    ) -> list[ImageRow]:
        """Images of the folder with their review state and the score of `model_id` (default: the active model)."""
        if order not in SORT_ORDERS:
            raise ValueError(f"order must be one of {SORT_ORDERS}")
        model_id = model_id or self.active_model_id() or ""
        status = func.coalesce(Review.status, ReviewStatus.UNREVIEWED.value)
        query = (
            select(Image, Prediction.score, status, Review.reviewer, Review.updated_at)
            .outerjoin(Prediction, and_(Prediction.image_hash == Image.content_hash, Prediction.model_version == model_id))
            .outerjoin(Review, Review.image_hash == Image.content_hash)
            .where(Image.missing.is_(False))
        )
        if statuses is not None:
            query = query.where(status.in_([s.value for s in statuses]))
        if min_score is not None:
            query = query.where(Prediction.score >= min_score)
        if max_score is not None:
            query = query.where(Prediction.score <= max_score)
        if not include_errors:
            query = query.where(Image.load_error.is_(None))
        if order == "score":
            query = query.order_by(Prediction.score.is_(None), Prediction.score.desc(), Image.rel_path)
        elif order == "status":
            query = query.order_by(status, Image.rel_path)
        else:
            query = query.order_by(Image.rel_path)
        if limit:
            query = query.limit(limit)
        with self.database.session() as session:
            return [_row(image, score, st, reviewer, at) for image, score, st, reviewer, at in session.execute(query)]

    def image(self, image_id: int) -> ImageRow:
        with self.database.session() as session:
            image = session.get(Image, image_id)
            if image is None:
                raise StoreError(f"no image with id {image_id} in this workspace")
            model_id = self.active_model_id() or ""
            score = session.scalar(
                select(Prediction.score).where(Prediction.image_hash == image.content_hash, Prediction.model_version == model_id)
            )
            review = session.scalar(select(Review).where(Review.image_hash == image.content_hash))
            return _row(
                image, score, review.status if review else ReviewStatus.UNREVIEWED,
                review.reviewer if review else None, review.updated_at if review else None,
            )

    def next_unreviewed(self, model_id: str | None = None) -> ImageRow | None:
        rows = self.images([ReviewStatus.UNREVIEWED], order="score", model_id=model_id, limit=1, include_errors=False)
        return rows[0] if rows else None

    def counts(self) -> dict[ReviewStatus, int]:
        status = func.coalesce(Review.status, ReviewStatus.UNREVIEWED.value)
        query = (
            select(status, func.count())
            .select_from(Image)
            .outerjoin(Review, Review.image_hash == Image.content_hash)
            .where(Image.missing.is_(False))
            .group_by(status)
        )
        counts = {s: 0 for s in ReviewStatus}
        with self.database.session() as session:
            for value, count in session.execute(query):
                counts[ReviewStatus(value)] = count
        return counts

    def absolute_path(self, row: ImageRow) -> Path:
        return self.folder / row.rel_path


def default_data_dir(folder: Path) -> Path:
    """`<folder>/.zsad`, or a per-user folder when the image folder is read-only (a DVD, a shared archive)."""
    inside = folder / DATA_DIR
    if inside.is_dir() or os.access(folder, os.W_OK):
        return inside
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "zsad-desktop" / "workspaces"
    return base / hashlib.sha1(str(folder).encode()).hexdigest()[:16]


def _row(image: Image, score: float | None, status: Any, reviewer: str | None, at: datetime | None) -> ImageRow:
    return ImageRow(
        id=image.id, rel_path=image.rel_path, content_hash=image.content_hash, width=image.width, height=image.height,
        bit_depth=image.bit_depth, modality=image.modality, load_error=image.load_error,
        status=ReviewStatus(status), score=score, reviewer=reviewer, updated_at=at,
    )
