"""The reviewer's mask and its edits, without Qt.

Each edit is a command that stores only the rectangle it changed (before and
after), so undo and redo cost memory in proportion to the edit, not to the
image: a brush dab on a 4000 x 4000 radiograph keeps a few hundred bytes.
Strokes and polygons are drawn into the rectangle they can touch only. The
window draws; this module decides what the pixels become.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from zsad_desktop.imaging.masks import connected_regions, fill_holes

HISTORY_EDITS = 200
HISTORY_BYTES = 64 * 1024 * 1024  # the oldest edits go first beyond this


@dataclass(frozen=True)
class MaskDelta:
    """One edit: the changed rectangle at (top, left), before and after."""

    top: int
    left: int
    before: np.ndarray
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.top, self.left, *self.before.shape)

    def window_in(self, mask: np.ndarray) -> np.ndarray:
        h, w = self.before.shape
        return mask[self.top : self.top + h, self.left : self.left + w]


@dataclass(frozen=True)
class Region:
    """A connected region of a proposed mask, as the regions list shows it."""

    label: int
    area: int
    peak: float  # highest heatmap value inside (display scale 0..1)
    box: tuple[int, int, int, int]  # left, top, width, height
    crop: np.ndarray  # bool, the region's pixels inside `box`
    shape: tuple[int, int]  # the image's

    @property
    def pixels(self) -> np.ndarray:
        """The region as a mask the size of the image."""
        full = np.zeros(self.shape, bool)
        left, top, width, height = self.box
        full[top : top + height, left : left + width] = self.crop
        return full

    @property
    def centre(self) -> tuple[float, float]:
        left, top, width, height = self.box
        return left + width / 2, top + height / 2

    def inside(self, mask: np.ndarray) -> bool:
        """Whether all of the region is in `mask`."""
        left, top, width, height = self.box
        return bool(mask[top : top + height, left : left + width][self.crop].all())

    def contains(self, x: int, y: int) -> bool:
        left, top, width, height = self.box
        return left <= x < left + width and top <= y < top + height and bool(self.crop[y - top, x - left])


class MaskEditor:
    """A bool mask with undoable edits. `edited` says whether there is anything unsaved."""

    def __init__(
        self,
        shape: tuple[int, int],
        mask: np.ndarray | None = None,
        history_edits: int = HISTORY_EDITS,
        history_bytes: int = HISTORY_BYTES,
    ):
        self.mask = np.zeros(shape, bool)
        self._undo: list[MaskDelta] = []
        self._redo: list[MaskDelta] = []
        self.history_edits = history_edits
        self.history_bytes_limit = history_bytes
        self.edited = False
        #: (top, left, height, width) the last edit, undo or redo touched; None after a reset (all of it)
        self.changed_box: tuple[int, int, int, int] | None = None
        self.reset(mask)

    def reset(self, mask: np.ndarray | None = None, copy: bool = True) -> None:
        """Start again from `mask` (or empty): no history, nothing unsaved. `copy=False` takes the
        array itself (one made for this editor alone)."""
        if mask is not None:
            mask = np.asarray(mask, bool)
            if mask.shape != self.mask.shape:
                raise ValueError(
                    f"mask of shape {mask.shape} does not fit an image of shape {self.mask.shape}"
                )
            self.mask = sparse_copy(mask) if copy else mask
        else:
            self.mask = np.zeros(self.mask.shape, bool)  # not zeros_like: untouched pages cost nothing
        self._undo.clear()
        self._redo.clear()
        self.edited = False
        self.changed_box = None

    # editing ------------------------------------------------------------------
    def _commit(self, top: int, left: int, new: np.ndarray) -> bool:
        """Write `new` over the window at (top, left), keeping only the rectangle that changed."""
        h, w = new.shape
        old = self.mask[top : top + h, left : left + w]
        changed = np.argwhere(new != old)
        if changed.size == 0:
            return False
        (t, lft), (b, r) = changed.min(axis=0), changed.max(axis=0) + 1
        delta = MaskDelta(top + int(t), left + int(lft), old[t:b, lft:r].copy(), new[t:b, lft:r].copy())
        delta.window_in(self.mask)[...] = delta.after
        self.changed_box = delta.box
        self._undo.append(delta)
        self._trim_history()
        self._redo.clear()
        self.edited = True
        return True

    def _trim_history(self) -> None:
        del self._undo[: -self.history_edits]
        while len(self._undo) > 1 and self.history_bytes() > self.history_bytes_limit:
            self._undo.pop(0)

    def _window_around(self, points: np.ndarray, margin: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the points plus a margin, clipped to the image."""
        h, w = self.mask.shape
        left = int(max(0, np.floor(points[:, 0].min()) - margin))
        top = int(max(0, np.floor(points[:, 1].min()) - margin))
        right = int(min(w, np.ceil(points[:, 0].max()) + margin + 1))
        bottom = int(min(h, np.ceil(points[:, 1].max()) + margin + 1))
        return top, left, bottom, right

    def brush(self, points: Sequence[tuple[float, float]], radius: float, paint: bool = True) -> bool:
        """A stroke through (x, y) points; `paint=False` is the eraser."""
        if len(points) == 0:
            return False
        pts = np.round(np.asarray(points, np.float64)).astype(np.int64)
        r = max(0, int(round(radius)))
        top, left, bottom, right = self._window_around(pts, r + 1)
        if top >= bottom or left >= right:
            return False  # entirely outside the image
        window = self.mask[top:bottom, left:right].astype(np.uint8)
        local = [(int(x - left), int(y - top)) for x, y in pts]
        value = 1 if paint else 0
        thickness = max(1, 2 * r)
        for a, b in zip(local, local[1:]):
            cv2.line(window, a, b, value, thickness=thickness, lineType=cv2.LINE_8)
        for p in local:
            cv2.circle(window, p, r, value, thickness=-1)
        return self._commit(top, left, window.astype(bool))

    def polygon(self, points: Sequence[tuple[float, float]], paint: bool = True) -> bool:
        if len(points) < 3:
            return False
        pts = np.round(np.asarray(points, np.float64)).astype(np.int64)
        top, left, bottom, right = self._window_around(pts, 1)
        if top >= bottom or left >= right:
            return False
        window = self.mask[top:bottom, left:right].astype(np.uint8)
        local = (pts - np.array([left, top])).astype(np.int32)
        cv2.fillPoly(window, [local], 1 if paint else 0)
        return self._commit(top, left, window.astype(bool))

    def fill_holes(self) -> bool:
        return self._commit(0, 0, fill_holes(self.mask))

    def write(self, top: int, left: int, window: np.ndarray) -> bool:
        """Set the rectangle at (top, left) to `window` (a corrected crop), as one undoable edit."""
        window = np.asarray(window, bool)
        h, w = self.mask.shape
        if top < 0 or left < 0 or top + window.shape[0] > h or left + window.shape[1] > w:
            raise ValueError(
                f"a {window.shape[0]} x {window.shape[1]} window at ({top}, {left}) does not fit "
                f"an image of shape {self.mask.shape}"
            )
        return self._commit(top, left, window)

    def clear(self) -> bool:
        return self._commit(0, 0, np.zeros_like(self.mask))

    def replace(self, mask: np.ndarray) -> bool:
        """Set the whole mask (e.g. the proposal again), as one undoable edit."""
        mask = np.asarray(mask, bool)
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask of shape {mask.shape} does not fit an image of shape {self.mask.shape}")
        return self._commit(0, 0, mask)

    def include(self, pixels: np.ndarray, top: int = 0, left: int = 0) -> bool:
        """Add a region (a proposed one the reviewer accepts); `pixels` may be a crop placed at (top, left)."""
        return self._set_pixels(pixels, True, top, left)

    def exclude(self, pixels: np.ndarray, top: int = 0, left: int = 0) -> bool:
        """Take a region out (a proposed one the reviewer removes)."""
        return self._set_pixels(pixels, False, top, left)

    def _set_pixels(self, pixels: np.ndarray, value: bool, top: int, left: int) -> bool:
        pixels = np.asarray(pixels, bool)
        found = np.argwhere(pixels)
        if found.size == 0:
            return False
        (t, lft), (b, r) = found.min(axis=0), found.max(axis=0) + 1
        top, left = top + int(t), left + int(lft)
        window = self.mask[top : top + (b - t), left : left + (r - lft)].copy()
        window[pixels[t:b, lft:r]] = value
        return self._commit(top, left, window)

    def remove_region_at(self, x: int, y: int) -> bool:
        """Remove the connected region of the reviewer's mask under (x, y)."""
        h, w = self.mask.shape
        if not (0 <= y < h and 0 <= x < w) or not self.mask[y, x]:
            return False
        labels, _ = connected_regions(self.mask)
        return self.exclude(labels == labels[y, x])

    # history --------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        delta = self._undo.pop()
        delta.window_in(self.mask)[...] = delta.before
        self.changed_box = delta.box
        self._redo.append(delta)
        self.edited = True
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        delta = self._redo.pop()
        delta.window_in(self.mask)[...] = delta.after
        self.changed_box = delta.box
        self._undo.append(delta)
        self.edited = True
        return True

    @property
    def last_edit(self) -> MaskDelta | None:
        """The edit undo would take back next."""
        return self._undo[-1] if self._undo else None

    def where(self, delta: MaskDelta) -> str | None:
        """ "undo" while `delta` is in effect, "redo" while it is undone, None once it is forgotten."""
        if any(d is delta for d in self._undo):
            return "undo"
        if any(d is delta for d in self._redo):
            return "redo"
        return None

    def history_bytes(self) -> int:
        return sum(d.nbytes for d in self._undo) + sum(d.nbytes for d in self._redo)


