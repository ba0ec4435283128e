"""The gallery's rows: one per image, in the order and filter the reviewer chose.

Rows come from a `GalleryListing` a page at a time (Qt's fetchMore: the view
asks for the next page as it scrolls to the end), so a 100,000-image folder
opens with one page read, not the whole table. The loaded rows are always the
listing's first ones; a prediction or decision repaints its row in place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from zsad_desktop.app.workspace.gallery_listing import GalleryListing
from zsad_desktop.app.workspace.workspace import ImageRow
from zsad_desktop.ui.gallery.thumbnails import ThumbnailLoader

RowRole = Qt.ItemDataRole.UserRole + 1
FirstLookRole = Qt.ItemDataRole.UserRole + 2  # True while the row has only a first-look heatmap
PAGE = 400  # rows read at a time: a few screens of thumbnails, a few milliseconds of SQL


class GalleryModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.first_look: set[int] = set()  # ids shown with a first-look heatmap only
        self.rows: list[ImageRow] = []  # the loaded rows: the first ones of the listing
        self.listing: GalleryListing | None = None
        self._more = False
        self._last_key = None
        self._position: dict[int, int] = {}
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)

    def set_listing(self, listing: GalleryListing | None, folder: Path | None, load: int = 0) -> None:
        """Show `listing` (None: nothing), its first page, or its first `load` rows if more."""
        self.beginResetModel()
        if folder != self.thumbnails.folder:
            self.first_look.clear()  # ids of another workspace
        self.thumbnails.set_folder(folder)
        self.listing = listing
        wanted = max(PAGE, load)
        self.rows = listing.first(wanted) if listing is not None else []
        self._last_key = listing.key(self.rows[-1]) if self.rows else None  # as read: scores change later
        self._more = (
            len(self.rows) == wanted
        )  # no count: it would cost more than the page (a join over the folder)
        self._position = {row.id: i for i, row in enumerate(self.rows)}
        self.endResetModel()

    def mark_first_look(self, image_id: int) -> None:
        """The image has a quick low-resolution heatmap only (until its score arrives)."""
        self.first_look.add(image_id)
        position = self._position.get(image_id)
        if position is not None:
            self.dataChanged.emit(self.index(position), self.index(position))

    def update_row(self, row: ImageRow) -> None:
        """A prediction or decision changed a row: repaint it where it is (no re-sorting under the reviewer)."""
        if row.score is not None or row.load_error:
            self.first_look.discard(row.id)
        position = self._position.get(row.id)
        if position is not None:
            self.rows[position] = row
            index = self.index(position)
            self.dataChanged.emit(index, index)

    def row(self, image_id: int) -> ImageRow | None:
        position = self._position.get(image_id)
        return None if position is None else self.rows[position]

    def position(self, image_id: int) -> int | None:
        """Where `image_id` is among the loaded rows (None if not loaded or filtered out)."""
        return self._position.get(image_id)

    def load_through(self, position: int) -> None:
        """Load rows up to `position` (keys that step past the loaded rows; an image to select further down)."""
        if position >= len(self.rows) and self.canFetchMore():
            self._fetch(position + 1 - len(self.rows) + PAGE)

    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    # Qt -------------------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: N802 - Qt's name
        return not parent.isValid() and self.listing is not None and self._more

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: N802 - Qt's name
        if self.canFetchMore(parent):
            self._fetch(PAGE)

    def _fetch(self, count: int) -> None:
        # The page after the last row loaded, at the place it had when read (keyset paging): a row that
        # moved since is not repeated, and rows scored since keep the pages in step.
        more: list[ImageRow] = []
        while len(more) < count:
            page = self.listing.after(self._last_key, count - len(more))
            self._more = len(page) == count - len(more)
            if page:
                self._last_key = self.listing.key(page[-1])
                more += [row for row in page if row.id not in self._position]
            if not self._more:
                break
        if not more:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(more) - 1)
        self.rows += more
        self._position.update((row.id, start + i) for i, row in enumerate(more))
        self.endInsertRows()

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.gallery_name
        if role == Qt.ItemDataRole.ToolTipRole:
            score = "not scored yet" if row.score is None else f"score {row.score:.3f}"
            unreadable = f"\nunreadable: {row.load_error}" if row.load_error else ""
            if row.score is None and row.id in self.first_look:
                score = "first look only (low resolution); full result coming"
            return f"{row.title}\n{score}, {row.status.value}{unreadable}"
        if role == Qt.ItemDataRole.DecorationRole:
            return None if row.load_error else self.thumbnails.get(row.id, row.rel_path, row.frame)
        if role == RowRole:
            return row
        if role == FirstLookRole:
            return row.score is None and row.id in self.first_look
        return None

    def _thumbnail_ready(self, image_id: int) -> None:
        position = self._position.get(image_id)
        if position is not None:
            index = self.index(position)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
