"""Settings: device, detector and its weights, object name, reviewer."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QSpinBox

from zsad_desktop.detection.interface import available_methods
from zsad_desktop.ui.preferences import Preferences


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.prefs = prefs
        d = prefs.detector
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(d.device)
        self.method = QComboBox()
        self.method.addItems(available_methods())
        self.method.setCurrentText(d.method)
        self.model_name = QLineEdit(d.model_name)
        self.pretrained = QLineEdit(d.pretrained)
        self.pretrained.setToolTip("open_clip tag (openai), a checkpoint file, or 'random' for a test run")
        self.checkpoint = QLineEdit(d.checkpoint)
        self.checkpoint.setToolTip("Crane prompt checkpoint (.pth) or AA-CLIP adapter folder")
        self.image_size = QSpinBox()
        self.image_size.setRange(56, 2048)
        self.image_size.setValue(d.image_size)
        self.object_name = QLineEdit(d.object_name)
        self.reviewer = QLineEdit(prefs.reviewer)
        for label, widget in [("Device", self.device), ("Method", self.method), ("Backbone", self.model_name),
                              ("Weights", self.pretrained), ("Method checkpoint", self.checkpoint),
                              ("Input size", self.image_size), ("Object name", self.object_name), ("Reviewer", self.reviewer)]:
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def apply(self) -> Preferences:
        d = self.prefs.detector
        d.device, d.method = self.device.currentText(), self.method.currentText()
        d.model_name, d.pretrained = self.model_name.text().strip(), self.pretrained.text().strip()
        d.checkpoint, d.image_size = self.checkpoint.text().strip(), self.image_size.value()
        d.object_name = self.object_name.text().strip() or "object"
        self.prefs.reviewer = self.reviewer.text().strip()
        return self.prefs
