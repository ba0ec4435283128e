"""Longest stall of the window's event loop while a whole folder is processed.

A 10 ms timer runs in the GUI thread; any gap between its ticks beyond 10 ms
is time the window could not repaint or react to a key. Prints the longest
gap, the 99th percentile and the run time, for a generated folder of N images
(offscreen; tiny random backbone unless told otherwise).

    python bench/gui_stall.py [--images 60] [--model-name ViT-L-14-336 --pretrained openai --image-size 518]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.demo_data import write_demo_folder  # noqa: E402
from zsad_desktop.app.review_session import DetectorSettings  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402
from zsad_desktop.ui.preferences import Preferences  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zsad-stall-")) / "plates"
    per_defect = max(1, args.images // 3)
    write_demo_folder(folder, normal=args.images - 2 * per_defect, per_defect=per_defect)
    app = QApplication.instance() or QApplication([])
    settings = DetectorSettings(model_name=args.model_name, pretrained=args.pretrained, image_size=args.image_size, device=args.device)
    window = MainWindow(Preferences(detector=settings), persist=False)
    window.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    start = time.perf_counter()
    window.open_folder(str(folder))
    while time.perf_counter() - start < 1800:
        app.processEvents()
        rows = window.gallery_model.rows
        if rows and all(r.score is not None for r in rows):
            break
        # Browse while it works, as a reviewer would.
        if rows and len(ticks) % 50 == 0:
            window.step(1)
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    gaps = np.diff(ticks) * 1000 if len(ticks) > 1 else np.array([0.0])
    scored = sum(r.score is not None for r in window.gallery_model.rows)
    print(f"{scored} images scored in {elapsed:.1f} s with {args.model_name}@{args.image_size}; "
          f"event loop: longest stall {gaps.max():.0f} ms, 99th percentile {np.percentile(gaps, 99):.0f} ms, "
          f"median tick {np.median(gaps):.0f} ms")
    window.close()


if __name__ == "__main__":
    main()
