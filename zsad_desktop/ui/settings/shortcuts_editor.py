"""A table of every action and its key, where the reviewer records a new key."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFormLayout, QKeySequenceEdit, QLabel, QScrollArea, QVBoxLayout, QWidget

from zsad_desktop.ui.settings.shortcuts import SHORTCUTS, clashes, key_sequences


class ShortcutsEditor(QWidget):
    def __init__(self, overrides: dict[str, str], parent=None):
        super().__init__(parent)
        self.edits: dict[str, QKeySequenceEdit] = {}
        body = QWidget()
        form = QFormLayout(body)
        for shortcut in SHORTCUTS:
            current = key_sequences(shortcut.name, overrides)
            edit = QKeySequenceEdit(current[0] if current else QKeySequence())
            edit.setMaximumSequenceLength(1)
            edit.setToolTip("Default: " + ", ".join(shortcut.keys))
            edit.keySequenceChanged.connect(self._check)
            form.addRow(shortcut.text.replace("&", ""), edit)
            self.edits[shortcut.name] = edit
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        self.warning = QLabel()
        self.warning.setStyleSheet("color: #b00;")
        self.warning.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.warning)

    def overrides(self) -> dict[str, str]:
        """Keys that differ from each action's first default."""
        chosen = {}
        for shortcut in SHORTCUTS:
            text = self.edits[shortcut.name].keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            if text != QKeySequence(shortcut.keys[0]).toString(QKeySequence.SequenceFormat.PortableText):
                chosen[shortcut.name] = text
        return chosen

    def _check(self) -> None:
        found = clashes(self.overrides())
        self.warning.setText("Keys used twice: " + "; ".join(found) if found else "")
