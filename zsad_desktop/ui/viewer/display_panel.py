"""Layer display: heatmap on/off, colour map, opacities, proposal and mask on/off, colour bar, window/level."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
)

from zsad_desktop.app.viewer.viewer_model import MASK_RGB, PROPOSAL_RGB, DisplaySettings, ViewerModel
from zsad_desktop.app.viewer.window_level import WindowLevel
from zsad_desktop.imaging.overlay import COLOUR_MAPS
from zsad_desktop.ui.viewer.colour_bar import ColourBar


def _percent_slider() -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return slider


def _swatch(rgb: tuple[int, int, int], filled: bool) -> QIcon:
    """A legend square: the layer's colour as it is drawn (filled, or an outline)."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(60, 60, 60))
    painter = QPainter(pixmap)
    painter.setPen(QPen(QColor(*rgb), 2))
    if filled:
        painter.setBrush(QColor(*rgb, 140))
    painter.drawRect(2, 2, 10, 10)
    painter.end()
    return QIcon(pixmap)


WINDOW_HELP = (
    "Window/level: drag with the right mouse button on the image (left-right: width, up-down: level).\n"
    "W: auto (percentiles), Shift+W: the image's own window, L: next preset."
)


class DisplayPanel(QGroupBox):
    changed = Signal(dict)  # DisplaySettings fields that changed
    windowPreset = Signal(str)
    windowAuto = Signal()
    windowReset = Signal()

    def __init__(self, parent=None):
        super().__init__("Display", parent)
        self.show_heatmap = QCheckBox("Heatmap (H)")
        self.show_proposal = QCheckBox("Proposal (O)")
        self.show_mask = QCheckBox("Reviewer mask")
        self.show_proposal.setIcon(_swatch(PROPOSAL_RGB, filled=False))
        self.show_mask.setIcon(_swatch(MASK_RGB, filled=True))
        self.colour_map = QComboBox()
        self.colour_map.addItems(list(COLOUR_MAPS))
        self.heatmap_opacity = _percent_slider()
        self.mask_opacity = _percent_slider()
        self.colour_bar = ColourBar()
        for box in (self.show_heatmap, self.show_proposal, self.show_mask, self.colour_map):
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_heatmap.toggled.connect(lambda on: self.changed.emit({"show_heatmap": on}))
        self.show_proposal.toggled.connect(lambda on: self.changed.emit({"show_proposal": on}))
        self.show_mask.toggled.connect(lambda on: self.changed.emit({"show_mask": on}))
        self.colour_map.currentTextChanged.connect(lambda name: self.changed.emit({"colour_map": name}))
        self.heatmap_opacity.valueChanged.connect(lambda v: self.changed.emit({"heatmap_opacity": v / 100}))
        self.mask_opacity.valueChanged.connect(lambda v: self.changed.emit({"mask_opacity": v / 100}))
        grid = QGridLayout(self)
        grid.addWidget(self.show_heatmap, 0, 0, 1, 2)
        grid.addWidget(QLabel("Colours"), 1, 0)
        grid.addWidget(self.colour_map, 1, 1)
        grid.addWidget(QLabel("Heatmap"), 2, 0)
        grid.addWidget(self.heatmap_opacity, 2, 1)
        grid.addWidget(self.show_proposal, 3, 0, 1, 2)
        grid.addWidget(self.show_mask, 4, 0)
        grid.addWidget(self.mask_opacity, 4, 1)
        grid.addWidget(self.colour_bar, 0, 2, 5, 1)
        self._add_window_rows(grid, 5)
        grid.setColumnStretch(1, 1)

    def _add_window_rows(self, grid: QGridLayout, row: int) -> None:
        self.window_readout = QLabel()
        self.window_preset = QComboBox()
        self.window_preset.setPlaceholderText("Custom")  # shown while the window is dragged, not a preset
        self.window_auto = QPushButton("Auto")
        self.window_reset = QPushButton("Reset")
        for widget in (self.window_readout, self.window_preset, self.window_auto, self.window_reset):
            widget.setToolTip(WINDOW_HELP)
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the viewer's shortcuts
        self.window_preset.textActivated.connect(self.windowPreset.emit)
        self.window_auto.clicked.connect(lambda: self.windowAuto.emit())
        self.window_reset.clicked.connect(lambda: self.windowReset.emit())
        grid.addWidget(QLabel("Window"), row, 0)
        grid.addWidget(self.window_preset, row, 1, 1, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.window_readout, 1)
        buttons.addWidget(self.window_auto)
        buttons.addWidget(self.window_reset)
        grid.addLayout(buttons, row + 1, 0, 1, 3)
        self.show_window(None)

    def follow(self, model: ViewerModel) -> None:
        """Keep the window controls in step with `model`'s image, and send their choices to it."""
        model.events.connect("window", lambda: self.show_window(model.image.levels))
        self.windowPreset.connect(model.window.preset)
        self.windowAuto.connect(model.window.auto)
        self.windowReset.connect(model.window.reset)

    def show_window(self, levels: WindowLevel | None) -> None:
        """The readout "W 80 L 40" and the presets the image on screen offers."""
        for widget in (self.window_preset, self.window_auto, self.window_reset):
            widget.setEnabled(levels is not None)
        blocker = QSignalBlocker(self.window_preset)
        if levels is None:
            self.window_readout.setText("W – L –")
            self.window_preset.clear()
            return
        self.window_readout.setText(levels.readout())
        names = levels.presets()
        if [self.window_preset.itemText(i) for i in range(self.window_preset.count())] != names:
            self.window_preset.clear()
            self.window_preset.addItems(names)
        self.window_preset.setCurrentIndex(names.index(levels.preset) if levels.preset in names else -1)
        del blocker

    def show_settings(self, display: DisplaySettings) -> None:
        """Reflect settings without echoing them back as changes."""
        widgets = (
            self.show_heatmap,
            self.show_proposal,
            self.show_mask,
            self.colour_map,
            self.heatmap_opacity,
            self.mask_opacity,
        )
        blockers = [QSignalBlocker(w) for w in widgets]
        self.show_heatmap.setChecked(display.show_heatmap)
        self.show_proposal.setChecked(display.show_proposal)
        self.show_mask.setChecked(display.show_mask)
        self.colour_map.setCurrentText(display.colour_map)
        self.heatmap_opacity.setValue(round(display.heatmap_opacity * 100))
        self.mask_opacity.setValue(round(display.mask_opacity * 100))
        del blockers

    def set_scale(self, display: DisplaySettings, low: float, high: float) -> None:
        self.colour_bar.set_scale(display.colour_map, low, high, display.threshold)
