"""Settings: device, detector and model version, object name and prompt list, what the detector sees
(the open folder's detector input and tiling), display, reviewer, the click tool's model, keys.

The dialog edits a copy; the window takes `result_settings()` when it is
accepted, and `chosen_version` when another model version was picked. The
folder's own choices are stored in its workspace on OK; `input_changed`
then says the folder must be predicted again (earlier predictions stay).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from zsad_desktop.app.prediction.detector_choices import (
    PRECISIONS,
    available_methods,
    method_description,
    precision_summary,
)
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.review.settings import AppSettings, WorkspaceInputSettings
from zsad_desktop.app.training import model_versions
from zsad_desktop.imaging.overlay import COLOUR_MAPS
from zsad_desktop.ui.settings.click_model_choice import ClickModelChoice
from zsad_desktop.ui.settings.detector_input_tab import DetectorInputTab, decimal_box
from zsad_desktop.ui.settings.reviews_location import keep_on_share_box, location_label
from zsad_desktop.ui.settings.shortcuts_editor import ShortcutsEditor

KEEP_VERSION = "(keep the active version)"


def _with_browse(edit: QLineEdit, title: str, pattern: str, folder: bool = False) -> QWidget:
    def browse() -> None:
        if folder:
            chosen = QFileDialog.getExistingDirectory(edit, title, edit.text())
        else:
            chosen, _ = QFileDialog.getOpenFileName(edit, title, edit.text(), pattern)
        if chosen:
            edit.setText(chosen)

    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, session: ReviewSession | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = copy.deepcopy(settings)
        self.chosen_version: str | None = None
        tabs = QTabWidget()
        tabs.addTab(self._detector_tab(session), "Detector")
        self.session = session
        self.input_changed = False
        self.input_tab = DetectorInputTab(session)
        tabs.addTab(self.input_tab, "Detector input")
        tabs.addTab(self._review_tab(session), "Review")
        tabs.addTab(self._display_tab(), "Display")
        self.shortcuts = ShortcutsEditor(settings.shortcuts)
        tabs.addTab(self.shortcuts, "Keys")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.resize(560, 480)

    def _detector_tab(self, session: ReviewSession | None) -> QWidget:
        d = self.settings.detector
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(d.device)
        self.method = QComboBox()
        for index, name in enumerate(available_methods()):
            self.method.addItem(name)
            self.method.setItemData(index, method_description(name), Qt.ItemDataRole.ToolTipRole)
        self.method.setCurrentText(d.method)
        self.method_note = QLabel(method_description(d.method))  # what it needs, where it is chosen
        self.method_note.setWordWrap(True)
        self.method.currentTextChanged.connect(
            lambda name: self.method_note.setText(method_description(name))
        )
        self.model_name = QLineEdit(d.model_name)
        self.pretrained = QLineEdit(d.pretrained)
        self.pretrained.setToolTip("open_clip tag (openai), a weights file, or 'random' for a test run")
        self.checkpoint = QLineEdit(d.checkpoint)
        self.checkpoint.setToolTip("Crane prompt checkpoint (.pth) or AA-CLIP adapter folder")
        self.image_size = QSpinBox()
        self.image_size.setRange(56, 2048)
        self.image_size.setValue(d.image_size)
        self.first_look = QSpinBox()
        self.first_look.setRange(0, 2048)
        self.first_look.setSingleStep(14)
        self.first_look.setSpecialValueText("off")
        self.first_look.setValue(d.first_look)
        self.first_look.setToolTip(
            "A quick heatmap of the image on screen at this smaller input size, shown until "
            "the full one arrives (never scored or exported); off when not smaller"
        )
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setCurrentText(d.precision)
        self.precision.setToolTip(precision_summary(d.device))
        self.object_name = QLineEdit(d.object_name)
        self.prompts_file = QLineEdit(self.settings.prompts_file)
        self.prompts_file.setPlaceholderText("built-in prompt ensemble")
        self.prompts_file.setToolTip(
            "A JSON prompt list for the training-free baseline (see resources/prompts)"
        )
        self.version = QComboBox()
        self.version.addItem(KEEP_VERSION)
        if session is not None:
            for version in model_versions.list_versions(session.workspace):
                label = f"{version.name} ({version.method}{', active' if version.active else ''})"
                self.version.addItem(label, version.name)
        self.version.setEnabled(self.version.count() > 1)
        self.version.setToolTip("Model versions of the open folder; earlier predictions stay cached")
        tab = QWidget()
        form = QFormLayout(tab)
        for label, widget in (
            ("Device", self.device),
            ("Precision", self.precision),
            ("Method", self.method),
            ("", self.method_note),
            ("Backbone", self.model_name),
            ("Weights", self.pretrained),
            (
                "Method checkpoint",
                _with_browse(self.checkpoint, "Method checkpoint", "Checkpoints (*.pth *.pt);;All files (*)"),
            ),
            ("Input size", self.image_size),
            ("First look size", self.first_look),
            ("Object name", self.object_name),
            (
                "Prompt list",
                _with_browse(self.prompts_file, "Prompt list", "Prompt lists (*.json);;All files (*)"),
            ),
            ("Model version", self.version),
        ):
            form.addRow(label, widget)
        return tab

    def input_settings(self) -> WorkspaceInputSettings:
        """The folder's choices as set in the dialog."""
        return self.input_tab.settings()

    def accept(self) -> None:
        if self.session is not None:
            self.input_changed = self.input_settings().apply(self.session.workspace)
        super().accept()

    def _review_tab(self, session: ReviewSession | None) -> QWidget:
        self.reviewer = QLineEdit(self.settings.reviewer)
        self.reviewer.setPlaceholderText("your name, saved with every decision")
        self.flag_score = decimal_box(0.0, 1.0, self.settings.flag_score)
        self.flag_score.setToolTip(
            "Images scoring at least this are 'flagged by the model' in the gallery filter"
        )
        tab = QWidget()
        form = QFormLayout(tab)
        form.addRow("Reviewer", self.reviewer)
        form.addRow("Flag images scoring at least", self.flag_score)
        self.location = location_label(session)
        self.keep_on_share = keep_on_share_box(self.settings.keep_on_share)
        form.addRow("Where the reviews are", self.location)
        form.addRow("", self.keep_on_share)
        self._click_model_rows(form)
        return tab

    def _click_model_rows(self, form: QFormLayout) -> None:
        self.click_choice = ClickModelChoice(self.settings.click_model, self.settings.sam_checkpoint)
        weights = _with_browse(
            self.click_choice.sam_checkpoint, "SAM weights", "SAM checkpoints (sam_vit_*.pth);;All files (*)"
        )
        for label, widget in (
            ("Click model", self.click_choice.model),
            ("SAM weights", weights),
            ("", self.click_choice.note),
        ):
            form.addRow(label, widget)

    def _display_tab(self) -> QWidget:
        display = self.settings.display
        self.colour_map = QComboBox()
        self.colour_map.addItems(list(COLOUR_MAPS))
        self.colour_map.setCurrentText(display.colour_map)
        self.heatmap_opacity = decimal_box(0.0, 1.0, display.heatmap_opacity)
        self.mask_opacity = decimal_box(0.0, 1.0, display.mask_opacity)
        self.threshold = decimal_box(0.0, 1.0, display.threshold, 0.01)
        self.min_region_area = QSpinBox()
        self.min_region_area.setRange(0, 100_000)
        self.min_region_area.setValue(display.min_region_area)
        self.min_region_area.setSuffix(" px")
        tab = QWidget()
        form = QFormLayout(tab)
        for label, widget in (
            ("Colour map", self.colour_map),
            ("Heatmap opacity", self.heatmap_opacity),
            ("Mask opacity", self.mask_opacity),
            ("Proposal threshold", self.threshold),
            ("Smallest proposed region", self.min_region_area),
        ):
            form.addRow(label, widget)
        return tab

    def result_settings(self) -> AppSettings:
        s = self.settings
        s.detector = replace(
            s.detector,
            device=self.device.currentText(),
            method=self.method.currentText(),
            model_name=self.model_name.text().strip(),
            pretrained=self.pretrained.text().strip(),
            checkpoint=self.checkpoint.text().strip(),
            image_size=self.image_size.value(),
            first_look=self.first_look.value(),
            object_name=self.object_name.text().strip() or "object",
            precision=self.precision.currentText(),
        )
        s.prompts_file = self.prompts_file.text().strip()
        s.reviewer = self.reviewer.text().strip()
        s.flag_score = self.flag_score.value()
        s.keep_on_share = self.keep_on_share.isChecked()
        s.click_model, s.sam_checkpoint = self.click_choice.chosen()
        s.display = replace(
            s.display,
            colour_map=self.colour_map.currentText(),
            heatmap_opacity=self.heatmap_opacity.value(),
            mask_opacity=self.mask_opacity.value(),
            threshold=self.threshold.value(),
            min_region_area=self.min_region_area.value(),
        )
        s.shortcuts = self.shortcuts.overrides()
        self.chosen_version = self.version.currentData()
        return s
