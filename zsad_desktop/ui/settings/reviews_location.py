"""The Settings rows that show where the open folder's reviews are kept, and the choice for shares."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel

from zsad_desktop.app.review.review_session import ReviewSession


def location_label(session: ReviewSession | None) -> QLabel:
    text = session.workspace.location.description() if session is not None else "Open a folder to see it"
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def keep_on_share_box(checked: bool) -> QCheckBox:
    box = QCheckBox("Keep the reviews of a folder on a network share on the share")
    box.setChecked(checked)
    box.setToolTip(
        "Off (recommended): a folder on an NFS or SMB share keeps its review database on this computer, "
        "where SQLite is safe. On: in the folder's .zsad on the share, for one reviewer at a time. "
        "A team shares a PostgreSQL database instead (zsad gui --db postgresql+psycopg2://...). "
        "Takes effect when a folder is opened."
    )
    return box
