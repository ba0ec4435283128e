"""What the viewer shows, as plain Python layers (after napari's viewer model).

Four layers, bottom to top: the image, the heatmap, the model's proposed mask
(the heatmap above the threshold) and the reviewer's mask. The Qt view
listens to `events` and draws; everything that decides a pixel lives here or
in `mask_editing`, so it is tested without a window.

The heatmap is shown on its model's scale in this workspace
(`NormalisationStats`), never stretched to its own minimum and maximum: a
normal image must look calm next to a defective one.

The image layer keeps the full-range pixels (`WindowLevel`) and the window
they are shown through; `window` (a `WindowControl`) changes it and
re-renders the 8-bit view. `proposals` (a `ProposalControl`) makes the
proposal when the threshold moves: on a worker thread for a large image.
`clicks` (a `ClickSession`) corrects the mask from the reviewer's clicks.
`effort` counts the corrective actions taken on the image since it was shown
or last saved, for the review to store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from zsad_desktop.app.viewer.click_session import ClickSession
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.app.viewer.mask_editing import MaskEditor, Region
from zsad_desktop.app.viewer.proposal import Proposal
from zsad_desktop.app.viewer.proposal_control import ProposalControl
from zsad_desktop.app.viewer.reduced_proposal import fits
from zsad_desktop.app.viewer.window_control import WindowControl
from zsad_desktop.app.viewer.window_level import PHOTO_8BIT, WindowLevel
from zsad_desktop.detection.interface import NormalisationStats
from zsad_desktop.imaging.overlay import COLOUR_MAPS

# Colours that no heatmap colour map uses, so both masks stay visible over any heatmap.
PROPOSAL_RGB = (255, 255, 255)  # outline only
MASK_RGB = (255, 0, 220)


class Events:
    """A small callback hub: the view connects by event name, the model emits."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[..., None]]] = defaultdict(list)

    def connect(self, name: str, callback: Callable[..., None]) -> None:
        self._callbacks[name].append(callback)

    def emit(self, name: str, *args: Any) -> None:
        for callback in list(self._callbacks[name]):
            callback(*args)


@dataclass(frozen=True)
class DisplaySettings:
    """How the layers are drawn; kept between runs."""

    colour_map: str = "jet"
    heatmap_opacity: float = 0.45
    show_heatmap: bool = True
    show_proposal: bool = True
    show_mask: bool = True
    mask_opacity: float = 0.45
    threshold: float = 0.5  # on the display scale 0..1
    min_region_area: int = 0

    def __post_init__(self) -> None:
        if self.colour_map not in COLOUR_MAPS:
            raise ValueError(f"colour map must be one of {', '.join(COLOUR_MAPS)}, not {self.colour_map!r}")
        for name in ("heatmap_opacity", "mask_opacity", "threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)}")


@dataclass
class ImageLayer:
    name = "image"
    pixels8: np.ndarray | None = None  # what is shown: 8 bit, (H, W) grey or (H, W, 3) colour
    levels: WindowLevel | None = None  # the full-range pixels and the window `pixels8` shows them through
    preview: np.ndarray | None = None  # reduced, through a newer window, while `pixels8` is re-rendered

    @property
    def shape(self) -> tuple[int, int] | None:
        return None if self.pixels8 is None else self.pixels8.shape[:2]


@dataclass
class HeatmapLayer:
    """The raw heatmap and the scale it is shown on."""

    name = "heatmap"
    raw: np.ndarray | None = None
    stats: NormalisationStats = field(default_factory=NormalisationStats)
    _display: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def display(self) -> np.ndarray | None:
        """The heatmap mapped to 0..1 with the model's workspace scale (cached)."""
        if self._display is None and self.raw is not None:
            self._display = self.stats.normalise(self.raw)
        return self._display

    def raw_value(self, display_value: float) -> float:
        """A position on the colour bar (0..1) in the model's own units."""
        return self.stats.low + display_value * (self.stats.high - self.stats.low)


@dataclass
class MaskLayer:
    name: str
    colour: tuple[int, int, int]
    data: np.ndarray | None = None


