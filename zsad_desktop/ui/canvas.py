"""The viewer: image, heatmap, proposed mask and reviewer mask as layers.

Zoom with the wheel (around the cursor), fit, 1:1; pan by dragging in the
pan tool or with the middle button. Brush, eraser and polygon strokes are
previewed here and handed to the Qt-free `MaskEditor` when finished, as one
undoable edit each.
"""

from __future__ import annotations

import enum

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from zsad_desktop.app.mask_editing import MaskEditor
from zsad_desktop.ui.qimages import heatmap_pixmap, mask_pixmap, rgb_to_qimage

MASK_RGB = (255, 40, 40)
PROPOSAL_RGB = (255, 215, 0)


class Tool(str, enum.Enum):
    PAN = "pan"
    BRUSH = "brush"
    ERASER = "eraser"
    POLYGON = "polygon"
    REGION = "remove region"


class MaskCanvas(QGraphicsView):
    edited = Signal()
    zoomChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(30, 30, 30))
        self.setMouseTracking(True)
        self.image_item = QGraphicsPixmapItem()
        self.heatmap_item = QGraphicsPixmapItem()
        self.proposal_item = QGraphicsPixmapItem()
        self.mask_item = QGraphicsPixmapItem()
        self.stroke_item = QGraphicsPathItem()
        self.cursor_item = QGraphicsEllipseItem()
        self.cursor_item.setPen(QPen(QColor(255, 255, 255), 0))
        self.polygon_item = QGraphicsPathItem()
        self.polygon_item.setPen(QPen(QColor(0, 255, 255), 0))
        for z, item in enumerate([self.image_item, self.heatmap_item, self.proposal_item, self.mask_item,
                                  self.stroke_item, self.polygon_item, self.cursor_item]):
            item.setZValue(z)
            self.scene().addItem(item)
        self.editor: MaskEditor | None = None
        self.tool = Tool.BRUSH
        self.brush_radius = 6.0
        self.mask_opacity = 0.45
        self._stroke: list[tuple[float, float]] = []
        self._polygon: list[tuple[float, float]] = []
        self._panning_from: QPointF | None = None

    # layers -------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray, keep_view: bool = False) -> None:
        self.image_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        self.scene().setSceneRect(self.image_item.boundingRect())
        self._polygon.clear()
        self.polygon_item.setPath(QPainterPath())
        if not keep_view:
            self.fit()

    def set_heatmap(self, heatmap01: np.ndarray | None, colour_map: str = "jet", opacity: float = 0.45, visible: bool = True) -> None:
        if heatmap01 is None:
            self.heatmap_item.setPixmap(QPixmap())
            return
        self.heatmap_item.setPixmap(heatmap_pixmap(heatmap01, colour_map, opacity))
        self.heatmap_item.setVisible(visible)

    def set_proposal(self, mask: np.ndarray | None, visible: bool = True) -> None:
        self.proposal_item.setPixmap(mask_pixmap(mask, PROPOSAL_RGB, 0.0, outline=True) if mask is not None else QPixmap())
        self.proposal_item.setVisible(visible)

    def set_editor(self, editor: MaskEditor | None) -> None:
        self.editor = editor
        self.refresh_mask()

    def refresh_mask(self) -> None:
        if self.editor is None:
            self.mask_item.setPixmap(QPixmap())
        else:
            self.mask_item.setPixmap(mask_pixmap(self.editor.mask, MASK_RGB, self.mask_opacity, outline=True))

    # view ----------------------------------------------------------------------
    def fit(self) -> None:
        if not self.image_item.pixmap().isNull():
            self.fitInView(self.image_item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoomChanged.emit(self.transform().m11())

    def actual_size(self) -> None:
        self.resetTransform()
        self.zoomChanged.emit(1.0)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = min(max(factor, 0.02 / current), 64.0 / current)
        self.scale(factor, factor)
        self.zoomChanged.emit(self.transform().m11())

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = float(min(max(radius, 1.0), 200.0))
        self._update_cursor(self.cursor_item.rect().center())

    # editing ------------------------------------------------------------------
    def _image_point(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _update_cursor(self, centre: QPointF) -> None:
        r = self.brush_radius
        self.cursor_item.setRect(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
        self.cursor_item.setVisible(self.tool in (Tool.BRUSH, Tool.ERASER))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        point = self._image_point(event)
        if event.button() == Qt.MouseButton.MiddleButton or (self.tool is Tool.PAN and event.button() == Qt.MouseButton.LeftButton):
            self._panning_from = event.position()
            return
        if self.editor is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self._stroke = [(point.x(), point.y())]
            self._draw_stroke()
        elif self.tool is Tool.POLYGON:
            self._polygon.append((point.x(), point.y()))
            self._draw_polygon()
        elif self.tool is Tool.REGION:
            x, y = int(point.x()), int(point.y())
            h, w = self.editor.mask.shape
            if 0 <= x < w and 0 <= y < h and self.editor.remove_region_at(x, y):
                self._changed()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        point = self._image_point(event)
        self._update_cursor(point)
        if self._panning_from is not None:
            delta = event.position() - self._panning_from
            self._panning_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._stroke:
            self._stroke.append((point.x(), point.y()))
            self._draw_stroke()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._panning_from is not None:
            self._panning_from = None
            return
        if self._stroke and self.editor is not None:
            changed = self.editor.brush(self._stroke, self.brush_radius, paint=self.tool is Tool.BRUSH)
            self._stroke = []
            self.stroke_item.setPath(QPainterPath())
            if changed:
                self._changed()

    def finish_polygon(self) -> bool:
        """Close the polygon being drawn (Enter); True if it changed the mask."""
        points, self._polygon = self._polygon, []
        self.polygon_item.setPath(QPainterPath())
        if self.editor is not None and len(points) >= 3 and self.editor.polygon(points):
            self._changed()
            return True
        return False

    @property
    def polygon_in_progress(self) -> bool:
        return bool(self._polygon)

    def _draw_stroke(self) -> None:
        path = QPainterPath(QPointF(*self._stroke[0]))
        for x, y in self._stroke[1:]:
            path.lineTo(x, y)
        colour = QColor(*MASK_RGB, 140) if self.tool is Tool.BRUSH else QColor(255, 255, 255, 140)
        pen = QPen(colour, 2 * self.brush_radius, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        self.stroke_item.setPen(pen)
        self.stroke_item.setPath(path if len(self._stroke) > 1 else QPainterPath())
        if len(self._stroke) == 1:
            dot = QPainterPath()
            dot.addEllipse(QPointF(*self._stroke[0]), self.brush_radius, self.brush_radius)
            self.stroke_item.setBrush(QBrush(colour))
            self.stroke_item.setPath(dot)
        else:
            self.stroke_item.setBrush(QBrush())

    def _draw_polygon(self) -> None:
        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in self._polygon]))
        self.polygon_item.setPath(path)

    def _changed(self) -> None:
        self.refresh_mask()
        self.edited.emit()
