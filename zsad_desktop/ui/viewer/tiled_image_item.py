"""A scene item that draws a large array tile by tile, at the level of detail the zoom needs.

A tile becomes a pixmap when it is first drawn; a bounded cache keeps the
recent ones. Zoomed out, a reduced level is drawn (`app.viewer.image_tiles`), so a
20,000 px image fitted into the window costs a few tiles, not 1,600. Reduced
levels of a large array are built on a worker thread, the finest first;
meanwhile the coarsest level stands in (every n-th pixel, made in a few
milliseconds), so the first paint does not wait. Below 1:1 tiles are drawn
smoothed; at 1:1 and above, pixels stay squares.

What a layer's array looks like is a `TileContent`: image pixels here, the
heatmap and the masks in `layer_items`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

from zsad_desktop.app.viewer.image_tiles import (
    TILE,
    Box,
    TileGrid,
    build_levels,
    choose_level,
    level_count,
    level_for_scale,
    patch_levels,
    preview,
)
from zsad_desktop.ui.viewer.qimages import pixels_to_qimage

log = logging.getLogger(__name__)

SYNC_PIXELS = (
    2048 * 2048
)  # levels of a smaller array are built at once (milliseconds), so small images need no thread
CACHE_BYTES = 128 << 20  # per layer: more than a 4K screen of tiles at 1:1
MAX_STAND_IN_TILES = (
    24  # a finer level stands in for one still being built only if it needs at most this many tiles
)

# One builder for all layers: the image's levels (asked for first) come first, and builds never compete for cores.
_builder = ThreadPoolExecutor(1, thread_name_prefix="tile-levels")


class TileContent:
    """How a layer's array becomes tile images. `how` reduces it a level ("mean" or "max");
    `context` is how many neighbouring pixels a tile's look depends on (a mask outline: 1)."""

    how = "mean"
    context = 0

    def image(self, level: np.ndarray, x: int, y: int, w: int, h: int) -> QImage:
        raise NotImplementedError


class PixelTiles(TileContent):
    """Image pixels, grey or RGB uint8."""

    def image(self, level: np.ndarray, x: int, y: int, w: int, h: int) -> QImage:
        return pixels_to_qimage(level[y : y + h, x : x + w])


