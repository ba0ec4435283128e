"""Predict a whole folder to files: heatmap PNGs and a CSV of scores.

The command-line counterpart of the window's background inference: images
that cannot be read are reported and skipped, the batch goes on.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np

from zsad_desktop.app.scanning import walk_images
from zsad_desktop.detection.interface import Detection, Detector
from zsad_desktop.imaging import ImageLoadError, read_rgb8
from zsad_desktop.imaging.masks import atomic_write
from zsad_desktop.imaging.overlay import colourise

Progress = Callable[[int, int], None]


@dataclass
class FolderPrediction:
    scored: list[tuple[Path, Detection]] = field(default_factory=list)
    failed: list[ImageLoadError] = field(default_factory=list)
    cancelled: bool = False


def image_files(folder: Path) -> list[Path]:
    """Every image below `folder` that a workspace scan would find, sorted."""
    return sorted(folder / rel for rel, _ in walk_images(folder))


def detect_files(
    detector: Detector,
    paths: Sequence[Path],
    batch_size: int = 4,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[Path, Detection | ImageLoadError]]:
    """Yield (path, detection) or (path, load error) for each file, in order."""
    done = 0
    for start in range(0, len(paths), batch_size):
        if cancel is not None and cancel.is_set():
            return
        readable: list[tuple[Path, np.ndarray]] = []
        for path in paths[start : start + batch_size]:
            try:
                readable.append((path, read_rgb8(path)))
            except ImageLoadError as error:
                yield path, error
        if readable:
            for (path, _), detection in zip(readable, detector.predict([img for _, img in readable])):
                yield path, detection
        done = min(len(paths), start + batch_size)
        if progress is not None:
            progress(done, len(paths))


def write_heatmaps(out_dir: Path, relative: Path, detection: Detection, detector: Detector) -> None:
    """A colour-mapped PNG for people and a raw 16-bit PNG (score x 65535) for programs."""
    target = out_dir / relative.parent
    target.mkdir(parents=True, exist_ok=True)
    heat = np.clip(detection.heatmap, 0.0, 1.0)
    shown = detector.normalisation.normalise(detection.heatmap)
    colour = cv2.cvtColor(colourise(shown), cv2.COLOR_RGB2BGR)
    for name, pixels in ((f"{relative.stem}_heatmap.png", colour), (f"{relative.stem}_raw16.png", (heat * 65535).astype(np.uint16))):
        ok, encoded = cv2.imencode(".png", pixels)
        with atomic_write(target / name) as handle:
            handle.write(encoded.tobytes())


def predict_folder(
    detector: Detector,
    folder: Path,
    out_dir: Path,
    batch_size: int = 4,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> FolderPrediction:
    folder, out_dir = Path(folder), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = FolderPrediction()
    paths = image_files(folder)
    for path, outcome in detect_files(detector, paths, batch_size, progress, cancel):
        if isinstance(outcome, ImageLoadError):
            result.failed.append(outcome)
            continue
        write_heatmaps(out_dir, path.relative_to(folder), outcome, detector)
        result.scored.append((path, outcome))
    result.cancelled = cancel is not None and cancel.is_set()
    write_scores_csv(out_dir / "scores.csv", folder, result)
    return result


def write_scores_csv(path: Path, folder: Path, result: FolderPrediction) -> None:
    rows: Iterable[list[str]] = [
        [str(p.relative_to(folder)), f"{d.score:.6f}", d.model_id, ""] for p, d in result.scored
    ] + [[str(Path(e.path).relative_to(folder)), "", "", e.reason] for e in result.failed]
    with atomic_write(path, mode="w") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "score", "model", "error"])
        writer.writerows(rows)
