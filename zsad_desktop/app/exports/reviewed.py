"""The reviewed images an export writes, read in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import and_, select

from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

#: decisions that say what the pixels are: exported. Rejected, skipped and unreviewed images are not.
DECIDED = (ReviewStatus.NORMAL, ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED)


@dataclass(frozen=True)
class ReviewedImage:
    image_id: int
    rel_path: str
    width: int | None
    height: int | None
    status: ReviewStatus
    mask_file: str | None
    mask_area: int | None
    reviewer: str | None
    model_version: str | None
    note: str | None
    updated_at: datetime | None
    score: float | None
    frame: int | None = None  # of a multi-frame DICOM file; None for single-frame files

    @property
    def anomalous(self) -> bool:
        return self.mask_file is not None and (self.mask_area is None or self.mask_area > 0)


def reviewed_images(
    workspace: Workspace, statuses: tuple[ReviewStatus, ...] | None = DECIDED
) -> list[ReviewedImage]:
    """Images present and readable with one of `statuses` (all images if None), by path; score from the active model."""
    active = workspace.active_model_id() or ""
    query = (
        select(
            Image.id,
            Image.rel_path,
            Image.width,
            Image.height,
            Review.status,
            Review.mask_file,
            Review.mask_area,
            Review.reviewer,
            Review.model_version,
            Review.note,
            Review.updated_at,
            Prediction.score,
            Image.frame,
        )
        .select_from(Image)
        .outerjoin(Review, Review.image_hash == Image.content_hash)
        .outerjoin(
            Prediction,
            and_(
                Prediction.image_hash == Image.content_hash,
                Prediction.model_version == active,
                Prediction.detector_input == workspace.input_key(active),
            ),
        )
        .where(Image.missing.is_(False))
        .order_by(Image.rel_path, Image.frame)
    )
    if statuses is not None:
        query = query.where(Review.status.in_(list(statuses)), Image.load_error.is_(None))
    with workspace.database.read() as session:
        return [
            ReviewedImage(id_, rel, w, h, ReviewStatus(status) if status else ReviewStatus.UNREVIEWED, *rest)
            for id_, rel, w, h, status, *rest in session.execute(query)
        ]


def final_mask(workspace: Workspace, image: ReviewedImage) -> np.ndarray | None:
    return workspace.files.read_mask(image.mask_file) if image.mask_file else None
