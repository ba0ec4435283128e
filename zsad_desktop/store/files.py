"""Pixels on disk next to the database: masks (PNG) and heatmaps (float16 .npz).

Every file gets a new unique name and is written to a temporary file, then
renamed; the row pointing to it is committed only afterwards. A process
killed at any moment leaves at worst an unreferenced file, never a row
pointing to a half-written one. Old files stay: the review history uses them.
"""

from __future__ import annotations

import io
import os
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np

from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.imaging.masks import atomic_write, read_mask, write_mask_png
from zsad_desktop.store.errors import StoreError

FLOAT16_MAX = float(np.finfo(np.float16).max)
#: temporary files older than this were left by a killed process (a live writer renames within seconds)
STALE_TEMPORARY_S = 3600


class PixelFiles:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "masks").mkdir(parents=True, exist_ok=True)
        (self.root / "heatmaps").mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write_mask(self, image_hash: str, mask: np.ndarray, kind: str = "final") -> str:
        """Write a new mask file (never over an old one); returns its path relative to the root."""
        relative = f"masks/{image_hash[:2]}/{image_hash}_{kind}_{uuid.uuid4().hex[:12]}.png"
        write_mask_png(self.root / relative, np.asarray(mask).astype(bool))
        return relative

    def read_mask(self, relative: str) -> np.ndarray:
        try:
            return read_mask(self.root / relative)
        except ImageLoadError as error:
            raise StoreError(f"the mask {error.path} of a review cannot be read: {error.reason}") from None

    def write_heatmap(
        self,
        image_hash: str,
        model_version: str,
        heatmap: np.ndarray,
        image_shape: tuple[int, int] | None = None,
    ) -> str:
        """Compressed float16 (half the size; ample for display and thresholds). Values beyond float16's
        range would turn into infinities, so such a heatmap is kept as float32 instead. `image_shape`
        (height, width) is recorded when the map is smaller than the image it covers (a very large image's
        reduced map): readers stretch it over the image."""
        heatmap = np.asarray(heatmap, dtype=np.float32)
        finite = heatmap[np.isfinite(heatmap)]
        fits = finite.size == 0 or float(np.abs(finite).max()) <= FLOAT16_MAX
        tag = uuid.uuid5(uuid.NAMESPACE_URL, model_version).hex[:12]
        relative = f"heatmaps/{image_hash[:2]}/{image_hash}_{tag}_{uuid.uuid4().hex[:8]}.npz"
        arrays = {"heatmap": heatmap.astype(np.float16) if fits else heatmap}
        if image_shape is not None and tuple(image_shape) != heatmap.shape:
            arrays["image_shape"] = np.asarray(image_shape, np.int64)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
        with atomic_write(self.root / relative) as handle:
            handle.write(buffer.getvalue())
        return relative

    def read_heatmap(self, relative: str) -> np.ndarray:
        """The stored map as float32 (a reduced map of a very large image stays reduced)."""
        return self.read_heatmap_and_shape(relative)[0]

    def read_heatmap_and_shape(self, relative: str) -> tuple[np.ndarray, tuple[int, int]]:
        """The stored map and the (height, width) of the image it covers (its own shape unless reduced)."""
        try:
            with np.load(self.root / relative) as data:
                heatmap = data["heatmap"].astype(np.float32)
                stored = data["image_shape"] if "image_shape" in data else heatmap.shape
                shape = (int(stored[0]), int(stored[1]))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise StoreError(f"the heatmap {self.root / relative} cannot be read: {error}") from None
        return heatmap, shape

    def sweep_temporary(self, older_than_s: float = STALE_TEMPORARY_S) -> int:
        """Delete temporary files left by killed writers; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for folder in (self.root / "masks", self.root / "heatmaps"):
            for current, _dirs, names in os.walk(folder):
                for name in names:
                    if not (name.startswith(".") and name.endswith(".tmp")):
                        continue
                    path = os.path.join(current, name)
                    try:
                        if os.stat(path).st_mtime < cutoff:
                            os.unlink(path)
                            removed += 1
                    except FileNotFoundError:
                        pass  # another process swept it
        return removed
