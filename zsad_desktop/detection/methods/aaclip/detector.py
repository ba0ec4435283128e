"""AA-CLIP inference, as the reference code computes it.

Per level, the map is (abnormal + 1 - normal) / 2 of 100 x cosine to the two
anchors, blurred on the grid (kernel 7, sigma 1 for industrial images; 9 and
1.5 for medical ones), upsampled, and summed over levels. The image score is
(detection token . abnormal anchor + 1) / 2, fused half and half with the
map's maximum for industrial images; the map is scaled by statistics stored
with the model (computed on data), never per image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.dense import DenseFeatureExtractor
from zsad_desktop.detection.interface import DetectorError, register_method
from zsad_desktop.detection.methods.aaclip.checkpoint import load_adapters
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, default_levels, dense_config

BLUR = {"industrial": (7, 1.0), "medical": (9, 1.5)}


def gaussian_blur(maps: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """(B, H, W) blurred with reflected borders, like kornia's gaussian_blur2d."""
    half = kernel // 2
    x = torch.arange(kernel, dtype=maps.dtype, device=maps.device) - half
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    padded = F.pad(maps[:, None], (half, half, half, half), mode="reflect")
    out = F.conv2d(padded, g.view(1, 1, 1, -1))
    return F.conv2d(out, g.view(1, 1, -1, 1))[:, 0]


@register_method("aaclip")
class AACLIPDetector(ClipDetector):
    def __init__(self, *, checkpoint: str | None = None, gelu: str = "quick", domain: str = "industrial",
                 levels: tuple[int, ...] | None = None, adapters: AACLIPAdapters | None = None, **common: Any):
        if gelu not in ("quick", "exact") or domain not in BLUR:
            raise DetectorError("gelu is quick|exact (exact for checkpoints of the reference code); domain is industrial|medical")
        common["quick_gelu"] = gelu == "quick"
        common.setdefault("grid_sigma", 0.0)
        super().__init__(**common)
        if adapters is None and not checkpoint:
            raise DetectorError(
                "AA-CLIP needs trained adapters (its authors publish none): train them with "
                "`zsad train --method aaclip --data DATASET --out MODEL_DIR`, or retrain in the window, "
                "then choose the model folder."
            )
        self.levels = tuple(levels) if levels else default_levels(self.backbone.vision_layers)
        self.adapters = adapters or AACLIPAdapters(self.backbone, self.levels).to(self.device)
        self.checkpoint = str(checkpoint) if checkpoint else None
        if checkpoint:
            load_adapters(self.adapters, Path(checkpoint))
            self.adapters.to(self.device)
        self.adapters.eval()
        self.extractor = DenseFeatureExtractor(self.backbone, dense_config(self.backbone, self.levels, value_value=False))
        self.domain, self.gelu = domain, gelu
        self._anchors: torch.Tensor | None = None

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "checkpoint": self.checkpoint, "gelu": self.gelu, "domain": self.domain, "levels": self.levels}

    def anchors(self) -> torch.Tensor:
        if self._anchors is None or torch.is_grad_enabled():
            anchors = self.adapters.text_anchors(self.backbone, self.object_name)
            if torch.is_grad_enabled():
                return anchors
            self._anchors = anchors
        return self._anchors

    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seg, det, (h, w) = self.adapters.image_features(self.extractor, pixels)
        text = self.anchors().to(pixels.device).float()
        kernel, sigma = BLUR[self.domain]
        total = 0
        for level in seg:
            s = 100.0 * level.float() @ text.T
            level_map = ((s[..., 1] + 1 - s[..., 0]) / 2).reshape(-1, h, w)
            total = total + gaussian_blur(level_map, kernel, sigma)
        image_pred = (det.float() @ text[1] + 1) / 2
        stats = self.normalisation
        peak = ((total.flatten(1).max(1).values - stats.low) / max(stats.high - stats.low, 1e-12)).clamp(0, 1)
        score = peak if self.domain == "medical" else 0.5 * peak + 0.5 * image_pred
        return total, score

    def finish_map(self, grid_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        up = F.interpolate(torch.from_numpy(grid_map)[None, None], size=shape, mode="bilinear", align_corners=True)
        return up[0, 0].numpy().astype(np.float32)
