"""The viewer model's window/level: set, drag, presets, auto, reset, and the re-render they cause (Qt-free).

A new window re-renders the 8-bit view of the image on screen: on the spot
for an image up to 2048 x 2048 (a 512 x 512 CT slice takes about a
millisecond, so a drag follows the mouse), on a worker thread above that,
where the newest request wins and stale results are dropped. The result
goes back to the view's thread through `post` and comes out as the model's
"image_refresh" and "image" events. Meanwhile a large image shows a reduced
preview through the new window at once (`ImageLayer.preview`, the
"image_preview" event), so a drag follows the mouse at any size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from zsad_desktop.app.viewer.latest_render import LatestRender
from zsad_desktop.app.viewer.window_level import AUTO, Window, WindowChoice, WindowLevel, render8


class ShowsImage(Protocol):
    """What the control needs of the viewer model (which owns the control, so it is not imported here)."""

    image: Any  # the ImageLayer: levels, pixels8, preview
    events: Any  # emit(name)


SYNC_RENDER_PIXELS = 2048 * 2048
PREVIEW_SIDE = 1024  # the preview's longer side at most: a few milliseconds to window


def reduced(pixels: np.ndarray, side: int | None = None) -> np.ndarray:
    """Every n-th pixel of each n-th row, at most `side` (PREVIEW_SIDE) on the longer side: a view, nothing copied."""
    step = max(1, -(-max(pixels.shape[:2]) // (side or PREVIEW_SIDE)))
    return pixels[::step, ::step]


class WindowControl:
    def __init__(self, model: ShowsImage):
        self._model = model
        #: runs a call on the thread that owns the view; a Qt view sets it (by default: right here)
        self.post: Callable[[Callable[[], None]], None] = lambda call: call()
        #: told each window the reviewer settles on (None: back to the image's default), to keep it
        self.chosen: Callable[[WindowChoice | None], None] | None = None
        self._renders = LatestRender()
        self._drag_start: Window | None = None

    @property
    def levels(self) -> WindowLevel | None:
        return self._model.image.levels

    @property
    def current(self) -> Window | None:
        """The window in effect (8-bit as stored: 127.5 / 255); None without an image."""
        return None if self.levels is None else self.levels.shown

    @property
    def rendering(self) -> bool:
        """A re-windowed view is still on its way to the screen."""
        return self._renders.busy

    def wait_rendered(self, timeout: float | None = None) -> bool:
        """Wait until the worker has rendered (or skipped) every window asked for so far; the results
        may still wait in `post` for the view's thread."""
        return self._renders.drain(timeout)

    def forget(self) -> None:
        """Another image: renders and a drag of the one before are moot."""
        self._renders.done(self._renders.ticket())
        self._drag_start = None
        self._model.image.preview = None

    # changing the window -------------------------------------------------------------------
    def set(self, window: Window, preset: str = "", chosen: bool = True) -> bool:
        """Show the image through `window`; `chosen` (not mid-drag) tells `chosen`."""
        if self.levels is None:
            return False
        self.levels.set(window, preset)
        return self._changed(chosen)

    def preset(self, name: str) -> bool:
        """A preset by name (`levels.presets()`); an unknown one raises ValueError."""
        if self.levels is None:
            return False
        self.levels.use(name)
        return self._changed(True)

    def auto(self) -> bool:
        return self.preset(AUTO)

    def reset(self) -> bool:
        """The image's own window (the file's, or 8-bit as stored); the workspace forgets the choice."""
        if self.levels is None:
            return False
        self.levels.reset()
        return self._changed(True)

    def next_preset(self) -> bool:
        if self.levels is None:
            return False
        names = self.levels.presets()
        at = names.index(self.levels.preset) if self.levels.preset in names else -1
        return self.preset(names[(at + 1) % len(names)])

    def begin_drag(self) -> bool:
        self._drag_start = self.current
        return self._drag_start is not None

    def drag(self, dx: float, dy: float) -> bool:
        """(dx, dy): screen pixels since `begin_drag`; right widens, down raises the level."""
        if self.levels is None or self._drag_start is None:
            return False
        return self.set(self.levels.dragged(self._drag_start, dx, dy), chosen=False)

    def end_drag(self) -> bool:
        """The drag's window is the reviewer's choice now."""
        dragged = self._drag_start is not None and self.levels is not None
        self._drag_start = None
        return dragged and self._changed(True, render=False)

    # re-rendering ----------------------------------------------------------------------------
    def _changed(self, chosen: bool, render: bool = True) -> bool:
        levels = self.levels
        if levels is None:  # nothing shown: no window to change
            return False
        if render:
            self._render(levels)
        self._model.events.emit("window")
        if chosen and self.chosen is not None:
            self.chosen(levels.choice())
        return True

    def _render(self, levels: WindowLevel) -> None:
        window = levels.window  # as it is now: the worker must not see later changes
        if levels.pixels.shape[0] * levels.pixels.shape[1] <= SYNC_RENDER_PIXELS:
            self._show(self._renders.ticket(), levels, render8(levels.pixels, window))
            return
        self._model.image.preview = render8(reduced(levels.pixels), window)  # first: the render may be quick
        self._model.events.emit("image_preview")
        self._renders.submit(
            lambda: render8(levels.pixels, window),
            lambda ticket, pixels8: self.post(lambda: self._show(ticket, levels, pixels8)),
        )

    def _show(self, ticket: int, levels: WindowLevel, pixels8: np.ndarray) -> None:
        if not self._renders.is_latest(ticket) or self.levels is not levels:
            return  # a newer window, or another image, is on its way
        self._model.image.pixels8 = pixels8
        self._model.image.preview = None
        self._renders.done(ticket)
        self._model.events.emit("image_refresh")
        self._model.events.emit("image")
