"""Retake the README screenshots: the main window with a heatmap, a mask being edited,
the click tool correcting a proposal, a CT slice under a window/level preset, and a large
wafer image zoomed in with the navigator.

Renders offscreen (no display needed, QWidget.grab) on generated demo data
(`zsad_desktop.demo.plates`, `demo_ct`, `demo_wafer`), each shot in its own
window. No CLIP weights ship with the repository, and a random backbone draws
noise, so by default the heatmaps come from stand-in detectors
(scripts/screenshot_detectors.py), each tuned to its demo and named in the
window's Model field: "contrast-demo" (plates), "bright-blob-demo" (CT),
"dark-spot-demo" (wafer). With weights, pass a real one (used for every shot):

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only plates clicks ct wafer]
    .venv/bin/python scripts/screenshots.py --method baseline --model-name ViT-L-14-336 --pretrained openai --image-size 518
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import screenshot_detectors  # noqa: E402,F401 - registers the stand-in detectors
from PySide6.QtCore import QPointF, QRectF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.review.detector_settings import DetectorSettings  # noqa: E402
from zsad_desktop.app.review.settings import AppSettings  # noqa: E402
from zsad_desktop.demo.ct import write_ct_demo  # noqa: E402
from zsad_desktop.demo.plates import write_demo_folder  # noqa: E402
from zsad_desktop.demo.wafer import write_wafer_demo  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402
from zsad_desktop.ui.viewer.mask_tools import Tool  # noqa: E402

SHOTS = ("plates", "clicks", "ct", "wafer")
CT_PRESET = "CT subdural"
WAFER_SIDE = 8192


# waiting for the window ----------------------------------------------------------------------------
def wait(app: QApplication, condition, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def open_window(app: QApplication, folder: Path, detector: DetectorSettings, reviewer: str) -> MainWindow:
    """A main window on `folder`, once every image is scored."""
    window = MainWindow(AppSettings(detector=detector, reviewer=reviewer), persist=False)
    window.resize(1500, 920)
    window.show()
    window.open_folder(str(folder))
    rows = window.gallery_model
    wait(
        app,
        lambda: (
            rows.rowCount()
            and all(r.score is not None for r in rows.rows)
            and not window.progress.isVisible()
        ),
    )
    return window


def show_row(app: QApplication, window: MainWindow, position: int) -> None:
    """Select a gallery row and wait until its image, heatmap, thumbnails and tiles are all drawn."""
    window.select_row(position)
    model, viewer = window.model, window.viewer
    wait(
        app,
        lambda: (
            model.heatmap.raw is not None
            and window.gallery_model.thumbnails.pending() == 0
            and not model.window.rendering
            and viewer.image_item.levels_ready
            and viewer.heatmap_item.levels_ready
        ),
    )
    settle(app, 1.0)  # the display scale settles after the last batch


def save(app: QApplication, window: MainWindow, path: Path) -> None:
    window.statusBar().clearMessage()
    settle(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path))


def truth_mask(folder: Path, rel_path: str) -> np.ndarray | None:
    """The demo's ground-truth mask of an image (ground_truth/[<class>/]<stem>_mask.png), or None."""
    rel = Path(rel_path)
    for truth in (
        folder / "ground_truth" / rel.parent.name / f"{rel.stem}_mask.png",
        folder / "ground_truth" / f"{rel.stem}_mask.png",
    ):
        mask = cv2.imread(str(truth), cv2.IMREAD_GRAYSCALE) if truth.is_file() else None
        if mask is not None:
            return mask > 0
    return None


def defect_line(folder: Path, rel_path: str) -> list[tuple[float, float]] | None:
    """Two ends of the ground-truth scratch (the demo data has it): where a reviewer would paint."""
    mask = truth_mask(folder, rel_path)
    if mask is None or not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    centre = points.mean(axis=0)
    axis = np.linalg.svd(points - centre, full_matrices=False)[2][0]
    along = (points - centre) @ axis
    return [tuple(centre + t * axis) for t in np.linspace(along.min(), along.max(), 8)]


