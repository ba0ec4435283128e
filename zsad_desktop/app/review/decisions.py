"""Record a reviewer's decision; every change appends to the history.

The final mask (and the model's proposal) go to new files first; the review
row and its history event are committed together afterwards, in one write
transaction, so a crash at any moment leaves the old review or the new one,
never a row pointing to nothing. Reviews hang on the image's content hash:
a renamed or moved file keeps its review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select, update

from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, Review, ReviewEvent
from zsad_desktop.store import (
    ReviewStatus as ReviewStatus,  # the statuses a decision moves between, for the window
)
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
    mask_area: int | None = None
    proposal_file: str | None = None
    model_version: str | None = None
    effort: Effort | None = None  # corrective actions of this decision's visit; None: not counted


def _image(workspace: Workspace, image_id: int) -> tuple[str, tuple[int, int] | None]:
    """(content hash, (height, width) when known) of a reviewable image."""
    with workspace.database.read() as session:
        image = session.get(Image, image_id)
        if image is None:
            raise StoreError(f"no image with id {image_id} in this workspace")
        if image.content_hash is None:
            raise StoreError(
                f"{image.rel_path} could not be read, so it cannot be reviewed: {image.load_error}"
            )
        size = (image.height, image.width) if image.height and image.width else None
        return image.content_hash, size


def _checked_mask(mask: np.ndarray, size: tuple[int, int] | None, what: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2 or (size is not None and mask.shape != size):
        expected = f"{size[0]}x{size[1]}" if size else "two-dimensional"
        raise StoreError(f"the {what} is {'x'.join(map(str, mask.shape))} pixels but the image is {expected}")
    return mask > 0


def record_review(
    workspace: Workspace,
    image_id: int,
    status: ReviewStatus | str,
    mask: np.ndarray | None = None,
    proposal: np.ndarray | None = None,
    reviewer: str | None = None,
    note: str | None = None,
    model_version: str | None = None,
    effort: Effort | None = None,
) -> Review:
    """Save a decision and return the review as now stored.

    `mask` is the reviewer's final mask, required for accepted and corrected
    and ignored for the other states (normal means "no defect"); `proposal`
    is the model's original mask, kept beside it (the earlier proposal stays
    when none is given). Setting UNREVIEWED again is allowed and recorded.
    `effort`: the corrective actions taken since the last decision on this image (None: not
    counted, e.g. a script's decision); the review keeps the sum over its decisions.
    """
    status = ReviewStatus(status)
    image_hash, size = _image(workspace, image_id)
    if status.has_final_mask:
        if mask is None:
            raise StoreError(f"a review marked {status.value} needs its mask")
        mask = _checked_mask(mask, size, "mask")
    else:
        mask = None
    proposal = _checked_mask(proposal, size, "proposal") if proposal is not None else None
    mask_file = workspace.files.write_mask(image_hash, mask, "final") if mask is not None else None
    proposal_file = (
        workspace.files.write_mask(image_hash, proposal, "proposal") if proposal is not None else None
    )
    area = int(mask.sum()) if mask is not None else (0 if status is ReviewStatus.NORMAL else None)
    with workspace.database.session() as session:  # holds the write lock: `before` cannot go stale
        review = session.scalar(select(Review).where(Review.image_hash == image_hash))
        before = review.status if review else None
        if review is None:
            review = Review(image_hash=image_hash)
            session.add(review)
        review.status = status
        review.mask_file = mask_file
        review.mask_area = area
        if proposal_file is not None:
            review.proposal_file = proposal_file
        review.model_version = model_version or review.model_version
        review.reviewer = reviewer
        review.note = note
        review.updated_at = utcnow()
        if effort is not None:
            earlier = Effort.of_row(review) or Effort()
            for column, value in (earlier + effort).columns().items():
                setattr(review, column, value)
        session.add(
            ReviewEvent(
                image_hash=image_hash,
                from_status=before,
                to_status=status,
                mask_file=mask_file,
                mask_area=area,
                proposal_file=proposal_file,
                model_version=model_version,
                reviewer=reviewer,
                note=note,
                at=review.updated_at,
                **(effort.columns() if effort is not None else {}),
            )
        )
        # Every path with these pixels shows the new state (the gallery counts and filters by it).
        session.execute(update(Image).where(Image.content_hash == image_hash).values(review_status=status))
    return review


def current_review(workspace: Workspace, image_id: int) -> Review | None:
    """The stored review of an image (a detached row), or None if it was never reviewed."""
    image_hash, _ = _image(workspace, image_id)
    with workspace.database.read() as session:
        return session.scalar(select(Review).where(Review.image_hash == image_hash))


def final_mask(workspace: Workspace, image_id: int) -> np.ndarray | None:
    """The reviewer's final mask, or None (unreviewed, normal or without mask)."""
    review = current_review(workspace, image_id)
    return workspace.files.read_mask(review.mask_file) if review is not None and review.mask_file else None


def proposal_mask(workspace: Workspace, image_id: int) -> np.ndarray | None:
    review = current_review(workspace, image_id)
    return (
        workspace.files.read_mask(review.proposal_file)
        if review is not None and review.proposal_file
        else None
    )


def history(workspace: Workspace, image_id: int) -> list[HistoryEntry]:
    """Every decision on the image's pixels, oldest first."""
    image_hash, _ = _image(workspace, image_id)
    with workspace.database.read() as session:
        events = session.scalars(
            select(ReviewEvent).where(ReviewEvent.image_hash == image_hash).order_by(ReviewEvent.id)
        )
        return [
            HistoryEntry(
                e.at,
                e.reviewer,
                e.from_status,
                e.to_status,
                e.mask_file,
                e.note,
                e.mask_area,
                e.proposal_file,
                e.model_version,
                Effort.of_row(e),
            )
            for e in events
        ]
