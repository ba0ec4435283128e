"""The right-hand panel: what the reviewer knows and can do about one image."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
    QPlainTextEdit, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from zsad_desktop.app.review_session import ImageView
from zsad_desktop.imaging.overlay import COLOUR_MAPS
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.canvas import Tool
from zsad_desktop.ui.qimages import colour_bar

DECISIONS = [("Accept (A)", "accept"), ("Correct (Enter)", "correct"), ("Normal (N)", "normal"),
             ("Reject (R)", "reject"), ("Skip (S)", "skip")]


class ReviewPanel(QWidget):
    decision = Signal(str)
    toolChanged = Signal(str)
    thresholdChanged = Signal(float)
    displayChanged = Signal()
    editRequested = Signal(str)  # undo, redo, fill, clear

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        info = QGroupBox("Image")
        form = QFormLayout(info)
        self.path_label, self.score_label, self.status_label, self.model_label = QLabel("-"), QLabel("-"), QLabel("-"), QLabel("-")
        for label in (self.path_label, self.model_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Path", self.path_label)
        form.addRow("Score", self.score_label)
        form.addRow("Status", self.status_label)
        form.addRow("Model", self.model_label)
        layout.addWidget(info)

        buttons = QGridLayout()
        self.decision_buttons = {}
        for i, (text, name) in enumerate(DECISIONS):
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: self.decision.emit(n))
            buttons.addWidget(button, i // 2, i % 2)
            self.decision_buttons[name] = button
        layout.addLayout(buttons)

        tools = QGroupBox("Mask")
        tools_layout = QGridLayout(tools)
        self.tool_group = QButtonGroup(self)
        for i, tool in enumerate(Tool):
            button = QPushButton(tool.value.capitalize())
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.tool_group.addButton(button)
            button.clicked.connect(lambda _=False, t=tool: self.toolChanged.emit(t.value))
            tools_layout.addWidget(button, i // 3, i % 3)
            if tool is Tool.BRUSH:
                button.setChecked(True)
        row = 2
        for j, (text, name) in enumerate([("Undo", "undo"), ("Redo", "redo"), ("Fill holes", "fill"), ("Clear", "clear")]):
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: self.editRequested.emit(n))
            tools_layout.addWidget(button, row + j // 2, j % 2)
        self.brush_label = QLabel("Brush 6 px ([ and ])")
        tools_layout.addWidget(self.brush_label, row + 2, 0, 1, 3)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        self.threshold.setValue(50)
        self.threshold.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.threshold_label = QLabel("Threshold 0.50")
        self.threshold.valueChanged.connect(self._threshold_moved)
        tools_layout.addWidget(self.threshold_label, row + 3, 0)
        tools_layout.addWidget(self.threshold, row + 3, 1, 1, 2)
        layout.addWidget(tools)

        display = QGroupBox("Display")
        display_layout = QGridLayout(display)
        self.show_heatmap = QCheckBox("Heatmap (H)")
        self.show_heatmap.setChecked(True)
        self.show_proposal = QCheckBox("Proposal")
        self.show_proposal.setChecked(True)
        self.colour_map = QComboBox()
        self.colour_map.addItems(list(COLOUR_MAPS))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        for widget in (self.show_heatmap, self.show_proposal, self.colour_map, self.opacity):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_heatmap.toggled.connect(self.displayChanged)
        self.show_proposal.toggled.connect(self.displayChanged)
        self.colour_map.currentTextChanged.connect(self._colour_map_changed)
        self.opacity.valueChanged.connect(self.displayChanged)
        self.bar = QLabel()
        self.bar_low, self.bar_high = QLabel("low"), QLabel("high")
        display_layout.addWidget(self.show_heatmap, 0, 0)
        display_layout.addWidget(self.show_proposal, 0, 1)
        display_layout.addWidget(QLabel("Colours"), 1, 0)
        display_layout.addWidget(self.colour_map, 1, 1)
        display_layout.addWidget(QLabel("Opacity"), 2, 0)
        display_layout.addWidget(self.opacity, 2, 1)
        scale = QHBoxLayout()
        scale.addWidget(self.bar)
        ends = QVBoxLayout()
        ends.addWidget(self.bar_high)
        ends.addStretch(1)
        ends.addWidget(self.bar_low)
        scale.addLayout(ends)
        scale.addStretch(1)
        display_layout.addLayout(scale, 0, 2, 3, 1)
        layout.addWidget(display)
        self._colour_map_changed(self.colour_map.currentText())

        layout.addWidget(QLabel("Note"))
        self.note = QPlainTextEdit()
        self.note.setMaximumHeight(60)
        layout.addWidget(self.note)
        layout.addWidget(QLabel("History"))
        self.history = QListWidget()
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.history, 1)

    def _threshold_moved(self, value: int) -> None:
        self.threshold_label.setText(f"Threshold {value / 100:.2f}")
        self.thresholdChanged.emit(value / 100)

    def _colour_map_changed(self, name: str) -> None:
        self.bar.setPixmap(colour_bar(name, 14, 90))
        self.displayChanged.emit()

    def set_scale(self, low: float, high: float) -> None:
        """The colour bar's ends in the model's raw scores (the same for every image)."""
        self.bar_low.setText(f"{low:.3f}")
        self.bar_high.setText(f"{high:.3f}")

    def show_view(self, view: ImageView, model_id: str | None) -> None:
        row = view.row
        self.path_label.setText(row.rel_path)
        self.score_label.setText("not scored yet" if row.score is None else f"{row.score:.4f}")
        self.status_label.setText(row.status.value + (f" by {row.reviewer}" if row.reviewer else ""))
        self.model_label.setText(model_id or "-")
        self.note.setPlainText("")
        self.history.clear()
        for entry in view.history:
            before = entry.from_status.value if entry.from_status else "new"
            who = entry.reviewer or "someone"
            self.history.addItem(f"{entry.at:%Y-%m-%d %H:%M} {who}: {before} → {entry.to_status.value}"
                                 + (f" ({entry.note})" if entry.note else ""))

    def note_text(self) -> str | None:
        return self.note.toPlainText().strip() or None

    @property
    def threshold_value(self) -> float:
        return self.threshold.value() / 100

    def set_status(self, status: ReviewStatus) -> None:
        self.status_label.setText(status.value)
