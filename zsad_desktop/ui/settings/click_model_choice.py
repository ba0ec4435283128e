"""The Settings rows that choose the click tool's model: edges (built in) or SAM (models/sam/...),
with a line saying what SAM would need while its weights or package are missing."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

from zsad_desktop.app.viewer.click_models import EDGES, SAM, click_model_note, sam_label


class ClickModelChoice:
    def __init__(self, name: str, checkpoint: str):
        self.model = QComboBox()
        self.model.addItem("edges (built in, no weights)", EDGES)
        self.model.addItem(sam_label(checkpoint), SAM)
        self.model.setCurrentIndex(max(0, self.model.findData(name)))
        self.model.setToolTip("What turns the click tool's clicks (C) into a mask")
        self.sam_checkpoint = QLineEdit(checkpoint)
        self.sam_checkpoint.setPlaceholderText("the released file in models/sam/")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.model.currentIndexChanged.connect(self._follow)
        self.sam_checkpoint.editingFinished.connect(self._follow)
        self._follow()

    def _follow(self) -> None:
        checkpoint = self.sam_checkpoint.text().strip()
        self.model.setItemText(1, sam_label(checkpoint))
        sam = self.model.currentData() == SAM
        self.sam_checkpoint.setEnabled(sam)
        self.note.setText(click_model_note(SAM, checkpoint) if sam else "")

    def chosen(self) -> tuple[str, str]:
        """The model's name and the SAM checkpoint given (empty: the one found in models/sam/)."""
        return str(self.model.currentData()), self.sam_checkpoint.text().strip()