# the shots ---------------------------------------------------------------------------------------------
def main_window_shots(app: QApplication, folder: Path, detector: DetectorSettings, out: Path) -> None:
    """main_window.png (gallery with decisions, a scratch's heatmap) and mask_editing.png (the brush at work)."""
    window = open_window(app, folder, detector, "inspector")
    rows = window.gallery_model
    # Some decisions already taken, so the gallery shows its status colours.
    for kind, decision in (("stain", "accept"), ("stain", "accept"), ("good", "normal"), ("good", "normal")):
        undecided = [
            i for i, r in enumerate(rows.rows) if kind in r.rel_path and r.status.value == "unreviewed"
        ]
        window.select_row(undecided[-1] if kind == "good" else undecided[0])
        window.review.decide(decision)
    # The strongest scratch: a thin defect shows the heatmap and the proposal best.
    pick = next((i for i, r in enumerate(rows.rows) if "scratch" in r.rel_path), 0)
    show_row(app, window, pick)
    window.gallery.scrollToTop()  # the decided stains show their status colours
    save(app, window, out / "main_window.png")

    # A mask being edited: a stricter threshold, stray proposed regions unticked, the brush completing the scratch.
    model, tools = window.model, window.viewer.tools
    model.set_display(threshold=0.85)
    for index in range(len(model.regions) - 1, 0, -1):
        model.keep_region(index, False)
    window.set_tool(Tool.BRUSH)
    h, w = model.image.shape
    window.set_brush_radius(max(2.0, w / 110))
    stroke = defect_line(folder, rows.rows[pick].rel_path) or [(w * 0.3, h * 0.3), (w * 0.6, h * 0.6)]
    model.paint(stroke, tools.radius)
    end = stroke[-1]
    tools.move(QPointF(end[0] + 3 * tools.radius, end[1] + 2 * tools.radius))  # the brush's size preview
    window.model.set_display(heatmap_opacity=0.25)
    window.review_panel.note.setPlainText("scratch runs further than proposed")
    save(app, window, out / "mask_editing.png")
    window.close()


