"""The main window: gallery, viewer, review panel and the keyboard review loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton,
    QSplitter, QVBoxLayout, QWidget,
)

from zsad_desktop.app.jobs import Priority
from zsad_desktop.app.mask_editing import MaskEditor, threshold_mask
from zsad_desktop.app.predictions import PredictionFailure
from zsad_desktop.app.review_session import ImageView, ReviewSession
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.canvas import MaskCanvas, Tool
from zsad_desktop.ui.gallery import GalleryModel, GalleryView, RowRole
from zsad_desktop.ui.job_bridge import JobBridge
from zsad_desktop.ui.preferences import Preferences, save_preferences
from zsad_desktop.ui.retraining_controller import RetrainingController
from zsad_desktop.ui.review_panel import ReviewPanel
from zsad_desktop.ui.settings_dialog import SettingsDialog
from zsad_desktop.user_errors import USER_ERRORS

FILTERS = {
    "All images": None,
    "Unreviewed": [ReviewStatus.UNREVIEWED],
    "Reviewed": [s for s in ReviewStatus if s is not ReviewStatus.UNREVIEWED],
    "Anomalous (accepted, corrected)": [ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED],
    "Normal": [ReviewStatus.NORMAL],
    "Skipped": [ReviewStatus.SKIPPED],
}
SORTS = {"Score": "score", "Name": "name", "Status": "status"}


class MainWindow(QMainWindow):
    def __init__(self, prefs: Preferences, persist: bool = True):
        super().__init__()
        self.prefs, self.persist = prefs, persist
        self.session: ReviewSession | None = None
        self.view: ImageView | None = None
        self.editor: MaskEditor | None = None
        self.proposal: np.ndarray | None = None
        self.bridge = JobBridge(self)
        self.bridge.prediction.connect(self._prediction_arrived)
        self.bridge.error.connect(self._job_failed)
        self.bridge.progress.connect(self._progress)
        self.bridge.scanned.connect(self._scanned)
        self.setWindowTitle("zsad-desktop")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self._build()
        self.retraining = RetrainingController(self)
        self._actions()

    # layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;")
        self.banner.hide()
        self.gallery_model = GalleryModel()
        self.gallery = GalleryView()
        self.gallery.setModel(self.gallery_model)
        self.gallery.selectionModel().currentChanged.connect(lambda current, _: self._show_index(current))
        self.sort = QComboBox()
        self.sort.addItems(list(SORTS))
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.min_score = QDoubleSpinBox()
        self.max_score = QDoubleSpinBox()
        for box, value in ((self.min_score, 0.0), (self.max_score, 1.0)):
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setValue(value)
            box.valueChanged.connect(self.reload_gallery)
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for combo in (self.sort, self.filter):
            combo.currentTextChanged.connect(self.reload_gallery)
            combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        controls = QHBoxLayout()
        controls.addWidget(self.sort)
        controls.addWidget(self.filter)
        left_layout.addLayout(controls)
        scores = QHBoxLayout()
        scores.addWidget(QLabel("Score"))
        scores.addWidget(self.min_score)
        scores.addWidget(QLabel("to"))
        scores.addWidget(self.max_score)
        left_layout.addLayout(scores)
        left_layout.addWidget(self.gallery)
        self.counts_label = QLabel()
        left_layout.addWidget(self.counts_label)
        self.canvas = MaskCanvas()
        self.canvas.edited.connect(self._mask_edited)
        self.panel = ReviewPanel()
        self.panel.decision.connect(self.decide)
        self.panel.toolChanged.connect(lambda name: self.set_tool(Tool(name)))
        self.panel.thresholdChanged.connect(self._threshold_changed)
        self.panel.displayChanged.connect(self._redraw_layers)
        self.panel.editRequested.connect(self.edit)
        self.panel.colour_map.setCurrentText(self.prefs.colour_map)
        self.panel.opacity.setValue(int(self.prefs.opacity * 100))
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.panel)
        splitter.setSizes([330, 780, 290])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.canvas.setFocus()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_jobs)
        self.cancel_button.hide()
        self.statusBar().addPermanentWidget(self.progress_bar)
        self.statusBar().addPermanentWidget(self.cancel_button)

    def _actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open folder…", QKeySequence.StandardKey.Open, self.choose_folder)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._fill_recent()
        self._action(file_menu, "&Settings…", "Ctrl+,", self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        review = self.menuBar().addMenu("&Review")
        for text, key, name in [("Accept", "A", "accept"), ("Correct", "Return", "correct"), ("Normal", "N", "normal"),
                                ("Reject", "R", "reject"), ("Skip", "S", "skip")]:
            self._action(review, text, key, lambda n=name: self.decide(n))
        self._action(review, "Next", ["Right", "J"], lambda: self.step(1))
        self._action(review, "Previous", ["Left", "K"], lambda: self.step(-1))
        edit = self.menuBar().addMenu("&Edit")
        self._action(edit, "Undo", "Ctrl+Z", lambda: self.edit("undo"))
        self._action(edit, "Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], lambda: self.edit("redo"))
        self._action(edit, "Fill holes", "Ctrl+F", lambda: self.edit("fill"))
        self._action(edit, "Clear mask", "Ctrl+Backspace", lambda: self.edit("clear"))
        self._action(edit, "Brush", "B", lambda: self.set_tool(Tool.BRUSH))
        self._action(edit, "Eraser", "E", lambda: self.set_tool(Tool.ERASER))
        self._action(edit, "Polygon", "P", lambda: self.set_tool(Tool.POLYGON))
        self._action(edit, "Pan", "Space", lambda: self.set_tool(Tool.PAN))
        self._action(edit, "Smaller brush", "[", lambda: self.resize_brush(1 / 1.25))
        self._action(edit, "Larger brush", "]", lambda: self.resize_brush(1.25))
        model = self.menuBar().addMenu("&Model")
        self._action(model, "&Retrain on reviews…", "Ctrl+T", self.retraining.start)
        self._action(model, "Retraining &progress", "Ctrl+Shift+T", self.retraining.panel.show)
        self._action(model, "Model &versions…", "Ctrl+M", self.retraining.show_versions)
        view = self.menuBar().addMenu("&View")
        self._action(view, "Fit", "F", self.canvas.fit)
        self._action(view, "Actual size", "1", self.canvas.actual_size)
        self._action(view, "Zoom in", QKeySequence.StandardKey.ZoomIn, lambda: self.canvas.zoom(1.25))
        self._action(view, "Zoom out", QKeySequence.StandardKey.ZoomOut, lambda: self.canvas.zoom(0.8))
        self._action(view, "Heatmap on/off", "H", self.panel.show_heatmap.toggle)

    def _action(self, menu, text, keys, slot) -> QAction:
        action = QAction(text, self)
        keys = keys if isinstance(keys, list) else [keys]
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(lambda _checked=False: slot())  # triggered passes `checked`
        menu.addAction(action)
        return action

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.prefs.recent:
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(f))

    # folder ---------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder")
        if folder:
            self.open_folder(folder)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if Path(url.toLocalFile()).is_dir():
                self.open_folder(url.toLocalFile())
                return

    def open_folder(self, folder: str) -> None:
        self.save_current()
        if self.session is not None:
            self.session.close()
            self.session = None
        try:
            self.session = ReviewSession.open(folder, self.prefs.detector, reviewer=self.prefs.reviewer)
        except USER_ERRORS as error:
            self.show_error(str(error))
            return
        self.prefs.add_recent(str(Path(folder).resolve()))
        self._fill_recent()
        self.setWindowTitle(f"zsad-desktop — {Path(folder).name}")
        self.statusBar().showMessage("Scanning folder…")
        self.session.scan(self.bridge.on_scanned, self.bridge.on_error, self.bridge.on_progress)

    def _scanned(self, report) -> None:
        skipped = f", {len(report.unreadable)} unreadable" if report.unreadable else ""
        self.statusBar().showMessage(f"{report.total} images ({report.added} new, {report.changed} changed{skipped})", 8000)
        self.reload_gallery()
        if self.gallery_model.rowCount():
            self.select_row(0)
        self.predict_all()

    def predict_all(self) -> None:
        if self.session is None:
            return
        ids = [row.id for row in self.gallery_model.rows if row.score is None and not row.load_error]
        current = self.view.row.id if self.view else None
        if current in ids:
            ids.remove(current)
            self.session.predict([current], Priority.ON_SCREEN, self.bridge.on_prediction, self.bridge.on_error, key=f"image:{current}")
        self._progress(0, len(ids))
        self.session.predict_folder(ids, self.bridge.on_prediction, self.bridge.on_error)

    def reload_gallery(self) -> None:
        if self.session is None:
            return
        current = self.view.row.id if self.view else None
        rows = self.session.workspace.images(
            statuses=FILTERS[self.filter.currentText()], order=SORTS[self.sort.currentText()],
            min_score=self.min_score.value() if self.min_score.value() > 0 else None,
            max_score=self.max_score.value() if self.max_score.value() < 1 else None,
        )
        self.gallery_model.set_rows(rows, self.session.workspace.folder)
        counts = self.session.workspace.counts()
        self.counts_label.setText(" · ".join(f"{s.value} {n}" for s, n in counts.items() if n))
        if current is not None and self.gallery_model.position(current) is not None:
            self.select_row(self.gallery_model.position(current), show=False)

    # predictions -----------------------------------------------------------------------
    def _prediction_arrived(self, outcome) -> None:
        if self.session is None:
            return
        if isinstance(outcome, PredictionFailure):
            self.statusBar().showMessage(f"image {outcome.image_id} skipped: {outcome.reason}", 8000)
        self.gallery_model.update_row(self.session.workspace.image(outcome.image_id))
        if self.view is not None and self.view.row.id == outcome.image_id and self.view.heatmap is None:
            self.show_image(outcome.image_id, keep_view=True)
        self._progress(self.progress_bar.value() + 1, self.progress_bar.maximum())

    def _progress(self, done: int, total: int) -> None:
        busy = total > 0 and done < total
        self.progress_bar.setMaximum(max(total, 1))
        self.progress_bar.setValue(min(done, total))
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)

    def cancel_jobs(self) -> None:
        if self.session is not None:
            self.session.queue.cancel_all()
        self._progress(0, 0)
        self.statusBar().showMessage("Cancelled: finished predictions are kept", 5000)

    def _job_failed(self, error: BaseException) -> None:
        if isinstance(error, InterruptedError):
            return
        if isinstance(error, USER_ERRORS):
            self.show_error(str(error))
            if self.session is not None:
                self.session.queue.cancel_all()  # the same error would repeat for every image
            self._progress(0, 0)
        elif isinstance(error, MemoryError):
            self.show_error("Out of memory: try a smaller input size or the CPU device in Settings.")
        else:
            self.show_error(f"Unexpected error: {type(error).__name__}: {error}")

    def show_error(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()

    # viewing ------------------------------------------------------------------------------
    def select_row(self, position: int, show: bool = True) -> None:
        index = self.gallery_model.index(position)
        selection = self.gallery.selectionModel()
        if not show:
            selection.blockSignals(True)
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        selection.blockSignals(False)
        self.gallery.scrollTo(index)

    def _show_index(self, index) -> None:
        if index.isValid():
            self.show_image(index.data(RowRole).id)

    def show_image(self, image_id: int, keep_view: bool = False) -> None:
        if self.session is None:
            return
        if self.view is not None and self.view.row.id != image_id:
            self.save_current()
        try:
            view = self.session.view(image_id)
        except USER_ERRORS as error:
            self.statusBar().showMessage(str(error), 8000)
            return
        self.view = view
        if view.heatmap is None and not view.row.load_error:
            self.session.queue.reprioritise(f"image:{image_id}", Priority.ON_SCREEN) or self.session.predict(
                [image_id], Priority.ON_SCREEN, self.bridge.on_prediction, self.bridge.on_error, key=f"image:{image_id}")
        self.proposal = threshold_mask(view.heatmap, self.panel.threshold_value) if view.heatmap is not None else None
        start = view.final_mask if view.final_mask is not None else self.proposal
        self.editor = MaskEditor(view.rgb.shape[:2], start)
        self.canvas.set_image(view.rgb, keep_view=keep_view)
        self.canvas.set_editor(self.editor)
        self.panel.show_view(view, self.session.model_id())
        model_id = self.session.model_id()
        if model_id:
            stats = self.session.normalisation(model_id)
            self.panel.set_scale(stats.low, stats.high)
        self._redraw_layers()

    def _redraw_layers(self) -> None:
        if self.view is None:
            return
        opacity = self.panel.opacity.value() / 100
        self.canvas.set_heatmap(self.view.heatmap, self.panel.colour_map.currentText(), opacity, self.panel.show_heatmap.isChecked())
        self.canvas.set_proposal(self.proposal, self.panel.show_proposal.isChecked())

    def _threshold_changed(self, value: float) -> None:
        if self.view is None or self.view.heatmap is None or self.editor is None:
            return
        self.proposal = threshold_mask(self.view.heatmap, value)
        self.editor.replace(self.proposal)
        self.canvas.refresh_mask()
        self._redraw_layers()

    def _mask_edited(self) -> None:
        self.statusBar().showMessage("Mask edited (Enter saves as corrected)", 3000)

    # editing --------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.canvas.tool = tool
        for button in self.panel.tool_group.buttons():
            button.setChecked(button.text().lower() == tool.value)

    def resize_brush(self, factor: float) -> None:
        self.canvas.set_brush_radius(self.canvas.brush_radius * factor)
        self.panel.brush_label.setText(f"Brush {self.canvas.brush_radius:.0f} px ([ and ])")

    def edit(self, what: str) -> None:
        if self.editor is None:
            return
        {"undo": self.editor.undo, "redo": self.editor.redo, "fill": self.editor.fill_holes, "clear": self.editor.clear}[what]()
        self.canvas.refresh_mask()

    # decisions ------------------------------------------------------------------------
    def decide(self, name: str) -> None:
        if name == "correct" and self.canvas.polygon_in_progress:
            self.canvas.finish_polygon()
            return
        if self.session is None or self.view is None or self.editor is None or self.view.row.load_error:
            return
        mask = self.editor.mask.copy()
        if name == "accept":
            unchanged = self.proposal is not None and np.array_equal(mask, self.proposal)
            status = ReviewStatus.ACCEPTED if unchanged else ReviewStatus.CORRECTED
        else:
            status = {"correct": ReviewStatus.CORRECTED, "normal": ReviewStatus.NORMAL,
                      "reject": ReviewStatus.REJECTED, "skip": ReviewStatus.SKIPPED}[name]
        self.session.decide(self.view.row.id, status, mask=mask if status.has_final_mask else None,
                            proposal=self.proposal, note=self.panel.note_text())
        self.editor.edited = False
        self.gallery_model.update_row(self.session.workspace.image(self.view.row.id))
        self.statusBar().showMessage(f"{Path(self.view.row.rel_path).name}: {status.value}", 3000)
        self.step(1)

    def save_current(self) -> None:
        """Autosave: an edited but undecided mask is kept as a correction."""
        if self.session is None or self.view is None or self.editor is None or not self.editor.edited:
            return
        self.session.decide(self.view.row.id, ReviewStatus.CORRECTED, mask=self.editor.mask.copy(),
                            proposal=self.proposal, note=self.panel.note_text() or "autosaved edit")
        self.editor.edited = False
        self.gallery_model.update_row(self.session.workspace.image(self.view.row.id))

    def step(self, delta: int) -> None:
        if self.view is None:
            return
        position = self.gallery_model.position(self.view.row.id)
        if position is None:
            return
        target = min(max(position + delta, 0), self.gallery_model.rowCount() - 1)
        if target != position:
            self.select_row(target)

    # settings and closing --------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.prefs, self)
        if dialog.exec():
            self.prefs = dialog.apply()
            if self.persist:
                save_preferences(self.prefs)
            if self.session is not None:
                self.session.reviewer = self.prefs.reviewer
                self.session.change_settings(self.prefs.detector)
                self.banner.hide()
                self.reload_gallery()
                self.predict_all()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_current()
        self.prefs.colour_map = self.panel.colour_map.currentText()
        self.prefs.opacity = self.panel.opacity.value() / 100
        if self.persist:
            save_preferences(self.prefs)
        if self.session is not None:
            self.session.close()
            self.session = None
        super().closeEvent(event)
