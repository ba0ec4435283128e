"""The main window: gallery on the left, viewer in the middle, review and mask tools on the right.

It lays the widgets out, wires them and opens folders; the review loop lives
in `ReviewController`, background predictions in `PredictionController`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.review.settings import AppSettings
from zsad_desktop.app.user_errors import USER_ERRORS
from zsad_desktop.app.viewer.viewer_model import ViewerModel
from zsad_desktop.ui.cluster import ClusterController
from zsad_desktop.ui.error_banner import ErrorBanner
from zsad_desktop.ui.exports import ExportDialog
from zsad_desktop.ui.gallery import GalleryPanel
from zsad_desktop.ui.menus import apply_shortcuts, build_menus
from zsad_desktop.ui.prediction import (
    JobBridge,
    JobProgress,
    PredictionController,
    PredictionWatcher,
    describe_error,
)
from zsad_desktop.ui.review import InformativeController, ReviewController
from zsad_desktop.ui.settings import SettingsDialog, save_settings
from zsad_desktop.ui.side_panel import SidePanel
from zsad_desktop.ui.training import RetrainingController
from zsad_desktop.ui.viewer import ImageViewer, Tool


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, persist: bool = True):
        super().__init__()
        self.settings, self.persist = settings, persist
        self.session: ReviewSession | None = None
        self.model = ViewerModel(settings.display)
        self.setWindowTitle("zsad-desktop")
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self._build()
        self.predictions = PredictionController(self)
        self.predictions.scored.connect(self._scored)
        self.predictions.progress.connect(
            lambda done, total: self.progress.show_progress("Predicting", done, total)
        )
        self.predictions.failed.connect(self.show_error)
        self.predictions.finished.connect(self._all_predicted)
        self.review = ReviewController(self.model, self.viewer, self.review_panel, self.step, self)
        self.review.rowChanged.connect(self.gallery_model.update_row)
        self.review.rowChanged.connect(lambda _row: self._show_counts())
        self.review.imageShown.connect(self.predictions.focus)
        self.predictions.scaleMayHaveChanged.connect(self.review.refresh_scale)
        self.predictions.firstLook.connect(self._first_look)
        self.review.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.model.events.connect("message", lambda text: self.statusBar().showMessage(text, 6000))
        self._use_click_model()
        self.review.detectorInputChanged.connect(self._window_fed_to_detector)
        self.review.unwritten.connect(
            lambda text: self.banner.show_message(text, ("Retry", self.review.retry_unwritten))
        )
        self.review.allWritten.connect(self._decisions_written)
        self.scanning = JobBridge(self)
        self.scanning.scanned.connect(self._scanned)
        self.scanning.error.connect(lambda error: self.show_error(describe_error(error)))
        self.scanning.progress.connect(
            lambda done, total: self.progress.show_progress("Scanning", done, total)
        )
        self.mutual = JobBridge(self)  # musc comparing the whole folder in the background
        self.mutual.progress.connect(
            lambda done, total: self.progress.show_progress("Comparing the folder (musc)", done, total)
        )
        self.retraining = RetrainingController(self)
        self.actions, self.menus = build_menus(self, self._handlers(), settings.shortcuts)
        self.export_action = self.actions["export"]
        self.informative = InformativeController(
            self
        )  # most informative first: the order's scores, the next key's mode
        self.cluster = ClusterController(self)  # File > Score on a Ray cluster
        # Predictions stored by anyone (a cluster run, another window, the normal memory's refresh) as they land.
        self.watcher = PredictionWatcher(lambda: self.session.workspace if self.session else None, self)
        self.watcher.landed.connect(self.predictions_landed)
        self._fill_recent()

    # layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = ErrorBanner()
        self.left = GalleryPanel()
        self.left.filter_bar.changed.connect(self.reload_gallery)
        self.left.imageChosen.connect(lambda image_id: self.review.show_image(image_id))
        self.filter_bar, self.gallery, self.gallery_model = (
            self.left.filter_bar,
            self.left.view,
            self.left.model,
        )
        self.viewer = ImageViewer(self.model)
        self.right = SidePanel(self.model)
        self.review_panel, self.mask_panel, self.display_panel = (
            self.right.review,
            self.right.masks,
            self.right.display,
        )
        self.review_panel.decision.connect(lambda name: self.review.decide(name))
        self.mask_panel.toolChosen.connect(lambda name: self.set_tool(Tool(name)))
        self.mask_panel.editRequested.connect(self.edit)
        splitter = QSplitter()
        for widget in (self.left, self.viewer, self.right):
            splitter.addWidget(widget)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 760, 340])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.progress = JobProgress()
        self.progress.cancelRequested.connect(self.cancel_predictions)
        self.statusBar().addPermanentWidget(self.progress)
        self.viewer.setFocus()

    def _handlers(self) -> dict:
        def decide(name):
            return lambda: self.review.decide(name)

        return {
            "open": self.choose_folder,
            "export": self.open_export,
            "settings": self.open_settings,
            "quit": self.close,
            **{name: decide(name) for name in ("accept", "correct", "normal", "reject", "skip")},
            "next": lambda: self.step(1),
            "previous": lambda: self.step(-1),
            **{
                name: (lambda n=name: self.edit(n))
                for name in ("undo", "redo", "use_proposal", "fill", "clear", "snap", "clear_clicks")
            },
            **{tool.value: (lambda t=tool: self.set_tool(t)) for tool in Tool},
            "smaller": lambda: self.resize_brush(1 / 1.25),
            "larger": lambda: self.resize_brush(1.25),
            "fit": self.viewer.fit,
            "actual": self.viewer.actual_size,
            "zoom_in": lambda: self.viewer.zoom(1.25),
            "zoom_out": lambda: self.viewer.zoom(0.8),
            "heatmap": lambda: self.model.set_display(show_heatmap=not self.model.display.show_heatmap),
            "proposal": lambda: self.model.set_display(show_proposal=not self.model.display.show_proposal),
            "navigator": self.viewer.toggle_navigator,
            "window_auto": self.model.window.auto,
            "window_reset": self.model.window.reset,
            "window_next": self.model.window.next_preset,
            "retrain": self.retraining.start,
            "retrain_progress": self.retraining.panel.show,
            "versions": self.retraining.show_versions,
        }

    # folders ------------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder")
        if folder:
            self.open_folder(folder)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if any(Path(url.toLocalFile()).is_dir() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        folders = [url.toLocalFile() for url in event.mimeData().urls() if Path(url.toLocalFile()).is_dir()]
        if folders:
            event.acceptProposedAction()
            self.open_folder(folders[0])

    def _fill_recent(self) -> None:
        menu = self.menus["recent"]
        menu.clear()
        for folder in self.settings.recent:
            menu.addAction(folder, lambda f=folder: self.open_folder(f))
        menu.setEnabled(bool(self.settings.recent))

    def open_folder(self, folder: str, db_url: str | None = None) -> None:
        """Open (or create) the workspace of `folder` (in the database at `db_url`, else its own), scan it,
        then predict what is not cached."""
        self.close_folder()
        try:
            self.session = ReviewSession.open(
                folder,
                self.settings.detector_settings(),
                reviewer=self.settings.reviewer,
                db_url=db_url,
                keep_on_share=self.settings.keep_on_share,
            )
        except USER_ERRORS as error:
            self.show_error(str(error))
            return
        self.banner.dismiss()
        self.session.musc.progress = self.mutual.on_progress
        notice = (
            self.session.workspace.location.notice()
        )  # a folder on a network share: where its reviews are
        if notice:
            self.banner.show_message(notice)
        self.predictions.attach(self.session)
        self.review.attach(self.session)
        self.settings.add_recent(str(Path(folder).resolve()))
        self._save_settings()
        self._fill_recent()
        self.setWindowTitle(f"zsad-desktop — {Path(folder).name}")
        self.statusBar().showMessage("Scanning the folder…")
        self.session.scan(self.scanning.on_scanned, self.scanning.on_error, self.scanning.on_progress)

    def close_folder(self) -> None:
        if self.session is None:
            return
        self.review.save_current()
        self.predictions.attach(None)
        self.review.attach(None)
        self.session.close()
        self.session = None
        self.left.set_listing(None, None)

    def _scanned(self, report) -> None:
        if self.session is None:
            return
        unreadable = f", {len(report.unreadable)} unreadable" if report.unreadable else ""
        self.statusBar().showMessage(
            f"{report.total} images ({report.added} new, {report.changed} changed{unreadable})", 8000
        )
        self.progress.show_progress("", 0, 0)
        self.reload_gallery()
        if self.gallery_model.rowCount() and self.review.image_id is None:
            self.select_row(0)
        self.predict_all()

    # gallery ------------------------------------------------------------------------------------
    def reload_gallery(self) -> None:
        """Rows again from the workspace, in the chosen order and filter; the image on screen stays selected."""
        if self.session is None:
            return
        query = self.filter_bar.query(self.settings.flag_score)
        listing = self.session.workspace.listing(**query.as_arguments())
        self.left.set_listing(listing, self.session.workspace.folder, keep=self.review.image_id)
        self._show_counts()

    def _show_counts(self) -> None:
        if self.session is not None:
            self.left.show_counts(self.session.workspace.counts())

    def predict_all(self, new_detector: bool = False) -> None:
        """Predict every image of the folder without a prediction of the active model (the retraining
        controller calls this too). After a detector change every readable image is asked for, and the
        session skips those the new model has already scored."""
        if self.session is not None:
            workspace = self.session.workspace
            needed = workspace.ids_to_predict(None if new_detector else workspace.active_model_id() or None)
            self.predictions.predict(self.gallery_model.ids(), needed, self.review.image_id)

    def _window_fed_to_detector(self) -> None:
        """The detector sees the reviewer's window (Settings, Detector input) and it changed: predict again."""
        if self.session is not None:
            self.session.queue.cancel_all(keep=("retrain", "scan"))
            self.reload_gallery()
            self.predict_all(new_detector=True)
            self.statusBar().showMessage(
                "The detector sees the new window: predicting the folder through it", 6000
            )

    def cancel_predictions(self) -> None:
        self.predictions.cancel()
        if self.session is not None:
            self.session.musc.cancel()
        self.statusBar().showMessage("Cancelled: the predictions made so far are kept", 6000)

    def _scored(self, image_id: int, score: float | None, failure: str | None) -> None:
        """A prediction arrived: its score (or why the image could not be read) goes into the gallery row."""
        row = self.gallery_model.row(image_id)
        if row is not None:
            self.gallery_model.update_row(
                row._replace(score=score) if failure is None else row._replace(load_error=failure)
            )
        self.review.prediction_arrived(image_id)

    def _first_look(self, image_id: int) -> None:
        """A quick low-resolution heatmap arrived: the gallery says so, the viewer shows it if on screen."""
        self.gallery_model.mark_first_look(image_id)
        self.review.prediction_arrived(image_id)

    def predictions_landed(self) -> None:
        """New predictions in the store: rows and order again (the image on screen stays), its heatmap too."""
        if self.session is None:
            return
        if not self.predictions.busy:  # the window's own predictions refresh it when they finish
            self.reload_gallery()
        if self.review.image_id is not None:
            self.review.prediction_arrived(self.review.image_id)

    def _all_predicted(self) -> None:
        """Scores settle the order: sort again once, keeping the image on screen."""
        self.reload_gallery()
        self.informative.refresh()
        self.statusBar().showMessage("Every image has a prediction", 5000)

    def select_row(self, position: int, show: bool = True) -> None:
        self.left.select(position, show)

    def step(self, delta: int) -> None:
        """The next (1) or previous (-1) image of the gallery (next: the most informative, in that mode)."""
        if delta == 1 and self.informative.step_next():
            return
        self.left.step(self.review.image_id, delta)

    # editing --------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.viewer.tools.set_tool(tool)
        self.mask_panel.set_tool(tool)

    def resize_brush(self, factor: float) -> None:
        self.set_brush_radius(self.viewer.tools.radius * factor)

    def set_brush_radius(self, radius: float) -> None:
        self.viewer.tools.set_radius(radius)
        self.mask_panel.set_brush_radius(self.viewer.tools.radius)

    def edit(self, what: str) -> None:
        self.review.settle()
        {
            "undo": self.model.undo,
            "redo": self.model.redo,
            "use_proposal": self.model.use_proposal,
            "fill": self.model.fill_holes,
            "clear": self.model.clear,
            "snap": self.model.clicks.snap,
            "clear_clicks": self.model.clicks.clear,
        }[what]()

    def open_export(self) -> None:
        if self.session is None:
            self.show_error("Open a folder first: an export writes its reviews.")
            return
        self.review.settle()  # the edit on screen is saved, so it is exported too
        self.export_dialog = ExportDialog(self.session.workspace, self)
        self.export_dialog.open()

    # errors, settings, closing -----------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.banner.show_message(message)

    def open_settings(self) -> None:
        self.settings.display = self.model.display
        dialog = SettingsDialog(self.settings, self.session, self)
        if not dialog.exec():
            return
        before = self.settings.detector_settings()
        self.settings = dialog.result_settings()
        self.model.set_display(**asdict(self.settings.display))
        apply_shortcuts(self.actions, self.settings.shortcuts)
        self._use_click_model()
        self._save_settings()
        if self.session is None:
            return
        self.session.reviewer = self.settings.reviewer
        if dialog.chosen_version:
            self.retraining.restore(dialog.chosen_version)
        elif (
            self.settings.detector_settings() != before or dialog.input_changed
        ):  # new predictions either way
            self.banner.dismiss()
            self.session.change_settings(self.settings.detector_settings())
            self.reload_gallery()
            self.predict_all(new_detector=True)
        else:
            self.reload_gallery()  # the flag score may have changed

    def _use_click_model(self) -> None:
        """The click model chosen in the settings; one that cannot be used says why in the status bar."""
        s = self.settings
        self.model.clicks.use_click_model(s.click_model, s.sam_checkpoint, s.detector.device)

    def _save_settings(self) -> None:
        if self.persist:
            self.settings.display = self.model.display
            save_settings(self.settings)

    def _decisions_written(self) -> None:
        self.banner.dismiss()
        self.statusBar().showMessage("The decisions kept in memory are written now", 6000)

    def unwritten_may_be_lost(self) -> bool:
        """Before closing: True when no decision waits to be written, or the reviewer accepts losing them."""
        if self.session is None:
            return True
        self.review.save_current()
        self.review.retry_unwritten()
        count = len(self.session.pending)
        if not count:
            return True
        answer = QMessageBox.question(
            self,
            "Decisions not written",
            f"{count} decision(s) could not be written: {self.banner.text()}\n\n"
            "Free some space or reconnect the share, then close again. Close anyway and lose them?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.unwritten_may_be_lost():
            event.ignore()
            return
        self.retraining.cancel()
        self.cluster.close()
        self.watcher.stop()
        self.close_folder()
        self._save_settings()
        super().closeEvent(event)