def deepest_point(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of the pixel farthest inside `mask`: where a reviewer clicks "defect here"."""
    distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x), int(y)


def click_shot(app: QApplication, folder: Path, detector: DetectorSettings, out: Path) -> None:
    """click_tool.png: a strict threshold's proposal covers part of a scratch; one click on the missed
    part ("defect here", green) grows it, one on a stray proposed region ("not defect here", red)
    removes that; zoomed to the scratch."""
    window = open_window(app, folder, detector, "inspector")
    rows = window.gallery_model.rows
    truths = {i: truth_mask(folder, r.rel_path) for i, r in enumerate(rows) if "scratch" in r.rel_path}
    pick = max((i for i, t in truths.items() if t is not None), key=lambda i: truths[i].sum())
    show_row(app, window, pick)
    model, viewer = window.model, window.viewer
    model.set_display(threshold=0.85, heatmap_opacity=0.2)
    window.set_tool(Tool.CLICK)
    truth = truths[pick]
    missed = truth & ~model.editor.mask
    if missed.any():
        model.clicks.click(*deepest_point(missed), positive=True)
        wait(app, lambda: not model.clicks.pending)
    ys, xs = np.nonzero(truth)
    top, left, bottom, right = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    margin = max(bottom - top, right - left) // 2
    near_truth = cv2.dilate(truth.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(model.editor.mask.astype(np.uint8), connectivity=8)
    stray = np.isin(labels, [k for k in range(1, count) if not (near_truth & (labels == k)).any()])
    if stray.any():
        model.clicks.click(*deepest_point(stray), positive=False)
    else:  # nothing stray: "not defect here" beside the scratch
        near = np.zeros_like(truth)
        near[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin] = True
        model.clicks.click(*deepest_point(near & ~truth), positive=False)
    wait(app, lambda: not model.clicks.pending)
    viewer.fitInView(
        QRectF(left - margin, top - margin, right - left + 2 * margin, bottom - top + 2 * margin)
    )
    viewer.zoomChanged.emit(viewer.scale_factor)
    wait(app, lambda: viewer.image_item.levels_ready and viewer.heatmap_item.levels_ready)
    save(app, window, out / "click_tool.png")
    window.close()


def ct_shot(app: QApplication, folder: Path, detector: DetectorSettings, out: Path) -> None:
    """ct_window_level.png: the slice of the series with the largest bleed, its heatmap, a CT window preset."""
    window = open_window(app, folder, detector, "radiologist")
    rows = window.gallery_model.rows
    bleeds = {
        i: truth_mask(folder, r.rel_path) for i, r in enumerate(rows) if r.rel_path.startswith("series/")
    }
    pick = max((i for i, mask in bleeds.items() if mask is not None), key=lambda i: bleeds[i].sum())
    show_row(app, window, pick)
    window.model.window.preset(CT_PRESET)  # as the Window row's preset list does
    # The heatmap over the bleed, not under the reviewer's mask; a dark-based colour map keeps the window readable.
    window.model.set_display(show_mask=False, colour_map="turbo", heatmap_opacity=0.4)
    wait(app, lambda: not window.model.window.rendering and window.viewer.heatmap_item.levels_ready)
    save(app, window, out / "ct_window_level.png")
    window.close()


def wafer_shot(app: QApplication, folder: Path, detector: DetectorSettings, out: Path) -> None:
    """wafer_navigator.png: the 16-bit wafer zoomed to 1:1 on a scratch, the navigator outlining the view."""
    window = open_window(app, folder, detector, "inspector")
    show_row(app, window, 0)
    mask = truth_mask(folder, window.gallery_model.rows[0].rel_path)
    count, _labels, stats, centres = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    viewer = window.viewer
    view = viewer.viewport().size()
    # The largest defect that still fits the view at 1:1: tiles at full detail, a defect worth the zoom.
    fitting = [
        i for i in range(1, count) if stats[i, 2] < view.width() * 0.8 and stats[i, 3] < view.height() * 0.8
    ]
    pick = max(fitting or range(1, count), key=lambda i: stats[i, cv2.CC_STAT_AREA])
    viewer.actual_size()
    viewer.centerOn(QPointF(*centres[pick]))
    window.model.set_display(heatmap_opacity=0.35)  # the die pattern shows through
    viewer.navigator.switch(True)  # on by default; V (the View menu) toggles it
    wait(app, lambda: viewer.navigator.isVisible() and viewer.image_item.levels_ready)
    save(app, window, out / "wafer_navigator.png")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument(
        "--folder", type=Path, help="image folder for the plates shots (default: generated demo plates)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=SHOTS, default=list(SHOTS), help="which shots to take (default: all)"
    )
    parser.add_argument("--method", help="detector for every shot (default: each shot's stand-in)")
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()

    def detector(stand_in: str, object_name: str) -> DetectorSettings:
        return DetectorSettings(
            method=args.method or stand_in,
            model_name=args.model_name,
            pretrained=args.pretrained,
            image_size=args.image_size,
            device="auto",
            object_name=object_name,
        )

    work = Path(tempfile.mkdtemp(prefix="zsad-shots-"))
    app = QApplication.instance() or QApplication([])
    try:
        if "plates" in args.only:
            folder = args.folder or write_demo_folder(work / "metal_plate")
            main_window_shots(app, folder, detector("contrast-demo", "metal plate"), args.out)
        if "clicks" in args.only:
            folder = args.folder or write_demo_folder(work / "metal_plate_clicks")
            click_shot(app, folder, detector("contrast-demo", "metal plate"), args.out)
        if "ct" in args.only:
            ct_shot(app, write_ct_demo(work / "head_ct"), detector("bright-blob-demo", "brain"), args.out)
        if "wafer" in args.only:
            wafer = write_wafer_demo(work / "wafer", side=WAFER_SIDE)
            wafer_shot(app, wafer, detector("dark-spot-demo", "wafer"), args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
