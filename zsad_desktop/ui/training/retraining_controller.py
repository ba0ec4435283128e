"""The window's retraining loop: start, follow, compare, promote, restore."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from zsad_desktop.app.training import model_versions
from zsad_desktop.app.training.retraining import TrainingCancelled, proposal_agreement, readiness
from zsad_desktop.app.training.version_quality import version_quality
from zsad_desktop.app.user_errors import USER_ERRORS, user_message
from zsad_desktop.ui.training.comparison_dialog import ComparisonDialog
from zsad_desktop.ui.training.models_dialog import ModelsDialog
from zsad_desktop.ui.training.retrain_panel import RetrainPanel


class RetrainingController(QObject):
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panel = RetrainPanel(window)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.panel)
        self.panel.hide()
        self.panel.cancelRequested.connect(self.cancel)
        self.progress.connect(self.panel.update_progress)
        self.done.connect(self._finished)
        self.failed.connect(self._failed)
        self.job = None

    def start(self) -> None:
        session = self.window.session
        if session is None:
            return
        ready, message = readiness(session.workspace)
        if not ready:
            QMessageBox.information(self.window, "Retrain", message)
            return
        if self.job is not None:
            self.panel.show()
            return
        self.panel.show()
        self.panel.started(message + " Training…")
        self.job = session.retrain(self.progress.emit, self.done.emit, self.failed.emit)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    def _failed(self, error: BaseException) -> None:
        self.job = None
        if isinstance(error, TrainingCancelled):
            self.panel.finished("Cancelled: the active model is unchanged.")
        elif user_message(error) is not None:  # a full disk included: the active model is unchanged
            self.panel.finished(f"{user_message(error)}. The active model is unchanged.")
        else:
            self.panel.finished(f"Training failed: {type(error).__name__}: {error}")

    def _finished(self, outcome) -> None:
        self.job = None
        session = self.window.session
        self.panel.finished(f"Finished: {outcome.version.name} is ready to compare.")
        active = model_versions.active_version(session.workspace)
        dialog = ComparisonDialog(outcome, active.name if active else "none", self.window)
        if dialog.exec():
            self.restore(outcome.version.name)

    def restore(self, name: str) -> None:
        session = self.window.session
        try:
            session.use_version(name)
        except USER_ERRORS as error:
            self.window.show_error(str(error))
            return
        self.window.statusBar().showMessage(
            f"{name} is active: new predictions use it, earlier ones stay cached", 8000
        )
        self.window.reload_gallery()
        self.window.predict_all()
        self.window.informative.refresh()  # the new version's order; queued after its predictions, again when they settle

    def show_versions(self) -> None:
        session = self.window.session
        if session is None:
            return
        dialog = ModelsDialog(
            model_versions.list_versions(session.workspace),
            proposal_agreement(session.workspace),
            self.window,
            measure_quality=partial(version_quality, session.workspace),
        )
        dialog.restoreRequested.connect(self.restore)
        dialog.exec()
