"""The left column: sort and filter bar, the gallery, and how many images are in each state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from zsad_desktop.app.review.decisions import ReviewStatus
from zsad_desktop.app.workspace.gallery_listing import GalleryListing
from zsad_desktop.ui.gallery.filter_bar import GalleryFilterBar
from zsad_desktop.ui.gallery.gallery_model import GalleryModel, RowRole
from zsad_desktop.ui.gallery.gallery_view import STATUS_COLOURS, GalleryView


class GalleryPanel(QWidget):
    imageChosen = Signal(int)  # the reviewer picked an image (click or keys)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_bar = GalleryFilterBar()
        self.model = GalleryModel(self)
        self.view = GalleryView()
        self.view.setModel(self.model)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counts_label)

    def set_listing(
        self, listing: GalleryListing | None, folder: Path | None, keep: int | None = None
    ) -> None:
        """New rows; `keep` stays selected (without being shown again) if the listing has it."""
        place = listing.position(keep) if listing is not None and keep is not None else None
        self.model.set_listing(listing, folder, load=0 if place is None else place + 1)
        if place is not None and self.model.position(keep) is not None:
            self.select(self.model.position(keep), show=False)

    def show_counts(self, counts: dict[ReviewStatus, int]) -> None:
        """How many images are in each state, each with its colour in the gallery (a legend too)."""
        self.counts_label.setText(
            "&nbsp; ".join(
                f'<span style="color:{STATUS_COLOURS[status].name()}">■</span>&nbsp;{status.value} {n}'
                for status, n in counts.items()
                if n
            )
        )

    def select(self, position: int, show: bool = True) -> None:
        """Select the row at `position`; `show=False` only marks it (the image is already on screen)."""
        index = self.model.index(position)
        selection = self.view.selectionModel()
        if show:
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            with QSignalBlocker(selection):
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.viewport().update()
        self.view.scrollTo(index)

    def step(self, current: int | None, delta: int) -> None:
        """Select the image `delta` rows after `current` (clamped to the gallery)."""
        if self.model.rowCount() == 0:
            return
        position = self.model.position(current) if current is not None else None
        if position is None:
            index = self.view.currentIndex()
            position = index.row() if index.isValid() else -delta
        self.model.load_through(position + delta)
        target = min(max(position + delta, 0), self.model.rowCount() - 1)
        if target != position or current is None:
            self.select(target)

    def select_image(self, image_id: int) -> bool:
        """Select and show the image `image_id` if the gallery lists it."""
        listing = self.model.listing
        position = listing.position(image_id) if listing is not None else None
        if position is None:
            return False
        self.model.load_through(position)
        self.select(position)
        return True

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            self.imageChosen.emit(current.data(RowRole).id)
