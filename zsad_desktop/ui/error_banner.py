"""A red strip above the viewer for problems the reviewer must read (missing weights, out of memory,
a full disk, where the reviews of a folder on a network share are kept).

It shows the message only, never a traceback, and stays until dismissed or
until the cause is fixed (new settings, another folder, the decisions kept in
memory written). A message may carry one action (Retry).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton


class ErrorBanner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(
            "#errorBanner { background: #7a1f1f; }"
            " #errorBanner QLabel, #errorBanner QToolButton { color: white; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.dismiss)
        self.action = QPushButton()
        self.action.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.action.clicked.connect(lambda: self._act and self._act())
        self.action.hide()
        self._act: Callable[[], None] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, message: str, action: tuple[str, Callable[[], None]] | None = None) -> None:
        """Show `message`, with a button doing `action` = (label, callback) when given."""
        self.label.setText(message)
        self._act = action[1] if action else None
        self.action.setText(action[0] if action else "")
        self.action.setVisible(action is not None)
        self.show()

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self.label.clear()
        self._act = None
        self.action.hide()
        self.hide()
