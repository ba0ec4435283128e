"""The window's side of "most informative first": refresh the stored scores in the background when the
active version's predictions settle or the order is chosen, and the "next" key's informative mode."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from zsad_desktop.app.review.informative_order import next_most_informative, queue_informativeness
from zsad_desktop.app.user_errors import USER_ERRORS
from zsad_desktop.ui.prediction import describe_error


class InformativeController(QObject):
    _computed = Signal(int)  # emitted from the job's worker thread, received on the GUI thread
    _failed = Signal(object)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._computed.connect(self._arrived)
        self._failed.connect(
            lambda error: window.show_error(f"Most informative order: {describe_error(error)}")
        )
        window.filter_bar.sort.currentTextChanged.connect(lambda _text: self._order_chosen())

    def _informative_sorted(self) -> bool:
        return self.window.filter_bar.query(0.0).order == "informative"

    def _order_chosen(self) -> None:
        if self._informative_sorted() or self.window.filter_bar.next_informative.isChecked():
            self.refresh()

    def refresh(self) -> None:
        """Queue the computation (after the predictions already queued); the gallery follows when it is done."""
        session = self.window.session
        if session is not None:
            queue_informativeness(session.queue, session.workspace, self._computed.emit, self._failed.emit)

    def _arrived(self, count: int) -> None:
        if count and self._informative_sorted():
            self.window.reload_gallery()

    def step_next(self) -> bool:
        """In the informative mode, show the most informative unreviewed image; False to step as usual."""
        session = self.window.session
        if session is None or not self.window.filter_bar.next_informative.isChecked():
            return False
        try:
            row = next_most_informative(session.workspace)
        except USER_ERRORS as error:
            self.window.show_error(str(error))
            return False
        return row is not None and self.window.left.select_image(row.id)
