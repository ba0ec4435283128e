"""Retake the README screenshots: the main window with a heatmap, and a mask being edited.

Runs offscreen (no display needed) on the generated demo data, with the tiny
random backbone unless --model-name/--pretrained name real weights.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
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

from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.demo_data import write_demo_folder  # noqa: E402
from zsad_desktop.app.review_session import DetectorSettings  # noqa: E402
from zsad_desktop.ui.canvas import Tool  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402
from zsad_desktop.ui.preferences import Preferences  # noqa: E402


def wait(app: QApplication, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--folder", type=Path, help="image folder (default: generated demo data)")
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zsad-shots-"))
    folder = args.folder or write_demo_folder(work / "metal_plate")
    app = QApplication.instance() or QApplication([])
    detector = DetectorSettings(model_name=args.model_name, pretrained=args.pretrained, image_size=args.image_size,
                                device="cpu", object_name="metal plate")
    window = MainWindow(Preferences(detector=detector, reviewer="inspector"), persist=False)
    window.resize(1500, 900)
    window.show()
    window.open_folder(str(folder))
    wait(app, lambda: window.gallery_model.rowCount() and all(r.score is not None for r in window.gallery_model.rows))
    window.reload_gallery()
    window.select_row(0)
    wait(app, lambda: window.view is not None and window.view.heatmap is not None)
    args.out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out / "main_window.png"))
    # Edit the mask: brush a stroke and draw a polygon, as a reviewer would.
    window.set_tool(Tool.BRUSH)
    window.canvas.set_brush_radius(8)
    window.editor.brush([(60, 60), (110, 90), (150, 100)], 8)
    window.editor.polygon([(150, 160), (210, 150), (220, 210), (160, 220)])
    window.canvas.refresh_mask()
    window.panel.show_heatmap.setChecked(False)
    app.processEvents()
    window.grab().save(str(args.out / "mask_editing.png"))
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
