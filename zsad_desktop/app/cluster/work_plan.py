"""What a cluster run has left to do: one work item per distinct (content hash, detector input) that
the model has no prediction for, with the workspace images sharing those pixels."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from zsad_desktop.app.prediction.folder_prediction import ImageSource
from zsad_desktop.app.prediction.workspace_predictions import LOOKUP_CHUNK
from zsad_desktop.app.workspace.detector_input import WorkspaceInput
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image


@dataclass(frozen=True)
class WorkItem:
    """One image's pixels to score; `image_ids` get its failure recorded if it cannot be read."""

    image_hash: str
    source: ImageSource
    image_ids: tuple[int, ...]

    @property
    def key(self) -> str:
        return self.source.key


@dataclass(frozen=True)
class WorkPlan:
    items: list[WorkItem]
    already_done: int  # images the model has scored before (this run skips them)


def plan_work(workspace: Workspace, model_id: str, resolved: WorkspaceInput) -> WorkPlan:
    """The work left for `model_id` under the workspace's detector-input choices (`resolved`)."""
    ids = workspace.ids_to_predict(model_id)
    readable = _readable_count(workspace)
    by_pixels: dict[tuple[str, str], tuple[ImageSource, list[int]]] = {}
    with workspace.database.read() as session:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = session.execute(
                select(
                    Image.id,
                    Image.content_hash,
                    Image.rel_path,
                    Image.frame,
                    Image.bit_depth,
                    Image.modality,
                    Image.height,
                    Image.width,
                ).where(Image.id.in_(ids[start : start + LOOKUP_CHUNK]))
            )
            for image_id, image_hash, rel_path, frame, bit_depth, modality, height, width in rows:
                if image_hash is None:
                    continue
                detector_input, tiling, key = resolved.for_image(bit_depth, modality, height, width)
                source = ImageSource(workspace.folder / rel_path, frame, detector_input, tiling, key)
                by_pixels.setdefault((image_hash, key), (source, []))[1].append(image_id)
    items = [
        WorkItem(image_hash, source, tuple(sorted(image_ids)))
        for (image_hash, _), (source, image_ids) in sorted(
            by_pixels.items(), key=lambda kv: str(kv[1][0].path)
        )
    ]
    return WorkPlan(items, readable - len(ids))


def _readable_count(workspace: Workspace) -> int:
    with workspace.database.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Image)
                .where(Image.missing.is_(False), Image.load_error.is_(None))
            )
            or 0
        )
