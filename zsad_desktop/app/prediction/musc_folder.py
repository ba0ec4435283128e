"""A workspace's images mutually scored by musc, in subsets, landing as they come.

The folder is split into musc's subsets (`folder_subsets`: seeded, at most
`subset_size` images each). Each subset is scored against itself (RsCIN within
the subset) and stored at once, so the gallery re-sorts while the rest is
scored. A subset's predictions replace the images' reference-scored ones of the
same model version: heatmap files first, then every row of the subset in one
transaction, then the old files go. A cancelled or failed subset leaves nothing
(no partial rows); the subsets stored are recorded per model version in the
workspace's settings, so the work resumes where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from sqlalchemy import select

from zsad_desktop.app.prediction.musc_references import content_hash
from zsad_desktop.app.prediction.workspace_predictions import workspace_input
from zsad_desktop.app.workspace.image_queries import ImageRow
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detection
from zsad_desktop.detection.methods.musc.detector import MuscDetector, folder_subsets
from zsad_desktop.imaging import ImageLoadError, load_image
from zsad_desktop.store import Prediction

DONE_SETTING = "musc-folder-subsets:"  # + model id: the indices of the subsets stored

Progress = Callable[[int, int], None]


def score_workspace(
    workspace: Workspace,
    detector: MuscDetector,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Score and store every subset not stored yet; returns the images stored now. Raises
    InterruptedError when cancelled (the subsets stored before stay)."""
    rows = [r for r in workspace.images(order="name", include_errors=False) if r.content_hash]
    rows = list({r.content_hash: r for r in rows}.values())  # identical pixels: scored once
    if len(rows) < 2:
        return 0
    model_id = detector.model_id
    subsets = folder_subsets(len(rows), detector.subset_size, detector.seed)
    done = set(workspace.setting(DONE_SETTING + model_id, []))
    landed = sum(len(subsets[i]) for i in done if i < len(subsets))
    stored = 0
    resolved = workspace_input(workspace, model_id, detector, whole=True)
    # Stored under the key the window looks up (a large image's tiled one: musc compares whole images).
    keys = workspace_input(workspace, model_id, detector)
    for index, subset in enumerate(subsets):
        if index in done:
            continue
        if cancel is not None and cancel.is_set():
            raise InterruptedError("cancelled")
        images: list[np.ndarray] = []
        members: list[tuple[ImageRow, str]] = []
        for row in (rows[i] for i in subset):
            detector_input, _, _ = resolved.for_image(row.bit_depth, row.modality, row.height, row.width)
            key = keys.for_image(row.bit_depth, row.modality, row.height, row.width)[2]
            try:
                images.append(detector_input.to_rgb8(load_image(workspace.absolute_path(row), row.frame)))
            except ImageLoadError:
                continue  # unreadable now: left for the reference scoring to report
            members.append((row, key))
        if len(images) >= 2:
            detections = detector.score_subset(images, None if cancel is None else cancel.is_set)
            if cancel is not None and cancel.is_set():
                raise InterruptedError("cancelled")
            store_replacing(workspace, [(row, key, d) for (row, key), d in zip(members, detections)])
            stored += len(detections)
        done.add(index)
        workspace.set_setting(DONE_SETTING + model_id, sorted(done))
        landed += len(subset)
        if progress is not None:
            progress(landed, len(rows))
    return stored


def store_replacing(workspace: Workspace, items: list[tuple[ImageRow, str, Detection]]) -> None:
    """Store (row, detector input key, detection) items as one: files first, then all rows in one
    transaction (an image's earlier row of the same model and input replaced), then old files removed."""
    written = [
        workspace.files.write_heatmap(
            content_hash(row), d.model_id, d.heatmap, getattr(d, "image_shape", None)
        )
        for row, _, d in items
    ]
    old_files: list[str] = []
    try:
        with workspace.database.session() as session:
            for (row, key, detection), relative in zip(items, written):
                earlier = session.scalar(
                    select(Prediction).where(
                        Prediction.image_hash == content_hash(row),
                        Prediction.model_version == detection.model_id,
                        Prediction.detector_input == key,
                    )
                )
                if earlier is not None:
                    old_files.append(earlier.heatmap_file)
                    session.delete(earlier)
                    session.flush()  # the delete before the insert: the pair is unique
                session.add(
                    Prediction(
                        image_hash=content_hash(row),
                        model_version=detection.model_id,
                        detector_input=key,
                        score=detection.score,
                        heatmap_file=relative,
                    )
                )
    except BaseException:
        for relative in written:
            workspace.files.path(relative).unlink(missing_ok=True)
        raise
    for relative in old_files:
        workspace.files.path(relative).unlink(missing_ok=True)