class ViewerModel:
    """Layers of the image on screen, the reviewer's mask editor and the proposal's regions.

    Events (arguments): "image" (), "heatmap" (), "proposal" (), "regions" (),
    "display" (), "mask" (changed box (top, left, height, width) or None for all),
    "proposal_pending" () while a large image's proposal is made on the worker,
    "window" () when the window changes, "image_preview" () when a reduced preview of a re-window is ready, "image_refresh" () just before an "image"
    that only re-windows the image on screen (the view keeps its zoom and position).
    """

    def __init__(self, display: DisplaySettings | None = None):
        self.events = Events()
        self.display = display or DisplaySettings()
        self.image = ImageLayer()
        self.heatmap = HeatmapLayer()
        self.proposal = MaskLayer("proposal", PROPOSAL_RGB)
        self.mask = MaskLayer("reviewer mask", MASK_RGB)
        self.editor: MaskEditor | None = None
        self.regions: list[Region] = []
        self._saved_mask = False
        self._mask_is_proposal = False  # the reviewer's mask was last reset to the proposal shown
        self.window = WindowControl(self)
        self.proposals = ProposalControl(self)
        self.effort = Effort()
        self.clicks = ClickSession(self)

    @property
    def layers(self) -> list[ImageLayer | HeatmapLayer | MaskLayer]:
        """Drawing order, bottom first."""
        return [self.image, self.heatmap, self.proposal, self.mask]

    # what is shown ----------------------------------------------------------------
    def show(
        self,
        pixels8: np.ndarray,
        raw_heatmap: np.ndarray | None = None,
        stats: NormalisationStats | None = None,
        saved_mask: np.ndarray | None = None,
        levels: WindowLevel | None = None,
        ahead: Proposal | None = None,
    ) -> None:
        """A new image. The reviewer's mask starts from their saved mask, else from the proposal.
        `levels` holds its full-range pixels; without, 8-bit `pixels8` are windowed as stored.
        `ahead`: the proposal made on a loader thread (`proposal.proposal_ahead`), used if it still fits."""
        pixels8 = np.asarray(pixels8)
        if levels is None and pixels8.dtype == np.uint8:
            levels = WindowLevel(pixels8, 8, PHOTO_8BIT, data_range=(0.0, 255.0))
        self.window.forget()  # a re-render or drag of the previous image is moot
        self.image = ImageLayer(pixels8, levels)
        self._saved_mask = saved_mask is not None
        self.editor = MaskEditor(pixels8.shape[:2], saved_mask)
        self.effort = Effort()
        self._mask_is_proposal = False  # until the proposal is made and the unedited mask follows it
        self.events.emit("image")
        self.events.emit("window")
        self._set_heatmap(raw_heatmap, stats, ahead)

    def show_nothing(self) -> None:
        """Nothing to show (an unreadable image, no folder open)."""
        self.window.forget()
        self.proposals.forget()
        self.image, self.heatmap = ImageLayer(), HeatmapLayer()
        self.proposal.data = self.mask.data = None
        self.editor, self.regions, self._saved_mask, self._mask_is_proposal = None, [], False, False
        self.effort = Effort()
        for name in ("image", "heatmap", "proposal", "regions", "window"):
            self.events.emit(name)
        self.events.emit("mask", None)

    def set_heatmap(
        self,
        raw_heatmap: np.ndarray | None,
        stats: NormalisationStats | None = None,
        ahead: Proposal | None = None,
    ) -> None:
        """The prediction for the image on screen arrived (or the scale changed)."""
        if self.editor is None:
            return
        self._set_heatmap(raw_heatmap, stats, ahead)

    def _set_heatmap(
        self, raw: np.ndarray | None, stats: NormalisationStats | None, ahead: Proposal | None = None
    ) -> None:
        image_shape = self.image.shape
        if raw is not None and (image_shape is None or not fits(raw.shape, image_shape)):
            raise ValueError(
                f"heatmap of shape {raw.shape} does not fit the image of shape {self.image.shape}"
            )
        self.heatmap = HeatmapLayer(
            None if raw is None else np.asarray(raw, np.float32), stats or NormalisationStats()
        )
        usable = (
            ahead is not None
            and raw is not None
            and ahead.display.shape == raw.shape[:2]
            and ahead.matches(self.display.threshold, self.display.min_region_area)
        )
        if usable and ahead is not None:
            self.heatmap._display = ahead.display  # normalised on the loader thread with the same scale
        else:
            ahead = None
        self.events.emit("heatmap")
        self._propose(ahead)

    @property
    def follows_proposal(self) -> bool:
        """True while the reviewer's mask is still the proposal: the threshold moves it along."""
        return self.editor is not None and not self._saved_mask and not self.editor.can_undo

    def _propose(self, ahead: Proposal | None = None, keep_shown: bool = False) -> None:
        """The proposal of the heatmap on screen at the threshold: `ahead` if given, else made (on a
        worker for a large image). `keep_shown`: the one on screen stays meanwhile (the same heatmap at
        another threshold); else it goes at once, as it belongs to another heatmap or image."""
        if ahead is not None:
            self.proposals.forget()
            self.use_proposal_made(ahead)
        elif self.proposals.request():  # on its way from the worker
            if not keep_shown and self.proposal.data is not None:
                self._show_proposal(None)
            self.events.emit("proposal_pending")

    def _show_proposal(self, made: Proposal | None) -> None:
        self.proposal.data = None if made is None else made.mask
        self.regions = [] if made is None else made.regions
        self.events.emit("proposal")
        self.events.emit("regions")

    def use_proposal_made(self, made: Proposal | None) -> None:
        """Show `made` (None: no proposal); the reviewer's mask follows it unless edited or saved."""
        follow = self.follows_proposal and made is not None
        # before the events: whoever listens sees the mask and the regions agree
        if follow and made is not None and self.editor is not None:  # following implies an editor
            if made.editable is not None:
                self.editor.reset(made.editable, copy=False)  # the worker's copy: this editor's alone
            else:
                self.editor.reset(made.mask)
        self._mask_is_proposal = follow  # an edited mask kept its older proposal, even once undone
        self._show_proposal(made)
        if follow:
            self._mask_changed()

    def set_display(self, **changes: Any) -> None:
        """Change display settings by name (colour_map, heatmap_opacity, threshold, ...)."""
        known = {f.name for f in fields(DisplaySettings)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown display settings: {', '.join(sorted(unknown))}")
        before = self.display
        self.display = replace(before, **changes)
        if (self.display.threshold, self.display.min_region_area) != (
            before.threshold,
            before.min_region_area,
        ):
            self._propose(keep_shown=True)
        self.events.emit("display")

    # the reviewer's mask ----------------------------------------------------------
    def _edit(self, done: bool) -> bool:
        if done:
            self._mask_changed()
        return done

    def _mask_changed(self) -> None:
        self.mask.data = None if self.editor is None else self.editor.mask
        self.events.emit("mask", None if self.editor is None else self.editor.changed_box)

    def _counted(self, done: bool, action: str, count: int = 1) -> bool:
        """`done` edits count as `count` actions of kind `action` (an Effort field)."""
        if done:
            setattr(self.effort, action, getattr(self.effort, action) + count)
        return done

    def paint(self, points: Sequence[tuple[float, float]], radius: float) -> bool:
        done = self.editor is not None and self._edit(self.editor.brush(points, radius, paint=True))
        return self._counted(done, "brush_strokes")

    def erase(self, points: Sequence[tuple[float, float]], radius: float) -> bool:
        done = self.editor is not None and self._edit(self.editor.brush(points, radius, paint=False))
        return self._counted(done, "brush_strokes")

    def add_polygon(self, points: Sequence[tuple[float, float]]) -> bool:
        done = self.editor is not None and self._edit(self.editor.polygon(points))
        return self._counted(done, "polygon_vertices", len(points))

    def write_mask_window(self, top: int, left: int, window: np.ndarray) -> bool:
        """Set the rectangle at (top, left) of the reviewer's mask to `window` (one undoable edit)."""
        return self.editor is not None and self._edit(self.editor.write(top, left, window))

    def fill_holes(self) -> bool:
        return self.editor is not None and self._edit(self.editor.fill_holes())

    def clear(self) -> bool:
        """Empty the reviewer's mask (one undoable edit)."""
        return self.editor is not None and self._edit(self.editor.clear())

    def undo(self) -> bool:
        return self.editor is not None and self._edit(self.editor.undo())

    def redo(self) -> bool:
        return self.editor is not None and self._edit(self.editor.redo())

    def use_proposal(self) -> bool:
        """Replace the reviewer's mask by the proposal (one undoable edit)."""
        if self.editor is None or self.proposal.data is None:
            return False
        return self._edit(self.editor.replace(self.proposal.data))

    def remove_mask_region_at(self, x: float, y: float) -> bool:
        """Remove the reviewer-mask region under the cursor (the region tool)."""
        done = self.editor is not None and self._edit(self.editor.remove_region_at(int(x), int(y)))
        return self._counted(done, "removed_regions")

    # proposed regions, one by one -------------------------------------------------------
    def regions_in_mask(self) -> list[bool]:
        if self.follows_proposal and self._mask_is_proposal:
            return [True] * len(self.regions)  # the mask is the proposal: a wafer-wide region costs no look
        return [self.region_in_mask(i) for i in range(len(self.regions))]

    def region_in_mask(self, index: int) -> bool:
        """Whether the reviewer's mask holds all of proposed region `index`."""
        if self.editor is None:
            return False
        return self.regions[index].inside(self.editor.mask)

    def keep_region(self, index: int, keep: bool = True) -> bool:
        """Accept (add) or remove one proposed region in the reviewer's mask, as one undoable edit."""
        if self.editor is None:
            return False
        region = self.regions[index]
        left, top, _, _ = region.box
        change = self.editor.include if keep else self.editor.exclude
        done = self._edit(change(region.crop, top, left))
        return self._counted(done and not keep, "removed_regions") or done

    def region_at(self, x: float, y: float) -> int | None:
        return next((i for i, region in enumerate(self.regions) if region.contains(int(x), int(y))), None)

    # what a decision saves -----------------------------------------------------------
    @property
    def has_unsaved_edit(self) -> bool:
        return self.editor is not None and self.editor.edited

    def mark_saved(self) -> None:
        if self.editor is not None:
            self.editor.edited = False
        self.effort = Effort()  # saved with the decision: the next one counts from here

    def mask_equals_proposal(self) -> bool:
        return (
            self.editor is not None
            and self.proposal.data is not None
            and bool(np.array_equal(self.editor.mask, self.proposal.data))
        )

    def colour_bar_range(self) -> tuple[float, float]:
        """The colour bar's ends in the model's units."""
        return self.heatmap.stats.low, self.heatmap.stats.high
