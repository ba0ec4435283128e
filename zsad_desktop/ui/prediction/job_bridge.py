"""Callbacks from the job queue's worker threads, delivered on the GUI thread as Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class JobBridge(QObject):
    prediction = Signal(object)  # PredictionRow | PredictionFailure
    first_look = Signal(object)  # the quick low-resolution PredictionRow of the image on screen
    error = Signal(object)  # an exception
    scanned = Signal(object)  # ScanReport
    progress = Signal(int, int)
    settled = Signal(object)  # a marker job ran: everything queued before it is done

    # Plain methods are handed to the worker thread; emitting is thread-safe and
    # Qt queues the call to receivers living in the GUI thread.
    def on_prediction(self, outcome) -> None:
        self.prediction.emit(outcome)

    def on_first_look(self, outcome) -> None:
        self.first_look.emit(outcome)

    def on_error(self, error: BaseException) -> None:
        self.error.emit(error)

    def on_scanned(self, report) -> None:
        self.scanned.emit(report)

    def on_settled(self, marker) -> None:
        self.settled.emit(marker)

    def on_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)
