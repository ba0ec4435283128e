"""Predictions for workspace images, cached by (image hash, model version).

A prediction is never computed twice: images that already have one for the
detector's model are skipped. Heatmaps go to float16 .npz files first, the
row after. Unreadable images are recorded on their row and skipped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from zsad_desktop.app.folder_prediction import detect_files
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.detection.interface import Detection, Detector
from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.store import Image, Prediction


@dataclass(frozen=True)
class PredictionRow:
    image_id: int
    score: float
    model_version: str
    heatmap_file: str


@dataclass(frozen=True)
class PredictionFailure:
    image_id: int
    reason: str


def cached_prediction(workspace: Workspace, image_id: int, model_version: str) -> PredictionRow | None:
    with workspace.database.session() as session:
        image = session.get(Image, image_id)
        if image is None or image.content_hash is None:
            return None
        row = session.scalar(
            select(Prediction).where(Prediction.image_hash == image.content_hash, Prediction.model_version == model_version)
        )
        return PredictionRow(image_id, row.score, row.model_version, row.heatmap_file) if row else None


def heatmap(workspace: Workspace, prediction: PredictionRow) -> np.ndarray:
    return workspace.files.read_heatmap(prediction.heatmap_file)


def store_prediction(workspace: Workspace, image_id: int, detection: Detection) -> PredictionRow:
    with workspace.database.session() as session:
        image_hash = session.get(Image, image_id).content_hash
    relative = workspace.files.write_heatmap(image_hash, detection.model_id, detection.heatmap)
    try:
        with workspace.database.session() as session:
            session.add(Prediction(image_hash=image_hash, model_version=detection.model_id, score=detection.score, heatmap_file=relative))
    except IntegrityError:  # another process stored the same prediction first: keep theirs
        workspace.files.path(relative).unlink(missing_ok=True)
        return cached_prediction(workspace, image_id, detection.model_id)
    return PredictionRow(image_id, detection.score, detection.model_id, relative)


def predict_images(
    workspace: Workspace,
    detector: Detector,
    image_ids: Sequence[int],
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[PredictionRow | PredictionFailure]:
    """Yield a cached or new prediction (or a failure) for each image, as soon as it is known."""
    model_version = detector.model_id
    to_compute = []
    for image_id in image_ids:
        cached = cached_prediction(workspace, image_id, model_version)
        if cached is not None:
            yield cached
        else:
            to_compute.append(image_id)
    with workspace.database.session() as session:
        rows = {i.id: i for i in session.scalars(select(Image).where(Image.id.in_(to_compute)))}
    readable = []
    for image_id in to_compute:
        row = rows.get(image_id)
        if row is None or row.content_hash is None:
            yield PredictionFailure(image_id, row.load_error if row else "not in this workspace")
        else:
            readable.append(image_id)
    by_path = {workspace.folder / rows[i].rel_path: i for i in readable}
    size = batch_size or getattr(detector, "batch_size", 2)
    for path, outcome in detect_files(detector, list(by_path), size, progress, cancel):
        image_id = by_path[path]
        if isinstance(outcome, ImageLoadError):
            with workspace.database.session() as session:
                session.execute(update(Image).where(Image.id == image_id).values(load_error=outcome.reason))
            yield PredictionFailure(image_id, outcome.reason)
        else:
            yield store_prediction(workspace, image_id, outcome)