def sparse_copy(mask: np.ndarray) -> np.ndarray:
    """A copy of a bool mask that writes only the rows with something in them: a fresh zero array
    takes no memory until written, so a 20,000 px image's proposal of a few spots copies in
    milliseconds and holds a few megabytes, not 400 MB."""
    out = np.zeros(mask.shape, bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size:
        breaks = np.flatnonzero(np.diff(rows) > 1)
        for first, last in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]]):
            out[first : last + 1] = mask[first : last + 1]
    return out


def threshold_mask(heatmap01: np.ndarray, threshold: float, min_area: int = 0) -> np.ndarray:
    """Heatmap (display scale 0..1) at or above `threshold`, without regions smaller than `min_area` pixels."""
    mask = np.asarray(heatmap01) >= threshold
    if min_area > 0:
        labels, count = connected_regions(mask)
        if count:
            areas = np.bincount(labels.ravel())
            small = np.flatnonzero(areas < min_area)
            mask &= ~np.isin(labels, small[small > 0])
    return mask


def label_regions(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, tuple[int, int]]:
    """OpenCV's connected components (8-connected) of `mask`, labelled on its bounding box only (a
    proposal of a few spots is a few pixels to label, not the image): (count, labels of the box,
    stats in `mask`'s coordinates, (top, left) of the box)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 1, np.zeros((0, 0), np.int32), np.zeros((1, 5), np.int32), (0, 0)
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[top:bottom].any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask[top:bottom, left:right].astype(np.uint8), connectivity=8
    )
    stats = stats.copy()
    stats[:, 0] += left
    stats[:, 1] += top
    return count, labels, stats, (top, left)


def mask_regions(
    mask: np.ndarray, heatmap01: np.ndarray | None = None, limit: int | None = None
) -> list[Region]:
    """The connected regions of `mask`, the strongest (highest heatmap peak, then largest) first
    (a very large image's reduced map: `reduced_proposal.reduced_regions`)."""
    mask = np.asarray(mask, bool)
    count, labels, stats, (y0, x0) = label_regions(mask)
    regions = []
    for label in range(1, count):
        left, top, width, height, area = (int(v) for v in stats[label])
        crop = labels[top - y0 : top - y0 + height, left - x0 : left - x0 + width] == label
        peak = (
            float(heatmap01[top : top + height, left : left + width][crop].max())
            if heatmap01 is not None
            else 1.0
        )
        regions.append(Region(label, area, peak, (left, top, width, height), crop, mask.shape))
    return strongest(regions, limit)


def strongest(regions: list[Region], limit: int | None) -> list[Region]:
    """The regions sorted strongest first (highest heatmap peak, then largest), at most `limit`."""
    regions.sort(key=lambda r: (-r.peak, -r.area))
    return regions[:limit] if limit is not None else regions
