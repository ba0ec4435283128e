"""Time to first paint and per-frame times of zoom and pan on a large image in the viewer (offscreen).

A side x side RGB image (20,000 by default: 1.2 GB) is shown in the viewer.
Prints how long until the first paint (the coarse stand-in), until every
reduced level was built on the worker thread, then per-frame times (median,
95th percentile, longest) of wheel-like zoom steps from fit to 4:1, of a
slow drag at 1:1 (40 px a frame, mostly cached tiles) and of fast flings at
1:1 (600 px a frame, new tiles each frame), and how many tile pixmaps were
made. A frame is the change plus the event loop turn that repaints it.

    python bench/viewer_large.py [--side 20000] [--view 1000x800] [--whole-pixmap]

--whole-pixmap also times the former path, one QPixmap of the whole image.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.viewer.viewer_model import ViewerModel  # noqa: E402
from zsad_desktop.ui.viewer.image_viewer import ImageViewer  # noqa: E402
from zsad_desktop.ui.viewer.qimages import rgb_to_qimage  # noqa: E402


def wafer_like(side: int) -> np.ndarray:
    """Dies in a grid with texture, so tiles differ (made by broadcasting: a few seconds at 20,000)."""
    x = np.arange(side)
    column = np.where(x % 512 < 24, 90, 150 + (x // 32 % 2) * 20).astype(np.uint8)
    row = np.where(x % 512 < 24, 0, (x // 32 % 2) * 20).astype(np.uint8)
    rgb = np.empty((side, side, 3), np.uint8)
    for channel, tint in enumerate((0, 10, 30)):
        np.add(column[None, :], row[:, None], out=rgb[..., channel], casting="unsafe")
        rgb[..., channel] += np.uint8(tint)
    return rgb


def frames(app: QApplication, steps) -> list[float]:
    """Milliseconds per step: the change, then the event loop turn that paints it."""
    times = []
    for step in steps:
        start = time.perf_counter()
        step()
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    t = np.asarray(times)
    print(
        f"{name:<34} {len(t):4d} frames  median {np.median(t):7.2f} ms  p95 {np.percentile(t, 95):7.2f} ms  "
        f"longest {t.max():7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--side", type=int, default=20_000)
    parser.add_argument("--view", default="1000x800", help="viewer size, WIDTHxHEIGHT")
    parser.add_argument("--whole-pixmap", action="store_true", help="also time one pixmap of the whole image")
    args = parser.parse_args()
    width, height = (int(v) for v in args.view.split("x"))
    app = QApplication.instance() or QApplication([])
    start = time.perf_counter()
    rgb = wafer_like(args.side)
    print(
        f"image {args.side} x {args.side} RGB ({rgb.nbytes / 2**30:.2f} GiB) generated in {time.perf_counter() - start:.1f} s"
    )

    model = ViewerModel()
    marks: list[float] = []
    model.events.connect(
        "image", lambda: marks.append(time.perf_counter())
    )  # before the viewer's own handler
    viewer = ImageViewer(model)
    viewer.resize(width, height)
    viewer.show()
    app.processEvents()
    item = viewer.image_item
    start = time.perf_counter()
    model.show(rgb)
    viewer.viewport().repaint()
    painted = time.perf_counter()
    print(
        f"time to first paint (coarse stand-in, level {item.last_level}): {(painted - marks[0]) * 1000:.1f} ms in the "
        f"viewer; {(painted - start) * 1000:.0f} ms from ViewerModel.show (its mask editor's blank masks included)"
    )
    longest, last = 0.0, time.perf_counter()
    while not item.levels_ready:  # the event loop keeps turning meanwhile: its longest gap is the stall
        app.processEvents()
        time.sleep(0.002)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    viewer.viewport().repaint()
    print(
        f"every reduced level built (worker thread): {time.perf_counter() - marks[0]:.2f} s, the event loop's longest "
        f"gap meanwhile {longest * 1000:.1f} ms; fitted view draws level {item.last_level}; tile pixmaps so far "
        f"{item.pixmaps_made}"
    )

    steps = int(np.ceil(np.log(4 / viewer.scale_factor) / np.log(1.25)))  # fitted (~0.04) to 4:1
    report("zoom in, fit to 4:1 (x1.25 a frame)", frames(app, [lambda: viewer.zoom(1.25)] * steps))
    report("zoom out, 4:1 to fit", frames(app, [lambda: viewer.zoom(0.8)] * steps))
    viewer.actual_size()
    viewer.centerOn(args.side / 2, args.side / 2)
    app.processEvents()
    bar = viewer.horizontalScrollBar()
    report("drag at 1:1, 40 px a frame", frames(app, [lambda: bar.setValue(bar.value() + 40)] * 200))
    made = item.pixmaps_made
    vbar = viewer.verticalScrollBar()
    flings = [lambda: (bar.setValue(bar.value() + 600), vbar.setValue(vbar.value() + 450))] * 25
    report("fling at 1:1, 600 px a frame", frames(app, flings))
    print(
        f"tile pixmaps made in all: {item.pixmaps_made} ({item.pixmaps_made - made} during the flings); "
        f"a whole-image pixmap would be {args.side * args.side * 4 / 2**30:.2f} GiB"
    )
    if args.whole_pixmap:
        start = time.perf_counter()
        QPixmap.fromImage(rgb_to_qimage(rgb))
        print(
            f"former path, one pixmap of the whole image: {time.perf_counter() - start:.2f} s on the GUI thread"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
