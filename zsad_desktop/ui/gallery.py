"""The gallery: thumbnails with score badges and status colours.

Thumbnails load lazily on a thread pool, only for rows that are painted, so
a folder of 10,000 images opens at once and fills in as you scroll.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate

from zsad_desktop.app.workspace import ImageRow
from zsad_desktop.imaging import ImageLoadError, read_rgb8
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.qimages import rgb_to_qimage

THUMB = 96
STATUS_COLOURS = {
    ReviewStatus.UNREVIEWED: QColor(120, 120, 120),
    ReviewStatus.NORMAL: QColor(46, 160, 67),
    ReviewStatus.ACCEPTED: QColor(218, 54, 51),
    ReviewStatus.CORRECTED: QColor(230, 126, 34),
    ReviewStatus.REJECTED: QColor(52, 120, 200),
    ReviewStatus.SKIPPED: QColor(160, 160, 60),
}
RowRole = Qt.ItemDataRole.UserRole + 1


class _ThumbnailSignals(QObject):
    ready = Signal(int, QImage)


class _ThumbnailJob(QRunnable):
    def __init__(self, image_id: int, path: Path, signals: _ThumbnailSignals):
        super().__init__()
        self.image_id, self.path, self.signals = image_id, path, signals

    def run(self) -> None:
        try:
            rgb = read_rgb8(self.path)
        except ImageLoadError:
            return
        h, w = rgb.shape[:2]
        scale = THUMB / max(h, w)
        small = cv2.resize(rgb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
        self.signals.ready.emit(self.image_id, rgb_to_qimage(small))


class GalleryModel(QAbstractListModel):
    def __init__(self, folder: Path | None = None, parent=None):
        super().__init__(parent)
        self.folder = folder
        self.rows: list[ImageRow] = []
        self._index: dict[int, int] = {}
        self._thumbs: dict[int, QPixmap] = {}
        self._requested: set[int] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._signals = _ThumbnailSignals()
        self._signals.ready.connect(self._thumbnail_ready)

    def set_rows(self, rows: list[ImageRow], folder: Path | None = None) -> None:
        self.beginResetModel()
        if folder is not None and folder != self.folder:
            self.folder = folder
            self._thumbs.clear()
            self._requested.clear()
        self.rows = list(rows)
        self._index = {row.id: i for i, row in enumerate(self.rows)}
        self.endResetModel()

    def update_row(self, row: ImageRow) -> None:
        position = self._index.get(row.id)
        if position is not None:
            self.rows[position] = row
            index = self.index(position)
            self.dataChanged.emit(index, index)

    def position(self, image_id: int) -> int | None:
        return self._index.get(image_id)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            parts = Path(row.rel_path).parts
            return "/".join(parts[-2:])  # the parent folder tells apart 000.png of each defect
        if role == Qt.ItemDataRole.ToolTipRole:
            score = "not scored yet" if row.score is None else f"score {row.score:.3f}"
            return f"{row.rel_path}\n{score}, {row.status.value}" + (f"\nunreadable: {row.load_error}" if row.load_error else "")
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(row)
        if role == RowRole:
            return row
        return None

    def _thumbnail(self, row: ImageRow) -> QPixmap | None:
        pixmap = self._thumbs.get(row.id)
        if pixmap is None and row.id not in self._requested and self.folder is not None and not row.load_error:
            self._requested.add(row.id)
            self._pool.start(_ThumbnailJob(row.id, self.folder / row.rel_path, self._signals))
        return pixmap

    def _thumbnail_ready(self, image_id: int, image: QImage) -> None:
        self._thumbs[image_id] = QPixmap.fromImage(image)
        position = self._index.get(image_id)
        if position is not None:
            index = self.index(position)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class GalleryDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(THUMB + 12, THUMB + 30)

    def paint(self, painter: QPainter, option, index) -> None:
        row: ImageRow = index.data(RowRole)
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        colour = STATUS_COLOURS[row.status]
        painter.fillRect(QRect(rect.left(), rect.top(), rect.width(), 4), colour)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        image_rect = QRect(rect.left(), rect.top() + 6, rect.width(), THUMB)
        if isinstance(pixmap, QPixmap):
            scaled = pixmap.scaled(image_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = image_rect.left() + (image_rect.width() - scaled.width()) // 2
            painter.drawPixmap(x, image_rect.top(), scaled)
        else:
            painter.fillRect(image_rect, QColor(60, 60, 60) if not row.load_error else QColor(110, 30, 30))
            if row.load_error:
                painter.setPen(QColor(255, 220, 220))
                painter.drawText(image_rect, Qt.AlignmentFlag.AlignCenter, "unreadable")
        if row.score is not None:
            badge = QRect(image_rect.right() - 44, image_rect.top() + 2, 42, 16)
            painter.fillRect(badge, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            font = QFont(painter.font())
            font.setPointSizeF(8)
            painter.setFont(font)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, f"{row.score:.2f}")
        painter.setPen(option.palette.text().color())
        text_rect = QRect(rect.left(), image_rect.bottom() + 2, rect.width(), 18)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, painter.fontMetrics().elidedText(
            index.data(Qt.ItemDataRole.DisplayRole), Qt.TextElideMode.ElideMiddle, rect.width()))
        painter.restore()


class GalleryView(QListView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(2)
        self.setItemDelegate(GalleryDelegate(self))
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the review loop
