"""What the reviewer knows about one image and the decisions they can take on it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zsad_desktop.app.review.decisions import HistoryEntry
from zsad_desktop.app.workspace.workspace import ImageRow
from zsad_desktop.ui.review.elided_label import ElidedLabel

DECISIONS = (
    ("Accept (A)", "accept"),
    ("Correct (Enter)", "correct"),
    ("Normal (N)", "normal"),
    ("Reject (R)", "reject"),
    ("Skip (S)", "skip"),
)
TIPS = {
    "accept": "The proposed mask is right (saved as corrected if you edited it)",
    "correct": "Save your edited mask",
    "normal": "Nothing wrong in this image",
    "reject": "The proposal is wrong and not worth correcting",
    "skip": "Decide later",
}


class ReviewPanel(QWidget):
    decision = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        info = QGroupBox("Image")
        form = QFormLayout(info)
        self.path_label, self.model_label = ElidedLabel("-"), ElidedLabel("-")
        self.score_label, self.status_label = QLabel("-"), QLabel("-")
        for text, label in (
            ("Path", self.path_label),
            ("Score", self.score_label),
            ("Status", self.status_label),
            ("Model", self.model_label),
        ):
            form.addRow(text, label)
        layout.addWidget(info)
        buttons = QGridLayout()
        self.decision_buttons: dict[str, QPushButton] = {}
        for i, (text, name) in enumerate(DECISIONS):
            button = QPushButton(text)
            button.setToolTip(TIPS[name])
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: self.decision.emit(n))
            buttons.addWidget(button, i // 3, i % 3)
            self.decision_buttons[name] = button
        layout.addLayout(buttons)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Note (saved with the next decision)")
        self.note.setMaximumHeight(54)
        self.note.setTabChangesFocus(True)
        layout.addWidget(self.note)
        layout.addWidget(QLabel("History"))
        self.history = QListWidget()
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.history, 1)

    def show_image(self, row: ImageRow, model_version: str | None, history: list[HistoryEntry]) -> None:
        self.path_label.setText(row.title)
        self.show_row(row)
        self.model_label.setText(model_version or "none yet")
        self.note.setPlainText(next((e.note for e in reversed(history) if e.note), "") if history else "")
        self.history.clear()
        for entry in reversed(history):  # newest first
            before = entry.from_status.value if entry.from_status else "new"
            who = entry.reviewer or "someone"
            self.history.addItem(
                f"{entry.at:%Y-%m-%d %H:%M} {who}: {before} → {entry.to_status.value}"
                + (
                    f", {entry.effort.total} actions"
                    if entry.effort is not None and entry.effort.total
                    else ""
                )
                + (f" ({entry.note})" if entry.note else "")
            )
        can_decide = row.load_error is None
        for button in self.decision_buttons.values():
            button.setEnabled(can_decide)

    def show_row(self, row: ImageRow) -> None:
        """Score and status only (a prediction or decision arrived)."""
        if row.load_error:
            self.score_label.setText(f"unreadable: {row.load_error}")
        else:
            self.score_label.setText("not scored yet" if row.score is None else f"{row.score:.4f}")
        self.status_label.setText(row.status.value + (f" by {row.reviewer}" if row.reviewer else ""))

    def note_text(self) -> str | None:
        return self.note.toPlainText().strip() or None
