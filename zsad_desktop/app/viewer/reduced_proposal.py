"""A proposal found on a reduced heatmap (a very large image): grown to the image, its regions lazily.

The review window holds a 20,000 px image's heatmap at most 4096 px a side. The
proposal is thresholded there; the mask the reviewer edits is that proposal
grown to the image's size by nearest pixel, written only where it has
something. Its regions are labelled on the reduced mask; a region's full-size
pixels are made only when asked for (ticking it in the list), and its area and
"inside the mask" test come from the reduced grid, so a proposal that covers
the whole wafer costs no full-size labelling on the GUI thread.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from zsad_desktop.app.viewer.mask_editing import Region, label_regions


def fits(heatmap_shape: tuple[int, ...], image_shape: tuple[int, ...]) -> bool:
    """Whether a heatmap covers the image: its size, or the image reduced (a map kept small for display)."""
    (h, w), (ih, iw) = heatmap_shape[:2], image_shape[:2]
    if (h, w) == (ih, iw):
        return True
    scale = max(h, w) / max(ih, iw)
    return scale < 1 and abs(h - ih * scale) <= 1 and abs(w - iw * scale) <= 1


def source_pixels(size: int, reduced_size: int) -> np.ndarray:
    """For each of `size` image pixels along an axis, the reduced pixel it shows (nearest, as OpenCV)."""
    return np.arange(size) * reduced_size // size


def grown_mask(reduced: np.ndarray, shape: tuple[int, ...], block: int = 256) -> np.ndarray:
    """A mask found on a reduced map, at the image's size (nearest pixel). Only blocks of the reduced
    mask with something in them are grown: a proposal covers a few spots of a 20,000 px image."""
    (height, width), (h, w) = shape[:2], reduced.shape
    full = np.zeros((height, width), bool)
    rows, cols = source_pixels(height, h), source_pixels(width, w)
    for top in range(0, h, block):
        for left in range(0, w, block):
            piece = reduced[top : top + block, left : left + block]
            if piece.any():
                y0, y1 = np.searchsorted(rows, [top, top + block])
                x0, x1 = np.searchsorted(cols, [left, left + block])
                # rows then columns, each one take: far faster than one 2-D fancy index
                grown = np.take(piece, rows[y0:y1] - top, axis=0)
                full[y0:y1, x0:x1] = np.take(grown, cols[x0:x1] - left, axis=1)
    return full


class GrownRegion(Region):
    """A region labelled on the reduced mask, as `Region` in image pixels; `crop` is made on demand."""

    _grid: tuple[
        np.ndarray, np.ndarray, np.ndarray
    ]  # (reduced piece, its row and column of each image pixel)

    def __init__(
        self,
        label: int,
        peak: float,
        piece: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        at: tuple[int, int],
        shape: tuple[int, int],
    ):
        # rows/cols: the reduced row/column (within `piece`) of each image row/column of the box at `at` (y0, x0)
        counts_r = np.bincount(rows, minlength=piece.shape[0])
        counts_c = np.bincount(cols, minlength=piece.shape[1])
        # each reduced pixel covers (its rows) x (its columns) image pixels; float32 row sums are exact
        # (at most 20,000 x a few) and far cheaper than an int64 copy of the piece
        row_sums = piece.astype(np.float32) @ counts_c.astype(np.float32)
        area = int(round(float(counts_r.astype(np.float64) @ row_sums)))
        box = (at[1], at[0], len(cols), len(rows))
        object.__setattr__(self, "_grid", (piece, rows, cols))
        super().__init__(label, area, peak, box, None, shape)  # type: ignore[arg-type]  # crop: made below
        self.__dict__.pop("crop")  # the dataclass stored None: let the cached property make it

    @cached_property
    def crop(self) -> np.ndarray:  # noqa: F811 - the field, made when first needed
        piece, rows, cols = self._grid
        return piece[np.ix_(rows, cols)]

    def inside(self, mask: np.ndarray) -> bool:
        """Whether the region is in `mask`, judged at one image pixel per reduced pixel (cheap at any size)."""
        piece, rows, cols = self._grid
        left, top = self.box[:2]
        first_rows = top + np.searchsorted(rows, np.arange(piece.shape[0]))
        first_cols = left + np.searchsorted(cols, np.arange(piece.shape[1]))
        # rows then columns, one take each: a region over a whole wafer is a 4096 x 4096 gather,
        # four times faster than one 2-D fancy index
        shown = np.take(np.take(mask, first_rows, axis=0), first_cols, axis=1)
        return not np.any(piece & ~shown)

    def contains(self, x: int, y: int) -> bool:
        piece, rows, cols = self._grid
        left, top, width, height = self.box
        return (
            left <= x < left + width
            and top <= y < top + height
            and bool(piece[rows[y - top], cols[x - left]])
        )


def reduced_regions(
    reduced: np.ndarray, shape: tuple[int, ...], heatmap01: np.ndarray | None
) -> list[Region]:
    """The regions of the reduced mask `reduced`, in image pixels (`shape`), unsorted."""
    count, labels, stats, (box_top, box_left) = label_regions(reduced)
    (height, width), (h, w) = shape[:2], reduced.shape
    rows_all, cols_all = source_pixels(height, h), source_pixels(width, w)
    regions: list[Region] = []
    for label in range(1, count):
        left, top, box_w, box_h, _ = (int(v) for v in stats[label])
        piece = (
            labels[top - box_top : top - box_top + box_h, left - box_left : left - box_left + box_w] == label
        )
        peak = (
            float(heatmap01[top : top + box_h, left : left + box_w][piece].max())
            if heatmap01 is not None
            else 1.0
        )
        y0, y1 = np.searchsorted(rows_all, [top, top + box_h])
        x0, x1 = np.searchsorted(cols_all, [left, left + box_w])
        if y1 > y0 and x1 > x0:  # a reduced pixel that no image pixel shows (never, shrinking) has no region
            regions.append(
                GrownRegion(
                    label,
                    peak,
                    piece,
                    rows_all[y0:y1] - top,
                    cols_all[x0:x1] - left,
                    (int(y0), int(x0)),
                    (height, width),
                )
            )
    return regions
