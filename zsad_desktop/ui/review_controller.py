"""The review loop on the image on screen: show it, take a decision, move on, never lose an edit.

Leaving an image (another image, another folder, closing the window) saves
an edited but undecided mask as a correction first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from zsad_desktop.app import predictions
from zsad_desktop.app.review_session import ImageView, ReviewSession
from zsad_desktop.app.viewer_model import ViewerModel
from zsad_desktop.app.workspace import ImageRow
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.mask_panel import MaskPanel
from zsad_desktop.ui.review_panel import ReviewPanel
from zsad_desktop.ui.viewer import ImageViewer
from zsad_desktop.user_errors import USER_ERRORS

STATUSES = {"correct": ReviewStatus.CORRECTED, "normal": ReviewStatus.NORMAL,
            "reject": ReviewStatus.REJECTED, "skip": ReviewStatus.SKIPPED}


class ReviewController(QObject):
    rowChanged = Signal(object)  # ImageRow after a decision
    imageShown = Signal(int)
    message = Signal(str)  # for the status bar

    def __init__(self, model: ViewerModel, viewer: ImageViewer, panel: ReviewPanel, masks: MaskPanel,
                 step: Callable[[int], None], parent=None):
        super().__init__(parent)
        self.model, self.viewer, self.panel, self.masks = model, viewer, panel, masks
        self._step = step
        self.session: ReviewSession | None = None
        self.current: ImageView | None = None

    def attach(self, session: ReviewSession | None) -> None:
        self.session = session
        self.current = None
        self.model.show_nothing()

    @property
    def image_id(self) -> int | None:
        return None if self.current is None else self.current.row.id

    # showing -----------------------------------------------------------------------
    def show_image(self, image_id: int) -> None:
        if self.session is None:
            return
        if image_id != self.image_id:
            self.save_current()
        try:
            view = self.session.view(image_id)
        except USER_ERRORS as error:
            self._show_unreadable(image_id, str(error))
            return
        self.current = view
        model_id = self.session.model_id()
        stats = self.session.normalisation(model_id) if model_id and view.raw_heatmap is not None else None
        self.model.show(view.rgb, view.raw_heatmap, stats, saved_mask=view.final_mask)
        self.panel.show_image(view.row, model_id, view.history)
        self.imageShown.emit(image_id)

    def _show_unreadable(self, image_id: int, reason: str) -> None:
        self.current = None
        self.model.show_nothing()
        try:
            row = self.session.workspace.image(image_id)
        except USER_ERRORS:
            return
        self.panel.show_image(row, self.session.model_id(), [])
        self.panel.score_label.setText(f"unreadable: {row.load_error or reason}")
        self.viewer.show_message(f"This image cannot be read:\n{row.load_error or reason}")
        self.message.emit(reason)

    def prediction_arrived(self, row: ImageRow) -> None:
        """A new score for `row`: if it is on screen, its heatmap and proposal appear without losing edits."""
        if self.current is None or row.id != self.current.row.id or self.session is None:
            return
        self.panel.show_row(row)
        if self.model.heatmap.raw is not None or row.score is None:
            return
        model_id = self.session.model_id()
        cached = predictions.cached_prediction(self.session.workspace, row.id, model_id) if model_id else None
        if cached is not None:
            self.model.set_heatmap(predictions.heatmap(self.session.workspace, cached), self.session.normalisation(model_id))
            self.panel.model_label.setText(model_id)

    def refresh_scale(self) -> None:
        """Show the heatmap on the session's current display scale (it settles as predictions arrive)."""
        if self.session is None or self.model.heatmap.raw is None:
            return
        model_id = self.session.model_id()
        stats = self.session.normalisation(model_id) if model_id else None
        if stats is not None and stats != self.model.heatmap.stats:
            self.model.set_heatmap(self.model.heatmap.raw, stats)

    # deciding -------------------------------------------------------------------------
    def decide(self, name: str) -> None:
        """accept, correct, normal, reject or skip the image on screen, then show the next one."""
        if name == "correct" and self.viewer.tools.polygon_in_progress:
            self.viewer.finish_polygon()  # Enter closes the polygon first; the next Enter saves
            return
        if self.session is None or self.current is None or self.model.editor is None:
            return
        mask = self.model.editor.mask.copy()
        proposal = None if self.model.proposal.data is None else self.model.proposal.data.copy()
        if name == "accept":
            if proposal is None and not mask.any():
                self.message.emit("Nothing to accept yet: wait for the prediction, or paint the defect and press Enter")
                return
            status = ReviewStatus.ACCEPTED if self.model.mask_equals_proposal() else ReviewStatus.CORRECTED
        else:
            status = STATUSES[name]
        if not self._record(status, mask if status.has_final_mask else None, proposal):
            return
        self.message.emit(f"{Path(self.current.row.rel_path).name}: {status.value}")
        self._step(1)

    def save_current(self) -> None:
        """Autosave: an edited mask without a decision is kept as a correction."""
        if self.session is None or self.current is None or not self.model.has_unsaved_edit:
            return
        proposal = self.model.proposal.data
        self._record(ReviewStatus.CORRECTED, self.model.editor.mask.copy(), None if proposal is None else proposal.copy())

    def _record(self, status: ReviewStatus, mask, proposal) -> bool:
        try:
            self.session.decide(self.current.row.id, status, mask=mask, proposal=proposal, note=self.panel.note_text())
        except USER_ERRORS as error:
            self.message.emit(f"Not saved: {error}")
            return False
        self.model.mark_saved()
        row = self.session.workspace.image(self.current.row.id)
        self.current.row = row
        self.panel.show_row(row)
        self.rowChanged.emit(row)
        return True
