"""Window/level of the image on screen, and the reviewer's window kept per workspace (Qt-free).

The image keeps its full range in memory (16-bit photographs, CT in
Hounsfield units); what is shown is that range seen through a window
(centre, width). The reviewer drags it (right button: horizontal = width,
vertical = level, as in cornerstone/OHIF: right widens, down raises the level
and darkens), picks a preset, or asks for percentiles. 8-bit photos start
"as stored"; a window still helps with a dark one.

The window the reviewer chose is kept in the workspace (`current_window`),
so the next slice of a series opens in it, and the detector can take "the
current window" as its input. A choice applies to images of the kind it was
made on: a CT window means nothing to an 8-bit photo.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zsad_desktop.app.workspace.detector_input import DISPLAY_WINDOW_SETTING
from zsad_desktop.imaging.loaded import LoadedImage
from zsad_desktop.imaging.window import PRESETS, apply_window, full_range_window, percentile_window

if TYPE_CHECKING:
    from zsad_desktop.app.workspace.workspace import Workspace

log = logging.getLogger(__name__)

SETTING = DISPLAY_WINDOW_SETTING  # detector_input reads it as "the current window" too
AS_STORED, FILE_DEFAULT, AUTO, FULL_RANGE = "As stored", "File default", "Auto (percentiles)", "Full range"
PER_IMAGE = (AS_STORED, FILE_DEFAULT, AUTO, FULL_RANGE)  # remembered by name: worked out again for each image
DRAG_PIXELS = 1024  # a drag this long moves the window by the whole data range (cornerstone's scale)
PHOTO_8BIT, WIDE, HOUNSFIELD = "8-bit", "wide", "hounsfield"  # image kinds a remembered window applies to


@dataclass(frozen=True)
class Window:
    """Values from centre - width/2 (black) to centre + width/2 (white)."""

    centre: float
    width: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.centre) and np.isfinite(self.width) and self.width > 0):
            raise ValueError(
                f"a window needs a finite centre and a positive width, not ({self.centre}, {self.width})"
            )

    def readout(self) -> str:
        return f"W {_number(self.width)} L {_number(self.centre)}"

    def as_tuple(self) -> tuple[float, float]:
        return float(self.centre), float(self.width)


@dataclass(frozen=True)
class WindowChoice:
    """What the reviewer picked: a window, the preset it came from ("" when dragged), the image kind
    it was made on ("": set without an image, e.g. by a script; applies to every image of more than 8 bits)."""

    window: Window
    preset: str = ""
    kind: str = ""


def image_kind(loaded: LoadedImage) -> str:
    if loaded.pixels.dtype == np.uint8:
        return PHOTO_8BIT
    ct = (
        loaded.modality == "dicom" and loaded.label.split(" ", 1)[0].upper() == "CT"
    )  # the label starts with Modality
    return HOUNSFIELD if ct and loaded.pixels.ndim == 2 else WIDE


class WindowLevel:
    """One image's full-range pixels and the window it is shown through (None: 8-bit as stored)."""

    def __init__(
        self,
        pixels: np.ndarray,
        bit_depth: int,
        kind: str,
        default_window: tuple[float, float] | None = None,
        data_range: tuple[float, float] | None = None,
        modality: str = "photo",
    ):
        if kind not in (PHOTO_8BIT, WIDE, HOUNSFIELD):
            raise ValueError(f"image kind is {PHOTO_8BIT!r}, {WIDE!r} or {HOUNSFIELD!r}, not {kind!r}")
        self.pixels = pixels
        self.bit_depth = bit_depth
        self.kind = kind
        self.modality = modality  # as the loader says: "photo" or "dicom"
        self.file_window = None if default_window is None else Window(*default_window)
        self.data_range = data_range or _data_range(pixels)
        self._auto: Window | None = None
        self.window: Window | None = None
        self.preset = ""
        self.reset()

    @classmethod
    def of(cls, loaded: LoadedImage) -> WindowLevel:
        """Built where the image is read (the loader thread): the data range scans every pixel."""
        return cls(
            loaded.pixels,
            loaded.bit_depth,
            image_kind(loaded),
            loaded.default_window,
            modality=loaded.modality,
        )

    # what is offered ------------------------------------------------------------------------
    def presets(self) -> list[str]:
        if self.kind == PHOTO_8BIT:
            return [AS_STORED, AUTO]
        ct = list(PRESETS) if self.kind == HOUNSFIELD else []
        return [FILE_DEFAULT, *ct, AUTO, FULL_RANGE]

    def window_of(self, name: str) -> Window | None:
        """The window a preset gives this image (None: as stored)."""
        if name not in self.presets():
            raise ValueError(
                f"no window preset {name!r} for this image; choose one of {', '.join(self.presets())}"
            )
        if name == AS_STORED:
            return None
        if name == FILE_DEFAULT:
            return self.file_window or self._percentiles()
        if name == AUTO:
            return self._percentiles()
        if name == FULL_RANGE:
            return self._full_range()
        return Window(*PRESETS[name])

    @property
    def shown(self) -> Window:
        """The window in effect, also when the image is shown as stored (0..255)."""
        return self.window or Window(127.5, 255.0)

    def readout(self) -> str:
        """The readout, e.g. "W 80 L 40": whole numbers, unless the values span less than 50 (floats in 0..1)."""
        low, high = self.data_range
        if high - low >= 50 or self.kind != WIDE:
            return f"W {self.shown.width:.0f} L {self.shown.centre:.0f}"
        return self.shown.readout()

    # changing it -------------------------------------------------------------------------------
    def use(self, name: str) -> Window | None:
        self.window, self.preset = self.window_of(name), name
        return self.window

    def set(self, window: Window, preset: str = "") -> Window:
        self.window, self.preset = window, preset
        return window

    def reset(self) -> Window | None:
        return self.use(self.presets()[0])

    def dragged(self, start: Window, dx: float, dy: float) -> Window:
        """`start` moved by a drag of (dx, dy) screen pixels: right widens, down raises the level."""
        low, high = self.data_range
        span = high - low if high > low else 1.0
        step = span / DRAG_PIXELS
        smallest = 1.0 if self.kind != WIDE or self.pixels.dtype.kind in "uib" else span / DRAG_PIXELS
        width = max(smallest, start.width + dx * step)
        centre = min(
            max(start.centre + dy * step, low - span), high + span
        )  # never dragged out of sight for good
        return Window(centre, width)

    def choice(self) -> WindowChoice | None:
        """What to remember for the workspace; None for the image's own default."""
        if self.preset == self.presets()[0]:
            return None
        return WindowChoice(self.shown, self.preset, self.kind)

    def follow(self, choice: WindowChoice | None) -> None:
        """Show this image through the workspace's window, if it was chosen on this kind of image."""
        if choice is None or choice.kind != self.kind and (choice.kind or self.kind == PHOTO_8BIT):
            return
        if choice.preset in PER_IMAGE and choice.preset in self.presets():
            self.use(choice.preset)
        else:
            self.set(choice.window, choice.preset if choice.preset in self.presets() else "")

    # drawing -----------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """The 8-bit view through the current window: (H, W) grey or (H, W, 3) colour (`render8`)."""
        return render8(self.pixels, self.window)

    def _percentiles(self) -> Window:
        if self._auto is None:
            self._auto = Window(*percentile_window(self.pixels))
        return self._auto

    def _full_range(self) -> Window:
        if self.pixels.dtype.kind == "u" and 0 < self.bit_depth <= 8 * self.pixels.dtype.itemsize:
            return Window(*full_range_window(self.bit_depth))
        low, high = self.data_range
        return Window((low + high) / 2, max(high - low, 1e-6))


