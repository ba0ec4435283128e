"""The gallery's rows: one per image, in the order and filter the reviewer chose."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from zsad_desktop.app.workspace import ImageRow
from zsad_desktop.ui.thumbnails import ThumbnailLoader

RowRole = Qt.ItemDataRole.UserRole + 1


class GalleryModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ImageRow] = []
        self._position: dict[int, int] = {}
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)

    def set_rows(self, rows: list[ImageRow], folder: Path | None) -> None:
        self.beginResetModel()
        self.thumbnails.set_folder(folder)
        self.rows = list(rows)
        self._position = {row.id: i for i, row in enumerate(self.rows)}
        self.endResetModel()

    def update_row(self, row: ImageRow) -> None:
        """A prediction or decision changed a row: repaint it where it is (no re-sorting under the reviewer)."""
        position = self._position.get(row.id)
        if position is not None:
            self.rows[position] = row
            index = self.index(position)
            self.dataChanged.emit(index, index)

    def row(self, image_id: int) -> ImageRow | None:
        position = self._position.get(image_id)
        return None if position is None else self.rows[position]

    def position(self, image_id: int) -> int | None:
        return self._position.get(image_id)

    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.gallery_name
        if role == Qt.ItemDataRole.ToolTipRole:
            score = "not scored yet" if row.score is None else f"score {row.score:.3f}"
            unreadable = f"\nunreadable: {row.load_error}" if row.load_error else ""
            return f"{row.title}\n{score}, {row.status.value}{unreadable}"
        if role == Qt.ItemDataRole.DecorationRole:
            return None if row.load_error else self.thumbnails.get(row.id, row.rel_path, row.frame)
        if role == RowRole:
            return row
        return None

    def _thumbnail_ready(self, image_id: int) -> None:
        position = self._position.get(image_id)
        if position is not None:
            index = self.index(position)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
