"""Training progress in a dock that can be closed and reopened while it trains."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from zsad_desktop.app.training.retraining import TrainingProgress

EPOCH_LINES = 6
METRIC_NAMES = {
    "loss": "loss",
    "val_loss": "held-out loss",
    "val_image_auroc": "held-out image AUROC",
    "val_pixel_auroc": "held-out pixel AUROC",
}


def epoch_line(p: TrainingProgress) -> str:
    shown = [f"{METRIC_NAMES[k]} {v:.3f}" for k, v in (p.metrics or {}).items() if k in METRIC_NAMES]
    return f"{p.stage} epoch {p.epoch}: " + ", ".join(shown)


class RetrainPanel(QDockWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__("Retraining", parent)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.stage = QLabel("Not training")
        self.detail = QLabel("")
        self.epochs = QLabel("")  # one line per finished epoch: is training helping on the held-out reviews?
        self._epoch_lines: list[str] = []
        self.bar = QProgressBar()
        self.cancel = QPushButton("Cancel training (keeps the active model)")
        self.cancel.clicked.connect(self.cancelRequested)
        self.cancel.setEnabled(False)
        for widget in (self.stage, self.bar, self.detail, self.epochs, self.cancel):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)

    def started(self, message: str) -> None:
        self.stage.setText(message)
        self.detail.setText("")
        self.epochs.setText("")
        self._epoch_lines = []
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)

    def update_progress(self, p: TrainingProgress) -> None:
        self.stage.setText(f"{p.stage}: epoch {p.epoch} of {p.epochs}")
        self.bar.setRange(0, p.steps)
        self.bar.setValue(p.step)
        minutes, seconds = divmod(int(p.eta_s), 60)
        self.detail.setText(
            f"step {p.step}/{p.steps}, loss {p.loss:.4f}, about {minutes} min {seconds:02d} s left"
        )
        if p.metrics:
            self._epoch_lines = [*self._epoch_lines, epoch_line(p)][-EPOCH_LINES:]
            self.epochs.setText("\n".join(self._epoch_lines))

    def finished(self, message: str) -> None:
        self.stage.setText(message)
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel.setEnabled(False)
