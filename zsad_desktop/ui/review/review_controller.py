"""The review loop on the image on screen: show it, take a decision, move on, never lose an edit.

Leaving an image (another image, another folder, closing the window) saves
an edited but undecided mask as a correction first. A decision that cannot be
written (a full disk, a share gone) is kept in memory by the session and
written when it can: at the next decision, on Retry, or every half minute. An image is read (pixels,
heatmap, saved masks, history) on a loader thread, so stepping through large
images never blocks the window; whatever acts on the image on screen waits
for that read first (`settle`), so a key pressed early is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from zsad_desktop.app.review.decisions import ReviewStatus
from zsad_desktop.app.review.image_view import ImageView
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.user_errors import USER_ERRORS, can_be_written_later, user_message
from zsad_desktop.app.viewer.proposal import proposal_ahead
from zsad_desktop.app.viewer.viewer_model import DisplaySettings, ViewerModel
from zsad_desktop.ui.review.review_panel import ReviewPanel
from zsad_desktop.ui.viewer import ImageViewer

RETRY_MS = 30_000  # decisions kept in memory are tried again this often

STATUSES = {
    "correct": ReviewStatus.CORRECTED,
    "normal": ReviewStatus.NORMAL,
    "reject": ReviewStatus.REJECTED,
    "skip": ReviewStatus.SKIPPED,
}


class ReviewController(QObject):
    rowChanged = Signal(object)  # ImageRow after a decision
    imageShown = Signal(int)
    message = Signal(str)  # for the status bar
    detectorInputChanged = Signal()  # the reviewer's window is what the detector sees, and it changed
    unwritten = Signal(str)  # decisions kept in memory, not written yet: why, in one line, for the banner
    allWritten = Signal()  # the decisions kept in memory are written now
    _viewRead = Signal(int, object)  # image id, Future of the read (from the loader thread)
    _predictionRead = Signal(int, object)

    def __init__(
        self,
        model: ViewerModel,
        viewer: ImageViewer,
        panel: ReviewPanel,
        step: Callable[[int], None],
        parent=None,
    ):
        super().__init__(parent)
        self.model, self.viewer, self.panel = model, viewer, panel
        self._step = step
        self.session: ReviewSession | None = None
        self.current: ImageView | None = None
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="image-reader")
        self._requested: int | None = None
        self._reading: Future | None = None
        self._viewRead.connect(self._read_finished)
        self._predictionRead.connect(self._prediction_read)
        viewer.before_edit = self.settle
        self._retry = QTimer(self)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self.retry_unwritten)

    def attach(self, session: ReviewSession | None) -> None:
        self.settle()
        self.session = session
        self.current = None
        self._first_look_shown = False  # the heatmap on screen is a first look, to be replaced
        self._requested = None
        self.model.window.chosen = None if session is None else self._window_chosen
        self.model.show_nothing()

    def _window_chosen(self, choice) -> None:
        if self.session is not None and self.session.choose_window(choice):
            self.model.set_heatmap(None)  # made through the old window: the new one's is on its way
            self.detectorInputChanged.emit()

    @property
    def image_id(self) -> int | None:
        """The image the reviewer asked for (it may still be on its way to the screen)."""
        return self._requested

    # showing -----------------------------------------------------------------------
    def show_image(self, image_id: int) -> None:
        if self.session is None:
            return
        # A read still under way is simply superseded: nothing could be edited on it (edits settle first).
        self.save_current()
        self._requested = image_id
        session = self.session
        future = self._loader.submit(_read_view, session, image_id, self.model.display)
        self._reading = future
        future.add_done_callback(lambda done, i=image_id: self._viewRead.emit(i, done))

    def settle(self) -> None:
        """Wait for the image being read, so an action applies to the image the reviewer sees next."""
        future = self._reading
        if future is not None:
            future.exception()  # blocks until read
            self._apply(future)

    def _read_finished(self, image_id: int, future: Future) -> None:
        if future is self._reading:
            self._apply(future)

    def _apply(self, future: Future) -> None:
        self._reading = None
        if self.session is None:
            return
        image_id = self._requested
        error = future.exception()
        if error is not None:
            if isinstance(error, USER_ERRORS):
                self._show_unreadable(image_id, str(error))
            else:
                self.current = None
                self.model.show_nothing()
                self.message.emit(f"Could not show the image ({type(error).__name__}: {error})")
            return
        view, model_id, stats, ahead = future.result()
        self.current = view
        self.model.show(
            view.pixels8, view.raw_heatmap, stats, saved_mask=view.final_mask, levels=view.levels, ahead=ahead
        )
        self.panel.show_image(view.row, model_id, view.history)
        self._first_look_shown = view.first_look
        if view.first_look:
            self.panel.model_label.setText(first_look_label(model_id))
        if view.raw_heatmap is None or view.first_look:
            self.prediction_arrived(view.row.id)  # it may have been stored while the image was read
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

    def prediction_arrived(self, image_id: int) -> None:
        """A prediction for `image_id` arrived: if it is on screen, its score, heatmap and proposal
        appear (read on the loader thread; edits made meanwhile are kept)."""
        if (
            self.current is None
            or image_id != self.current.row.id
            or self.session is None
            or self._reading is not None
        ):
            return
        future = self._loader.submit(
            _read_prediction, self.session, image_id, self.model.display, self.current.pixels8.shape
        )
        future.add_done_callback(lambda done, i=image_id: self._predictionRead.emit(i, done))

    def _prediction_read(self, image_id: int, future: Future) -> None:
        if (
            self.current is None
            or image_id != self.current.row.id
            or self._reading is not None
            or future.exception()
        ):
            return
        row, model_id, raw, stats, ahead, first_look = future.result()
        self.current.row = row
        self.panel.show_row(row)
        # Shown when there is none yet, or the full one replaces the first look (never the other way).
        if raw is not None and (
            self.model.heatmap.raw is None or (self._first_look_shown and not first_look)
        ):
            self.model.set_heatmap(raw, stats, ahead)
            self._first_look_shown = first_look
            self.panel.model_label.setText(first_look_label(model_id) if first_look else model_id)

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
        self.settle()
        self.model.proposals.settle()  # the threshold on screen's proposal, if still on its way, is what is decided on
        self.model.clicks.settle()  # so are the corrections of clicks still being computed
        if self.session is None or self.current is None or self.model.editor is None:
            return
        mask = self.model.editor.mask.copy()
        proposal = None if self.model.proposal.data is None else self.model.proposal.data.copy()
        if name == "accept":
            if proposal is None and not mask.any():
                self.message.emit(
                    "Nothing to accept yet: wait for the prediction, or paint the defect and press Enter"
                )
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
        if self.session is None or self.current is None:
            return
        self.model.clicks.settle()
        if not self.model.has_unsaved_edit:
            return
        proposal = self.model.proposal.data
        self._record(
            ReviewStatus.CORRECTED,
            self.model.editor.mask.copy(),
            None if proposal is None else proposal.copy(),
        )

    def _record(self, status: ReviewStatus, mask, proposal) -> bool:
        """Decide on the image on screen; False when the decision cannot be kept (a bad mask)."""
        try:
            written = self.session.decide(
                self.current.row.id,
                status,
                mask=mask,
                proposal=proposal,
                note=self.panel.note_text(),
                effort=self.model.effort,
            )
        except Exception as error:
            message = user_message(error)
            if message is None:
                raise
            if not can_be_written_later(error):
                self.message.emit(f"Not saved: {message}")
                return False
            self.model.mark_saved()  # in the session's memory: leaving the image loses nothing
            self._still_unwritten(message)
            return True
        self.model.mark_saved()
        self._show_written(written)
        return True

    def retry_unwritten(self) -> None:
        """Write the decisions kept in memory, if there are any and it can be done now."""
        if self.session is None or not len(self.session.pending):
            return
        try:
            written = self.session.write_pending()
        except Exception as error:
            message = user_message(error)
            if message is None:
                raise
            self._still_unwritten(message)
            return
        self._show_written(written)

    def _still_unwritten(self, why: str) -> None:
        count = len(self.session.pending)
        if not count:
            return
        self._retry.start()
        self.unwritten.emit(
            f"{count} decision{'s' if count > 1 else ''} not written yet, kept until they can be: {why}"
        )

    def _show_written(self, image_ids: list[int]) -> None:
        for image_id in image_ids:
            row = self.session.workspace.image(image_id)
            if self.current is not None and self.current.row.id == image_id:
                self.current.row = row
                self.panel.show_row(row)
            self.rowChanged.emit(row)
        if image_ids and not len(self.session.pending) and self._retry.isActive():
            self._retry.stop()
            self.allWritten.emit()


def _read_view(session: ReviewSession, image_id: int, display: DisplaySettings):
    """On the loader thread: the image, its heatmap and review, the display scale to show it on, and
    the proposal at the threshold on screen (a large image's grown mask is not made on the GUI thread)."""
    view = session.view(image_id)
    ahead = proposal_ahead(view.heatmap, view.pixels8.shape, display.threshold, display.min_region_area)
    return view, session.model_id(), view.scale, ahead  # the scale `view.heatmap` was normalised with


def _read_prediction(session: ReviewSession, image_id: int, display: DisplaySettings, shape: tuple[int, ...]):
    """On the loader thread: the image's row, and its heatmap, display scale and proposal if the active
    model has one."""
    row = session.workspace.image(image_id)
    model_id = session.model_id()
    heatmap, stats, first_look = session.heatmap_for(image_id)
    if heatmap is None:
        return row, model_id, None, None, None, False
    ahead = proposal_ahead(stats.normalise(heatmap), shape, display.threshold, display.min_region_area)
    return row, model_id, heatmap, stats, ahead, first_look


def first_look_label(model_id: str | None) -> str:
    return "first look (low resolution), full result coming" + (f": {model_id}" if model_id else "")
