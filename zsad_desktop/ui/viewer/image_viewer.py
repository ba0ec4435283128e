"""The viewer: the model's layers in a zoomable, pannable scene.

Zoom with the wheel (around the cursor), fit, 1:1; pan with the middle
button, or the left one in the pan tool, or in the navigator (the corner
thumbnail shown while the image does not fit). Mouse edits go to
`MaskTools`; the right button drags the window/level (horizontal: width,
vertical: level), except in the click tool, where it says "not defect here";
what the layers hold comes from the `ViewerModel`'s events.
Every layer is drawn tile by tile at the detail the zoom needs
(`TiledLayerItem`), so a 20,000 px line-scan pans as smoothly as a photo.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView

from zsad_desktop.app.viewer.viewer_model import ViewerModel
from zsad_desktop.ui.viewer.layer_items import HeatmapItem, MaskItem
from zsad_desktop.ui.viewer.mask_tools import MaskTools, Tool
from zsad_desktop.ui.viewer.navigator import Navigator
from zsad_desktop.ui.viewer.qimages import pixels_to_qimage
from zsad_desktop.ui.viewer.tiled_image_item import TiledLayerItem

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


class ImageViewer(QGraphicsView):
    zoomChanged = Signal(float)
    _posted = Signal(object)  # a call from the window/level or proposal thread, run on the GUI thread

    def __init__(self, model: ViewerModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(
            QPainter.RenderHint.SmoothPixmapTransform, False
        )  # pixels stay pixels when zoomed in
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(30, 30, 30))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.image_item = TiledLayerItem()
        self.heatmap_item = HeatmapItem()
        self.proposal_item = MaskItem(model.proposal.colour, fill_alpha=0)
        self.mask_item = MaskItem(model.mask.colour, fill_alpha=255)
        # The proposal is an outline only: drawn over the reviewer's mask so both stay visible where they overlap.
        for z, item in enumerate((self.image_item, self.heatmap_item, self.mask_item, self.proposal_item)):
            item.setZValue(z)
            self.scene().addItem(item)
        # A large image re-windowed: its reduced preview over the old view until the new one is rendered.
        self.preview_item = QGraphicsPixmapItem()
        self.preview_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.preview_item.setZValue(0.5)
        self.preview_item.hide()
        self.scene().addItem(self.preview_item)
        self.tools = MaskTools(self.scene(), model, z=10)
        self.message_item = QGraphicsSimpleTextItem()
        self.message_item.setBrush(QColor(255, 200, 200))
        self.message_item.setZValue(20)
        self.scene().addItem(self.message_item)
        self._pan_from: QPointF | None = None
        #: called before a mouse edit, so it lands on the image the reviewer sees (set by the review loop)
        self.before_edit: Callable[[], None] | None = None
        self._keep_view = False
        self.navigator = Navigator(self, self.image_item)
        self.zoomChanged.connect(lambda _scale: self.navigator.follow())
        for name, slot in (
            ("image", self._image_changed),
            ("heatmap", self._heatmap_changed),
            ("proposal", self._proposal_changed),
            ("mask", self._mask_changed),
            ("display", self._display_changed),
        ):
            model.events.connect(name, slot)
        self._display_changed()
        self._window_from: QPointF | None = None
        self._posted.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)
        model.window.post = self._posted.emit
        model.proposals.post = self._posted.emit  # a large image's proposal at a new threshold arrives
        model.clicks.post = self._posted.emit  # a click's correction arrives from its worker
        model.events.connect(
            "image_refresh", self.keep_view_once
        )  # a re-windowed image keeps zoom and position
        model.events.connect("image_preview", self._preview_changed)

    def _run_posted(self, call) -> None:
        call()

    # model events -------------------------------------------------------------------
    def keep_view_once(self) -> None:
        """The next image keeps the current zoom and position (the same image, refreshed)."""
        self._keep_view = True

    def show_message(self, text: str) -> None:
        """A line in place of the image (it cannot be read); cleared by the next image."""
        self.message_item.setText(text)
        self.scene().setSceneRect(self.message_item.boundingRect())
        self.resetTransform()
        self.centerOn(self.message_item)

    def _preview_changed(self) -> None:
        preview, shape = self.model.image.preview, self.model.image.shape
        if preview is None or shape is None:
            self.preview_item.hide()
            return
        self.preview_item.setPixmap(QPixmap.fromImage(pixels_to_qimage(preview)))
        self.preview_item.setTransform(
            QTransform.fromScale(shape[1] / preview.shape[1], shape[0] / preview.shape[0])
        )
        self.preview_item.show()

    def _image_changed(self) -> None:
        self._preview_changed()  # gone with the new view (or another image)
        pixels8 = self.model.image.pixels8
        self.message_item.setText("")
        self.image_item.set_array(pixels8)
        self.scene().setSceneRect(self.image_item.boundingRect())
        if not self._keep_view:  # another image; a re-windowed one keeps the view and a polygon being drawn
            self.tools.cancel_polygon()
            self.fit()
        self._keep_view = False

    def _heatmap_changed(self) -> None:
        self.heatmap_item.set_heatmap(
            self.model.heatmap.display, self.model.display.colour_map, self.model.image.shape
        )

    def _proposal_changed(self) -> None:
        self.proposal_item.set_mask(self.model.proposal.data)

    def _mask_changed(self, box) -> None:
        if self.model.mask.data is None:
            self.mask_item.set_mask(None)
        else:
            self.mask_item.update_box(self.model.mask.data, box)

    def _display_changed(self) -> None:
        d = self.model.display
        self.heatmap_item.set_heatmap(self.model.heatmap.display, d.colour_map, self.model.image.shape)
        self.heatmap_item.setOpacity(d.heatmap_opacity)
        self.heatmap_item.setVisible(d.show_heatmap)
        self.proposal_item.setVisible(d.show_proposal)
        self.mask_item.setOpacity(d.mask_opacity)
        self.mask_item.setVisible(d.show_mask)

    # zoom ------------------------------------------------------------------------------
    @property
    def scale_factor(self) -> float:
        return self.transform().m11()

    def toggle_navigator(self) -> None:
        self.navigator.switch(not self.navigator.switched_on)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.navigator.follow()

    def fit(self) -> None:
        if self.image_item.has_content:
            self.fitInView(self.image_item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoomChanged.emit(self.scale_factor)

    def actual_size(self) -> None:
        self.resetTransform()
        self.zoomChanged.emit(1.0)

    def zoom(self, factor: float) -> None:
        current = self.scale_factor
        factor = min(max(factor, MIN_ZOOM / current), MAX_ZOOM / current)
        self.scale(factor, factor)
        self.zoomChanged.emit(self.scale_factor)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.angleDelta().y():
            self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    # mouse -------------------------------------------------------------------------------
    def _scene_point(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        button = event.button()
        if button == Qt.MouseButton.RightButton and self.tools.tool is Tool.CLICK:
            if self.before_edit is not None:
                self.before_edit()
            self.tools.press(self._scene_point(event), negative=True)
            return
        if button == Qt.MouseButton.RightButton and self.model.window.begin_drag():
            self._window_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
            return
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self.tools.tool is Tool.PAN
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if button == Qt.MouseButton.LeftButton and self.before_edit is not None:
            self.before_edit()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.LeftButton and self.tools.press(self._scene_point(event), negative=shift):
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._window_from is not None:
            delta = (
                event.position() - self._window_from
            )  # from the press: the drag's window follows the mouse
            self.model.window.drag(delta.x(), delta.y())
            return
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        self.tools.move(self._scene_point(event))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._window_from is not None and event.button() == Qt.MouseButton.RightButton:
            self._window_from = None
            self.viewport().unsetCursor()
            self.model.window.end_drag()
            return
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        self.tools.release()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.tools.leave()
        super().leaveEvent(event)

    def finish_polygon(self) -> bool:
        return self.tools.finish_polygon()
