"""What each Ray actor is: a loaded detector (built once, when the actor starts) that scores chunks of
work items, writes their heatmaps and commits their rows in one transaction per chunk.

A chunk is all-or-nothing in the store: heatmap files first (atomic, as `PixelFiles` writes them), then
one transaction with every row. A worker killed mid-chunk leaves at most unreferenced heatmap files; the
chunk is scored again elsewhere. Rows another worker stored first win (`ON CONFLICT DO NOTHING`), so a
chunk scored twice still leaves one prediction per (image hash, model, detector input).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Insert, update
from sqlalchemy.dialects import postgresql, sqlite

from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.work_plan import WorkItem, stored_keys
from zsad_desktop.app.prediction.folder_prediction import detect_files
from zsad_desktop.app.prediction.pipeline import reader_threads
from zsad_desktop.app.workspace.detector_input import detector_input_size
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.store import Image, PixelFiles, Prediction, open_database
from zsad_desktop.store.errors import StoreError
from zsad_desktop.store.schema import utcnow


@dataclass(frozen=True)
class WorkerFacts:
    model_id: str
    input_size: int | None
    batch_size: int
    device: str
    node: str


@dataclass(frozen=True)
class ItemOutcome:
    image_hash: str
    key: str
    image_ids: tuple[int, ...]
    path: str  # where the worker read it (the first of the images sharing these pixels)
    score: float | None = None
    heatmap_file: str | None = None
    error: str | None = None
    computed: bool = True  # False: the store already had it (a retried or second submission)


class ScoringWorker:
    def __init__(self, recipe: DetectorRecipe, folder: str, db_url: str, data_dir: str):
        self.detector = recipe.build()
        # Not Workspace.open: N workers must not each ANALYZE the shared database; the driver migrated it.
        self.workspace = Workspace(Path(folder), open_database(db_url), PixelFiles(Path(data_dir)))
        self.batch_size = int(getattr(self.detector, "batch_size", 4) or 4)
        self.writers = reader_threads(str(getattr(self.detector, "device", "")))

    def describe(self) -> WorkerFacts:
        return WorkerFacts(
            self.detector.model_id,
            detector_input_size(self.detector),
            self.batch_size,
            str(getattr(self.detector, "device", "")),
            f"{os.uname().nodename}:{os.getpid()}",
        )

    def score(self, items: Sequence[WorkItem]) -> list[ItemOutcome]:
        """Each item's outcome; items the store already has are returned as they are, not scored again."""
        model_id = self.detector.model_id
        known = stored_keys(self.workspace, model_id, items)
        outcomes = [
            ItemOutcome(
                i.image_hash,
                i.key,
                i.image_ids,
                str(i.source.path),
                *known[(i.image_hash, i.key)],
                computed=False,
            )
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
                    computed.append(
                        ItemOutcome(
                            item.image_hash, item.key, item.image_ids, str(source.path), error=result.reason
                        )
                    )
                    continue
                writing.append(
                    (
                        item,
                        result.score,
                        pool.submit(
                            self.workspace.files.write_heatmap,
                            item.image_hash,
                            model_id,
                            result.heatmap,
                            getattr(result, "image_shape", None),
                        ),
                    )
                )
            for item, score, written in writing:  # every file on disk before any row is committed
                computed.append(
                    ItemOutcome(
                        item.image_hash,
                        item.key,
                        item.image_ids,
                        str(item.source.path),
                        score,
                        written.result(),
                    )
                )
        return outcomes + self._commit(model_id, computed)

    def _commit(self, model_id: str, computed: list[ItemOutcome]) -> list[ItemOutcome]:
        """Every row of the chunk in one transaction; rows another worker stored first are kept, ours dropped."""
        scored = [o for o in computed if o.error is None]
        failed = [o for o in computed if o.error is not None]
        inserted: set[tuple[str, str]] = set()
        with self.workspace.database.session() as session:
            if scored:
                insert = _insert_ignoring_duplicates(session.get_bind().dialect.name)
                rows = [
                    {
                        "image_hash": o.image_hash,
                        "model_version": model_id,
                        "detector_input": o.key,
                        "score": o.score,
                        "heatmap_file": o.heatmap_file,
                        "created_at": utcnow(),
                    }
                    for o in scored
                ]
                returned = session.execute(
                    insert.returning(Prediction.image_hash, Prediction.detector_input), rows
                )
                inserted = {(h, k) for h, k in returned}
            for outcome in failed:  # recorded on the images' rows, as the window's own predictions do
                session.execute(
                    update(Image).where(Image.id.in_(outcome.image_ids)).values(load_error=outcome.error)
                )
        lost = [o for o in scored if (o.image_hash, o.key) not in inserted]
        if not lost:
            return computed
        for outcome in lost:
            if outcome.heatmap_file is not None:  # always, for a scored outcome
                self.workspace.files.path(outcome.heatmap_file).unlink(missing_ok=True)
        theirs = stored_keys(self.workspace, model_id, lost)
        return [
            o
            if (o.image_hash, o.key) not in theirs
            else ItemOutcome(
                o.image_hash, o.key, o.image_ids, o.path, *theirs[(o.image_hash, o.key)], computed=False
            )
            for o in computed
        ]


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise StoreError(f"cluster scoring writes to PostgreSQL or SQLite, not {dialect}")
    return module.insert(Prediction).on_conflict_do_nothing(
        index_elements=["image_hash", "model_version", "detector_input"]
    )
