"""Typed SQLAlchemy 2 models of the review store.

Reviews and predictions hang on an image's content hash, not its path, so a
renamed or moved file keeps its review. Every change of a review appends a
`ReviewEvent`; nothing is overwritten without a trace.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from zsad_desktop.store.file_name_type import FileNameText


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ReviewStatus(str, enum.Enum):
    UNREVIEWED = "unreviewed"
    NORMAL = "normal"
    ACCEPTED = "accepted"
    CORRECTED = "corrected"
    REJECTED = "rejected"
    SKIPPED = "skipped"

    @property
    def has_final_mask(self) -> bool:
        return self in (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED)


class TrainingStatus(str, enum.Enum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


_status = Enum(
    ReviewStatus,
    name="review_status",
    values_callable=lambda e: [m.value for m in e],
    native_enum=False,
    length=16,
)
_training = Enum(
    TrainingStatus,
    name="training_status",
    values_callable=lambda e: [m.value for m in e],
    native_enum=False,
    length=16,
)


class Setting(Base):
    """Workspace settings: object name, method, active threshold, split seed..."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


class Image(Base):
    """An image of the folder: a file, or one frame of a multi-frame DICOM file (`frame` 0..n-1; None for
    single-frame files). A frame's `content_hash` is the file's hash plus ":<frame>", so each frame has
    its own review and predictions. `review_status` repeats the status of the review of its pixels (kept
    in step in the same transactions), so that counting and filtering by state needs no join."""

    __tablename__ = "images"
    __table_args__ = (
        Index("ix_images_review_status", "review_status", "missing"),
        # one row per file and frame; NULLs are distinct in unique indexes, hence the coalesce
        Index("uq_images_rel_path_frame", "rel_path", text("coalesce(frame, -1)"), unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rel_path: Mapped[str] = mapped_column(FileNameText(1024))  # any name the file system allows
    frame: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(256))  # DICOM's patient-safe label; None for photos
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bit_depth: Mapped[int | None] = mapped_column(Integer)
    modality: Mapped[str | None] = mapped_column(String(16))
    frames: Mapped[int] = mapped_column(Integer, default=1)
    load_error: Mapped[str | None] = mapped_column(Text)
    # no index: a yes/no column only misleads SQLite's planner into driving joins from it
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    review_status: Mapped[ReviewStatus] = mapped_column(
        _status, default=ReviewStatus.UNREVIEWED, server_default=ReviewStatus.UNREVIEWED.value
    )


class Prediction(Base):
    """Cached by (image hash, model version, detector input): never computed twice. `detector_input`
    says how wide-range pixels were turned into the detector's 8-bit input (a window, a percentile
    window, or '' for images used as stored), so a result can be reproduced."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint(
            "image_hash", "model_version", "detector_input", name="uq_predictions_image_model_input"
        ),
        Index("ix_predictions_model_score", "model_version", "score"),
        Index("ix_predictions_model_informativeness", "model_version", "informativeness"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_hash: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(255))
    detector_input: Mapped[str] = mapped_column(String(64), default="", server_default="")
    score: Mapped[float] = mapped_column(Float)
    heatmap_file: Mapped[str] = mapped_column(String(512))
    # how much reviewing this image would teach the model (app.review.informative_order); None until computed
    informativeness: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """The current decision on an image; `proposal_file` keeps the model's original."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ReviewStatus] = mapped_column(_status, index=True, default=ReviewStatus.UNREVIEWED)
    mask_file: Mapped[str | None] = mapped_column(String(512))
    proposal_file: Mapped[str | None] = mapped_column(String(512))
    model_version: Mapped[str | None] = mapped_column(String(255))
    reviewer: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mask_area: Mapped[int | None] = mapped_column(BigInteger)  # defect pixels of the final mask
    # corrective actions of all visits (see app.viewer.effort); NULL: decided before they were counted
    effort_clicks: Mapped[int | None] = mapped_column(Integer)
    effort_brush_strokes: Mapped[int | None] = mapped_column(Integer)
    effort_polygon_vertices: Mapped[int | None] = mapped_column(Integer)
    effort_removed_regions: Mapped[int | None] = mapped_column(Integer)
    effort_snaps: Mapped[int | None] = mapped_column(Integer)


class ReviewEvent(Base):
    """One change of a review: who, when, from what to what."""

    __tablename__ = "review_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_hash: Mapped[str] = mapped_column(String(64), index=True)
    from_status: Mapped[ReviewStatus | None] = mapped_column(_status)
    to_status: Mapped[ReviewStatus] = mapped_column(_status)
    mask_file: Mapped[str | None] = mapped_column(String(512))
    reviewer: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mask_area: Mapped[int | None] = mapped_column(BigInteger)
    proposal_file: Mapped[str | None] = mapped_column(String(512))
    model_version: Mapped[str | None] = mapped_column(String(255))
    # corrective actions of this decision's visit; NULL: decided before they were counted
    effort_clicks: Mapped[int | None] = mapped_column(Integer)
    effort_brush_strokes: Mapped[int | None] = mapped_column(Integer)
    effort_polygon_vertices: Mapped[int | None] = mapped_column(Integer)
    effort_removed_regions: Mapped[int | None] = mapped_column(Integer)
    effort_snaps: Mapped[int | None] = mapped_column(Integer)


class ModelVersion(Base):
    """A detector a workspace can use; at most one is active (a partial unique index says so)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index(
            "uq_model_versions_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    model_id: Mapped[str] = mapped_column(
        String(255)
    )  # the detector's model_id: what predictions are tagged with
    method: Mapped[str] = mapped_column(String(32))
    backbone: Mapped[dict[str, Any]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checkpoint: Mapped[str | None] = mapped_column(String(1024))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    training_run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelActivation(Base):
    """Each time a version became active; a rollback marks the current one undone."""

    __tablename__ = "model_activations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    activated_by: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrainingRun(Base):
    __tablename__ = "training_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    status: Mapped[TrainingStatus] = mapped_column(_training, default=TrainingStatus.RUNNING)
    train_review_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    held_out_review_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
