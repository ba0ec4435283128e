"""Clicks to IoU 0.85 / 0.90 for the click tool, against the polygon and the brush, under a simulated reviewer.

The reviewer is the clicker of the interactive-segmentation literature (RITM, SimpleClick; see
click_simulation.py). Every image with a true mask in each `--data` folder (MVTec layout:
test/<defect>/<name>.* with ground_truth/<defect>/<name>_mask.png) is corrected from three starts:

- empty: no mask;
- near: a near miss, the true mask dilated by 4% of the image's longer side plus one spurious disk
  (radius 4% of the side) where there is no defect;
- musc: the proposal of `musc` over the folder's test images with the tiny random-weight backbone
  (no weights needed), its heatmap scaled by the folder's 1st..99.9th percentiles and thresholded at 0.5.
  The tool gets this heatmap on this start; on the other two it gets none.

For each set and start it prints NoC@85 and NoC@90 (clicks to the IoU, at most 20; median and
mean) and the share that fail at 20, beside the manual baselines: the fewest polygon vertices that
reach the IoU (traced from nothing, whatever the start) and brush/eraser dabs of a fixed radius (3%
of the side) under the same clicker, and a disk oracle: each click adds or removes the largest disk
that fits in the error under it (it knows the truth), the best that painting click by click can do. Latency is the median time of one click (neighbourhood,
correction, write-back); it also times clicks on the largest image scaled to 1024 px and around a
click on a 20,000 px image (wall and CPU time: on a shared machine the CPU time is the tool's own). The clicker stops at IoU 0.90, so the plotted curves stay flat after it.

    python bench/click_correction.py --data ../shared/data/glass_anomaly/glass ... \\
        [--starts empty near musc] [--limit N] [--json OUT] [--png docs/click_correction.png] \\
        [--click-model sam [--sam-checkpoint models/sam/sam_vit_b_01ec64.pth] [--device cuda]]

`--click-model sam` measures the optional SAM click model instead of the built-in one (the same
clicker, starts and baselines); its weights are found in models/sam/ unless given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from click_simulation import (  # noqa: E402
    MAX_CLICKS,
    Run,
    brush_step,
    disk_oracle_step,
    next_click,
    polygon_curve,
    simulate,
    tool_step,
    vertices_to,
)
from PIL import Image  # noqa: E402

from zsad_desktop.app.viewer.click_correction import Click  # noqa: E402
from zsad_desktop.app.viewer.click_models import EDGES, EDGES_MODEL, NAMES, ClickModel, choose_click_model  # noqa: E402
from zsad_desktop.detection.interface import DetectorError  # noqa: E402

STARTS = ("empty", "near", "musc")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_image(path: Path) -> np.ndarray:
    """What the reviewer sees: grey stays grey, anything else becomes RGB, 8 bits."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I") else "RGB"))


def pairs(root: Path) -> list[tuple[Path, Path]]:
    out = []
    for mask_path in sorted((root / "ground_truth").glob("*/*_mask.png")):
        stem = mask_path.name[: -len("_mask.png")]
        for suffix in IMAGE_SUFFIXES:
            image_path = root / "test" / mask_path.parent.name / (stem + suffix)
            if image_path.exists():
                out.append((image_path, mask_path))
                break
    return out


