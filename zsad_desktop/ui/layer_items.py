"""Scene items that draw the viewer model's layers.

Opacity and visibility are item properties, so moving the opacity slider
repaints without recolouring. The reviewer's mask repaints only the
rectangle an edit changed (plus a pixel for the outline), so a brush dab on
a large radiograph costs what the dab covers.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from zsad_desktop.imaging.overlay import colourise
from zsad_desktop.ui.qimages import rgb_to_qimage, rgba_to_qimage

OUTLINE = np.ones((3, 3), np.uint8)


def mask_rgba(mask: np.ndarray, rgb: tuple[int, int, int], fill_alpha: int) -> np.ndarray:
    """A translucent fill with an opaque outline, so the edge stays visible over any heatmap."""
    mask = np.asarray(mask, bool)
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (*rgb, fill_alpha)
    edge = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, OUTLINE) > 0
    rgba[edge & mask] = (*rgb, 255)
    return rgba


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
            self.setPixmap(QPixmap.fromImage(rgba_to_qimage(mask_rgba(mask, self.rgb, self.fill_alpha))))

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
        context = mask_rgba(mask[ct : b0 + 1, cl : r0 + 1], self.rgb, self.fill_alpha)
        patch = context[t0 - ct : b0 - ct, l0 - cl : r0 - cl]
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(QPoint(l0, t0), rgba_to_qimage(patch))
        painter.end()
        self.setPixmap(pixmap)
