"""Predictions for workspace images, cached by (image hash, model version, detector input).

A prediction is never computed twice: images that already have one for the
detector's model and the workspace's detector input (`detector_input`: how
wide-range pixels became 8 bit, and the tiles of a large image) are skipped;
a changed choice makes new predictions and keeps the old ones. Heatmaps go to
float16 .npz files first, the row after. Unreadable images are recorded on
their row and skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

import cv2
import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from zsad_desktop.app.prediction.folder_prediction import ImageSource, detect_files
from zsad_desktop.app.prediction.pipeline import InOrderWriter, writes_in_background
from zsad_desktop.app.workspace.detector_input import WorkspaceInput, detector_input_size, model_input_size
from zsad_desktop.app.workspace.workspace import Workspace
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
    detector_input: str = ""  # the key it was made with (see app.workspace.detector_input)


@dataclass(frozen=True)
class PredictionFailure:
    image_id: int
    reason: str


class _ImageFacts(NamedTuple):
    rel_path: str
    frame: int | None
    content_hash: str | None
    load_error: str | None
    bit_depth: int | None
    modality: str | None
    height: int | None
    width: int | None


_FACTS = (
    Image.rel_path,
    Image.frame,
    Image.content_hash,
    Image.load_error,
    Image.bit_depth,
    Image.modality,
    Image.height,
    Image.width,
)


def workspace_input(
    workspace: Workspace, model_version: str, detector: Detector | None = None, whole: bool = False
) -> WorkspaceInput:
    """The workspace's detector-input and tiling choices, resolved for the model (its input size);
    `whole`: no tiling, every image resized to the input (a first look)."""
    # The same input size whether asked with the detector (predicting) or without (looking up): a
    # detector that does not say its own falls back to its registered version's, as lookups do.
    size = (detector_input_size(detector) if detector is not None else None) or model_input_size(
        workspace, model_version
    )
    resolved = WorkspaceInput.of(workspace, size, getattr(detector, "batch_size", 4))
    return replace(resolved, tiling=None) if whole else resolved


def prediction_key(
    workspace: Workspace, image_id: int, model_version: str, whole: bool = False
) -> str | None:
    """The detector-input key the image's prediction by `model_version` has under the current choices."""
    with workspace.database.read() as session:
        facts = session.execute(select(*_FACTS).where(Image.id == image_id)).first()
    if facts is None:
        return None
    return _key(workspace_input(workspace, model_version, whole=whole), _ImageFacts(*facts))


def _key(resolved: WorkspaceInput, facts: _ImageFacts) -> str:
    return resolved.for_image(facts.bit_depth, facts.modality, facts.height, facts.width)[2]


def cached_prediction(
    workspace: Workspace,
    image_id: int,
    model_version: str,
    detector_input: str | None = None,
    whole: bool = False,
) -> PredictionRow | None:
    """The stored prediction of `model_version` for the image's pixels made with `detector_input`
    (default: the key the workspace's current choices give this image, untiled with `whole`), or None."""
    if detector_input is None:
        detector_input = prediction_key(workspace, image_id, model_version, whole)
        if detector_input is None:
            return None
    with workspace.database.read() as session:
        image = session.get(Image, image_id)
        if image is None or image.content_hash is None:
            return None
        row = session.scalar(
            select(Prediction).where(
                Prediction.image_hash == image.content_hash,
                Prediction.model_version == model_version,
                Prediction.detector_input == detector_input,
            )
        )
        return (
            PredictionRow(image_id, row.score, row.model_version, row.heatmap_file, row.detector_input)
            if row
            else None
        )


def heatmap(workspace: Workspace, prediction: PredictionRow, max_side: int | None = None) -> np.ndarray:
    """The heatmap at its image's size: a very large image's reduced map is stretched over the image.
    With `max_side`, at most that many pixels on the longer side instead (a window showing a
    20,000 px image asks for a map its screen can show, never the full-size float map)."""
    stored, (height, width) = workspace.files.read_heatmap_and_shape(prediction.heatmap_file)
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
    if stored.shape == (height, width):
        return stored
    shrinking = height * width < stored.size
    return cv2.resize(
        stored, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )


def store_prediction(
    workspace: Workspace, image_id: int, detection: Detection, detector_input: str = ""
) -> PredictionRow:
    """Heatmap file first, then the row; if another process stored the same prediction meanwhile, theirs stays.
    A tiled detection's reduced map is stored with the size of the image it covers."""
    with workspace.database.read() as session:
        image = session.get(Image, image_id)
        if image is None or image.content_hash is None:
            raise StoreError(f"image {image_id} has no readable pixels in this workspace: nothing to predict")
        image_hash = image.content_hash
    image_shape = getattr(detection, "image_shape", None)
    relative = workspace.files.write_heatmap(image_hash, detection.model_id, detection.heatmap, image_shape)
    try:
        with workspace.database.session() as session:
            session.add(
                Prediction(
                    image_hash=image_hash,
                    model_version=detection.model_id,
                    detector_input=detector_input,
                    score=detection.score,
                    heatmap_file=relative,
                )
            )
    except IntegrityError:  # another process stored the same prediction first: keep theirs
        workspace.files.path(relative).unlink(missing_ok=True)
        theirs = cached_prediction(workspace, image_id, detection.model_id, detector_input)
        if theirs is None:  # theirs deleted meanwhile: the conflict stands
            raise
        return theirs
    return PredictionRow(image_id, detection.score, detection.model_id, relative, detector_input)


