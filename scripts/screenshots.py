"""Retake the README screenshots: the main window with a heatmap, and a mask being edited.

Renders offscreen (no display needed, QWidget.grab) on the generated demo
plates. No CLIP weights ship with the repository, and a random backbone
draws noise, so by default the heatmaps come from a stand-in detector
registered here: local contrast against a blurred background, tagged
"contrast-demo" in the window's Model field. With weights, pass a real one:

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
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
from typing import Any, Sequence

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.demo_data import write_demo_folder  # noqa: E402
from zsad_desktop.app.review_session import DetectorSettings  # noqa: E402
from zsad_desktop.app.settings import AppSettings  # noqa: E402
from zsad_desktop.detection.interface import Detection, Detector, register_method  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402
from zsad_desktop.ui.mask_tools import Tool  # noqa: E402


@register_method("contrast-demo")
class ContrastDemoDetector(Detector):
    """Stand-in for screenshots only: what differs from the brushed grain (along x) or from the plate's tint."""

    def __init__(self, **_settings: Any):
        pass

    @property
    def model_id(self) -> str:
        return "contrast-demo:v2"

    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        out = []
        for rgb in images:
            pixels = rgb.astype(np.float32)
            grey = pixels.mean(axis=2)
            along_grain = cv2.GaussianBlur(grey, (0, 0), sigmaX=12, sigmaY=0.1)
            across = cv2.GaussianBlur(np.abs(grey - along_grain), (0, 0), 2.5)
            chroma = pixels[..., 0] - pixels[..., 2]
            tint = cv2.GaussianBlur(np.abs(chroma - np.median(chroma)), (0, 0), 2.5)
            heat = np.clip((np.maximum(across, tint) / 12 - 1.0) / 4.0, 0, 1).astype(np.float32)
            out.append(Detection(float(heat.max()), heat, self.model_id))
        return out


def defect_line(folder: Path, rel_path: str) -> list[tuple[float, float]] | None:
    """Two ends of the ground-truth scratch (the demo data has it): where a reviewer would paint."""
    rel = Path(rel_path)
    truth = folder / "ground_truth" / rel.parent.name / f"{rel.stem}_mask.png"
    mask = cv2.imread(str(truth), cv2.IMREAD_GRAYSCALE)
    if mask is None or not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    centre = points.mean(axis=0)
    axis = np.linalg.svd(points - centre, full_matrices=False)[2][0]
    along = (points - centre) @ axis
    return [tuple(centre + t * axis) for t in np.linspace(along.min(), along.max(), 8)]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--folder", type=Path, help="image folder (default: generated demo plates)")
    parser.add_argument("--method", default="contrast-demo")
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zsad-shots-"))
    folder = args.folder or write_demo_folder(work / "metal_plate")
    app = QApplication.instance() or QApplication([])
    detector = DetectorSettings(method=args.method, model_name=args.model_name, pretrained=args.pretrained,
                                image_size=args.image_size, device="auto", object_name="metal plate")
    window = MainWindow(AppSettings(detector=detector, reviewer="inspector"), persist=False)
    window.resize(1500, 920)
    window.show()
    window.open_folder(str(folder))
    rows = window.gallery_model
    wait(app, lambda: rows.rowCount() and all(r.score is not None for r in rows.rows) and not window.progress.isVisible())
    # Some decisions already taken, so the gallery shows its status colours.
    for kind, decision in (("stain", "accept"), ("stain", "accept"), ("good", "normal"), ("good", "normal")):
        undecided = [i for i, r in enumerate(rows.rows) if kind in r.rel_path and r.status.value == "unreviewed"]
        window.select_row(undecided[-1] if kind == "good" else undecided[0])
        window.review.decide(decision)
    # The strongest scratch: a thin defect shows the heatmap and the proposal best.
    pick = next((i for i, r in enumerate(rows.rows) if "scratch" in r.rel_path), 0)
    window.select_row(pick)
    wait(app, lambda: window.model.heatmap.raw is not None and rows.thumbnails.pending() == 0)
    settle(app, 1.0)  # the display scale settles after the last batch
    window.statusBar().clearMessage()
    window.gallery.scrollToTop()  # the decided stains show their status colours
    args.out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out / "main_window.png"))

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
    settle(app)
    window.grab().save(str(args.out / "mask_editing.png"))
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
