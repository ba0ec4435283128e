"""Model versions of the workspace: metrics, restore any version, how well each version's proposals
agreed with the reviewers' final masks over time, the versions' proposal quality as a chart, and
the median corrective actions per corrected image of each version (did retraining lighten the work?)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from zsad_desktop.app.training.model_versions import VersionInfo
from zsad_desktop.app.training.version_quality import VersionQuality, actions_text
from zsad_desktop.ui.training.version_quality_chart import VersionQualityChart

PALETTE = [
    QColor(31, 119, 180),
    QColor(255, 127, 14),
    QColor(44, 160, 44),
    QColor(214, 39, 40),
    QColor(148, 103, 189),
]


class AgreementChart(QWidget):
    """Dice of proposals against final masks, review after review, one line per version."""

    def __init__(self, series: dict[str, list[tuple[str, float]]], parent=None):
        super().__init__(parent)
        self.series = series
        self.setMinimumSize(420, 180)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(40, 10, -10, -25)
        painter.setPen(QPen(QColor(120, 120, 120)))
        painter.drawRect(rect)
        painter.drawText(4, rect.top() + 10, "1.0")
        painter.drawText(4, rect.bottom(), "0.0")
        painter.drawText(
            rect.left(), self.height() - 6, "reviews in order →   Dice of proposal vs final mask"
        )
        for index, (name, points) in enumerate(self.series.items()):
            if not points:
                continue
            colour = PALETTE[index % len(PALETTE)]
            painter.setPen(QPen(colour, 2))
            # A running mean keeps the trend readable when single reviews vary a lot.
            values, total = [], 0.0
            for i, (_, value) in enumerate(points, start=1):
                total += value
                values.append(total / i)
            n = max(1, len(values) - 1)
            line = [
                QPointF(rect.left() + rect.width() * i / n, rect.bottom() - rect.height() * v)
                for i, v in enumerate(values)
            ]
            for a, b in zip(line, line[1:]):
                painter.drawLine(a, b)
            painter.drawText(rect.right() - 60, rect.top() + 16 * (index + 1), name)
        painter.end()


class ModelsDialog(QDialog):
    restoreRequested = Signal(str)
    qualityMeasured = Signal(object)  # list[VersionQuality], from the measuring thread

    def __init__(
        self,
        versions: list[VersionInfo],
        agreement: dict[str, list[tuple[str, float]]],
        parent=None,
        measure_quality: Callable[[], list[VersionQuality]] | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Model versions")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(len(versions), 6)
        self.table.setHorizontalHeaderLabels(
            ["", "version", "method", "parent", "created", "held-out pixel AUROC"]
        )
        for row, v in enumerate(versions):
            auroc = v.metrics.get("held_out", {}).get("pixel_auroc")
            cells = [
                "●" if v.active else "",
                v.name,
                v.method,
                v.parent or "–",
                f"{v.created_at:%Y-%m-%d %H:%M}",
                "–" if auroc is None else f"{auroc * 100:.1f}",
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        layout.addWidget(self.table)
        layout.addWidget(QLabel("Agreement of each version's proposals with the reviewers' final masks"))
        layout.addWidget(AgreementChart(agreement))
        layout.addWidget(
            QLabel("Proposal quality per version (reviewed proposals) and held-out metrics of retraining")
        )
        self.quality_chart = VersionQualityChart()
        layout.addWidget(self.quality_chart)
        self.effort_label = QLabel("Corrective actions per corrected image: measuring…")
        self.effort_label.setToolTip(
            "Median clicks, brush strokes, polygon vertices, removed regions and snaps per image the "
            "reviewer corrected, for each version's proposals (– none counted yet)"
        )
        layout.addWidget(self.effort_label)
        # one slot for both, so the figures and the chart never show different measurements
        self.qualityMeasured.connect(self._show_quality)
        if measure_quality is not None:
            # reading every reviewed mask takes a while on a large workspace: not on the GUI thread
            threading.Thread(
                target=self._measure, args=(measure_quality,), name="version-quality", daemon=True
            ).start()
        buttons = QHBoxLayout()
        restore = QPushButton("Make selected version active")
        restore.clicked.connect(self._restore)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons.addStretch(1)
        buttons.addWidget(restore)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.versions = versions

    def _measure(self, measure_quality: Callable[[], list[VersionQuality]]) -> None:
        try:
            rows = measure_quality()
        except Exception:  # noqa: BLE001 - a chart that cannot be drawn must not take the dialog down
            rows = []
        try:
            self.qualityMeasured.emit(rows)
        except RuntimeError:
            pass  # the dialog was closed before the measures came

    def _show_quality(self, rows: list[VersionQuality]) -> None:
        figures = ", ".join(f"{r.name} {actions_text(r.median_actions)}" for r in rows)
        self.effort_label.setText(
            f"Median corrective actions per corrected image: {figures or 'no model versions yet'}"
        )
        self.quality_chart.show_rows(rows)

    def _restore(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.restoreRequested.emit(self.versions[rows[0].row()].name)
            self.accept()
