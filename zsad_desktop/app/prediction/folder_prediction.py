"""Predict a whole folder to files: heatmap PNGs and a CSV of scores.

The command-line counterpart of the window's background inference: images
that cannot be read are reported and skipped, the batch goes on. Wide-range
images become the detector's input by the chosen rule (`detector_input`), and
images larger than a tile are predicted tile by tile (`tiled_prediction`).
Each image's row is in scores.csv as soon as it is done, and a rerun into the
same folder skips what is there (`scores_file`). A folder-level method (one with
`score_folder`, e.g. musc) scores the whole folder at once, reading images
lazily, and its rows are written when it finishes; a rerun with images left to
do scores them against the whole folder again, writing only the missing rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from zsad_desktop.app.prediction.pipeline import prefetched, reader_threads
from zsad_desktop.app.prediction.scores_file import ScoresFile, claim_output, score_key
from zsad_desktop.app.prediction.tiled_prediction import predict_tiled
from zsad_desktop.app.workspace.detector_input import (
    DetectorInput,
    InputChoice,
    TilingChoice,
    WorkspaceInput,
    detector_input_size,
)
from zsad_desktop.app.workspace.scanning import walk_images
from zsad_desktop.detection.interface import Detection, Detector
from zsad_desktop.detection.tiling import TilingConfig
from zsad_desktop.imaging import ImageLoadError, image_info, list_image_entries, load_image
from zsad_desktop.imaging.masks import atomic_write
from zsad_desktop.imaging.overlay import colourise

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImageSource:
    """One image to predict: a file, or one frame of a multi-frame file, with how the detector sees it.
    `tiling` is set for an image to be predicted by tiles; `key` goes with its prediction."""

    path: Path
    frame: int | None = None
    detector_input: DetectorInput = DetectorInput()
    tiling: TilingConfig | None = None
    key: str = ""


PathOrSource = TypeVar("PathOrSource", bound=Path | ImageSource)  # detect_files yields back what it was given


@dataclass
class FolderPrediction:
    """What a run did: images scored now (with their score), images an earlier run into the same
    folder had scored, files skipped with the reason."""

    scored: list[tuple[ImageSource, float]] = field(default_factory=list)
    already_done: int = 0
    failed: list[ImageLoadError] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        return (
            f"{len(self.scored)} images scored, {self.already_done} already done, {len(self.failed)} skipped"
        )


def image_files(folder: Path) -> list[Path]:
    """Every image below `folder` that a workspace scan would find, sorted."""
    return sorted(folder / rel for rel, _ in walk_images(folder))


def detect_files(
    detector: Detector,
    paths: Sequence[PathOrSource],
    batch_size: int = 4,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[PathOrSource, Detection | ImageLoadError]]:
    """Yield (item, detection) or (item, load error) for each path or source, batch by batch, the next
    images read on worker threads while a batch is scored (`pipeline.prefetched`). Sources with
    `tiling` are predicted by tiles, one at a time, and reported as soon as done (a `TiledImageDetection`,
    its map reduced when the image is very large); a cancel between tiles ends the run."""
    sources = [(item, item if isinstance(item, ImageSource) else ImageSource(Path(item))) for item in paths]
    threads = reader_threads(str(getattr(detector, "device", "")))
    stream = prefetched(sources, _read_input, threads, depth=2 * batch_size, cancel=cancel)
    try:
        done = 0
        while done < len(sources):
            if cancel is not None and cancel.is_set():
                return
            chunk = list(islice(stream, min(batch_size, len(sources) - done)))
            if not chunk:  # the reads stopped: cancelled meanwhile
                return
            readable: list[tuple[PathOrSource, np.ndarray]] = []
            for (item, source), pixels in chunk:
                if isinstance(pixels, ImageLoadError):
                    yield item, pixels
                elif isinstance(pixels, BaseException):
                    raise pixels
                elif source.tiling is None:
                    readable.append((item, _whole(pixels)))
                else:
                    try:
                        yield (
                            item,
                            predict_tiled(
                                detector,
                                source.path,
                                source.frame,
                                source.detector_input,
                                source.tiling,
                                cancel,
                            ),
                        )
                    except ImageLoadError as error:
                        yield item, error
                    except InterruptedError:  # cancelled between the tiles of a large image
                        return
            if readable:
                for (item, _), detection in zip(readable, detector.predict([img for _, img in readable])):
                    yield item, detection
            done += len(chunk)
            if progress is not None:
                progress(done, len(sources))
    finally:
        stream.close()  # reads still running are waited for, none is left behind


class LazyImages:
    """The detector inputs of `sources`, read when indexed (a folder is never held in memory at once); an
    image that fails to read is a black image of its header's size, its error kept in `errors`."""

    def __init__(self, sources: Sequence[ImageSource]):
        self.sources = list(sources)
        self.errors: dict[int, ImageLoadError] = {}

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> np.ndarray:
        source = self.sources[i]
        try:
            return source.detector_input.to_rgb8(load_image(source.path, source.frame))
        except ImageLoadError as error:
            self.errors[i] = error
            try:
                info = image_info(source.path)
                shape = (info.height or 1, info.width or 1, 3)
            except ImageLoadError:
                shape = (1, 1, 3)
            return np.zeros(shape, np.uint8)


def score_whole_folder(
    detector: Any,  # a folder-level detector: a Detector with score_folder
    sources: Sequence[ImageSource],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[ImageSource, Detection | ImageLoadError]]:
    """A folder-level method (one with `score_folder`, e.g. musc) scores every source against the others,
    reading them lazily; then yields (source, detection or load error) in order. A cancel yields nothing."""
    images = LazyImages(sources)
    try:
        detections = detector.score_folder(
            images, progress, (lambda: cancel.is_set()) if cancel is not None else None
        )
    except InterruptedError:
        return
    for i, (source, detection) in enumerate(zip(sources, detections)):
        yield source, images.errors.get(i, detection)


