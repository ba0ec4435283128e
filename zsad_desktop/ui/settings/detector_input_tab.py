"""The settings' "Detector input" tab: how the open folder's images become the detector's input."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.review.settings import WorkspaceInputSettings
from zsad_desktop.app.workspace.detector_input import (
    CURRENT_WINDOW,
    FILE_WINDOW,
    MIN_TILE,
    PERCENTILE,
    InputChoice,
    TilingChoice,
)

INPUT_MODES = {
    FILE_WINDOW: "The file's own window (DICOM), else the 0.5-99.5 percentiles",
    PERCENTILE: "A percentile window of each image",
    CURRENT_WINDOW: "The window I set in the viewer",
}


def decimal_box(low: float, high: float, value: float, step: float = 0.05) -> QDoubleSpinBox:
    """A spin box of two decimals (the settings' fractions and percentiles)."""
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box


class DetectorInputTab(QWidget):
    """The open folder's choices; without a folder there is nothing to set."""

    def __init__(self, session: ReviewSession | None = None, parent=None):
        super().__init__(parent)
        current = (
            WorkspaceInputSettings.of(session.workspace) if session is not None else WorkspaceInputSettings()
        )
        choice, tiling = current.choice, current.tiling
        self.input_mode = QComboBox()
        for mode, label in INPUT_MODES.items():
            self.input_mode.addItem(label, mode)
        self.input_mode.setCurrentIndex(list(INPUT_MODES).index(choice.mode))
        self.input_mode.setToolTip(
            "How 16-bit and DICOM images become the detector's 8-bit input; 8-bit photos "
            "are used as stored. Stored with each prediction; a change predicts again. "
            "With the viewer's window, each window you choose predicts the folder again."
        )
        self.percentile_low = decimal_box(0.0, 49.0, choice.lo, 0.5)
        self.percentile_high = decimal_box(51.0, 100.0, choice.hi, 0.5)
        self.tiling = QCheckBox("Predict large images by overlapping tiles")
        self.tiling.setChecked(tiling.enabled)
        self.tile_size = QSpinBox()
        self.tile_size.setRange(0, 16384)
        self.tile_size.setSingleStep(64)
        self.tile_size.setSpecialValueText("twice the input size")
        self.tile_size.setSuffix(" px")
        self.tile_size.setValue(tiling.tile_size)
        self.tile_overlap = QSpinBox()
        self.tile_overlap.setRange(0, 8192)
        self.tile_overlap.setSpecialValueText("automatic")
        self.tile_overlap.setToolTip(
            "Automatic: a quarter of the input size, or an eighth of a tile size set here"
        )
        self.tile_overlap.setSuffix(" px")
        self.tile_overlap.setValue(tiling.overlap)
        self.tile_size.valueChanged.connect(self._limit_overlap)
        self._limit_overlap()

        def follow() -> None:
            percentile = self.input_mode.currentData() == PERCENTILE
            self.percentile_low.setEnabled(percentile)
            self.percentile_high.setEnabled(percentile)
            self.tile_size.setEnabled(self.tiling.isChecked())
            self.tile_overlap.setEnabled(self.tiling.isChecked())

        self.input_mode.currentIndexChanged.connect(follow)
        self.tiling.toggled.connect(follow)
        follow()
        self.setEnabled(session is not None)
        self.setToolTip("" if session is not None else "Open a folder: these choices are kept with it")
        form = QFormLayout(self)
        for label, widget in (
            ("Wide-range images seen as", self.input_mode),
            ("Low percentile", self.percentile_low),
            ("High percentile", self.percentile_high),
            ("", self.tiling),
            ("Tile size", self.tile_size),
            ("Tile overlap", self.tile_overlap),
        ):
            form.addRow(label, widget)

    def _limit_overlap(self) -> None:
        size = self.tile_size.value()
        self.tile_overlap.setMaximum(size // 2 if size else 8192)

    def settings(self) -> WorkspaceInputSettings:
        """The folder's choices as set here."""
        choice = InputChoice(
            self.input_mode.currentData(), self.percentile_low.value(), self.percentile_high.value()
        )
        size = self.tile_size.value()
        tiling = TilingChoice(
            self.tiling.isChecked(), max(size, MIN_TILE) if size else 0, self.tile_overlap.value()
        )
        return WorkspaceInputSettings(choice, tiling)
