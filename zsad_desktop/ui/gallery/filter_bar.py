"""Sort and filter the gallery: by score, name, status or most informative first; unreviewed, flagged, a score
range; and whether the "next" key goes to the most informative unreviewed image."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QWidget

from zsad_desktop.app.review.decisions import ReviewStatus

SORTS = {
    "Score (highest first)": "score",
    "Name": "name",
    "Status": "status",
    "Most informative first": "informative",
}
FILTERS = {
    "All images": None,
    "Unreviewed": [ReviewStatus.UNREVIEWED],
    "Flagged by the model": None,  # score at or above the flag score of the settings
    "Reviewed": [s for s in ReviewStatus if s is not ReviewStatus.UNREVIEWED],
    "Anomalous (accepted, corrected)": [ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED],
    "Normal": [ReviewStatus.NORMAL],
    "Rejected": [ReviewStatus.REJECTED],
    "Skipped": [ReviewStatus.SKIPPED],
}
FLAGGED = "Flagged by the model"


@dataclass(frozen=True)
class GalleryQuery:
    """Arguments of `Workspace.images` for what the bar shows."""

    order: str = "score"
    statuses: list[ReviewStatus] | None = None
    min_score: float | None = None
    max_score: float | None = None

    def as_arguments(self) -> dict:
        return {
            "order": self.order,
            "statuses": self.statuses,
            "min_score": self.min_score,
            "max_score": self.max_score,
        }


class GalleryFilterBar(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sort = QComboBox()
        self.sort.addItems(list(SORTS))
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.min_score, self.max_score = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.min_score, 0.0), (self.max_score, 1.0)):
            box.setRange(0.0, 1.0)
            box.setDecimals(2)
            box.setSingleStep(0.05)
            box.setValue(value)
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            box.valueChanged.connect(self.changed)
        for combo in (self.sort, self.filter):
            combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            combo.currentTextChanged.connect(self.changed)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Sort"), 0, 0)
        grid.addWidget(self.sort, 0, 1, 1, 3)
        grid.addWidget(QLabel("Show"), 1, 0)
        grid.addWidget(self.filter, 1, 1, 1, 3)
        grid.addWidget(QLabel("Score"), 2, 0)
        grid.addWidget(self.min_score, 2, 1)
        grid.addWidget(QLabel("to"), 2, 2)
        grid.addWidget(self.max_score, 2, 3)
        self.next_informative = QCheckBox("Next key: most informative unreviewed")
        self.next_informative.setToolTip(
            "Next goes to the unreviewed image whose review would teach the model most "
            "(score near the threshold, versions disagreeing), not the next in the gallery"
        )
        self.next_informative.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        grid.addWidget(self.next_informative, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

    def query(self, flag_score: float) -> GalleryQuery:
        low = self.min_score.value() if self.min_score.value() > 0 else None
        high = self.max_score.value() if self.max_score.value() < 1 else None
        if self.filter.currentText() == FLAGGED:
            low = max(low or 0.0, flag_score)
        return GalleryQuery(SORTS[self.sort.currentText()], FILTERS[self.filter.currentText()], low, high)