def predict_images(
    workspace: Workspace,
    detector: Detector,
    image_ids: Sequence[int],
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    whole: bool = False,
) -> Iterator[PredictionRow | PredictionFailure]:
    """Yield a cached or new prediction (or a failure) for each image, as soon as it is known.
    Identical pixels at two paths are computed once; images larger than a tile are tiled, unless `whole`."""
    model_version = detector.model_id
    size: int = batch_size if batch_size else getattr(detector, "batch_size", 2)
    resolved = workspace_input(workspace, model_version, detector, whole)
    images, cached = _lookup(workspace, image_ids, model_version)
    to_compute: dict[tuple[str, str], list[int]] = {}  # (content hash, key) -> image ids sharing it
    sources: dict[tuple[str, str], ImageSource] = {}
    for image_id in image_ids:
        facts = images.get(image_id)
        if facts is None or facts.content_hash is None:
            yield PredictionFailure(
                image_id, (facts.load_error or "unreadable") if facts else "not in this workspace"
            )
            continue
        detector_input, tiling, key = resolved.for_image(
            facts.bit_depth, facts.modality, facts.height, facts.width
        )
        found = cached.get((facts.content_hash, key))
        if found is not None:
            yield PredictionRow(image_id, found[0], model_version, found[1], key)
            continue
        to_compute.setdefault((facts.content_hash, key), []).append(image_id)
        sources.setdefault(
            (facts.content_hash, key),
            ImageSource(workspace.folder / facts.rel_path, facts.frame, detector_input, tiling, key),
        )
    by_source = {sources[group]: ids for group, ids in to_compute.items()}
    # On a GPU, heatmap files and rows are written on another thread while the next batch is scored.
    writer: InOrderWriter[list[PredictionRow | PredictionFailure]] = InOrderWriter(
        writes_in_background(str(getattr(detector, "device", "")))
    )
    try:
        for source, outcome in detect_files(detector, list(by_source), size, progress, cancel):
            writer.submit(partial(_record, workspace, by_source[source], source.key, outcome))
            for outcomes in writer.done():
                yield from outcomes
        for outcomes in writer.drain():
            yield from outcomes
    finally:
        writer.close()  # a consumer that stops early still gets every started write finished


def _record(
    workspace: Workspace, ids: list[int], key: str, outcome: Detection | ImageLoadError
) -> list[PredictionRow | PredictionFailure]:
    """Store one outcome for every image id sharing its pixels: a failure on their rows, or the prediction."""
    if isinstance(outcome, ImageLoadError):
        with workspace.database.session() as session:
            session.execute(update(Image).where(Image.id.in_(ids)).values(load_error=outcome.reason))
        return [PredictionFailure(image_id, outcome.reason) for image_id in ids]
    stored = store_prediction(workspace, ids[0], outcome, key)
    rows: list[PredictionRow | PredictionFailure] = [stored]
    rows += [
        PredictionRow(image_id, stored.score, stored.model_version, stored.heatmap_file, key)
        for image_id in ids[1:]
    ]
    return rows


LOOKUP_CHUNK = 900  # below every database's limit on bound parameters


def _lookup(
    workspace: Workspace, image_ids: Sequence[int], model_version: str
) -> tuple[dict[int, _ImageFacts], dict[tuple[str, str], tuple[float, str]]]:
    """{id: facts} of the images and {(hash, detector input): (score, heatmap file)} of cached predictions."""
    images: dict[int, _ImageFacts] = {}
    cached: dict[tuple[str, str], tuple[float, str]] = {}
    ids = list(dict.fromkeys(image_ids))
    with workspace.database.read() as session:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for id_, *facts in session.execute(select(Image.id, *_FACTS).where(Image.id.in_(chunk))):
                images[id_] = _ImageFacts(*facts)  # type: ignore[arg-type]  # _FACTS's columns, in _ImageFacts' order
            hashes = list({images[i].content_hash for i in chunk if i in images and images[i].content_hash})
            for image_hash, key, score, heatmap_file in session.execute(
                select(
                    Prediction.image_hash,
                    Prediction.detector_input,
                    Prediction.score,
                    Prediction.heatmap_file,
                ).where(Prediction.model_version == model_version, Prediction.image_hash.in_(hashes))
            ):
                cached[(image_hash, key)] = (score, heatmap_file)
    return images, cached
