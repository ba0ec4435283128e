"""Time from opening a folder to the first heatmap on screen, before and after the fast engine and first look, in one process.

"before": the exact float32 engine without a first look; "after": the defaults (fast engine, the
device's default precision, the 336 px first look). Runs alternate (before, after, after, before, ...),
each in a fresh window on a fresh copy of the same images, so nothing is cached between runs but the
loaded model and the text features, which both share (loaded once before timing). The window keeps a
core for itself as `zsad gui` does (on a 2-core machine the detector gets one thread).

    python bench/first_heatmap.py --runs 2                       # ViT-L-14-336 at 518, random weights, CPU
    python bench/first_heatmap.py --method crane --images 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication  # noqa: E402

from zsad_desktop.app.prediction.jobs import leave_a_core_for_the_window  # noqa: E402
from zsad_desktop.app.review.detector_settings import DetectorSettings  # noqa: E402
from zsad_desktop.app.review.settings import AppSettings  # noqa: E402
from zsad_desktop.ui.main_window import MainWindow  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEFAULT_FOLDER = SHARED / "data" / "mvtec_ad" / "hazelnut" / "test" / "crack"


def settings(args, variant: str) -> DetectorSettings:
    common = dict(
        method=args.method,
        model_name=args.model_name,
        pretrained=args.pretrained,
        image_size=args.image_size,
        device=args.device,
        object_name="object",
        normal_memory=False,
    )
    if variant == "before":
        return DetectorSettings(**common, first_look=0, precision="float32", extra={"engine": "exact"})
    return DetectorSettings(**common)


def one_run(app, args, variant: str, work: Path, index: int) -> tuple[float, float]:
    """Seconds to the first heatmap on screen and to the full-resolution one."""
    folder = work / f"{variant}-{index}"
    folder.mkdir()
    for image in sorted(args.folder.glob("*.png"))[: args.images]:
        shutil.copy(image, folder / image.name)
    window = MainWindow(AppSettings(detector=settings(args, variant), reviewer="bench"), persist=False)
    window.resize(1400, 900)
    window.show()
    start = time.perf_counter()
    first = full = None
    window.open_folder(str(folder))
    while full is None and time.perf_counter() - start < args.timeout:
        app.processEvents()
        if first is None and window.model.heatmap.raw is not None:
            first = time.perf_counter() - start
        if window.model.heatmap.raw is not None and not window.review._first_look_shown:
            full = time.perf_counter() - start
        time.sleep(0.002)
    window.close()
    app.processEvents()
    return first or float("nan"), full or float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--method", default="baseline")
    parser.add_argument("--model-name", default="ViT-L-14-336")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=518)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2, help="runs of each variant")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    leave_a_core_for_the_window()
    for variant in ("before", "after"):  # load the model and the text features once, for both
        settings(args, variant).build()
    work = Path(tempfile.mkdtemp(prefix="zsad-first-heatmap-"))
    times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    order = [("before", "after") if i % 2 == 0 else ("after", "before") for i in range(args.runs)]
    try:
        for i, pair in enumerate(order):
            for variant in pair:
                times[variant].append(one_run(app, args, variant, work, i))
                first, full = times[variant][-1]
                print(f"  {variant}: first heatmap {first:.1f} s, full resolution {full:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = {
        v: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for v, ts in times.items()
    }
    print(
        f"{args.method}, {args.model_name}@{args.image_size} ({args.pretrained}) on {args.device}, {args.runs} runs each: "
        f"before (exact float32, no first look) {median['before'][0]:.1f} s to the first heatmap; after (defaults) "
        f"{median['after'][0]:.1f} s to the first look, {median['after'][1]:.1f} s to the full one; "
        f"first heatmap {median['before'][0] / median['after'][0]:.1f}x sooner, full one "
        f"{median['before'][1] / median['after'][1]:.1f}x sooner"
    )


if __name__ == "__main__":
    main()
