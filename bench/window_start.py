"""Seconds from starting Python to the window's first turn of its event loop, with the detection stack
(torch, open_clip, the methods) loading on a thread of its own, as `zsad gui` does, against importing
what the window imported before it was built until now (that stack, scikit-learn's metrics, highdicom).
Each run is a fresh process; the two are interleaved (ABBA) so a loaded machine weighs on both alike.

    python bench/window_start.py [--runs 4]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The child prints the wall clock when its event loop first runs: the window is built and shown.
CHILD = """
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if {first!r}:
    import highdicom, sklearn.metrics, zsad_desktop.detection.methods  # what the window imported before
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from zsad_desktop.app.prediction.jobs import prepare_detection_in_background
from zsad_desktop.app.review.settings import AppSettings
from zsad_desktop.ui.main_window import MainWindow
prepare_detection_in_background()
app = QApplication([])
window = MainWindow(AppSettings())
window.show()
QTimer.singleShot(0, lambda: (print(time.time(), flush=True), app.quit()))
app.exec()
"""


def start_seconds(first: bool) -> float:
    began = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(first=first)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1]) - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="runs of each variant")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.runs):
        for first in (False, True) if run % 2 == 0 else (True, False):
            times[first].append(start_seconds(first))
    lazy, eager = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"window up, detection loading beside it: median {lazy:.2f} s ({min(times[False]):.2f}-{max(times[False]):.2f})"
    )
    print(
        f"window up, detection imported first:    median {eager:.2f} s ({min(times[True]):.2f}-{max(times[True]):.2f})"
    )
    print(f"the window is up {eager / lazy:.2f}x sooner ({args.runs} runs each, interleaved)")


if __name__ == "__main__":
    main()
