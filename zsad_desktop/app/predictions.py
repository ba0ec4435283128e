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
from zsad_desktop.store.errors import StoreError


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
    """The stored prediction of `model_version` for the image's pixels, or None."""
    with workspace.database.read() as session:
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
    """Heatmap file first, then the row; if another process stored the same prediction meanwhile, theirs stays."""
    with workspace.database.read() as session:
        image = session.get(Image, image_id)
        if image is None or image.content_hash is None:
            raise StoreError(f"image {image_id} has no readable pixels in this workspace: nothing to predict")
        image_hash = image.content_hash
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
    """Yield a cached or new prediction (or a failure) for each image, as soon as it is known.
    Identical pixels at two paths are computed once."""
    model_version = detector.model_id
    images, cached = _lookup(workspace, image_ids, model_version)
    to_compute: dict[str, list[int]] = {}  # content hash -> image ids sharing it
    for image_id in image_ids:
        image = images.get(image_id)
        if image is None or image[1] is None:
            yield PredictionFailure(image_id, image[2] if image else "not in this workspace")
        elif image[1] in cached:
            score, heatmap_file = cached[image[1]]
            yield PredictionRow(image_id, score, model_version, heatmap_file)
        else:
            to_compute.setdefault(image[1], []).append(image_id)
    by_path = {workspace.folder / images[ids[0]][0]: ids for ids in to_compute.values()}
    size = batch_size or getattr(detector, "batch_size", 2)
    for path, outcome in detect_files(detector, list(by_path), size, progress, cancel):
        ids = by_path[path]
        if isinstance(outcome, ImageLoadError):
            with workspace.database.session() as session:
                session.execute(update(Image).where(Image.id.in_(ids)).values(load_error=outcome.reason))
            for image_id in ids:
                yield PredictionFailure(image_id, outcome.reason)
        else:
            stored = store_prediction(workspace, ids[0], outcome)
            yield stored
            for image_id in ids[1:]:
                yield PredictionRow(image_id, stored.score, stored.model_version, stored.heatmap_file)


LOOKUP_CHUNK = 900  # below every database's limit on bound parameters


def _lookup(workspace: Workspace, image_ids: Sequence[int], model_version: str):
    """{id: (rel_path, hash, load_error)} and {hash: (score, heatmap file)} of cached predictions."""
    images: dict[int, tuple[str, str | None, str | None]] = {}
    cached: dict[str, tuple[float, str]] = {}
    ids = list(dict.fromkeys(image_ids))
    with workspace.database.read() as session:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for id_, rel_path, image_hash, error in session.execute(
                    select(Image.id, Image.rel_path, Image.content_hash, Image.load_error).where(Image.id.in_(chunk))):
                images[id_] = (rel_path, image_hash, error)
            hashes = list({images[i][1] for i in chunk if i in images and images[i][1]})
            for image_hash, score, heatmap_file in session.execute(
                    select(Prediction.image_hash, Prediction.score, Prediction.heatmap_file)
                    .where(Prediction.model_version == model_version, Prediction.image_hash.in_(hashes))):
                cached[image_hash] = (score, heatmap_file)
    return images, cached
