"""Record a reviewer's decision; every change appends to the history.

The final mask is written to a new file first; the review row and its
history event are committed together afterwards, so a crash at any moment
leaves the old review or the new one, never a row pointing to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select

from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import Image, Review, ReviewEvent, ReviewStatus
from zsad_desktop.store.errors import StoreError
from zsad_desktop.store.schema import utcnow


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    reviewer: str | None
    from_status: ReviewStatus | None
    to_status: ReviewStatus
    mask_file: str | None
    note: str | None


def _image_hash(workspace: Workspace, image_id: int) -> str:
    with workspace.database.session() as session:
        image = session.get(Image, image_id)
        if image is None:
            raise StoreError(f"no image with id {image_id} in this workspace")
        if image.content_hash is None:
            raise StoreError(f"{image.rel_path} could not be read, so it cannot be reviewed: {image.load_error}")
        return image.content_hash


def record_review(
    workspace: Workspace,
    image_id: int,
    status: ReviewStatus,
    mask: np.ndarray | None = None,
    proposal: np.ndarray | None = None,
    reviewer: str | None = None,
    note: str | None = None,
    model_version: str | None = None,
) -> None:
    """Save a decision. `mask` is the reviewer's final mask (accepted or
    corrected); `proposal` the model's original mask, kept beside it."""
    status = ReviewStatus(status)
    if status.has_final_mask and mask is None:
        raise StoreError(f"a review marked {status.value} needs its mask")
    image_hash = _image_hash(workspace, image_id)
    if status is ReviewStatus.NORMAL:
        mask = None
    mask_file = workspace.files.write_mask(image_hash, mask, "final") if mask is not None else None
    proposal_file = workspace.files.write_mask(image_hash, proposal, "proposal") if proposal is not None else None
    with workspace.database.session() as session:
        review = session.scalar(select(Review).where(Review.image_hash == image_hash))
        before = review.status if review else None
        if review is None:
            review = Review(image_hash=image_hash)
            session.add(review)
        review.status = status
        review.mask_file = mask_file
        if proposal_file is not None:
            review.proposal_file = proposal_file
        review.model_version = model_version or review.model_version
        review.reviewer = reviewer
        review.note = note
        review.updated_at = utcnow()
        session.add(
            ReviewEvent(image_hash=image_hash, from_status=before, to_status=status, mask_file=mask_file, reviewer=reviewer, note=note)
        )


def final_mask(workspace: Workspace, image_id: int) -> np.ndarray | None:
    """The reviewer's final mask, or None (unreviewed, normal or without mask)."""
    review = current_review(workspace, image_id)
    return workspace.files.read_mask(review.mask_file) if review is not None and review.mask_file else None


def proposal_mask(workspace: Workspace, image_id: int) -> np.ndarray | None:
    review = current_review(workspace, image_id)
    return workspace.files.read_mask(review.proposal_file) if review is not None and review.proposal_file else None


def current_review(workspace: Workspace, image_id: int) -> Review | None:
    image_hash = _image_hash(workspace, image_id)
    with workspace.database.session() as session:
        return session.scalar(select(Review).where(Review.image_hash == image_hash))


def history(workspace: Workspace, image_id: int) -> list[HistoryEntry]:
    image_hash = _image_hash(workspace, image_id)
    with workspace.database.session() as session:
        events = session.scalars(select(ReviewEvent).where(ReviewEvent.image_hash == image_hash).order_by(ReviewEvent.id))
        return [HistoryEntry(e.at, e.reviewer, e.from_status, e.to_status, e.mask_file, e.note) for e in events]
