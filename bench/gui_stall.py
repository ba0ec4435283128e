"""Longest stall of the window's event loop while a whole folder is processed.

A 5 ms timer runs in the GUI thread; any gap between its ticks beyond that
is time the window could not repaint or react to a key. Meanwhile the
window scans the folder, predicts every image in the background and a
simulated reviewer steps to the next image every half second. Prints the
longest gap, the 99th percentile, how many gaps passed 100 ms, how long
until the gallery appeared, the first heatmap showed and everything was
scored, and the process's peak resident memory.

    python bench/gui_stall.py [--images 60] [--size 1024]
    python bench/gui_stall.py --folder ../shared/data/mvtec_ad/hazelnut          (copied first)
    python bench/gui_stall.py --model-name ViT-L-14-336 --pretrained openai --image-size 518 --device cuda
    python bench/gui_stall.py --wafer 20000        (one 20,000 x 20,000 16-bit wafer: tiles, reduced map, memory)

With --wafer, once the wafer is scored the threshold slider is swept (0.5 up to 0.9, then down to 0.05,
a step every 100 ms, as a reviewer drags it) and the stalls of the sweep are printed on their own:
a low threshold proposes much of the wafer, whose 400-megapixel mask is made off the GUI thread.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.prediction.jobs import prepare_detection_in_background  # noqa: E402
from zsad_desktop.app.review.detector_settings import DetectorSettings  # noqa: E402
from zsad_desktop.app.review.settings import AppSettings  # noqa: E402
from zsad_desktop.demo.plates import write_demo_folder  # noqa: E402
from zsad_desktop.demo.wafer import write_wafer_demo  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402

TICK_MS = 5


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--folder", type=Path, help="an image folder to copy and open (default: generated plates)"
    )
    parser.add_argument("--images", type=int, default=60, help="generated plates")
    parser.add_argument("--size", type=int, default=512, help="side of the generated plates in pixels")
    parser.add_argument(
        "--wafer", type=int, metavar="SIDE", help="instead: one generated 16-bit wafer of SIDE x SIDE pixels"
    )
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--browse-every",
        type=float,
        default=0.5,
        metavar="S",
        help="the simulated reviewer steps to the next image every S seconds (0: stays on the first)",
    )
    parser.add_argument(
        "--first-look",
        type=int,
        default=DetectorSettings().first_look,
        help="input size of the quick first heatmap of the image on screen (0: off)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zsad-stall-"))
    if args.wafer:
        folder = write_wafer_demo(work / "wafer", side=args.wafer)
    elif args.folder:
        folder = work / args.folder.name
        shutil.copytree(args.folder, folder)
    else:
        per_defect = max(1, args.images // 3)
        folder = write_demo_folder(
            work / "plates", normal=args.images - 2 * per_defect, per_defect=per_defect, size=args.size
        )
    app = QApplication.instance() or QApplication([])
    prepare_detection_in_background()  # as run_gui does
    detector = DetectorSettings(
        model_name=args.model_name,
        pretrained=args.pretrained,
        image_size=args.image_size,
        device=args.device,
        object_name="object",
        first_look=args.first_look,
    )
    window = MainWindow(AppSettings(detector=detector, reviewer="bench"), persist=False)
    window.resize(1400, 900)
    window.show()

    ticks: list[float] = []
    busy: list[
        float
    ] = []  # the GUI thread's own CPU time at each tick: a stall it spent working, not waiting
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: (ticks.append(time.perf_counter()), busy.append(time.thread_time())))
    heartbeat.start(TICK_MS)
    reviewer = QTimer()
    reviewer.timeout.connect(lambda: window.step(1))  # browse while it works, as a reviewer would
    if args.browse_every > 0:
        reviewer.start(int(args.browse_every * 1000))

    start = time.perf_counter()
    gallery_at = heatmap_at = full_heatmap_at = None
    window.open_folder(str(folder))
    rows = window.gallery_model
    while time.perf_counter() - start < args.timeout:
        app.processEvents()
        if gallery_at is None and rows.rowCount():
            gallery_at = time.perf_counter() - start
        if heatmap_at is None and window.model.heatmap.raw is not None:
            heatmap_at = time.perf_counter() - start
        if (
            full_heatmap_at is None
            and window.model.heatmap.raw is not None
            and not window.review._first_look_shown
        ):
            full_heatmap_at = time.perf_counter() - start
        done = (
            rows.rowCount()
            and all(r.score is not None or r.load_error for r in rows.rows)
            and not window.predictions.busy
        )
        if done and heatmap_at is not None:
            break
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    reviewer.stop()
    sweep = threshold_sweep(app, window, ticks, busy, args.timeout) if args.wafer else None
    heartbeat.stop()
    gaps = np.diff(ticks) * 1000 if len(ticks) > 1 else np.array([0.0])
    scored = sum(r.score is not None for r in rows.rows)
    print(
        f"{scored} of {rows.rowCount()} images scored in {elapsed:.1f} s with {args.model_name}@{args.image_size} "
        f"on {args.device}; gallery after {gallery_at or float('nan'):.2f} s, first heatmap on screen after "
        f"{heatmap_at or float('nan'):.1f} s (full resolution after {full_heatmap_at or float('nan'):.1f} s; "
        f"first look {args.first_look or 'off'})"
    )
    print(
        f"event loop ({TICK_MS} ms timer): longest stall {gaps.max():.0f} ms, 99th percentile "
        f"{np.percentile(gaps, 99):.0f} ms, median tick {np.median(gaps):.1f} ms, "
        f"{int((gaps > 100).sum())} stalls over 100 ms"
    )
    if sweep is not None:
        print(sweep)
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB")
    window.close()
    shutil.rmtree(work, ignore_errors=True)


SWEEP = [
    *np.round(np.arange(0.50, 0.91, 0.10), 2),
    *np.round(np.arange(0.85, 0.04, -0.05), 2),
]  # ends low: much proposed


def threshold_sweep(app, window, ticks: list[float], busy: list[float], timeout: float) -> str:
    """Drag the threshold slider over SWEEP (a step every 100 ms), wait for the last proposal on screen;
    the event loop's longest stall meanwhile, and how long the last proposal took to show."""
    slider = window.right.masks.threshold
    model = window.model
    first_tick = len(ticks)
    steps = iter(SWEEP)
    mover = QTimer()

    def step() -> None:
        value = next(steps, None)
        if value is None:
            mover.stop()
        else:
            slider.setValue(round(float(value) * 100))

    mover.timeout.connect(step)
    mover.start(100)
    start = time.perf_counter()
    while mover.isActive() and time.perf_counter() - start < timeout:
        app.processEvents()
        time.sleep(0.001)
    released = time.perf_counter()
    while model.proposals.pending and time.perf_counter() - start < timeout:
        app.processEvents()
        time.sleep(0.001)
    shown = time.perf_counter() - released
    for _ in range(20):  # a few more ticks after the last proposal is drawn
        app.processEvents()
        time.sleep(0.005)
    gaps = np.diff(ticks[first_tick:]) * 1000 if len(ticks) - first_tick > 1 else np.array([0.0])
    # On a shared CPU a gap is also time the thread waited for a core; its own CPU time says what it did
    worked = np.diff(busy[first_tick:]) * 1000 if len(busy) - first_tick > 1 else np.array([0.0])
    covered = 0.0 if model.proposal.data is None else float(model.proposal.data.mean())
    return (
        f"threshold sweep ({len(SWEEP)} steps, 100 ms apart, over a {model.image.shape[1]} px image): longest stall "
        f"{gaps.max():.0f} ms, 99th percentile {np.percentile(gaps, 99):.0f} ms (the GUI thread's own work between two "
        f"ticks at most {worked.max():.0f} ms); the last threshold's proposal "
        f"({covered:.0%} of the image) on screen {shown:.2f} s after the slider stopped"
    )


if __name__ == "__main__":
    main()
