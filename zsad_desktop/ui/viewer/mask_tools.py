"""How the mouse edits the reviewer's mask: brush, eraser, polygon, region removal, clicks, pan.

A stroke or a polygon is previewed as a scene path while it is drawn and
handed to the viewer model as one edit when finished (one undo step each).
The brush and eraser show their size as a circle under the cursor. The click
tool hands each click to the model's `ClickSession` (left: defect here;
right or Shift+left: not defect here) and shows the clicks as green and red
dots that keep their size at any zoom.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem, QGraphicsScene

from zsad_desktop.app.viewer.viewer_model import MASK_RGB, ViewerModel

MIN_RADIUS, MAX_RADIUS = 1.0, 300.0
DOT_RADIUS = 5.0  # screen pixels
POSITIVE_RGB, NEGATIVE_RGB = (40, 220, 60), (235, 40, 40)


class Tool(str, enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    POLYGON = "polygon"
    REGION = "region"
    CLICK = "click"
    PAN = "pan"


class MaskTools:
    """The tool in hand and its previews in `scene`; the viewer forwards mouse events in scene coordinates."""

    def __init__(self, scene: QGraphicsScene, model: ViewerModel, z: float):
        self.model = model
        self.tool = Tool.BRUSH
        self.radius = 8.0
        self._stroke: list[tuple[float, float]] = []
        self._polygon: list[tuple[float, float]] = []
        self.stroke_item = QGraphicsPathItem()
        self.polygon_item = QGraphicsPathItem()
        self.polygon_item.setPen(QPen(QColor(0, 255, 255), 0))
        self.cursor_item = QGraphicsEllipseItem()
        self.cursor_item.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self.cursor_item.hide()
        for i, item in enumerate((self.stroke_item, self.polygon_item, self.cursor_item)):
            item.setZValue(z + i)
            scene.addItem(item)
        self._scene, self._dot_z = scene, z + 3
        self.dots: list[QGraphicsEllipseItem] = []
        model.events.connect("clicks", self.show_clicks)

    # tool and size ---------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        if tool is not Tool.POLYGON:
            self.cancel_polygon()
        self.tool = tool
        self.cursor_item.setVisible(False)

    def set_radius(self, radius: float) -> None:
        self.radius = float(min(max(radius, MIN_RADIUS), MAX_RADIUS))
        self._place_cursor(self.cursor_item.rect().center())

    @property
    def paints(self) -> bool:
        return self.tool in (Tool.BRUSH, Tool.ERASER)

    # mouse -----------------------------------------------------------------------
    def press(self, point: QPointF, negative: bool = False) -> bool:
        """Left button down at a scene point (`negative`: with Shift); True if the tool took it."""
        if self.tool is Tool.CLICK:  # the session says why when there is no image
            self.model.clicks.click(point.x(), point.y(), positive=not negative)
            return True
        if self.model.editor is None:
            return False
        xy = (point.x(), point.y())
        if self.paints:
            self._stroke = [xy]
            self._draw_stroke()
        elif self.tool is Tool.POLYGON:
            self._polygon.append(xy)
            self._draw_polygon(point)
        elif self.tool is Tool.REGION:
            self.model.remove_mask_region_at(*xy)
        else:
            return False
        return True

    def move(self, point: QPointF) -> None:
        self._place_cursor(point)
        if self._stroke:
            self._stroke.append((point.x(), point.y()))
            self._draw_stroke()
        elif self._polygon:
            self._draw_polygon(point)

    def release(self) -> bool:
        """Left button up: a finished stroke becomes one edit."""
        if not self._stroke:
            return False
        stroke, self._stroke = self._stroke, []
        self.stroke_item.setPath(QPainterPath())
        if self.tool is Tool.ERASER:
            return self.model.erase(stroke, self.radius)
        return self.model.paint(stroke, self.radius)

    def leave(self) -> None:
        self.cursor_item.hide()

    # polygon -----------------------------------------------------------------------
    @property
    def polygon_in_progress(self) -> bool:
        return bool(self._polygon)

    def finish_polygon(self) -> bool:
        """Close the polygon being drawn (Enter): one edit if it has three points or more."""
        points = self._polygon
        self.cancel_polygon()
        return len(points) >= 3 and self.model.add_polygon(points)

    def cancel_polygon(self) -> None:
        self._polygon = []
        self.polygon_item.setPath(QPainterPath())

    # click dots ---------------------------------------------------------------------
    def show_clicks(self) -> None:
        """One dot per click in effect: green for defect, red for not defect."""
        for dot in self.dots:
            self._scene.removeItem(dot)
        self.dots = []
        for click in self.model.clicks.clicks:
            colour = QColor(*(POSITIVE_RGB if click.positive else NEGATIVE_RGB))
            dot = QGraphicsEllipseItem(-DOT_RADIUS, -DOT_RADIUS, 2 * DOT_RADIUS, 2 * DOT_RADIUS)
            dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # same size at any zoom
            dot.setPos(click.x + 0.5, click.y + 0.5)
            dot.setBrush(QBrush(colour))
            dot.setPen(QPen(QColor(255, 255, 255), 1.5))
            dot.setZValue(self._dot_z)
            self._scene.addItem(dot)
            self.dots.append(dot)

    # previews ---------------------------------------------------------------------
    def _place_cursor(self, centre: QPointF) -> None:
        r = self.radius
        self.cursor_item.setRect(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
        self.cursor_item.setVisible(self.paints and self.model.editor is not None)

    def _draw_stroke(self) -> None:
        colour = QColor(*MASK_RGB, 140) if self.tool is Tool.BRUSH else QColor(255, 255, 255, 140)
        path = QPainterPath()
        if len(self._stroke) == 1:
            path.addEllipse(QPointF(*self._stroke[0]), self.radius, self.radius)
            self.stroke_item.setPen(QPen(Qt.PenStyle.NoPen))
            self.stroke_item.setBrush(QBrush(colour))
        else:
            path.moveTo(*self._stroke[0])
            for x, y in self._stroke[1:]:
                path.lineTo(x, y)
            self.stroke_item.setPen(
                QPen(
                    colour,
                    2 * self.radius,
                    Qt.PenStyle.SolidLine,
                    Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin,
                )
            )
            self.stroke_item.setBrush(QBrush())
        self.stroke_item.setPath(path)

    def _draw_polygon(self, cursor: QPointF) -> None:
        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in self._polygon] + [cursor]))
        self.polygon_item.setPath(path)