def _whole(pixels: np.ndarray | None) -> np.ndarray:
    if pixels is None:  # _read_input leaves only tiled images unread
        raise ValueError("an image read by tiles has no whole pixels")
    return pixels


def _read_input(pair: tuple[PathOrSource, ImageSource]) -> np.ndarray | None:
    """The detector's 8-bit input of one image; None for a tiled one, read tile by tile while predicted."""
    source = pair[1]
    if source.tiling is not None:
        return None
    return source.detector_input.to_rgb8(load_image(source.path, source.frame))


def folder_sources(
    folder: Path, resolved: WorkspaceInput, paths: Sequence[Path] | None = None
) -> Iterator[ImageSource | ImageLoadError]:
    """Each image below `folder` (or of `paths`; each frame of a multi-frame file) as a source, from its header."""
    for path in image_files(folder) if paths is None else paths:
        try:
            info = image_info(path)
            entries = list_image_entries(path) if info.frames > 1 else [None]
        except ImageLoadError as error:
            yield error
            continue
        for entry in entries:
            detector_input, tiling, key = resolved.for_image(
                info.bit_depth, info.modality, info.height, info.width
            )
            yield ImageSource(path, entry.frame if entry else None, detector_input, tiling, key)


def _outside(paths: list[Path], folder: Path, out_dir: Path) -> list[Path]:
    """`paths` without those in `out_dir`, when it is inside `folder`: its heatmaps are no images to score."""
    out, root = out_dir.resolve(), folder.resolve()
    if not out.is_relative_to(root) or out == root:
        return paths
    inner = out.relative_to(root).parts
    return [path for path in paths if path.relative_to(folder).parts[: len(inner)] != inner]


def write_heatmaps(
    out_dir: Path,
    source: ImageSource,
    folder: Path,
    detection: Detection,
    detector: Detector,
    keep_suffix: bool = False,
) -> None:
    """A colour-mapped PNG for people and a raw 16-bit PNG (score x 65535) for programs, named after the
    image (with its suffix when `keep_suffix`: x.png and x.gif side by side); a very large tiled image's
    heatmaps are its reduced map."""
    relative = source.path.relative_to(folder)
    target = out_dir / relative.parent
    target.mkdir(parents=True, exist_ok=True)
    stem = relative.name if keep_suffix else relative.stem
    stem = stem if source.frame is None else f"{stem}_frame{source.frame + 1}"
    heat = np.clip(detection.heatmap, 0.0, 1.0)
    shown = detector.normalisation.normalise(detection.heatmap)
    colour = cv2.cvtColor(colourise(shown), cv2.COLOR_RGB2BGR)
    for name, pixels in (
        (f"{stem}_heatmap.png", colour),
        (f"{stem}_raw16.png", (heat * 65535).astype(np.uint16)),
    ):
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
    choice: InputChoice = InputChoice(),
    tiling: TilingChoice = TilingChoice(),
    window: tuple[float, float] | None = None,
) -> FolderPrediction:
    """Score every image below `folder`, wide-range ones seen by `choice` ("current-window" uses `window`),
    each image's heatmaps and scores.csv row written as it is done; images `out_dir`'s scores.csv already
    has for this model and input are not scored again. `FileNotFoundError`/`NotADirectoryError` when it is
    no folder, `FileExistsError` when `out_dir` holds another folder's scores."""
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_output(out_dir, folder)
    result = FolderPrediction()
    resolved = WorkspaceInput(choice, window, tiling.config(detector_input_size(detector), batch_size))
    folder_level = hasattr(detector, "score_folder")  # e.g. musc: each image scored against the others
    if folder_level:  # whole images, never tiles
        resolved = WorkspaceInput(choice, window, None)
    with ScoresFile(out_dir / "scores.csv") as scores:

        def relative(path: Path) -> str:
            return str(Path(path).relative_to(folder))

        paths = _outside(image_files(folder), folder, out_dir)
        stems = Counter((path.parent, path.stem) for path in paths)
        sources: list[ImageSource] = []
        readable: list[ImageSource] = []
        done_keys: set[tuple[Path, int | None]] = set()
        for source in folder_sources(folder, resolved, paths):
            if isinstance(source, ImageLoadError):
                result.failed.append(source)
                scores.add_skipped(relative(source.path), source.reason)
                continue
            readable.append(source)
            if score_key(relative(source.path), source.frame, detector.model_id, source.key) in scores.done:
                result.already_done += 1
                done_keys.add((source.path, source.frame))
            else:
                sources.append(source)
        if folder_level and sources:  # the images done are scored again as the others' references
            sources = readable
        outcomes = (
            score_whole_folder(detector, sources, progress, cancel)
            if folder_level
            else detect_files(detector, sources, batch_size, progress, cancel)
        )
        for source, outcome in outcomes:
            if (source.path, source.frame) in done_keys:  # its row is there already
                continue
            if isinstance(outcome, ImageLoadError):
                result.failed.append(outcome)
                scores.add_skipped(relative(source.path), outcome.reason)
                continue
            shared_stem = stems[source.path.parent, source.path.stem] > 1
            write_heatmaps(
                out_dir, source, folder, outcome, detector, shared_stem
            )  # first: a row means its files are there
            scores.add_score(
                score_key(relative(source.path), source.frame, outcome.model_id, source.key), outcome.score
            )
            result.scored.append((source, outcome.score))
    result.cancelled = cancel is not None and cancel.is_set()
    return result
