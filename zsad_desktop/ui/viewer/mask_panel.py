"""Mask tools: the tool in hand, brush size, threshold, the proposal's regions one by one, undo/redo,
snap to edges and clearing the clicks."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
)

from zsad_desktop.app.viewer.mask_editing import Region
from zsad_desktop.ui.viewer.mask_tools import Tool

TOOL_LABELS = {
    Tool.BRUSH: "Brush (B)",
    Tool.ERASER: "Eraser (E)",
    Tool.POLYGON: "Polygon (P)",
    Tool.REGION: "Remove region (G)",
    Tool.CLICK: "Clicks (C)",
    Tool.PAN: "Pan (Space)",
}
EDITS = (
    ("Undo", "undo"),
    ("Redo", "redo"),
    ("Use proposal", "use_proposal"),
    ("Fill holes", "fill"),
    ("Clear", "clear"),
    ("Snap to edges (T)", "snap"),
    ("Clear clicks", "clear_clicks"),
)
TIPS = {
    Tool.CLICK: "Left click: defect here. Right click or Shift+click: not defect here. "
    "Each click corrects the mask around it (one undo step). "
    "The model behind it (edges, built in, or SAM) is chosen in Settings > Review.",
    "snap": "Tighten the mask to the image's edges near its outline (one undo step)",
    "clear_clicks": "Forget the clicks; the mask stays as it is",
}


def _button(text: str, checkable: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the review loop
    return button


class MaskPanel(QGroupBox):
    toolChosen = Signal(str)
    editRequested = Signal(str)  # undo, redo, use_proposal, fill, clear, snap, clear_clicks
    thresholdChanged = Signal(float)
    regionToggled = Signal(int, bool)  # index in the proposal's regions, keep it in the mask

    def __init__(self, parent=None):
        super().__init__("Mask", parent)
        grid = QGridLayout(self)
        self.tool_buttons: dict[Tool, QPushButton] = {}
        group = QButtonGroup(self)
        for i, tool in enumerate(Tool):
            button = _button(TOOL_LABELS[tool], checkable=True)
            button.setToolTip(TIPS.get(tool, ""))
            button.clicked.connect(lambda _=False, t=tool: self.toolChosen.emit(t.value))
            group.addButton(button)
            grid.addWidget(button, i // 3, i % 3)
            self.tool_buttons[tool] = button
        self.tool_buttons[Tool.BRUSH].setChecked(True)
        self.edit_buttons: dict[str, QPushButton] = {}
        row = -(-len(Tool) // 3)
        for j, (text, name) in enumerate(EDITS):
            button = _button(text)
            button.setToolTip(TIPS.get(name, ""))
            button.clicked.connect(lambda _=False, n=name: self.editRequested.emit(n))
            grid.addWidget(button, row + j // 3, j % 3)
            self.edit_buttons[name] = button
        row += -(-len(EDITS) // 3)
        self.brush_label = QLabel()
        grid.addWidget(self.brush_label, row, 0, 1, 3)
        threshold_row = QHBoxLayout()
        self.threshold_label = QLabel()
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        self.threshold.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.threshold.valueChanged.connect(lambda v: self.thresholdChanged.emit(v / 100))
        threshold_row.addWidget(QLabel("Threshold"))
        threshold_row.addWidget(self.threshold, 1)
        threshold_row.addWidget(self.threshold_label)
        grid.addLayout(threshold_row, row + 1, 0, 1, 3)
        self.regions = QListWidget()
        self.regions.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.regions.setToolTip("Regions of the proposal: tick to keep one in your mask, untick to remove it")
        self.regions.setMaximumHeight(110)
        self.regions.itemChanged.connect(self._region_item_changed)
        grid.addWidget(self.regions, row + 2, 0, 1, 3)
        self.set_brush_radius(8)
        self.set_history(False, False)  # nothing to undo until an image is open

    def set_tool(self, tool: Tool) -> None:
        self.tool_buttons[tool].setChecked(True)

    def set_brush_radius(self, radius: float) -> None:
        self.brush_label.setText(f"Brush and eraser: {2 * radius:.0f} px wide ([ smaller, ] larger)")

    def set_threshold(self, value: float, raw: float | None) -> None:
        with QSignalBlocker(self.threshold):
            self.threshold.setValue(round(value * 100))
        self.threshold_label.setText(f"{value:.2f}" + (f" (score {raw:.3g})" if raw is not None else ""))

    def set_history(self, can_undo: bool, can_redo: bool) -> None:
        self.edit_buttons["undo"].setEnabled(can_undo)
        self.edit_buttons["redo"].setEnabled(can_redo)

    def show_regions(self, regions: list[Region], kept: list[bool]) -> None:
        with QSignalBlocker(self.regions):
            self.regions.clear()
            for i, (region, keep) in enumerate(zip(regions, kept)):
                item = QListWidgetItem(f"Region {i + 1}: {region.area} px, peak {region.peak:.2f}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if keep else Qt.CheckState.Unchecked)
                self.regions.addItem(item)
            if not regions:
                self.regions.addItem(QListWidgetItem("No proposed regions above the threshold"))

    def show_proposing(self) -> None:
        """A large image's proposal is being made for the new threshold: its regions replace this."""
        with QSignalBlocker(self.regions):
            self.regions.clear()
            self.regions.addItem(QListWidgetItem("Proposing regions at the new threshold..."))

    def _region_item_changed(self, item: QListWidgetItem) -> None:
        self.regionToggled.emit(self.regions.row(item), item.checkState() == Qt.CheckState.Checked)
