"""AA-CLIP's maps and scores, as the reference's test.py and forward_utils.py compute them.

Per level: s = 100 x cosine of each patch to the normal and abnormal anchors,
map = (s_abnormal + 1 - s_normal) / 2 on the grid, Gaussian blur (kornia's
gaussian_blur2d: kernel 7 and sigma 1 for industrial images, 9 and 1.5 for
medical ones, reflected borders), upsampled bilinear with aligned corners,
summed over levels. Detection: (det . t_abnormal + 1) / 2.

The reference then min-max scales maps and detection scores over each test
set and fuses 0.5 x map maximum + 0.5 x detection (industrial) or takes the
map maximum (medical). Here those ranges come from data once, at training,
and are stored with the model (`ScoreCalibration`), never taken per image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

BLUR = {"industrial": (7, 1.0), "medical": (9, 1.5)}
DOMAINS = tuple(BLUR)


def gaussian_kernel(kernel: int, sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    x = torch.arange(kernel, dtype=dtype, device=device) - kernel // 2
    if kernel % 2 == 0:
        x = x + 0.5
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_blur(maps: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """(B, H, W) blurred separably with reflected borders, like kornia's gaussian_blur2d."""
    g = gaussian_kernel(kernel, sigma, maps.dtype, maps.device)
    half = kernel // 2
    padded = F.pad(maps[:, None], (half, half, half, half), mode="reflect")
    out = F.conv2d(padded, g.view(1, 1, 1, -1))
    return F.conv2d(out, g.view(1, 1, -1, 1))[:, 0]


def per_image(anchors: torch.Tensor, batch: int) -> torch.Tensor:
    """(2, E) anchors for every image, or (B, 2, E) one pair per image, as (B, 2, E)."""
    return anchors.expand(batch, -1, -1) if anchors.dim() == 2 else anchors


def similarities(features: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """100 x cosine (B, N, 2) of (B, N, E) unit patch features to (2, E) or (B, 2, E) anchors."""
    return 100.0 * torch.einsum(
        "bne,bke->bnk", features.float(), per_image(anchors, features.shape[0]).float()
    )


def level_map(features: torch.Tensor, anchors: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, N, E) patch features -> (B, h, w) anomaly map of one level."""
    s = similarities(features, anchors)
    return ((s[..., 1] + 1 - s[..., 0]) / 2).reshape(-1, *grid)


def anomaly_grid(
    levels: list[torch.Tensor], anchors: torch.Tensor, grid: tuple[int, int], domain: str
) -> torch.Tensor:
    """Blurred level maps summed on the grid (upsampling is linear, so summing first is the same)."""
    kernel, sigma = BLUR[domain]
    return sum(gaussian_blur(level_map(f, anchors, grid), kernel, sigma) for f in levels)


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=True)[:, 0]


def detection_score(det: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(det . t_abnormal + 1) / 2 of (B, E) detection tokens."""
    abnormal = per_image(anchors, det.shape[0])[:, 1]
    return ((det.float() * abnormal.float()).sum(-1) + 1) / 2


@dataclass(frozen=True)
class ScoreCalibration:
    """Ranges of the map values and detection scores on data (the reference's min-max)."""

    map_low: float = 0.0
    map_high: float = 1.0
    detection_low: float = 0.0
    detection_high: float = 1.0

    @classmethod
    def from_outputs(cls, map_lows, map_highs, detections) -> ScoreCalibration:
        det = torch.as_tensor(detections, dtype=torch.float64)
        return cls(float(min(map_lows)), float(max(map_highs)), float(det.min()), float(det.max()))

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ScoreCalibration | None:
        return cls(**{k: float(v) for k, v in values.items()}) if values else None

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def image_score(self, map_peak: torch.Tensor, detection: torch.Tensor, domain: str) -> torch.Tensor:
        peak = (map_peak - self.map_low) / max(self.map_high - self.map_low, 1e-12)
        if domain == "medical":
            return peak
        return 0.5 * peak + 0.5 * (detection - self.detection_low) / max(
            self.detection_high - self.detection_low, 1e-12
        )
