"""Scene items that draw the viewer model's layers.

Opacity and visibility are item properties, so moving the opacity slider
repaints without recolouring. The reviewer's mask repaints only the
rectangle an edit changed (plus a pixel for the outline), so a brush dab on
a large radiograph costs what the dab covers.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QPixmap, qRgba
from PySide6.QtWidgets import QGraphicsPixmapItem

from zsad_desktop.imaging.overlay import colourise
from zsad_desktop.ui.qimages import rgb_to_qimage

OUTLINE = np.ones((3, 3), np.uint8)


def mask_qimage(mask: np.ndarray, rgb: tuple[int, int, int], fill_alpha: int) -> QImage:
    """A translucent fill with an opaque outline, so the edge stays visible over any heatmap.

    An indexed image (0 outside, 1 fill, 2 outline) costs one byte a pixel and a
    few array operations to build, even for a large radiograph.
    """
    inside = np.ascontiguousarray(mask, dtype=np.uint8)
    edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, OUTLINE) & inside
    index = np.ascontiguousarray(inside + edge)
    h, w = index.shape
    image = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable([qRgba(0, 0, 0, 0), qRgba(*rgb, fill_alpha), qRgba(*rgb, 255)])
    return image.copy()  # own the pixels: `index` is freed after this


class HeatmapItem(QGraphicsPixmapItem):
    def __init__(self) -> None:
        super().__init__()
        self._heatmap: np.ndarray | None = None
        self._colour_map = ""

    def set_heatmap(self, display01: np.ndarray | None, colour_map: str) -> None:
        if display01 is self._heatmap and colour_map == self._colour_map:
            return  # nothing to recolour (an opacity or visibility change)
        self._heatmap, self._colour_map = display01, colour_map
        if display01 is None:
            self.setPixmap(QPixmap())
        else:
            self.setPixmap(QPixmap.fromImage(rgb_to_qimage(colourise(display01, colour_map))))


class MaskItem(QGraphicsPixmapItem):
    """A bool mask drawn in one colour; `fill_alpha` 0 draws only the outline."""

    def __init__(self, rgb: tuple[int, int, int], fill_alpha: int = 255) -> None:
        super().__init__()
        self.rgb = rgb
        self.fill_alpha = fill_alpha

    def set_mask(self, mask: np.ndarray | None) -> None:
        if mask is None:
            self.setPixmap(QPixmap())
        else:
            self.setPixmap(QPixmap.fromImage(mask_qimage(mask, self.rgb, self.fill_alpha)))

    def update_box(self, mask: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
        """Repaint the rectangle (top, left, height, width) that changed; all of it when None."""
        pixmap = self.pixmap()
        if box is None or pixmap.isNull() or (pixmap.height(), pixmap.width()) != mask.shape:
            self.set_mask(mask)
            return
        top, left, height, width = box
        # Two pixels more on each side: the outline next to the edit may change too.
        t0, l0 = max(0, top - 2), max(0, left - 2)
        b0, r0 = min(mask.shape[0], top + height + 2), min(mask.shape[1], left + width + 2)
        # The outline needs the neighbours of the patch: colour it with one more pixel around, keep the inside.
        ct, cl = max(0, t0 - 1), max(0, l0 - 1)
        context = mask_qimage(mask[ct : b0 + 1, cl : r0 + 1], self.rgb, self.fill_alpha)
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(QPoint(l0, t0), context, QRect(l0 - cl, t0 - ct, r0 - l0, b0 - t0))
        painter.end()
        self.setPixmap(pixmap)
