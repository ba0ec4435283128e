"""File > Export reviewed masks…: layout, target, DICOM SEG; runs off the GUI thread with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zsad_desktop.app.exports import LAYOUTS, ExportChoice, run_export
from zsad_desktop.app.prediction.jobs import JobQueue
from zsad_desktop.app.user_errors import user_message

LAYOUT_TEXT = {
    "mvtec": "MVTec AD folders (+ anomalib config)",
    "coco": "COCO instances (.json)",
    "report": "Review report (.csv / .json)",
}
DEFAULT_FILE = {"coco": "reviewed_coco.json", "report": "review_report.csv"}


class _Signals(QObject):
    """Job callbacks from the worker thread, delivered on the GUI thread."""

    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(object)


class ExportDialog(QDialog):
    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export reviewed masks")
        self.workspace = workspace
        self.queue: JobQueue | None = None  # its own worker: an export never waits behind the GPU queue
        self.job = None
        self.signals = _Signals(self)
        self.signals.progress.connect(self._progress)
        self.signals.done.connect(self._done)
        self.signals.failed.connect(self._failed)

        self.layout_box = QComboBox()
        for name in LAYOUTS:
            self.layout_box.addItem(LAYOUT_TEXT.get(name, name), name)
        self.target = QLineEdit(str(workspace.folder.parent / f"{workspace.folder.name}_export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        target_row = QWidget()
        row = QHBoxLayout(target_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.target, 1)
        row.addWidget(browse)
        self.category = QLineEdit("reviewed")
        self.dicom_seg = QCheckBox("Also write a DICOM Segmentation for each DICOM image with a defect")
        form = QFormLayout()
        form.addRow("Layout", self.layout_box)
        form.addRow("Target", target_row)
        form.addRow("Category", self.category)
        form.addRow("", self.dicom_seg)
        self.bar = QProgressBar()
        self.bar.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.bar)
        box.addWidget(self.summary)
        box.addWidget(self.buttons)
        self.layout_box.currentIndexChanged.connect(self._layout_changed)
        self._layout_changed()

    def choice(self) -> ExportChoice:
        layout = self.layout_box.currentData()
        return ExportChoice(
            layout,
            Path(self.target.text().strip()).expanduser(),
            self.category.text().strip() or "reviewed",
            self.dicom_seg.isChecked() and layout == "mvtec",
        )

    def start(self) -> None:
        if self.job is not None:
            return
        choice = self.choice()
        if not str(choice.target) or str(choice.target) == ".":
            self.summary.setText("Choose a target folder or file.")
            return
        self.queue = self.queue or JobQueue("export")
        self.export_button.setEnabled(False)
        self.bar.setRange(0, 0)  # busy until the first image is counted
        self.bar.show()
        self.summary.setText("Exporting…")
        workspace = self.workspace
        self.job = self.queue.submit(
            "export",
            lambda progress, cancel: run_export(workspace, choice, progress, cancel),
            on_result=self.signals.done.emit,
            on_error=self.signals.failed.emit,
            on_progress=self.signals.progress.emit,
        )

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _done(self, summary) -> None:
        self._finish()
        lines = ["Cancelled: nothing was written."] if summary.cancelled else list(summary.lines)
        if summary.problems:
            lines += [f"{len(summary.problems)} problem(s):", *summary.problems[:20]]
        self.summary.setText("\n".join(lines) or "Nothing to export.")

    def _failed(self, error: BaseException) -> None:
        self._finish()
        text = user_message(error) or (
            str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        )
        self.summary.setText(f"Export failed: {text}")

    def _finish(self) -> None:
        self.job = None
        self.bar.hide()
        self.export_button.setEnabled(True)

    def _layout_changed(self) -> None:
        layout = self.layout_box.currentData()
        self.category.setEnabled(layout == "mvtec")
        self.dicom_seg.setEnabled(layout == "mvtec")
        current = Path(self.target.text().strip() or ".")
        if layout == "mvtec" and current.suffix.lower() in (".json", ".csv"):
            self.target.setText(str(current.parent))
        elif layout != "mvtec" and current.suffix.lower() not in (".json", ".csv"):
            self.target.setText(str(current / DEFAULT_FILE[layout]))

    def _browse(self) -> None:
        layout = self.layout_box.currentData()
        if layout == "mvtec":
            chosen = QFileDialog.getExistingDirectory(self, "Export folder", self.target.text())
        else:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export file", self.target.text(), "JSON or CSV (*.json *.csv)"
            )
        if chosen:
            self.target.setText(chosen)

    def done(self, result: int) -> None:  # closing cancels a running export (it leaves nothing half-written)
        if self.job is not None:
            self.job.cancel.set()
        if self.queue is not None:
            self.queue.shutdown()
            self.queue = None
        super().done(result)
