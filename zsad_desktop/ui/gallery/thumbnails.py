"""Gallery thumbnails, read on a thread pool only when a row is painted.

The most recently requested thumbnail is read first (the rows in view after
a fast scroll), and only a bounded number are kept in memory, so a folder of
10,000 images opens at once and fills in as the reviewer scrolls.
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict
from pathlib import Path

import cv2
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.imaging.overview import read_overview_rgb8
from zsad_desktop.ui.viewer import rgb_to_qimage

THUMB = 96
OVERVIEW_SIDE = 1024  # images up to twice this are read whole and area-averaged; larger ones sampled (never decoded whole)
KEEP = 3000  # about 110 MB of 96 px thumbnails


class _Signals(QObject):
    ready = Signal(object, int, QImage)  # folder, image id, thumbnail
    failed = Signal(object, int)


class _Read(QRunnable):
    def __init__(self, folder: Path, image_id: int, path: Path, signals: _Signals, frame: int | None = None):
        super().__init__()
        self.folder, self.image_id, self.path, self.signals, self.frame = (
            folder,
            image_id,
            path,
            signals,
            frame,
        )

    def run(self) -> None:
        try:
            rgb = read_overview_rgb8(self.path, self.frame, side=OVERVIEW_SIDE)
        except (ImageLoadError, OSError, ValueError):
            self.signals.failed.emit(self.folder, self.image_id)
            return
        h, w = rgb.shape[:2]
        scale = THUMB / max(h, w)
        small = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        self.signals.ready.emit(self.folder, self.image_id, rgb_to_qimage(small))


class ThumbnailLoader(QObject):
    """`get(id, path)` answers at once (None while loading); `ready(id)` says when one arrived."""

    ready = Signal(int)

    def __init__(self, parent=None, threads: int | None = None, keep: int = KEEP):
        super().__init__(parent)
        self.folder: Path | None = None
        self.keep = keep
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._requested: set[int] = set()
        self._failed: set[int] = set()
        self._order = itertools.count()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads or max(1, min(4, (os.cpu_count() or 2) // 2)))
        self._signals = _Signals()
        self._signals.ready.connect(self._arrived)
        self._signals.failed.connect(self._gave_up)

    def set_folder(self, folder: Path | None) -> None:
        if folder != self.folder:
            self._pool.clear()  # reads not started yet are for the old folder
            self.folder = folder
            self._cache.clear()
            self._requested.clear()
            self._failed.clear()

    def get(self, image_id: int, rel_path: str, frame: int | None = None) -> QPixmap | None:
        pixmap = self._cache.get(image_id)
        if pixmap is not None:
            self._cache.move_to_end(image_id)
            return pixmap
        if self.folder is not None and image_id not in self._requested and image_id not in self._failed:
            self._requested.add(image_id)
            # A higher priority runs first: the newest request, i.e. what is on screen now.
            self._pool.start(
                _Read(self.folder, image_id, self.folder / rel_path, self._signals, frame),
                next(self._order) % 2**30,
            )
        return None

    def pending(self) -> int:
        return len(self._requested)

    def wait(self, msecs: int = 30_000) -> bool:
        return self._pool.waitForDone(msecs)

    def _arrived(self, folder: Path, image_id: int, image: QImage) -> None:
        self._requested.discard(image_id)
        if folder != self.folder:
            return
        self._cache[image_id] = QPixmap.fromImage(image)
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        self.ready.emit(image_id)

    def _gave_up(self, folder: Path, image_id: int) -> None:
        self._requested.discard(image_id)
        if folder == self.folder:
            self._failed.add(image_id)