def near_miss(truth: np.ndarray, seed: int) -> np.ndarray:
    side = max(truth.shape)
    r = max(1, round(0.04 * side))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    mask = cv2.dilate(truth.astype(np.uint8), kernel).astype(bool)
    # the spurious disk goes where it does not touch the dilated mask (the furthest place if none is free)
    away = cv2.distanceTransform(np.pad(~mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    h, w = truth.shape
    ys, xs = np.nonzero(away > 2 * r)
    rng = np.random.default_rng(seed)
    if ys.size:
        i = rng.integers(ys.size)
        centre = (int(xs[i]), int(ys[i]))
    else:
        y, x = np.unravel_index(int(np.argmax(away)), away.shape)
        centre = (int(x), int(y))
    disk = np.zeros((h, w), np.uint8)
    cv2.circle(disk, centre, r, 1, thickness=-1)
    return mask | disk.astype(bool)


def musc_heatmaps(root: Path, wanted: list[Path]) -> dict[Path, np.ndarray]:
    """musc over the folder's test images (tiny random ViT): heatmaps of `wanted`, on a 0..1 scale."""
    from zsad_desktop.detection.interface import create_detector

    images = sorted(p for p in (root / "test").glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    musc = create_detector(
        "musc", model_name="ZSAD-Tiny-ViT-14", pretrained="random", image_size=112, device="cpu"
    )
    rgb = [np.asarray(Image.open(p).convert("RGB")) for p in images]
    maps = {p: d.heatmap for p, d in zip(images, musc.score_folder(rgb))}
    values = np.concatenate([m.ravel()[::7] for m in maps.values()])
    low, high = np.percentile(values, [1, 99.9])
    return {p: np.clip((maps[p] - low) / max(high - low, 1e-12), 0, 1).astype(np.float32) for p in wanted}


def run_set(
    root: Path, starts: list[str], limit: int | None, model: ClickModel = EDGES_MODEL
) -> tuple[list[dict], dict]:
    found = pairs(root)
    if limit is not None and len(found) > limit:  # evenly spread, so every defect type keeps its share
        found = [found[i] for i in np.linspace(0, len(found) - 1, limit).round().astype(int)]
    name = root.name
    heatmaps = musc_heatmaps(root, [p for p, _ in found]) if "musc" in starts else {}
    figures, curves = [], {}
    polygons = [polygon_curve(np.asarray(Image.open(m).convert("L")) > 127) for _, m in found]
    for start in starts:
        tool_runs: list[Run] = []
        brush_runs: list[Run] = []
        oracle_runs: list[Run] = []
        for i, (image_path, mask_path) in enumerate(found):
            image = read_image(image_path)
            truth = np.asarray(Image.open(mask_path).convert("L")) > 127
            heat = heatmaps.get(image_path) if start == "musc" else None
            if start == "empty":
                begin = np.zeros_like(truth)
            elif start == "near":
                begin = near_miss(truth, seed=i)
            else:
                begin = heat >= 0.5
            tool_runs.append(
                simulate(truth, begin, lambda m, c, im=image, h=heat: tool_step(im, h, m, c, model))
            )
            radius = max(2, round(0.03 * max(truth.shape)))
            brush_runs.append(simulate(truth, begin, lambda m, c, r=radius: brush_step(m, c[-1], r)))
            oracle_runs.append(simulate(truth, begin, disk_oracle_step(truth)))
        noc90 = np.array([r.clicks_to(0.9) for r in tool_runs])
        ms = [t for r in tool_runs for t in r.ms]
        figures.append(
            {
                "set": name,
                "start": start,
                "click_model": model.name,
                "images": len(found),
                "start_iou_median": float(np.median([r.ious[0] for r in tool_runs])),
                "noc85_median": float(np.median([r.clicks_to(0.85) for r in tool_runs])),
                "noc85_mean": float(np.mean([r.clicks_to(0.85) for r in tool_runs])),
                "noc90_median": float(np.median(noc90)),
                "noc90_mean": float(np.mean(noc90)),
                "fail20": float(np.mean([r.ious[-1] < 0.9 for r in tool_runs])),
                "polygon_noc85_median": float(np.median([vertices_to(p, 0.85) for p in polygons])),
                "polygon_noc90_median": float(np.median([vertices_to(p, 0.9) for p in polygons])),
                "polygon_noc90_mean": float(np.mean([vertices_to(p, 0.9) for p in polygons])),
                "brush_noc85_median": float(np.median([r.clicks_to(0.85) for r in brush_runs])),
                "brush_noc90_median": float(np.median([r.clicks_to(0.9) for r in brush_runs])),
                "disk_oracle_noc90_median": float(np.median([r.clicks_to(0.9) for r in oracle_runs])),
                "disk_oracle_fail20": float(np.mean([r.ious[-1] < 0.9 for r in oracle_runs])),
                "ms_per_click_median": float(np.median(ms)) if ms else 0.0,
                "ms_per_click_p95": float(np.percentile(ms, 95)) if ms else 0.0,
            }
        )
        curves[start] = {
            "tool": np.mean([r.curve() for r in tool_runs], axis=0),
            "brush": np.mean([r.curve() for r in brush_runs], axis=0),
            "polygon": np.mean([p[: MAX_CLICKS + 1] for p in polygons], axis=0),
        }
    return figures, curves


def plot(all_curves: dict[str, dict], starts: list[str], path: Path, machine: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(all_curves)
    fig, axes = plt.subplots(
        len(sets), len(starts), figsize=(3.2 * len(starts), 2.4 * len(sets)), squeeze=False, sharey=True
    )
    x = np.arange(MAX_CLICKS + 1)
    for row, name in enumerate(sets):
        for col, start in enumerate(starts):
            ax = axes[row][col]
            curves = all_curves[name][start]
            ax.plot(x, curves["tool"], label="click tool (clicks)", color="tab:blue", lw=2)
            ax.plot(x, curves["brush"], label="brush/eraser (dabs)", color="tab:orange")
            ax.plot(x, curves["polygon"], label="polygon (vertices)", color="tab:grey", ls="--")
            ax.axhline(0.9, color="k", lw=0.5, ls=":")
            ax.set_ylim(0, 1)
            ax.set_title(f"{name}, start: {start}", fontsize=9)
            if col == 0:
                ax.set_ylabel("mean IoU")
            if row == len(sets) - 1:
                ax.set_xlabel("actions")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"IoU against actions (simulated reviewer); {machine}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def latency(roots: list[Path], clicks: int = 10, model: ClickModel = EDGES_MODEL) -> None:
    """Wall and CPU time of one click on the largest image of the sets scaled to 1024 px, and around
    a click on a 20,000 px image (the same picture pasted in, the rest blank), as the viewer runs it."""
    image_path, mask_path = max(
        (pair for root in roots for pair in pairs(root)), key=lambda pair: Image.open(pair[0]).size[0]
    )
    picture = read_image(image_path)
    truth = np.asarray(Image.open(mask_path).convert("L")) > 127
    scale = 1024 / max(truth.shape)
    size = (round(truth.shape[1] * scale), round(truth.shape[0] * scale))
    picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    truth = cv2.resize(truth.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    big = np.zeros((20_000, 20_000) + picture.shape[2:], np.uint8)  # untouched pages cost nothing
    big_truth = np.zeros((20_000, 20_000), bool)
    top, left = 9_000, 11_000
    big[top : top + size[1], left : left + size[0]] = picture
    big_truth[top : top + size[1], left : left + size[0]] = truth
    for name, image, target in (("1024 px", picture, truth), ("20,000 px", big, big_truth)):
        walls, cpus = [], []
        mask = np.zeros(target.shape, bool)
        done: list = []
        clicked = np.zeros(target.shape, bool)
        for _ in range(clicks):
            click = next_click_in(target, mask, clicked, (top, left, size) if image is big else None)
            if click is None:
                break
            done.append(click)
            clicked[click.y, click.x] = True
            wall, cpu = time.perf_counter(), time.process_time()
            mask = tool_step(image, None, mask, done, model)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        print(
            f"latency, {name} ({image_path.name}): median {np.median(walls):.0f} ms wall, "
            f"{np.median(cpus):.0f} ms CPU, longest {max(walls):.0f} ms wall, over {len(walls)} clicks"
        )


def next_click_in(truth, mask, clicked, window):
    """The clicker's next click; on the large image it looks only where the picture is (a full-size
    distance transform of 20,000 px would time the clicker, not the tool)."""
    if window is None:
        return next_click(truth, mask, clicked)
    top, left, (w, h) = window
    part = (slice(top, top + h), slice(left, left + w))
    click = next_click(truth[part], mask[part], clicked[part])
    return None if click is None else Click(click.x + left, click.y + top, click.positive)


def machine_line() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores, load {load:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, required=True, help="folders in the MVTec layout")
    parser.add_argument("--starts", nargs="+", choices=STARTS, default=list(STARTS))
    parser.add_argument(
        "--limit", type=int, default=None, help="at most this many images per set, evenly spread"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--png", type=Path, default=None, help="plot IoU against actions here")
    parser.add_argument("--latency-only", action="store_true", help="only time clicks at 1024 and 20,000 px")
    parser.add_argument(
        "--click-model", choices=NAMES, default=EDGES, help="the model that turns clicks into masks"
    )
    parser.add_argument(
        "--sam-checkpoint", default="", help="SAM weights (default: the released file in models/sam/)"
    )
    parser.add_argument("--device", default="auto", help="where SAM runs: auto, cpu or cuda")
    args = parser.parse_args()
    try:
        model = choose_click_model(args.click_model, args.sam_checkpoint, args.device)
        if model.name != EDGES:
            model.loaded()  # type: ignore[attr-defined]  # misshapen weights are said before any timing
    except (ValueError, DetectorError) as error:
        sys.exit(str(error))
    machine = machine_line()
    print(f"machine: {machine}; click model: {' '.join(model.key)}")
    latency(args.data, model=model)
    if args.latency_only:
        return
    header = (
        f"{'set':<12} {'start':<6} {'n':>3} {'IoU0':>5} {'NoC85':>6} {'NoC90 med (mean)':>17} {'fail20':>6}"
        f" {'polygon90':>9} {'brush90':>7} {'oracle90':>8} {'ms/click':>8}"
    )
    print(header)
    rows, all_curves = [], {}
    for root in args.data:
        if not (root / "ground_truth").is_dir():
            sys.exit(f"{root} has no ground_truth folder (MVTec layout expected)")
        figures, curves = run_set(root, args.starts, args.limit, model)
        all_curves[root.name] = curves
        for f in figures:
            print(
                f"{f['set']:<12} {f['start']:<6} {f['images']:>3} {f['start_iou_median']:>5.2f}"
                f" {f['noc85_median']:>6.1f} {f['noc90_median']:>8.1f} ({f['noc90_mean']:>5.1f})"
                f" {f['fail20']:>6.0%} {f['polygon_noc90_median']:>9.1f} {f['brush_noc90_median']:>7.1f}"
                f" {f['disk_oracle_noc90_median']:>8.1f} {f['ms_per_click_median']:>8.0f}",
                flush=True,
            )
        rows.extend(figures)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.png:
        plot(all_curves, args.starts, args.png, machine)


if __name__ == "__main__":
    main()
