"""Predictions stored by others (a cluster run, a colleague's window on the same database) appear in
this window as they land: the workspace is asked every few seconds, off the GUI thread, whether newer
predictions exist, and the window refreshes when they do."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer, Signal

from zsad_desktop.app.prediction.arrivals import newest_prediction

POLL_MS = 3000  # a reviewer notices a new score within seconds; the query is one index lookup


class PredictionWatcher(QObject):
    landed = Signal()
    _answered = Signal(object, object)  # (workspace asked, future)

    def __init__(self, current_workspace, parent=None, interval_ms: int = POLL_MS):
        """`current_workspace()` is the open workspace, or None."""
        super().__init__(parent)
        self._current = current_workspace
        # One thread: a slow or unreachable server delays the next poll, never the window.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="zsad-watch")
        self._asking = False
        self._seen: tuple[object, int] | None = None  # (workspace, newest id) last seen
        self._answered.connect(self._answer)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(interval_ms)

    def poll(self) -> None:
        workspace = self._current()
        if workspace is None or self._asking:
            return
        self._asking = True
        future = self._pool.submit(newest_prediction, workspace)
        future.add_done_callback(lambda done, w=workspace: self._answered.emit(w, done))

    def _answer(self, workspace, future: Future) -> None:
        self._asking = False
        if future.cancelled() or future.exception() is not None or workspace is not self._current():
            return  # stopped, the server unreachable for a moment, or another folder opened meanwhile
        newest = future.result()
        seen, self._seen = self._seen, (workspace, newest)
        # The first answer for a workspace refreshes too: what landed between its gallery's first read
        # and this answer would otherwise wait for the next prediction.
        if seen is None or seen[0] is not workspace or newest > seen[1]:
            self.landed.emit()

    def stop(self) -> None:
        self.timer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
