"""The click tool on the image on screen: the reviewer's clicks, and the corrections they make (Qt-free).

Each click says "defect here" (positive) or "not defect here" (negative). It
re-segments the neighbourhood around it (`click_correction`) from what the
reviewer sees: the windowed 8-bit view, the heatmap at image coordinates
(None before a prediction), the current mask and every click so far. Only
that neighbourhood is read and written, so a click on a 20,000 px image costs
what it costs on a small one.

The work runs on a thread of its own; the clicks are the state, so a click
made while the previous one is still computing is not lost: the newer
computation takes every click not yet applied, the older result is dropped,
and each click still lands as one undoable edit. "Snap to edges" goes the same
way. Undoing a click's edit hides its dot (and its constraint) until redone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from zsad_desktop.app.viewer.click_correction import Click
from zsad_desktop.app.viewer.click_crops import SNAP, Result, correct
from zsad_desktop.app.viewer.click_models import EDGES_MODEL, ClickModel, SamClickModel, choose_click_model
from zsad_desktop.app.viewer.latest_render import LatestRender
from zsad_desktop.app.viewer.mask_editing import MaskDelta
from zsad_desktop.detection.interface import DetectorError


class ShowsClicks(Protocol):
    """What the session needs of the viewer model (which owns it, so it is not imported here)."""

    image: Any  # ImageLayer: pixels8, shape
    heatmap: Any  # HeatmapLayer: display
    editor: Any  # MaskEditor or None
    effort: Any  # Effort: clicks, snaps
    events: Any  # emit(name, *args)

    def write_mask_window(self, top: int, left: int, window: np.ndarray) -> bool: ...


@dataclass
class _Placed:
    click: Click
    edit: MaskDelta | None  # None: the click changed nothing, its constraint stays
    state: str | None = "undo"  # where its edit was last seen in the editor's history


class ClickSession:
    """Events on the model: "clicks" () when the dots change, "message" (text) for the status bar."""

    def __init__(self, model: ShowsClicks):
        self._model = model
        #: runs a call on the thread that owns the view; a Qt view sets it (by default: right here)
        self.post: Callable[[Callable[[], None]], None] = lambda call: call()
        self._worker = LatestRender("click-correction")
        self._lock = threading.Lock()
        self._ready: tuple[int, Any, list[Result], str | None] | None = None
        self._editor: Any = None  # the editor (image) the clicks belong to
        self._placed: list[_Placed] = []
        self._pending: list[Click | str] = []
        #: what turns clicks into a mask (`use_click_model` changes it)
        self.click_model: ClickModel = EDGES_MODEL
        model.events.connect("image", self._image_shown)
        model.events.connect("mask", lambda _box: self._follow_history())

    # what is shown ---------------------------------------------------------------------------
    @property
    def clicks(self) -> list[Click]:
        """The clicks in effect, applied or on their way, oldest first (the dots on screen)."""
        self._check_image()
        in_effect = [p.click for p in self._placed if p.state != "redo"]
        return in_effect + [op for op in self._pending if isinstance(op, Click)]

    @property
    def pending(self) -> bool:
        """A click or snap is still being computed."""
        return bool(self._pending)

    # the reviewer's actions --------------------------------------------------------------------
    def click(self, x: float, y: float, positive: bool = True) -> bool:
        """A click at image pixel (x, y); False (and a message) if it cannot be taken."""
        if not self._usable("correct with clicks"):
            return False
        height, width = self._model.image.shape
        ix, iy = int(np.floor(x)), int(np.floor(y))
        if not (0 <= ix < width and 0 <= iy < height):
            self._say(f"That click is outside the image ({width} x {height} pixels): nothing changed")
            return False
        self._pending.append(Click(ix, iy, bool(positive)))
        self._model.effort.clicks += 1
        self._model.events.emit("clicks")
        self._submit()
        return True

    def snap(self) -> bool:
        """Tighten the mask to the image's edges within a band around its outline (one edit)."""
        if not self._usable("snap to edges"):
            return False
        if not self._model.editor.mask.any() and SNAP not in self._pending:
            self._say("Nothing to snap: the mask is empty")
            return False
        self._pending.append(SNAP)
        self._model.effort.snaps += 1
        self._submit()
        return True

    def use_click_model(self, name: str, checkpoint: str = "", device: str = "auto") -> bool:
        """Turn the clicks into masks with the model named (edges or sam); False, with a message saying
        what would enable it, when it cannot be used (the model in use stays)."""
        try:
            chosen = choose_click_model(name, checkpoint, device)
        except (ValueError, DetectorError) as error:  # unknown name; SAM without weights or package
            self._say(str(error))
            return False
        if chosen.key != self.click_model.key:  # the same SAM keeps its loaded weights and embeddings
            self.click_model = chosen
        if isinstance(self.click_model, SamClickModel):  # its first click on an image is slow: say so
            self.click_model.notice = lambda text: self.post(lambda: self._say(text))
        return True

    def clear(self) -> None:
        """Forget the clicks (and any still computing); the mask stays as it is."""
        self._worker.done(self._worker.ticket())
        self._placed, self._pending = [], []
        self._model.events.emit("clicks")

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for the clicks on their way and apply them now (a decision saves what they make)."""
        if not self._pending:
            return True
        arrived = self._worker.drain(timeout)
        self.apply_ready()
        return arrived

    # bookkeeping ---------------------------------------------------------------------------------
    def _usable(self, what: str) -> bool:
        self._check_image()
        shape = self._model.image.shape
        if self._model.editor is None or shape is None:
            self._say(f"Open an image first: there is nothing to {what}")
            return False
        if min(shape) < 2:
            self._say(f"The image is {shape[1]} x {shape[0]} pixels: too small to {what}; use the brush")
            return False
        return True

    def _say(self, text: str) -> None:
        self._model.events.emit("message", text)

    def _check_image(self) -> None:
        if self._editor is not self._model.editor:  # another image: its clicks are not this one's
            self._worker.done(self._worker.ticket())
            self._editor, self._placed, self._pending = self._model.editor, [], []

    def _image_shown(self) -> None:
        if self._editor is not self._model.editor:
            self._check_image()
            self._model.events.emit("clicks")

    def _follow_history(self) -> None:
        """After an undo, a click whose edit was taken back is hidden; once its edit can no longer be
        redone (a new edit after the undo), it is gone."""
        editor, before = self._model.editor, [p.state for p in self._placed]
        if editor is None or editor is not self._editor:
            return
        kept = []
        for placed in self._placed:
            state = placed.state if placed.edit is None else editor.where(placed.edit)
            if not (state is None and placed.state == "redo"):
                placed.state = "undo" if state is None else state  # one trimmed off the history stays
                kept.append(placed)
        self._placed = kept
        if [p.state for p in kept] != before:
            self._model.events.emit("clicks")

    # the work --------------------------------------------------------------------------------------
    def _submit(self) -> None:
        model = self._model
        ops = list(self._pending)
        in_effect = [p.click for p in self._placed if p.state != "redo"]
        pixels8, display, mask, editor, click_model = (
            model.image.pixels8,
            model.heatmap.display,
            model.editor.mask,
            model.editor,
            self.click_model,
        )
        self._worker.submit(
            lambda: correct(ops, in_effect, pixels8, display, mask, click_model),
            lambda ticket, made: self._deliver(ticket, editor, made),
        )

    def _deliver(self, ticket: int, editor: Any, made: tuple[list[Result], str | None]) -> None:
        with self._lock:
            self._ready = (ticket, editor, *made)
        self.post(self.apply_ready)

    def apply_ready(self) -> None:
        """On the view's thread: apply what arrived (each operation one edit), unless superseded."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is None:
            return
        ticket, editor, results, error = ready
        if not self._worker.is_latest(ticket) or editor is not self._model.editor:
            return
        self._worker.done(ticket)
        for result in results:
            done = self._model.write_mask_window(result.top, result.left, result.window)
            self._pending.remove(result.op)
            if isinstance(result.op, Click):
                self._placed.append(_Placed(result.op, editor.last_edit if done else None))
        if error is not None:
            failed = self._pending.pop(0)  # the applied ones are gone: the first left is the one that failed
            what = "snap" if failed == SNAP else "click"
            counted = "snaps" if failed == SNAP else "clicks"  # an action that did nothing is not effort
            setattr(self._model.effort, counted, max(0, getattr(self._model.effort, counted) - 1))
            self._say(f"The {what} could not be applied ({error}); the mask is unchanged")
            if self._pending:
                self._submit()
        self._model.events.emit("clicks")
