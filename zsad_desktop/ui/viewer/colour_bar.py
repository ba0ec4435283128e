"""The heatmap's colour scale, labelled in the model's own units, with the threshold marked."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from zsad_desktop.imaging.overlay import colourise
from zsad_desktop.ui.viewer.qimages import rgb_to_qimage

BAR_WIDTH = 14
TICKS = (1.0, 0.5, 0.0)


class ColourBar(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.colour_map = "jet"
        self.low, self.high = 0.0, 1.0
        self.threshold: float | None = 0.5
        self._ramp: QImage | None = None
        self.setMinimumSize(QSize(72, 110))
        self.setToolTip(
            "Heatmap scale of this model in this workspace (the same for every image); the line is the threshold"
        )

    def set_scale(self, colour_map: str, low: float, high: float, threshold: float | None) -> None:
        if colour_map != self.colour_map:
            self._ramp = None
        self.colour_map, self.low, self.high, self.threshold = colour_map, low, high, threshold
        self.update()

    def label(self, position: float) -> str:
        """The model's value at a position (0 bottom, 1 top) of the bar."""
        return f"{self.low + position * (self.high - self.low):.3g}"

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        half = metrics.height() // 2
        bar = QRect(2, half, BAR_WIDTH, max(10, self.height() - 2 * half))
        if self._ramp is None:
            ramp = np.linspace(1.0, 0.0, 256, dtype=np.float32)[:, None].repeat(4, axis=1)
            self._ramp = rgb_to_qimage(colourise(ramp, self.colour_map))
        painter.drawImage(bar, self._ramp)
        painter.setPen(self.palette().windowText().color())
        for position in TICKS:
            y = bar.bottom() - round(position * bar.height())
            painter.drawLine(bar.right() + 1, y, bar.right() + 4, y)
            painter.drawText(bar.right() + 7, y + metrics.ascent() // 2 - 1, self.label(position))
        if self.threshold is not None:
            y = bar.bottom() - round(self.threshold * bar.height())
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(bar.left() - 2, y, bar.right() + 2, y)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.drawLine(bar.left() - 2, y + 2, bar.right() + 2, y + 2)
        painter.end()
