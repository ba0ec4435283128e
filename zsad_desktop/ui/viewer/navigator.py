"""The navigator: a thumbnail of the whole image in the viewer's corner, the part on screen outlined.

A click or a drag in it centres the view there. It follows every zoom and
pan, and shows itself only while the image does not fit the view (and the
reviewer has not switched it off). The thumbnail is the image item's
coarsest level, so it costs one tile.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

from zsad_desktop.ui.viewer.tiled_image_item import TiledLayerItem

BOX = QSize(220, 160)  # the largest the thumbnail gets
MARGIN = 10  # from the viewport's corner
FRAME = 2


class Navigator(QWidget):
    def __init__(self, view: QGraphicsView, image: TiledLayerItem):
        super().__init__(
            view
        )  # over the view, not inside its viewport: viewport children scroll with the scene
        self.view, self.image = view, image
        self.switched_on = True  # the reviewer's choice (View menu)
        self.visible_part = QRectF()  # what the view shows, in image pixels
        self._thumbnail = QPixmap()
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Navigator: click or drag to move the view (V or the View menu hides it)")
        for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
            bar.valueChanged.connect(self.follow)
            bar.rangeChanged.connect(self.follow)
        image.levelsChanged.connect(self._image_changed)
        self.hide()

    # following the view ----------------------------------------------------------------------
    def _image_changed(self) -> None:
        self._thumbnail = QPixmap()
        if self.image.has_content:
            coarsest = self.image.render_level(self.image.level_count - 1)
            size = coarsest.size().scaled(BOX, Qt.AspectRatioMode.KeepAspectRatio).expandedTo(QSize(16, 16))
            self._thumbnail = QPixmap.fromImage(
                coarsest.scaled(
                    size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
            self.resize(self._thumbnail.size() + QSize(2 * FRAME, 2 * FRAME))
        self.follow()

    def follow(self) -> None:
        """Outline what the view shows now; show the navigator only while the image does not fit."""
        bounds = self.image.boundingRect()
        shown = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        self.visible_part = shown.intersected(bounds)
        fits = shown.adjusted(-1, -1, 1, 1).contains(
            bounds
        )  # a pixel's slack for rounding in the fitted view
        wanted = self.switched_on and not self._thumbnail.isNull() and not fits
        if wanted:
            self.place()
            self.raise_()
        self.setVisible(wanted)
        self.update()

    def place(self) -> None:
        """Top right of the viewport."""
        viewport = self.view.viewport().geometry()
        self.move(viewport.right() - self.width() - MARGIN + 1, viewport.top() + MARGIN)

    def switch(self, on: bool) -> None:
        self.switched_on = on
        self.follow()

    # thumbnail <-> image -------------------------------------------------------------------
    def _thumb_rect(self) -> QRectF:
        return QRectF(FRAME, FRAME, self._thumbnail.width(), self._thumbnail.height())

    def to_widget(self, rect: QRectF) -> QRectF:
        """A rectangle in image pixels to this widget's pixels."""
        thumb, bounds = self._thumb_rect(), self.image.boundingRect()
        sx, sy = thumb.width() / bounds.width(), thumb.height() / bounds.height()
        return QRectF(
            thumb.left() + rect.left() * sx,
            thumb.top() + rect.top() * sy,
            rect.width() * sx,
            rect.height() * sy,
        )

    def to_image(self, point: QPointF) -> QPointF:
        thumb, bounds = self._thumb_rect(), self.image.boundingRect()
        x = min(max(point.x() - thumb.left(), 0.0), thumb.width()) * bounds.width() / thumb.width()
        y = min(max(point.y() - thumb.top(), 0.0), thumb.height()) * bounds.height() / thumb.height()
        return QPointF(x, y)

    # drawing and the mouse --------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20, 220))
        painter.drawPixmap(self._thumb_rect().topLeft(), self._thumbnail)
        painter.setPen(QPen(QColor(80, 80, 80), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        # At least a few pixels, so the outline of a deep zoom on a huge image is still seen.
        part = self.to_widget(self.visible_part)
        centre = part.center()
        part.setSize(part.size().expandedTo(QSize(6, 6).toSizeF()))
        part.moveCenter(centre)
        painter.setPen(QPen(QColor(255, 220, 0), 2))
        painter.drawRect(part)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.centerOn(self.to_image(event.position()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.to_image(event.position()))
