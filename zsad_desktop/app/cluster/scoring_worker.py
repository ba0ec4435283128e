"""What each Ray actor holds: a loaded detector (built once, when the actor starts) that scores batches
of work items, writes their heatmaps and commits their rows in one transaction per batch.

A batch is all-or-nothing in the store: heatmap files first (atomic, as `PixelFiles` writes them), then
one transaction with every row (`batch_commit`). A worker killed mid-batch leaves at most unreferenced
heatmap files; Ray retries the batch. Rows another worker stored first win (`ON CONFLICT DO NOTHING`), so
a batch scored twice still leaves one prediction per (image hash, model, detector input).

A worker that Ray restarted after a crash scores its first batches one image at a time, counting each
try in the database first: the image that kills it again is known, and after `POISON_RETRIES` tries
alone it is recorded as failed instead of taking every worker down with it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zsad_desktop.app.cluster.batch_commit import ItemOutcome, begin_attempt, commit_batch, stored_keys
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.work_plan import WorkItem
from zsad_desktop.app.prediction.folder_prediction import detect_files
from zsad_desktop.app.prediction.pipeline import reader_threads
from zsad_desktop.app.workspace.detector_input import detector_input_size
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detector
from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.store import PixelFiles, open_database

POISON_RETRIES = 1  # tries of an image alone after the batch it was in crashed a worker
CAREFUL_BATCHES = 2  # batches a restarted worker scores one image at a time (Ray sends it 2 at once)


@dataclass(frozen=True)
class WorkerFacts:
    model_id: str
    input_size: int | None
    batch_size: int
    device: str
    node: str


def describe_recipe(recipe: DetectorRecipe) -> WorkerFacts:
    """The facts the driver plans with, from a detector built where an actor would run."""
    return facts_of(recipe.build())


def facts_of(detector: Detector) -> WorkerFacts:
    return WorkerFacts(
        detector.model_id,
        detector_input_size(detector),
        int(getattr(detector, "batch_size", 4) or 4),
        str(getattr(detector, "device", "")),
        f"{os.uname().nodename}:{os.getpid()}",
    )


class ScoringWorker:
    def __init__(self, recipe: DetectorRecipe, folder: str, db_url: str, data_dir: str):
        self.detector = recipe.build()
        # Not Workspace.open: N workers must not each ANALYZE the shared database; the driver migrated it.
        self.workspace = Workspace(Path(folder), open_database(db_url), PixelFiles(Path(data_dir)))
        self.batch_size = int(getattr(self.detector, "batch_size", 4) or 4)
        self.writers = reader_threads(str(getattr(self.detector, "device", "")))
        self.careful_left = 0  # set by the stage when Ray restarted this worker

    def describe(self) -> WorkerFacts:
        return facts_of(self.detector)

    def score(self, items: Sequence[WorkItem]) -> list[ItemOutcome]:
        """Each item's outcome; items the store already has are returned as they are, not scored again."""
        if self.careful_left > 0:
            self.careful_left -= 1
            return [outcome for item in items for outcome in self._score_alone(item)]
        return self._score(items)

    def _score_alone(self, item: WorkItem) -> list[ItemOutcome]:
        model_id = self.detector.model_id
        if stored_keys(self.workspace, model_id, [item]):
            return self._score([item])  # found as stored, without a try counted
        tries = begin_attempt(self.workspace, model_id, item.image_hash, item.key)
        if tries >= POISON_RETRIES:
            error = (
                f"its worker process died {tries + 1} times while scoring it (out of memory, or a crash "
                "in the image decoder); skipped until zsad predict --retry-failed"
            )
            return commit_batch(self.workspace, model_id, [outcome_of(item, error=error)])
        return self._score([item])

    def _score(self, items: Sequence[WorkItem]) -> list[ItemOutcome]:
        model_id = self.detector.model_id
        known = stored_keys(self.workspace, model_id, items)
        outcomes = [
            outcome_of(i, *known[(i.image_hash, i.key)], computed=False)
            for i in items
            if (i.image_hash, i.key) in known
        ]
        todo = {id(i.source): i for i in items if (i.image_hash, i.key) not in known}
        computed: list[ItemOutcome] = []
        writing: list[tuple[WorkItem, float, Future]] = []
        # Compressing a 1024 px heatmap takes about 0.2 s of a core: on a GPU, several write while it scores.
        with ThreadPoolExecutor(self.writers, thread_name_prefix="zsad-heatmaps") as pool:
            for source, result in detect_files(
                self.detector, [i.source for i in todo.values()], self.batch_size
            ):
                item = todo[id(source)]
                if isinstance(result, ImageLoadError):
                    computed.append(outcome_of(item, error=result.reason))
                    continue
                shape = getattr(result, "image_shape", None)
                written = pool.submit(
                    self.workspace.files.write_heatmap, item.image_hash, model_id, result.heatmap, shape
                )
                writing.append((item, result.score, written))
            # Every file on disk before any row is committed.
            computed += [outcome_of(item, score, written.result()) for item, score, written in writing]
        return outcomes + commit_batch(self.workspace, model_id, computed)


def outcome_of(item: WorkItem, *scored: Any, **fields: Any) -> ItemOutcome:
    """The item's outcome: `scored` is (score, heatmap file), `fields` the rest (error, computed)."""
    return ItemOutcome(item.image_hash, item.key, item.image_ids, str(item.source.path), *scored, **fields)
