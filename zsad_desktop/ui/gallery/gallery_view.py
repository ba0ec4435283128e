"""The gallery: thumbnails with a score badge and a status colour, in a grid."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate

from zsad_desktop.app.review.decisions import ReviewStatus
from zsad_desktop.app.workspace.workspace import ImageRow
from zsad_desktop.ui.gallery.gallery_model import FirstLookRole, RowRole
from zsad_desktop.ui.gallery.thumbnails import THUMB

STATUS_COLOURS = {
    ReviewStatus.UNREVIEWED: QColor(120, 120, 120),
    ReviewStatus.NORMAL: QColor(46, 160, 67),
    ReviewStatus.ACCEPTED: QColor(218, 54, 51),
    ReviewStatus.CORRECTED: QColor(230, 126, 34),
    ReviewStatus.REJECTED: QColor(52, 120, 200),
    ReviewStatus.SKIPPED: QColor(160, 160, 60),
}
STRIPE = 5


class GalleryDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt's name
        return QSize(THUMB + 12, THUMB + 32)

    def paint(self, painter: QPainter, option, index) -> None:
        row: ImageRow = index.data(RowRole)
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        painter.fillRect(QRect(rect.left(), rect.top(), rect.width(), STRIPE), STATUS_COLOURS[row.status])
        image_rect = QRect(rect.left(), rect.top() + STRIPE + 2, rect.width(), THUMB)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap):
            scaled = pixmap.scaled(image_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawPixmap(
                image_rect.left() + (image_rect.width() - scaled.width()) // 2, image_rect.top(), scaled
            )
        elif row.load_error:
            painter.fillRect(image_rect, QColor(110, 30, 30))
            painter.setPen(QColor(255, 220, 220))
            painter.drawText(image_rect, Qt.AlignmentFlag.AlignCenter, "unreadable")
        else:
            painter.fillRect(image_rect, QColor(60, 60, 60))
        if row.score is not None:
            _badge(painter, image_rect, f"{row.score:.2f}", 40, QColor(0, 0, 0, 180))
        elif index.data(FirstLookRole):  # a quick heatmap exists; no score until the full one
            _badge(painter, image_rect, "first look", 60, QColor(40, 60, 120, 200))
        painter.setFont(option.font)
        painter.setPen(
            option.palette.highlightedText().color()
            if option.state & QStyle.StateFlag.State_Selected
            else option.palette.text().color()
        )
        text_rect = QRect(rect.left(), image_rect.bottom() + 2, rect.width(), 18)
        name = index.data(Qt.ItemDataRole.DisplayRole)
        text = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


def _badge(painter: QPainter, image_rect: QRect, text: str, width: int, colour: QColor) -> None:
    """Small white text on a box in the thumbnail's top right corner."""
    font = QFont(painter.font())
    font.setPointSizeF(8)
    painter.setFont(font)
    badge = QRect(image_rect.right() - width - 2, image_rect.top() + 2, width, 15)
    painter.fillRect(badge, colour)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


class GalleryView(QListView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)  # 10,000 rows lay out without asking each one its size
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(2)
        self.setItemDelegate(GalleryDelegate(self))
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the review loop
