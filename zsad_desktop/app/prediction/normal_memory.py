"""Predictions that learn from known-normal images: the zero-shot map fused with a normal memory's map.

A `NormalMemory` (detection.normal_memory) holds the dense patch features of
images known to be normal: the images of a folder the user points to
(`zsad predict --normals DIR`) or the images a reviewer marked NORMAL in a
workspace (`sync_memory`, kept on disk in the workspace's data folder under
memory/, one file per base model). Features come from a `musc` extractor on the
active detector's own backbone (no second model in memory).

`MemoryDetector(base, memory, extractor)` predicts each image as:
  1. the base's zero-shot heatmap Z and the memory map M (each patch's distance
     to its nearest normal patch, at the image's size);
  2. fused F = NormalMemory.fuse(Z, M): the sum of the two maps, each
     standardised with statistics of *normal* images (never of the image itself);
  3. heatmap H = logistic((F - SCORE_CENTRE) / SCORE_SCALE), in 0..1, with
     SCORE_CENTRE 6 and SCORE_SCALE 2: a held-out normal image's fused maximum
     was 2-7 on hazelnut and glass (tiny random backbone), a defect's 11-1000;
  4. image score = max(H) = logistic((max F - SCORE_CENTRE) / SCORE_SCALE):
     monotone in the fused map's maximum.
Its `model_id` is the base's plus "+normals:<images>:<memory version>", so a
prediction says which memory made it and is never mistaken for a plain one.

The memory compares whole images at the detector's input size; large images
predicted tile by tile are compared tile against whole normal images (coarser).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zsad_desktop.app.prediction.folder_prediction import ImageSource, folder_sources, image_files
from zsad_desktop.app.prediction.workspace_predictions import cached_prediction, heatmap, workspace_input
from zsad_desktop.app.workspace.detector_input import InputChoice, WorkspaceInput
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import (
    Detection,
    Detector,
    DetectorError,
    NormalisationStats,
    create_detector,
)
from zsad_desktop.detection.normal_memory import NormalMemory
from zsad_desktop.imaging import ImageLoadError, load_image
from zsad_desktop.store import ReviewStatus

SCORE_CENTRE = 6.0  # fused value (sum of two normal-standardised maps) that maps to 0.5
SCORE_SCALE = 2.0
FEATURE_DEGREE = 3  # MuSc's LNAMD neighbourhood for the memory's patch features (PatchCore's 3x3)
MEMORY_FOLDER = "memory"

Progress = Callable[[int, int], None]


def fused_probability(fused: np.ndarray) -> np.ndarray:
    """The documented monotone map of a fused map into 0..1 (see the module docstring)."""
    z = (np.asarray(fused, np.float32) - SCORE_CENTRE) / SCORE_SCALE
    return (1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype(np.float32)


def memory_tag(memory: NormalMemory) -> str:
    return f"+normals:{len(memory)}:{memory.version}"


class PatchExtractor(Protocol):
    """What a memory needs of its extractor (musc's detector): patch features and their maps."""

    def patch_features(
        self, images: Sequence[np.ndarray], degree: int = ...
    ) -> tuple[Any, tuple[int, int]]: ...

    def grid_to_heatmap(
        self, grid_values: Any, grid: tuple[int, int], shape: tuple[int, int]
    ) -> np.ndarray: ...


def musc_extractor(base: Detector) -> PatchExtractor:
    """A musc detector on `base`'s backbone (shared: no second model), for patch features."""
    backbone = getattr(base, "backbone", None)
    if backbone is None:
        raise DetectorError(
            f"a normal memory needs a CLIP backbone; {base.method or 'this detector'} has none"
        )
    extractor: PatchExtractor = create_detector(  # type: ignore[assignment]  # musc's detector class
        "musc", backbone=backbone, batch_size=getattr(base, "batch_size", None)
    )
    return extractor


class MemoryDetector(Detector):
    """`base`'s zero-shot prediction fused with `memory` (features by `extractor`): see the module docstring."""

    def __init__(self, base: Detector, memory: NormalMemory, extractor: PatchExtractor):
        if len(memory) == 0:
            raise ValueError("the normal memory is empty: predict with the base detector")
        self.base, self.memory, self.extractor = base, memory, extractor
        self.method = f"{base.method}+normals"  # type: ignore[misc]  # a class constant elsewhere; here per base
        self.backbone = getattr(
            base, "backbone", None
        )  # its input size keys the predictions (detector_input)
        self.device = getattr(base, "device", "cpu")
        self.batch_size = getattr(base, "batch_size", 4)
        self.normalisation = NormalisationStats(
            0.0, 1.0
        )  # heatmaps are already on a 0..1 scale for all images
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.base.model_id + memory_tag(self.memory)

    def memory_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each image's distance-to-nearest-normal map at its own size."""
        features, grid = self.extractor.patch_features(images, degree=FEATURE_DEGREE)
        return [
            self.extractor.grid_to_heatmap(self.memory.distances(f), grid, image.shape[:2])
            for f, image in zip(features, images)
        ]

    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        images = list(images)
        if not images:
            return []
        with self._lock:  # the memory's bank and statistics are built lazily on first use
            zero_shot = self.base.predict(images)
            memory_maps = self.memory_maps(images)
            model_id = self.model_id
            out = []
            for detection, memory_map in zip(zero_shot, memory_maps):
                heat = fused_probability(self.memory.fuse(detection.heatmap, memory_map))
                out.append(Detection(float(heat.max()), heat, model_id))
            return out


def add_normals(
    memory: NormalMemory,
    items: Sequence[tuple[str, np.ndarray, np.ndarray | None]],
    base: Detector,
    extractor: PatchExtractor,
) -> None:
    """Add (id, 8-bit RGB pixels, zero-shot map or None) items; missing zero-shot maps are predicted by `base`."""
    if not items:
        return
    images = [pixels for _, pixels, _ in items]
    missing = [i for i, (_, _, z) in enumerate(items) if z is None]
    predicted = dict(zip(missing, base.predict([images[i] for i in missing]))) if missing else {}
    features, _ = extractor.patch_features(images, degree=FEATURE_DEGREE)
    for i, (image_id, _, zero_shot) in enumerate(items):
        memory.add(image_id, features[i], zero_shot if zero_shot is not None else predicted[i].heatmap)


# -- a folder of known-good images (zsad predict --normals DIR) ---------------------------------------------
def memory_from_folder(
    folder: Path,
    base: Detector,
    extractor: PatchExtractor | None = None,
    choice: InputChoice = InputChoice(),
    window: tuple[float, float] | None = None,
    progress: Progress | None = None,
    batch: int = 8,
) -> tuple[NormalMemory, list[ImageLoadError]]:
    """A memory of every image below `folder` (seen as the predictions see them, untiled), and the files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of normal images")
    extractor = extractor or musc_extractor(base)
    resolved = WorkspaceInput(choice, window, None)
    memory = NormalMemory()
    failed: list[ImageLoadError] = []
    sources: list[ImageSource] = []
    for source in folder_sources(folder, resolved, image_files(folder)):
        if isinstance(source, ImageLoadError):
            failed.append(source)
        else:
            sources.append(source)
    for start in range(0, len(sources), batch):
        items = []
        for source in sources[start : start + batch]:
            try:
                pixels = source.detector_input.to_rgb8(load_image(source.path, source.frame))
            except ImageLoadError as error:
                failed.append(error)
                continue
            name = str(source.path.relative_to(folder)) + ("" if source.frame is None else f"#{source.frame}")
            items.append((name, pixels, None))
        add_normals(memory, items, base, extractor)
        if progress is not None:
            progress(min(start + batch, len(sources)), len(sources))
    if len(memory) == 0:
        raise DetectorError(f"{folder}: no readable normal images to build a memory from")
    return memory, failed


# -- the workspace's memory of images reviewed NORMAL --------------------------------------------------------
def memory_path(workspace: Workspace, base_model_id: str) -> Path:
    """Where the memory of `base_model_id` in this workspace lives (one file per base model)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", base_model_id)[:80]
    digest = hashlib.sha1(base_model_id.encode()).hexdigest()[:10]
    return workspace.files.root / MEMORY_FOLDER / f"{readable}-{digest}.pt"


def load_memory(path: Path) -> NormalMemory:
    """The memory saved at `path`, or an empty one."""
    return NormalMemory.load(path) if Path(path).is_file() else NormalMemory()


def sync_memory(
    workspace: Workspace,
    base: Detector,
    extractor: PatchExtractor,
    memory: NormalMemory,
    cancel: threading.Event | None = None,
    batch: int = 8,
) -> tuple[int, list[str]]:
    """Make `memory` hold exactly the workspace's readable images reviewed NORMAL (by content hash): images
    no longer normal are removed, new ones added (their cached zero-shot map of `base` reused when there is
    one). Returns (images added, ids removed); the caller saves."""
    rows = [
        r
        for r in workspace.images(
            statuses=[ReviewStatus.NORMAL], order="name", model_id=base.model_id, include_errors=False
        )
        if r.content_hash
    ]
    normal = {r.content_hash: r for r in rows}
    removed = [image_id for image_id in memory.image_ids() if image_id not in normal]
    for image_id in removed:
        memory.remove(image_id)
    have = set(memory.image_ids())
    todo = [r for h, r in normal.items() if h not in have]
    resolved = workspace_input(workspace, base.model_id, base, whole=True)
    added = 0
    for start in range(0, len(todo), batch):
        if cancel is not None and cancel.is_set():
            break
        items: list[tuple[str, np.ndarray, np.ndarray | None]] = []
        for row in todo[start : start + batch]:
            detector_input, _, key = resolved.for_image(row.bit_depth, row.modality, row.height, row.width)
            try:
                pixels = detector_input.to_rgb8(load_image(workspace.absolute_path(row), row.frame))
            except ImageLoadError:
                continue  # unreadable now: left out until it reads again
            cached = cached_prediction(workspace, row.id, base.model_id, key)
            zero_shot = heatmap(workspace, cached) if cached is not None else None
            if zero_shot is not None and zero_shot.shape != pixels.shape[:2]:
                zero_shot = None
            items.append((str(row.content_hash), pixels, zero_shot))  # rows without a hash were left out
        add_normals(memory, items, base, extractor)
        added += len(items)
    return added, removed