class TiledLayerItem(QGraphicsObject):
    levelsChanged = Signal()  # an array was set or a better level arrived (the navigator's thumbnail follows)
    _built = Signal(int, int, object)  # generation, level, array: from the builder thread

    def __init__(self, content: TileContent | None = None, tile: int = TILE):
        super().__init__()
        self.content = content or PixelTiles()
        self.tile = tile
        self.setFlag(
            QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption
        )  # paint gets the exposed part only
        self._levels: list[np.ndarray | None] = []
        self._pending: set[int] = set()  # levels not built yet (the coarsest may hold its stand-in)
        self._generation = 0
        self._cancel = threading.Event()
        self._cache: OrderedDict[tuple[int, int, int], QPixmap] = OrderedDict()
        self._cache_bytes = 0
        self.pixmaps_made = 0  # tile pixmaps converted so far (tests and the benchmark count them)
        self.last_level: int | None = None  # the level the last paint drew
        self._built.connect(self._level_built)

    # what it shows ------------------------------------------------------------------------
    @property
    def has_content(self) -> bool:
        return bool(self._levels)

    @property
    def levels_ready(self) -> bool:
        return not self._pending

    @property
    def level_count(self) -> int:
        return len(self._levels)

    def level(self, index: int) -> np.ndarray | None:
        """A level's array (the coarsest may be its stand-in while `levels_ready` is False)."""
        return self._levels[index]

    def set_array(self, array: np.ndarray | None) -> None:
        self._cancel.set()  # a build still running for the previous array stops at its next level
        self._cancel = threading.Event()
        self._generation += 1
        self.prepareGeometryChange()
        self.clear_tiles()
        self._levels, self._pending = [], set()
        if array is not None:
            h, w = array.shape[:2]
            count = level_count(h, w, self.tile)
            self._levels = [array] + [None] * (count - 1)
            if h * w <= SYNC_PIXELS:
                for index, level in build_levels(array, count, self.content.how):
                    self._levels[index] = level
            else:
                self._levels[-1] = preview(array, count - 1)
                self._pending = set(range(1, count))
                self._start_build(array, count)
        self.update()
        self.levelsChanged.emit()

    def set_content(self, content: TileContent) -> None:
        """Draw the same array differently (another colour map): the levels stay, the tiles are redone."""
        self.content = content
        self.clear_tiles()
        self.update()
        self.levelsChanged.emit()

    def update_box(self, array: np.ndarray, box: Box | None) -> None:
        """`array` changed inside box (top, left, height, width); None, or while levels are still built: all of it."""
        levels = self._levels
        if box is None or not levels or levels[0].shape != array.shape or self._pending:
            self.set_array(array)
            return
        top, left, height, width = box
        top, left = max(0, top), max(0, left)
        bottom, right = min(array.shape[0], top + height), min(array.shape[1], left + width)
        if bottom <= top or right <= left:
            return
        levels[0] = array
        for index, (t, lft, h, w) in enumerate(
            patch_levels(levels, (top, left, bottom - top, right - left), self.content.how)
        ):
            m = self.content.context
            grid = self._grid(index)
            for row, column in grid.tiles_in(lft - m, t - m, lft + w + m, t + h + m):
                self._drop((index, row, column))
        self.update()

    def clear_tiles(self) -> None:
        self._cache.clear()
        self._cache_bytes = 0

    # building levels --------------------------------------------------------------------------
    def _start_build(self, array: np.ndarray, count: int) -> None:
        generation, cancel, how = self._generation, self._cancel, self.content.how

        def work() -> None:
            try:
                for index, level in build_levels(array, count, how, cancel.is_set):
                    if cancel.is_set():
                        return
                    self._built.emit(generation, index, level)
            except RuntimeError:
                pass  # the item went with its scene (a closed window): nobody to tell
            except Exception:  # noqa: BLE001 - the stand-in stays on screen; the log says why
                log.exception("building reduced levels failed")

        _builder.submit(work)

    def _level_built(self, generation: int, index: int, level: np.ndarray) -> None:
        if generation != self._generation:
            return  # for an array no longer shown
        self._levels[index] = level
        self._pending.discard(index)
        for key in [k for k in self._cache if k[0] == index]:
            self._drop(key)  # the stand-in's tiles
        self.update()
        self.levelsChanged.emit()

    # drawing -----------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        if not self._levels:
            return QRectF()
        h, w = self._levels[0].shape[:2]
        return QRectF(0, 0, w, h)

    def _grid(self, level: int) -> TileGrid:
        h, w = self._levels[level].shape[:2]
        return TileGrid(w, h, self.tile)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        if exposed.isEmpty() or scale <= 0:
            return

        def in_view(level: int) -> list[tuple[int, int]]:
            f = 1 << level
            return self._grid(level).tiles_in(
                exposed.left() / f, exposed.top() / f, exposed.right() / f, exposed.bottom() / f
            )

        available = [i for i, level in enumerate(self._levels) if level is not None]
        level = choose_level(
            level_for_scale(scale, len(self._levels)),
            available,
            lambda i: len(in_view(i)),
            MAX_STAND_IN_TILES,
        )
        self.last_level = level
        painter.setRenderHint(
            QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0
        )  # pixels stay pixels from 1:1 up
        f, grid = 1 << level, self._grid(level)
        for row, column in in_view(level):
            x, y, w, h = grid.tile_rect(row, column)
            # The last level pixel of an odd side stands for less than f image pixels: draw only what lies in the image.
            target = QRectF(
                x * f, y * f, min(w * f, bounds.width() - x * f), min(h * f, bounds.height() - y * f)
            )
            painter.drawPixmap(
                target,
                self._pixmap(level, row, column),
                QRectF(0, 0, target.width() / f, target.height() / f),
            )

    def _pixmap(self, level: int, row: int, column: int) -> QPixmap:
        key = (level, row, column)
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
            return pixmap
        pixmap = QPixmap.fromImage(
            self.content.image(self._levels[level], *self._grid(level).tile_rect(row, column))
        )
        self.pixmaps_made += 1
        self._cache[key] = pixmap
        self._cache_bytes += pixmap.width() * pixmap.height() * 4
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            self._drop(next(iter(self._cache)))
        return pixmap

    def _drop(self, key: tuple[int, int, int]) -> None:
        pixmap = self._cache.pop(key, None)
        if pixmap is not None:
            self._cache_bytes -= pixmap.width() * pixmap.height() * 4

    def render_level(self, level: int) -> QImage:
        """A whole level as one image, from the same tiles the screen gets (the navigator's thumbnail; tests)."""
        h, w = self._levels[level].shape[:2]
        image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        grid = self._grid(level)
        for row in range(grid.rows):
            for column in range(grid.columns):
                x, y, _, _ = grid.tile_rect(row, column)
                painter.drawPixmap(x, y, self._pixmap(level, row, column))
        painter.end()
        return image
