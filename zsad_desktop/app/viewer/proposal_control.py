"""The proposal at the threshold on screen, made again when the threshold moves (Qt-free).

A small image's proposal is made on the spot (milliseconds). A large one's is
not: a 20,000 px wafer's grown mask and regions take seconds, so a slider
dragged over it would freeze the window. Those are made on a worker thread of
their own where the newest threshold wins (`LatestRender`); the result goes
back to the view's thread through `post` and only then replaces what is shown.
Meanwhile the previous proposal stays on screen and the reviewer may edit: the
mask follows the new proposal only if it still follows the proposal then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from zsad_desktop.app.viewer import proposal as proposals
from zsad_desktop.app.viewer.latest_render import LatestRender
from zsad_desktop.app.viewer.proposal import Proposal

SYNC_PROPOSAL_PIXELS = 2048 * 2048  # images up to this size: the proposal is made on the caller's thread


class ShowsProposal(Protocol):
    """What the control needs of the viewer model (which owns the control, so it is not imported here)."""

    heatmap: Any  # the HeatmapLayer: display
    image: Any  # the ImageLayer: shape
    display: Any  # DisplaySettings: threshold, min_region_area

    def use_proposal_made(self, made: Proposal | None) -> None: ...


class ProposalControl:
    def __init__(self, model: ShowsProposal):
        self._model = model
        #: runs a call on the thread that owns the view; a Qt view sets it (by default: right here)
        self.post: Callable[[Callable[[], None]], None] = lambda call: call()
        self._renders = LatestRender("proposal")
        self._lock = threading.Lock()
        self._ready: tuple[int, Any, Proposal] | None = None

    @property
    def pending(self) -> bool:
        """A proposal for a newer threshold (or heatmap) is still on its way to the screen."""
        return self._renders.busy

    def forget(self) -> None:
        """What is on its way is moot (another image or heatmap, or a proposal made elsewhere)."""
        self._renders.done(self._renders.ticket())

    def request(self) -> bool:
        """Make the proposal for the model's heatmap at its threshold. Returns True when it is made
        on the worker (it is shown later); False when it was made and shown here and now."""
        heatmap, shape = self._model.heatmap, self._model.image.shape
        display01, threshold, min_area = (
            heatmap.display,
            self._model.display.threshold,
            self._model.display.min_region_area,
        )
        if display01 is None or shape is None:
            self.forget()
            self._model.use_proposal_made(None)
            return False
        if shape[0] * shape[1] <= SYNC_PROPOSAL_PIXELS:
            self.forget()
            self._model.use_proposal_made(proposals.make_proposal(display01, shape, threshold, min_area))
            return False
        # The editor's copy is made on the worker too: it is as large as the image.
        self._renders.submit(
            lambda: proposals.make_proposal(display01, shape, threshold, min_area, editable=True),
            lambda ticket, made: self._deliver(ticket, heatmap, made),
        )
        return True

    def _deliver(self, ticket: int, heatmap: Any, made: Proposal) -> None:
        with self._lock:
            self._ready = (ticket, heatmap, made)
        self.post(self.apply_ready)

    def apply_ready(self) -> None:
        """On the view's thread: show the proposal that arrived, unless something newer was asked for since."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is None:
            return
        ticket, heatmap, made = ready
        model = self._model
        if not self._renders.is_latest(ticket) or model.heatmap is not heatmap:
            return
        if not made.matches(model.display.threshold, model.display.min_region_area):
            return
        self._renders.done(ticket)
        model.use_proposal_made(made)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for the proposal on its way and show it now (a decision must save what the threshold
        on screen proposes). False if it did not arrive within `timeout` seconds."""
        if not self.pending:
            return True
        arrived = self._renders.drain(timeout)
        self.apply_ready()
        return arrived
