"""File > Score on a Ray cluster: the open workspace scored on Ray with the window's detector, its
progress (done, failed, images/s, ETA) in a job bar of its own. Its results appear as they land through
the window's `PredictionWatcher`."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog

from zsad_desktop.app.cluster.ray_engine import AUTO
from zsad_desktop.app.cluster.workspace_job import cluster_work
from zsad_desktop.app.prediction.jobs import JobQueue
from zsad_desktop.app.user_errors import USER_ERRORS
from zsad_desktop.ui.prediction import JobProgress, describe_error


class ClusterController(QObject):
    progressed = Signal(object)  # ClusterProgress, from the job's thread
    finished = Signal(object)  # ClusterResult
    failed = Signal(object)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.job = None
        self._queue: JobQueue | None = None
        self.bar = JobProgress()
        self.bar.cancel.setToolTip("Stop handing out images to the cluster (those scored are kept)")
        self.bar.cancelRequested.connect(self.cancel)
        window.statusBar().addPermanentWidget(self.bar)
        self.action = window.menus["File"].addAction("Score on a Ray &cluster…", self.start)
        self.progressed.connect(self._progressed)
        self.finished.connect(self._finished)
        self.failed.connect(self._failed)

    def start(self, address: str | None = None) -> None:
        session = self.window.session
        if session is None:
            self.window.show_error("Open a folder first: the cluster scores its workspace.")
            return
        if self.job is not None and not self.job.done.is_set():
            self.window.show_error("The cluster is still scoring this workspace.")
            return
        if address is None:
            address, chosen = QInputDialog.getText(
                self.window,
                "Score on a Ray cluster",
                "Cluster: 'auto' (a local Ray on this machine) or ray://HOST:PORT",
                text=AUTO,
            )
            if not chosen or not address.strip():
                return
        try:
            work = cluster_work(session.workspace, session.settings, address.strip(), self.progressed.emit)
        except USER_ERRORS as error:
            self.window.show_error(str(error))
            return
        self._queue = self._queue or JobQueue("cluster")  # its own thread: the device queue stays free
        self.job = self._queue.submit(
            "cluster", work, on_result=self.finished.emit, on_error=self.failed.emit
        )
        session.queue.cancel_keyed(
            "folder:"
        )  # the cluster scores the folder; the image on screen still comes first
        self.window.statusBar().showMessage("Starting the cluster's workers…", 6000)

    def cancel(self) -> None:
        if self.job is not None and not self.job.done.is_set():
            self.job.cancel.set()
            self.bar.hide()
            self.window.statusBar().showMessage(
                "Cluster: no more images handed out; those scored are kept", 6000
            )

    def _progressed(self, progress) -> None:
        if self.job is not None and self.job.cancel.is_set():  # the chunks in flight still report: no bar
            return
        self.bar.show_progress(f"Cluster: {progress.text()}", progress.done, progress.total)

    def _finished(self, result) -> None:
        self.bar.hide()
        self.window.statusBar().showMessage(f"Cluster: {result.summary()}", 10000)
        self.window.predictions_landed()

    def _failed(self, error: BaseException) -> None:
        self.bar.hide()
        self.window.show_error(describe_error(error))

    def close(self) -> None:
        self.cancel()
        if self._queue is not None:
            self._queue.shutdown()
