"""musc in the window: a folder of one product scored by its own images, without Qt.

When the session's method is musc (`ReviewSession`, duck-typed):
  - `prepare` gives the new detector its reference sample (musc_references: the
    NORMAL images first, then a seeded sample; features from the workspace's
    cache, else one backbone pass each) before its model version is registered,
    so the version's model id records the references ("references": a label of
    their count, normals and hashes). The first look (another method at a small
    size, `DetectorSettings.first_look_settings`) shows meanwhile.
  - The image on screen, and the folder as the window asks, are scored against
    that sample as any method's predictions are.
  - The whole folder is mutually scored in the background (musc_folder), in
    subsets, on the device queue below the image on screen; each subset's
    results replace the reference-scored ones as they land (the window's poll
    of the newest prediction re-sorts the gallery). `progress` gets (done, total).
  - A review to or from NORMAL queues a new sample: a new detector and model
    version replace the old (the images it had scored keep their rows), the
    folder is scored against the new references and mutually scored again
    under the new version.
musc's own modules (torch) load on the worker thread, when the method is musc.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, cast

from zsad_desktop.app.prediction.jobs import Job, Priority
from zsad_desktop.app.training import model_versions
from zsad_desktop.detection.interface import Detector
from zsad_desktop.store import ReviewStatus

if TYPE_CHECKING:
    from zsad_desktop.app.prediction.musc_references import ReferenceCache
    from zsad_desktop.detection.methods.musc.detector import MuscDetector

log = logging.getLogger(__name__)

FOLDER_KEY = "musc-folder"
REFERENCES_KEY = "musc-references"
METHOD = "musc"


class MuscUpkeep:
    def __init__(self, session: Any):  # a ReviewSession (duck-typed: it owns this upkeep)
        self.session = session
        self._lock = threading.Lock()
        self._cache: ReferenceCache | None = None
        self.reference_ids: list[int] = []  # the images of the current sample
        #: (done, total) of the folder's mutual scoring, called on the worker thread (the window sets it)
        self.progress: Callable[[int, int], None] | None = None

    @staticmethod
    def applies(detector: object) -> bool:
        return getattr(detector, "method", "") == METHOD

    @property
    def cache(self) -> ReferenceCache | None:
        return self._cache

    # called by the session ---------------------------------------------------------------------------
    def prepare(self, detector: Detector, cancel: threading.Event | None = None) -> Detector:
        """Give a newly built musc detector its references (others pass through); the folder's mutual
        scoring is queued. Runs on the worker thread."""
        if not self.applies(detector):
            return detector
        from zsad_desktop.app.prediction.musc_references import (
            ReferenceCache,
            choose_references,
            references_label,
        )

        musc = cast("MuscDetector", detector)
        with self._lock:
            if self._cache is None or self._cache.detector.backbone is not musc.backbone:
                self._cache = ReferenceCache(self.session.workspace, musc)
            self._cache.detector = musc
            rows = choose_references(self.session.workspace, musc.reference_size, musc.seed)
            musc.use_references(self._cache.features(rows, cancel), references_label(rows))
            self.reference_ids = [r.id for r in rows]
        self.schedule_folder(musc)
        return musc

    def review_changed(self, before: ReviewStatus, after: ReviewStatus) -> None:
        if self.session.settings.method == METHOD and ReviewStatus.NORMAL in (before, after):
            self.session.queue.submit(
                "musc references", self._renew, Priority.NEXT_IN_GALLERY, on_error=_failed, key=REFERENCES_KEY
            )

    def schedule_folder(self, detector: MuscDetector) -> Job:
        """Queue the folder's mutual scoring by `detector` (a waiting one is replaced)."""
        self.session.queue.cancel_keyed(FOLDER_KEY)  # an older version's scoring is moot

        def work(progress: Callable[[int, int], None], cancel: threading.Event) -> int:
            from zsad_desktop.app.prediction.musc_folder import score_workspace

            report = self.progress or progress
            return score_workspace(self.session.workspace, detector, report, cancel)

        return self.session.queue.submit(
            "musc folder", work, Priority.FOLDER, on_error=_failed, key=FOLDER_KEY
        )

    def cancel(self) -> None:
        """Stop the folder's mutual scoring and a pending new sample (the subsets stored stay)."""
        self.session.queue.cancel_keyed(FOLDER_KEY)
        self.session.queue.cancel_keyed(REFERENCES_KEY)

    # background ----------------------------------------------------------------------------------------
    def _renew(self, _progress: Callable[[int, int], None], cancel: threading.Event) -> None:
        current = self.session.detector()
        if not self.applies(current):
            return
        from zsad_desktop.app.prediction.musc_references import choose_references, references_label

        rows = choose_references(self.session.workspace, current.reference_size, current.seed)
        if references_label(rows) == current.settings()["references"]:
            return
        detector = self.session.settings.build()
        self.prepare(detector, cancel)
        if not self.session.replace_detector(current, detector):
            self.session.queue.cancel_keyed(FOLDER_KEY)
            return  # the settings changed meanwhile
        register(self.session, detector)
        if cancel.is_set():
            return  # the session is closing: the window asks for what is missing when it opens again
        self.session.predict(
            [r.id for r in self.session.workspace.images(order="score", include_errors=False)],
            Priority.FOLDER,
            lambda outcome: None,
            _failed,
            key="musc-references-folder",
        )


def register(session: Any, detector: MuscDetector) -> None:
    """Register and activate `detector`'s model version, as the session does for a new detector."""
    settings = session.settings
    model_versions.register_version(
        session.workspace,
        detector.model_id,
        settings.method,
        {k: v for k, v in asdict(settings).items() if k in ("model_name", "pretrained", "image_size")},
        settings={
            "object_name": settings.object_name,
            **settings.extra,
            "references": detector.settings()["references"],
        },
        checkpoint=settings.checkpoint or None,
        activate=True,
    )


def _failed(error: BaseException) -> None:
    if not isinstance(error, InterruptedError):
        log.warning("musc: %s", error, exc_info=error)