def render8(pixels: np.ndarray, window: Window | None) -> np.ndarray:
    """Full-range pixels as uint8 through `window` (None leaves uint8 as stored): (H, W) for grey
    images, one byte a pixel (a 20,000 px grey scan shows in 400 MB, not 1.2 GB), (H, W, 3) for colour."""
    if window is not None or pixels.dtype != np.uint8:
        window = window or Window(*percentile_window(pixels))
        pixels = apply_window(pixels, window.centre, window.width)
    return np.ascontiguousarray(pixels if pixels.ndim == 2 else pixels[..., :3])


# the workspace's window ----------------------------------------------------------------------------
def chosen_window(workspace: Workspace) -> WindowChoice | None:
    """The reviewer's window choice of this workspace, or None (every image its own default)."""
    return _as_choice(workspace.setting(SETTING, None))


def current_window(workspace: Workspace) -> Window | None:
    """The window the reviewer chose in this workspace (what the detector's "current window" input uses)."""
    choice = chosen_window(workspace)
    return None if choice is None else choice.window


def remember_window(workspace: Workspace, choice: WindowChoice | None) -> None:
    value = (
        None if choice is None else {**asdict(choice.window), "preset": choice.preset, "kind": choice.kind}
    )
    workspace.set_setting(SETTING, value)


def set_current_window(workspace: Workspace, window: Window | tuple[float, float] | None) -> None:
    """Keep `window` for every image of the workspace (None: each image its own default)."""
    if window is not None and not isinstance(window, Window):
        window = Window(*window)
    remember_window(workspace, None if window is None else WindowChoice(window))


def _as_choice(value: Any) -> WindowChoice | None:
    try:
        if value is None:
            return None
        if isinstance(value, dict):
            return WindowChoice(
                Window(float(value["centre"]), float(value["width"])),
                str(value.get("preset", "")),
                str(value.get("kind", "")),
            )
        centre, width = value  # [centre, width], as older versions and scripts store it
        return WindowChoice(Window(float(centre), float(width)))
    except (
        KeyError,
        TypeError,
        ValueError,
    ) as error:  # a damaged setting: every image its default, and say so
        log.warning("workspace setting %s ignored (%s): %r", SETTING, error, value)
        return None


def _data_range(pixels: np.ndarray) -> tuple[float, float]:
    if pixels.size == 0:
        return 0.0, 1.0
    if pixels.dtype.kind == "f":
        low, high = np.nanmin(pixels), np.nanmax(pixels)
        if not (
            np.isfinite(low) and np.isfinite(high)
        ):  # NaN or inf here and there: the finite values' range
            finite = pixels[np.isfinite(pixels)]
            return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        return float(low), float(high)
    return float(pixels.min()), float(pixels.max())


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3g}"
