"""A memory of known-normal patches: a patch far from every normal patch is anomalous.

Features are dense patch features (P, C) per image (e.g. `patch_features`,
MuSc's LNAMD at degree 3, as PatchCore's local neighbourhoods). The memory keeps
each image's features by id so a review change can add or remove an image; the
searchable bank is rebuilt lazily and, past `budget` patches, reduced to a
greedy k-center coreset (PatchCore). `version` grows on every change.

Fusion rule (documented for the app): both maps are turned into z-scores with
statistics of *normal* images, never of the image itself, and summed:
    fused = (zero_shot - zs_mean) / zs_std + (memory - mem_mean) / mem_std
mem_mean/std come from leave-one-out distances of the stored normals to the
rest of the memory; zs_mean/std from the zero-shot maps of the same normals
(given to `add`). Without zero-shot maps the zero-shot term is left as is.

With `projection_dim`, features are stored and compared after a seeded
Gaussian random projection (distances kept within a few per cent, Johnson-
Lindenstrauss): ViT-L's 1,024-dim patches at 37 x 37 cost 5.6 MB an image,
256 dims 1.4 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from zsad_desktop.imaging.masks import atomic_write

FORMAT = 1


@dataclass(frozen=True)
class MapStats:
    mean: float = 0.0
    std: float = 1.0

    def standardise(self, values):
        return (values - self.mean) / max(self.std, 1e-12)


class NormalMemory:
    def __init__(
        self, budget: int = 100_000, seed: int = 0, stats_images: int = 8, projection_dim: int | None = None
    ):
        self.budget, self.seed, self.stats_images, self.projection_dim = (
            budget,
            seed,
            stats_images,
            projection_dim,
        )
        self.version = 0
        self._features: dict[str, torch.Tensor] = {}
        self._zero_shot: dict[str, np.ndarray] = {}  # a sample of each normal's zero-shot map values
        self._bank: torch.Tensor | None = None
        self._stats: tuple[MapStats, MapStats] | None = None

    # -- contents ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._features)

    def image_ids(self) -> list[str]:
        return sorted(self._features)

    def add(self, image_id: str, features: torch.Tensor, zero_shot_map: np.ndarray | None = None) -> None:
        """Features (P, C) of an image known normal; replaces a previous entry of the same id."""
        self._features[image_id] = self.project(features.detach().float().cpu()).contiguous()
        if zero_shot_map is not None:
            values = np.asarray(zero_shot_map, np.float32).ravel()
            self._zero_shot[image_id] = values[:: max(1, values.size // 4096)].copy()
        self._changed()

    def remove(self, image_id: str) -> bool:
        """Forget an image (a review changed from normal); False when it was not there."""
        found = self._features.pop(image_id, None) is not None
        self._zero_shot.pop(image_id, None)
        if found:
            self._changed()
        return found

    def _changed(self) -> None:
        self.version += 1
        self._bank, self._stats = None, None

    @property
    def patch_count(self) -> int:
        return sum(f.shape[0] for f in self._features.values())

    def bank(self) -> torch.Tensor:
        """All normal patches, or a coreset of `budget` of them."""
        if self._bank is None:
            if not self._features:
                raise ValueError("the normal memory is empty")
            bank = torch.cat([self._features[i] for i in self.image_ids()])
            self._bank = greedy_coreset(bank, self.budget, self.seed) if bank.shape[0] > self.budget else bank
        return self._bank

    # -- scoring ----------------------------------------------------------
    def distances(self, features: torch.Tensor) -> torch.Tensor:
        """(P, C) -> (P,): each patch's distance to its nearest normal patch."""
        return nearest_distances(self.project(features.float().cpu()), self.bank())

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """The seeded random projection (identity without projection_dim or for small features)."""
        dim = features.shape[-1]
        if not self.projection_dim or dim <= self.projection_dim:
            return features
        gen = torch.Generator().manual_seed(self.seed + dim)
        matrix = torch.randn(dim, self.projection_dim, generator=gen) / self.projection_dim**0.5
        return features @ matrix

    def stats(self) -> tuple[MapStats, MapStats]:
        """(memory stats, zero-shot stats) over normal images (leave-one-out for the memory)."""
        if self._stats is None:
            ids = self.image_ids()
            values = []
            for image_id in ids[: self.stats_images]:
                rest = [self._features[i] for i in ids if i != image_id]
                if rest:
                    values.append(nearest_distances(self._features[image_id], torch.cat(rest)))
            mem = torch.cat(values) if values else torch.zeros(1)
            mem_stats = MapStats(float(mem.mean()), float(mem.std()) if mem.numel() > 1 else 1.0)
            zs = np.concatenate(list(self._zero_shot.values())) if self._zero_shot else None
            zs_stats = (
                MapStats(float(zs.mean()), float(zs.std())) if zs is not None and zs.size > 1 else MapStats()
            )
            self._stats = (mem_stats, zs_stats)
        return self._stats

    def fuse(self, zero_shot_map: np.ndarray, memory_map: np.ndarray) -> np.ndarray:
        """The documented rule: sum of the two maps standardised with normal-image statistics."""
        mem_stats, zs_stats = self.stats()
        return (
            zs_stats.standardise(np.asarray(zero_shot_map, np.float32))
            + mem_stats.standardise(np.asarray(memory_map, np.float32))
        ).astype(np.float32)

    # -- disk -------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Atomic: written to a temporary file beside `path`, then renamed over it."""
        payload = {
            "format": FORMAT,
            "version": self.version,
            "budget": self.budget,
            "seed": self.seed,
            "projection_dim": self.projection_dim,
            "features": self._features,
            "zero_shot": self._zero_shot,
        }
        with atomic_write(path) as handle:
            torch.save(payload, handle)

    @classmethod
    def load(cls, path: str | Path) -> NormalMemory:
        payload = torch.load(Path(path), map_location="cpu", weights_only=False)
        if payload.get("format") != FORMAT:
            raise ValueError(f"{path}: normal memory format {payload.get('format')!r}, expected {FORMAT}")
        memory = cls(budget=payload["budget"], seed=payload["seed"], projection_dim=payload["projection_dim"])
        memory._features, memory._zero_shot = payload["features"], payload["zero_shot"]
        memory.version = payload["version"]
        return memory


def nearest_distances(query: torch.Tensor, bank: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Euclidean distance of each query row to its nearest bank row, in bank chunks (bounded memory)."""
    best = torch.full((query.shape[0],), float("inf"))
    for start in range(0, bank.shape[0], chunk):
        best = torch.minimum(best, torch.cdist(query, bank[start : start + chunk]).min(dim=1).values)
    return best


def greedy_coreset(
    features: torch.Tensor, size: int, seed: int = 0, projection_dim: int = 128
) -> torch.Tensor:
    """PatchCore's greedy k-center selection, distances measured after a random projection."""
    gen = torch.Generator().manual_seed(seed)
    x = features
    if features.shape[1] > projection_dim:
        x = features @ (torch.randn(features.shape[1], projection_dim, generator=gen) / projection_dim**0.5)
    chosen = [int(torch.randint(features.shape[0], (1,), generator=gen))]
    nearest = torch.cdist(x, x[chosen[0] : chosen[0] + 1]).squeeze(1)
    for _ in range(size - 1):
        idx = int(nearest.argmax())
        chosen.append(idx)
        nearest = torch.minimum(nearest, torch.cdist(x, x[idx : idx + 1]).squeeze(1))
    return features[torch.tensor(chosen)]
