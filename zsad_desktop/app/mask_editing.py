"""The reviewer's mask and its edits, without Qt.

Each edit is a command that stores only the changed rectangle (before and
after), so undo and redo cost memory in proportion to the edit, not the
image. The window draws; this module decides what the pixels become.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from zsad_desktop.imaging.masks import connected_regions, fill_holes


@dataclass(frozen=True)
class MaskDelta:
    top: int
    left: int
    before: np.ndarray
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


class MaskEditor:
    def __init__(self, shape: tuple[int, int], mask: np.ndarray | None = None, history_limit: int = 200):
        self.mask = np.zeros(shape, bool) if mask is None else np.asarray(mask, bool).copy()
        self._undo: list[MaskDelta] = []
        self._redo: list[MaskDelta] = []
        self.history_limit = history_limit
        self.edited = False

    # editing ------------------------------------------------------------------
    def _commit(self, new: np.ndarray) -> bool:
        changed = np.argwhere(new != self.mask)
        if changed.size == 0:
            return False
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0) + 1
        delta = MaskDelta(int(top), int(left), self.mask[top:bottom, left:right].copy(), new[top:bottom, left:right].copy())
        self.mask[top:bottom, left:right] = delta.after
        self._undo.append(delta)
        del self._undo[: -self.history_limit]
        self._redo.clear()
        self.edited = True
        return True

    def brush(self, points: Sequence[tuple[float, float]], radius: float, paint: bool = True) -> bool:
        """A stroke through (x, y) points; `paint=False` is the eraser."""
        canvas = self.mask.astype(np.uint8)
        value = 1 if paint else 0
        thickness = max(1, int(round(2 * radius)))
        pts = [(int(round(x)), int(round(y))) for x, y in points]
        for a, b in zip(pts, pts[1:] or pts):
            cv2.line(canvas, a, b, value, thickness=thickness, lineType=cv2.LINE_8)
        for p in pts:
            cv2.circle(canvas, p, max(0, int(round(radius))), value, thickness=-1)
        return self._commit(canvas.astype(bool))

    def polygon(self, points: Sequence[tuple[float, float]], paint: bool = True) -> bool:
        if len(points) < 3:
            return False
        canvas = self.mask.astype(np.uint8)
        cv2.fillPoly(canvas, [np.round(np.asarray(points)).astype(np.int32)], 1 if paint else 0)
        return self._commit(canvas.astype(bool))

    def fill_holes(self) -> bool:
        return self._commit(fill_holes(self.mask))

    def clear(self) -> bool:
        return self._commit(np.zeros_like(self.mask))

    def replace(self, mask: np.ndarray) -> bool:
        """Set the whole mask (e.g. from the threshold), as one undoable edit."""
        return self._commit(np.asarray(mask, bool))

    def remove_region_at(self, x: int, y: int) -> bool:
        labels, _ = connected_regions(self.mask)
        label = labels[int(y), int(x)]
        if label == 0:
            return False
        return self._commit(self.mask & (labels != label))

    def keep_only_region_at(self, x: int, y: int) -> bool:
        labels, _ = connected_regions(self.mask)
        label = labels[int(y), int(x)]
        return self._commit(labels == label) if label else False

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
        h, w = delta.before.shape
        self.mask[delta.top : delta.top + h, delta.left : delta.left + w] = delta.before
        self._redo.append(delta)
        self.edited = True
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        delta = self._redo.pop()
        h, w = delta.after.shape
        self.mask[delta.top : delta.top + h, delta.left : delta.left + w] = delta.after
        self._undo.append(delta)
        self.edited = True
        return True

    def history_bytes(self) -> int:
        return sum(d.nbytes for d in self._undo + self._redo)


def threshold_mask(heatmap01: np.ndarray, threshold: float, min_area: int = 0) -> np.ndarray:
    """Heatmap (normalised 0..1) above `threshold`, dropping regions smaller than `min_area` pixels."""
    mask = heatmap01 >= threshold
    if min_area > 0:
        labels, count = connected_regions(mask)
        if count:
            areas = np.bincount(labels.ravel())
            small = np.flatnonzero(areas < min_area)
            mask &= ~np.isin(labels, small[small > 0])
    return mask
