"""musc's reference sample in a workspace, and its features cached on disk.

The image on screen is scored against a sample of the folder (`MuscDetector.use_references`):
the images reviewed NORMAL first (so reviewing lifts musc too), then a seeded
sample of the unreviewed ones, at most `reference_size`. Reviewed anomalous
images never join.

Each reference's tokens are kept in the workspace's data folder (musc/, one
file per backbone and layers), keyed by content hash, so reopening the folder
or a new normal takes a backbone pass only for images not seen before. Past
`budget_bytes` the entries outside the current sample go first; the file is
written atomically (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import torch

from zsad_desktop.app.prediction.workspace_predictions import workspace_input
from zsad_desktop.app.workspace.image_queries import ImageRow
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.musc.detector import MuscDetector
from zsad_desktop.detection.shared_pass import PassTokens
from zsad_desktop.imaging import ImageLoadError, load_image
from zsad_desktop.imaging.masks import atomic_write
from zsad_desktop.store import ReviewStatus

REFERENCE_FOLDER = "musc"
BUDGET_BYTES = 1 << 30  # about 60 ViT-L images at 518 px (4 layers of 1,370 x 1,024 float32 tokens)
FORMAT = 1


def choose_references(workspace: Workspace, count: int, seed: int = 0) -> list[ImageRow]:
    """The NORMAL images (by name), then a seeded sample of the unreviewed ones: at most `count`."""
    rows = [r for r in workspace.images(order="name", include_errors=False) if r.content_hash]
    normal = [r for r in rows if r.status == ReviewStatus.NORMAL]
    # A seeded order of each image's own (not a shuffle of the list): a review moves one image, not the sample.
    rest = sorted(
        (r for r in rows if r.status == ReviewStatus.UNREVIEWED),
        key=lambda r: hashlib.sha1(f"{seed}:{content_hash(r)}".encode()).hexdigest(),
    )
    return (normal + rest)[:count]


def content_hash(row: ImageRow) -> str:
    """The row's content hash (the rows here are the readable ones: they have one)."""
    return row.content_hash or ""


def references_label(rows: list[ImageRow]) -> str:
    """Names the sample in the model id: how many images, how many of them reviewed NORMAL, which."""
    digest = hashlib.sha1("".join(sorted(content_hash(r) for r in rows)).encode()).hexdigest()[:10]
    normals = sum(r.status == ReviewStatus.NORMAL for r in rows)
    return f"{len(rows)}:{normals}n:{digest}"


class ReferenceCache:
    """The tokens of reference images of one workspace and musc configuration, on disk."""

    def __init__(self, workspace: Workspace, detector: MuscDetector, budget_bytes: int = BUDGET_BYTES):
        self.workspace, self.detector, self.budget_bytes = workspace, detector, budget_bytes
        config = detector.features.config
        key = f"{detector.backbone.spec.identifier}:{config.layers}:{config.pos_interpolation}:{config.pos_antialias}"
        self.path = (
            workspace.files.root / REFERENCE_FOLDER / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
        )
        self.entries: dict[str, dict] = self._load(self.path)
        self.passes = 0  # images that took a backbone pass here (the rest came from disk)

    @staticmethod
    def _load(path: Path) -> dict[str, dict]:
        if not path.is_file():
            return {}
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # an unreadable cache is rebuilt, never trusted
            return {}
        return payload.get("entries", {}) if payload.get("format") == FORMAT else {}

    def features(self, rows: list[ImageRow], cancel: threading.Event | None = None) -> PassTokens:
        """The sample's tokens: from disk where cached, else by one backbone pass (then saved)."""
        missing = [r for r in rows if r.content_hash not in self.entries]
        if missing:
            self._extract(missing, cancel)
        kept = [r for r in rows if r.content_hash in self.entries]
        if len(kept) < 2:
            raise DetectorError("musc needs at least two readable images of the same product to compare")
        parts = [self.entries[content_hash(r)] for r in kept]
        return PassTokens(
            [torch.stack([p["tokens"][i] for p in parts]) for i in range(len(parts[0]["tokens"]))],
            torch.stack([p["embedding"] for p in parts]),
            tuple(parts[0]["grid"]),
        )

    def _extract(self, rows: list[ImageRow], cancel: threading.Event | None) -> None:
        resolved = workspace_input(self.workspace, self.detector.model_id, self.detector, whole=True)
        images, readable = [], []
        for row in rows:
            detector_input, _, _ = resolved.for_image(row.bit_depth, row.modality, row.height, row.width)
            try:
                images.append(
                    detector_input.to_rgb8(load_image(self.workspace.absolute_path(row), row.frame))
                )
            except ImageLoadError:
                continue  # unreadable now: left out of the sample
            readable.append(row)
        if not images:
            return
        feats = self.detector.extract(images, cancel=None if cancel is None else cancel.is_set)
        self.passes += len(images)
        for i, row in enumerate(readable):
            self.entries[content_hash(row)] = {
                "tokens": [t[i].clone() for t in feats.tokens],
                "embedding": feats.embeddings[i].clone(),
                "grid": list(feats.grid),
            }
        self._keep_within_budget({content_hash(r) for r in rows})
        self.save()

    def _keep_within_budget(self, needed: set[str]) -> None:
        def size(entry: dict) -> int:
            return sum(t.numel() * t.element_size() for t in entry["tokens"])

        total = sum(size(e) for e in self.entries.values())
        for key in [k for k in self.entries if k not in needed]:  # oldest first (insertion order)
            if total <= self.budget_bytes:
                break
            total -= size(self.entries.pop(key))

    def save(self) -> None:
        with atomic_write(self.path) as handle:
            torch.save({"format": FORMAT, "entries": self.entries}, handle)
