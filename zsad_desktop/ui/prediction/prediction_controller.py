"""Background predictions for the open folder, in the order the reviewer needs them.

The image on screen first, then the next ones in gallery order, then the
rest; cached predictions are never recomputed (the session skips them).
Results stream into the gallery as they arrive; a problem the reviewer can
act on (missing weights, out of memory) stops the queue and says so once.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from zsad_desktop.app.prediction.jobs import Priority, prediction_order
from zsad_desktop.app.prediction.workspace_predictions import PredictionFailure
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.user_errors import user_message
from zsad_desktop.ui.prediction.job_bridge import JobBridge

LOOKAHEAD = 6
PREDICTION_KEYS = ("image:", "next", "folder:")


def describe_error(error: BaseException) -> str:
    """One line for the banner: the message of errors meant for people (a full disk included), a short
    name for the rest."""
    message = user_message(error)
    if message is not None:
        return message
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return (
            "Out of memory even with one image per batch: choose a smaller input size or the CPU "
            "in Settings, or close other programs using the GPU."
        )
    return f"Prediction failed ({type(error).__name__}: {error}). The images already scored are kept."


class PredictionController(QObject):
    scored = Signal(int, object, object)  # image id, its new score or None, why it failed or None
    progress = Signal(int, int)  # scored, asked for
    failed = Signal(str)
    finished = Signal()  # everything asked for has arrived
    scaleMayHaveChanged = Signal()  # the session refreshed the display scale after a batch of predictions
    firstLook = Signal(
        int
    )  # image id: its quick low-resolution heatmap is stored (its full one is still coming)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: ReviewSession | None = None
        self.bridge = JobBridge(self)
        self.bridge.prediction.connect(self._arrived)
        self.bridge.first_look.connect(self._first_look)
        self.bridge.error.connect(self._failed)
        self.bridge.settled.connect(self._settled)
        self._scale_pending = False
        self._halted = threading.Event()  # set on the worker thread when a prediction failed
        self._waiting: set[int] = set()
        self._total = 0
        self._gallery: list[int] = []

    def attach(self, session: ReviewSession | None) -> None:
        self.session = session
        self._waiting.clear()
        self._total = 0
        self._scale_pending = False

    def predict(self, gallery: list[int], needed: list[int], on_screen: int | None) -> None:
        """Queue the images of `needed`: the one on screen first, then the next ones in `gallery` order
        (the gallery's loaded rows), then the rest in their own order."""
        if self.session is None:
            return
        self._cancel_queued()  # a new plan replaces the old one
        self._halted.clear()
        shown = set(gallery)
        self._gallery = list(gallery) + [i for i in needed if i not in shown]
        needed = set(needed)
        self._waiting = set(needed)
        self._total = len(needed)
        for priority, ids in prediction_order(self._gallery, on_screen, needed, LOOKAHEAD):
            if priority is Priority.FOLDER:
                self.session.predict_folder(ids, self.bridge.on_prediction, self._worker_error)
            else:
                self._submit(ids, priority)
        if needed:
            self._after_queued()
        self._report()

    def _after_queued(self) -> None:
        """A no-op job behind the predictions: when it runs, the session has updated the display scale
        (it does so after each batch, after reporting the batch's results)."""
        self._scale_pending = True
        self.session.queue.submit(
            "display scale",
            lambda progress, cancel: None,
            Priority.FOLDER,
            on_result=self.bridge.on_settled,
            key="folder:scale",
        )

    def _settled(self, _marker) -> None:
        self._scale_pending = False
        self.scaleMayHaveChanged.emit()

    def focus(self, image_id: int) -> None:
        """The reviewer opened `image_id`: it jumps the queue, and the next few in the gallery after it."""
        if self.session is None or not self._waiting or self._halted.is_set():
            return
        for priority, ids in prediction_order(self._gallery, image_id, self._waiting, LOOKAHEAD):
            if priority is not Priority.FOLDER:
                self._submit(ids, priority)
        self._after_queued()

    def _submit(self, ids: list[int], priority: Priority) -> None:
        key = f"image:{ids[0]}" if priority is Priority.ON_SCREEN else "next"
        if priority is Priority.ON_SCREEN:  # queued first: the first look is shown while the full one runs
            self.session.predict_first_look(ids[0], self.bridge.on_first_look, self._worker_error)
        self.session.predict(ids, priority, self.bridge.on_prediction, self._worker_error, key=key)

    def _worker_error(self, error: BaseException) -> None:
        """On the worker thread: stop the other predictions at once (they would fail the same way), then tell the window."""
        if not isinstance(error, InterruptedError):
            self._halted.set()  # before the window hears of it: no new jobs from `focus` meanwhile
            self._cancel_queued()
        self.bridge.on_error(error)

    def _cancel_queued(self) -> None:
        """Drop the prediction jobs (a training run in the same queue goes on)."""
        if self.session is not None:
            for prefix in PREDICTION_KEYS:
                self.session.queue.cancel_keyed(prefix)

    def cancel(self) -> None:
        self._cancel_queued()
        self._waiting.clear()
        self._total = 0
        self._scale_pending = False
        self._report()

    @property
    def busy(self) -> bool:
        """Predictions still to come, or the display scale not yet settled after them."""
        return bool(self._waiting) or self._scale_pending

    def _arrived(self, outcome) -> None:
        if self.session is None:
            return
        self._waiting.discard(outcome.image_id)
        if isinstance(outcome, PredictionFailure):
            self.scored.emit(outcome.image_id, None, outcome.reason)
        else:
            self.scored.emit(outcome.image_id, outcome.score, None)
        self._report()
        if not self._waiting and self._total:
            self._total = 0
            self.finished.emit()

    def _first_look(self, outcome) -> None:
        if (
            self.session is not None
            and not isinstance(outcome, PredictionFailure)
            and outcome.image_id in self._waiting
        ):
            self.firstLook.emit(outcome.image_id)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, InterruptedError):
            return
        self._cancel_queued()  # the same error would repeat for every image
        self._scale_pending = False
        self._waiting.clear()
        self._total = 0
        self._report()
        self.failed.emit(describe_error(error))

    def _report(self) -> None:
        self.progress.emit(self._total - len(self._waiting), self._total)
