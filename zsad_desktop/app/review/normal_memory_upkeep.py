"""The review session's normal memory: the images reviewed NORMAL make predictions better, no button.

One memory per workspace and base model, on disk in the workspace's data folder
(`app.prediction.normal_memory.memory_path`). A review to or from NORMAL
queues a background job (the device queue, `Priority.FOLDER`, so the image on
screen still comes first) that brings the memory in line with the reviews and
saves it atomically.

Predictions do not follow every change: the session predicts with a frozen
snapshot of the memory (a `MemoryDetector`, registered and activated as model
version "<method>+normals", its model id tagged "+normals:<images>:<version>").
The snapshot is replaced, and the folder predicted again in the
background (the unreviewed images first, the most suspicious first), when
  - the memory reaches 1, 2, 4, 8, ... images: twice the snapshot's count
    (at most log2(normals) re-predictions of the folder in a whole review), or
  - an image of the snapshot is no longer normal (the reviewer corrected it: a
    defect in the memory would hide its look-alikes), then at once; an empty
    memory returns to the plain detector, whose predictions are still cached.
`DetectorSettings.normal_memory = False` turns all of this off for a session.
The window sees the new predictions through its poll of the newest prediction
(ui/prediction_watcher.py), which reloads the gallery and the image on screen.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from zsad_desktop.app.prediction.jobs import Job, Priority, Progress
from zsad_desktop.app.training import model_versions
from zsad_desktop.detection.interface import Detector, DetectorError
from zsad_desktop.store import ReviewStatus

if TYPE_CHECKING:  # torch: loaded on the worker thread, where the memory is kept
    from zsad_desktop.app.prediction.normal_memory import MemoryDetector, PatchExtractor
    from zsad_desktop.detection.normal_memory import NormalMemory

log = logging.getLogger(__name__)

SYNC_KEY = "memory-sync"
REFRESH_KEY = "normals:"  # the re-prediction chunks (not "folder:": the window's own plans leave them be)
REFRESH_CHUNK = 8


def needs_refresh(count: int, snapshot_count: int, removed_from_snapshot: bool) -> bool:
    """The refresh rule (module docstring): at 1, 2, 4, 8, ... normals, or at once when one was corrected."""
    return removed_from_snapshot or count >= max(1, 2 * snapshot_count)


class NormalsUpkeep:
    """Keeps `session`'s memory and, by the refresh rule, its detector (a `ReviewSession`, duck-typed)."""

    def __init__(self, session: Any) -> None:  # a ReviewSession, which imports this module
        self.session = session
        self._lock = threading.Lock()
        self._base: Detector | None = None
        self._extractor: PatchExtractor | None = None
        self._memory: NormalMemory | None = None  # the live memory, as on disk
        self._snapshot_ids: frozenset[str] = frozenset()  # the images the predicting memory holds
        self._current: Detector | None = None  # what the session predicts with, as set here

    # called by the session ------------------------------------------------------------------------------
    def detector_for(self, base: Detector) -> Detector:
        """The detector the session predicts with for a newly built `base`: a snapshot of the memory saved
        for it in this workspace, else `base`. A sync is queued (reviews may have changed elsewhere).
        Called under the session's detector lock (lock order: the session's, then this one's)."""
        if not self.enabled:
            return base
        from zsad_desktop.app.prediction.normal_memory import load_memory, memory_path
        from zsad_desktop.detection.normal_memory import NormalMemory

        with self._lock:
            self._base, self._extractor, self._memory = base, None, None
            self._snapshot_ids, self._current = frozenset(), base
            try:
                memory = load_memory(memory_path(self.session.workspace, base.model_id))
            except Exception as error:  # an unreadable memory file is rebuilt from the reviews
                log.warning("normal memory not loaded (%s): rebuilt from the reviews", error)
                memory = NormalMemory()
            self._memory = memory
            detector = base
            if len(memory):
                detector = self._snapshot(
                    base, NormalMemory.load(memory_path(self.session.workspace, base.model_id))
                )
                self._register(detector)
                self._current, self._snapshot_ids = detector, frozenset(memory.image_ids())
        if len(memory) or self.session.workspace.counts().get(ReviewStatus.NORMAL):
            self.schedule()
        return detector

    @property
    def enabled(self) -> bool:
        """The session's `normal_memory` setting (on unless turned off)."""
        return bool(getattr(self.session.settings, "normal_memory", True))

    def review_changed(self, before: ReviewStatus, after: ReviewStatus) -> None:
        if self.enabled and ReviewStatus.NORMAL in (before, after):
            self.schedule()

    def schedule(self) -> Job:
        """Queue a sync of the memory with the reviews (a waiting one is replaced: one is enough)."""
        return self.session.queue.submit(
            "normal memory", self._sync, Priority.FOLDER, on_error=self._failed, key=SYNC_KEY
        )

    # the background job -----------------------------------------------------------------------------
    def _sync(self, _progress: Progress, cancel: threading.Event) -> None:
        if not self.enabled:
            return
        from zsad_desktop.app.prediction.normal_memory import memory_path, musc_extractor, sync_memory
        from zsad_desktop.detection.normal_memory import NormalMemory

        self.session.detector()  # the base is built (and this upkeep told) before a memory can be kept
        with self._lock:
            base, memory, current = self._base, self._memory, self._current
            if base is None or memory is None:
                return
            try:
                self._extractor = self._extractor or musc_extractor(base)
            except DetectorError as error:
                log.info("no normal memory: %s", error)
                return
            workspace = self.session.workspace
            added, removed = sync_memory(workspace, base, self._extractor, memory, cancel)
            path = memory_path(workspace, base.model_id)
            if added or removed or (len(memory) and not path.exists()):
                memory.save(path)
            corrected = any(image_id in self._snapshot_ids for image_id in removed)
            if not needs_refresh(len(memory), len(self._snapshot_ids), corrected):
                return
            ids = frozenset(memory.image_ids())
            detector = self._snapshot(base, NormalMemory.load(path)) if len(memory) else base
        order = self._unreviewed_most_suspicious_first()  # by the scores shown until now
        # Outside this lock: the session's lock is taken before this one elsewhere (detector_for).
        if not self.session.replace_detector(current, detector, first_look=detector is base):
            return  # the settings or the version changed meanwhile: this memory no longer predicts
        with self._lock:
            if self._base is not base:
                return
            self._current, self._snapshot_ids = detector, ids
        self._register(detector)
        self._predict_again(order)

    def _snapshot(self, base: Detector, memory: NormalMemory) -> MemoryDetector:
        """A predicting detector over `memory` (a copy, loaded from disk: the live memory's changes do not touch it)."""
        from zsad_desktop.app.prediction.normal_memory import MemoryDetector, musc_extractor

        self._extractor = self._extractor or musc_extractor(base)
        return MemoryDetector(base, memory, self._extractor)

    def _register(self, detector: Detector) -> None:
        """Register and activate the detector's model version, as the session does for the plain one."""
        from zsad_desktop.app.prediction.normal_memory import MemoryDetector

        settings = self.session.settings
        extra = (
            {"normals": len(detector.memory), "memory_version": detector.memory.version}
            if isinstance(detector, MemoryDetector)
            else {}
        )
        model_versions.register_version(
            self.session.workspace,
            detector.model_id,
            settings.method + ("+normals" if isinstance(detector, MemoryDetector) else ""),
            {k: v for k, v in asdict(settings).items() if k in ("model_name", "pretrained", "image_size")},
            settings={"object_name": settings.object_name, **settings.extra, **extra},
            checkpoint=settings.checkpoint or None,
            activate=True,
        )

    def _unreviewed_most_suspicious_first(self) -> list[int]:
        """Unreviewed images by the scores shown until now, then the reviewed ones: the new version is
        the active one, so without them the gallery would show the reviewed images unscored."""
        rows = self.session.workspace.images(order="score", include_errors=False)
        unreviewed = [row.id for row in rows if row.status == ReviewStatus.UNREVIEWED]
        return unreviewed + [row.id for row in rows if row.status != ReviewStatus.UNREVIEWED]

    def _predict_again(self, image_ids: list[int]) -> None:
        queue = self.session.queue
        queue.cancel_keyed(REFRESH_KEY)  # an older snapshot's refresh is moot
        for start in range(0, len(image_ids), REFRESH_CHUNK):
            self.session.predict(
                image_ids[start : start + REFRESH_CHUNK],
                Priority.FOLDER,
                lambda outcome: None,
                self._failed,
                key=f"{REFRESH_KEY}{start}",
            )

    @staticmethod
    def _failed(error: BaseException) -> None:
        if not isinstance(error, InterruptedError):
            log.warning("normal memory: %s", error, exc_info=error)
