"""The right column: the review panel, the mask tools and the display settings, kept in step with the viewer model."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from zsad_desktop.app.viewer.viewer_model import ViewerModel
from zsad_desktop.ui.review import ReviewPanel
from zsad_desktop.ui.viewer import DisplayPanel, MaskPanel


class SidePanel(QWidget):
    def __init__(self, model: ViewerModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.review = ReviewPanel()
        self.masks = MaskPanel()
        self.display = DisplayPanel()
        self.masks.thresholdChanged.connect(lambda value: model.set_display(threshold=value))
        self.masks.regionToggled.connect(model.keep_region)
        self.display.changed.connect(lambda changes: model.set_display(**changes))
        self.display.follow(model)  # window/level controls and readout
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.review, 1)
        layout.addWidget(self.masks)
        layout.addWidget(self.display)
        events = model.events
        events.connect("display", self._display_changed)
        events.connect("heatmap", self._scale_changed)
        events.connect("regions", self._regions_changed)
        events.connect("proposal_pending", self.masks.show_proposing)
        events.connect("mask", lambda _box: self._mask_changed())
        self._display_changed()

    def _display_changed(self) -> None:
        self.display.show_settings(self.model.display)
        self._scale_changed()

    def _scale_changed(self) -> None:
        """The colour bar's ends and the threshold in the model's units."""
        model = self.model
        low, high = model.colour_bar_range()
        self.display.set_scale(model.display, low, high)
        raw = model.heatmap.raw_value(model.display.threshold) if model.heatmap.raw is not None else None
        self.masks.set_threshold(model.display.threshold, raw)

    def _regions_changed(self) -> None:
        self.masks.show_regions(self.model.regions, self.model.regions_in_mask())

    def _mask_changed(self) -> None:
        editor = self.model.editor
        self.masks.set_history(editor is not None and editor.can_undo, editor is not None and editor.can_redo)
        if self.model.regions:
            self.masks.show_regions(self.model.regions, self.model.regions_in_mask())
