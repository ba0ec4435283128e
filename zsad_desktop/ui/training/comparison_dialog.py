"""After retraining: the new version against the active one, on held-out reviews."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from zsad_desktop.app.training.retraining import RetrainOutcome
from zsad_desktop.imaging.overlay import blend, colourise
from zsad_desktop.ui.viewer import rgb_to_qimage

ROWS = [
    ("Image AUROC", "image_auroc"),
    ("Pixel AUROC", "pixel_auroc"),
    ("AUPRO", "pixel_aupro"),
    ("Pixel F1-max", "pixel_f1_max"),
    ("Dice of proposals vs final masks", "proposal_dice"),
]
THUMB = 180


def _overlay(rgb: np.ndarray, heat01: np.ndarray) -> QPixmap:
    import cv2

    scale = THUMB / max(rgb.shape[:2])
    size = (int(rgb.shape[1] * scale), int(rgb.shape[0] * scale))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    heat = cv2.resize(heat01.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return QPixmap.fromImage(rgb_to_qimage(blend(small, colourise(heat), 0.45)))


class ComparisonDialog(QDialog):
    """`exec()` returns Accepted when the reviewer promotes the new version."""

    def __init__(
        self,
        outcome: RetrainOutcome,
        active_name: str,
        parent=None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"New model version {outcome.version.name}")
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                f"Measured on {len(outcome.held_out)} held-out reviewed images "
                f"(kept aside for every training run of this workspace)."
            )
        )
        table = QTableWidget(len(ROWS), 2)
        table.setHorizontalHeaderLabels([f"new ({outcome.version.name})", f"active ({active_name})"])
        table.setVerticalHeaderLabels([label for label, _ in ROWS])
        for row, (_, key) in enumerate(ROWS):
            for column, metrics in enumerate((outcome.new_metrics, outcome.active_metrics)):
                value = metrics.get(key, math.nan)
                item = QTableWidgetItem("–" if math.isnan(value) else f"{value * 100:.1f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        layout.addWidget(table)
        grid = QGridLayout()
        for column, title in enumerate(("image", f"active ({active_name})", f"new ({outcome.version.name})")):
            grid.addWidget(QLabel(title), 0, column)
        for row, (rgb, active_map, new_map) in enumerate(outcome.examples, start=1):
            for column, pixmap in enumerate(
                (_overlay(rgb, np.zeros(rgb.shape[:2])), _overlay(rgb, active_map), _overlay(rgb, new_map))
            ):
                label = QLabel()
                label.setPixmap(pixmap)
                grid.addWidget(label, row, column)
        layout.addLayout(grid)
        buttons = QHBoxLayout()
        promote = QPushButton(f"Promote {outcome.version.name}")
        keep = QPushButton(f"Keep {active_name}")
        promote.clicked.connect(self.accept)
        keep.clicked.connect(self.reject)
        buttons.addStretch(1)
        buttons.addWidget(keep)
        buttons.addWidget(promote)
        layout.addLayout(buttons)
