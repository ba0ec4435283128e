"""Pixels on disk next to the database: masks (PNG) and heatmaps (float16 .npz).

Every file gets a new unique name and is written to a temporary file, then
renamed; the row pointing to it is committed only afterwards. A process
killed at any moment leaves at worst an unreferenced file, never a row
pointing to a half-written one. Old files stay: the review history uses them.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import numpy as np

from zsad_desktop.imaging.masks import atomic_write, read_mask, write_mask_png


class PixelFiles:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "masks").mkdir(parents=True, exist_ok=True)
        (self.root / "heatmaps").mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write_mask(self, image_hash: str, mask: np.ndarray, kind: str = "final") -> str:
        relative = f"masks/{image_hash[:2]}/{image_hash}_{kind}_{uuid.uuid4().hex[:12]}.png"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_mask_png(target, mask.astype(bool))
        return relative

    def read_mask(self, relative: str) -> np.ndarray:
        return read_mask(self.root / relative)

    def write_heatmap(self, image_hash: str, model_version: str, heatmap: np.ndarray) -> str:
        tag = uuid.uuid5(uuid.NAMESPACE_URL, model_version).hex[:12]
        relative = f"heatmaps/{image_hash[:2]}/{image_hash}_{tag}_{uuid.uuid4().hex[:8]}.npz"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, heatmap=heatmap.astype(np.float16))
        with atomic_write(target) as handle:
            handle.write(buffer.getvalue())
        return relative

    def read_heatmap(self, relative: str) -> np.ndarray:
        with np.load(self.root / relative) as data:
            return data["heatmap"].astype(np.float32)
