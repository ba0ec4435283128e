"""AA-CLIP inference from trained adapters (see scoring.py for the formulas).

The backbone runs CLIP's standard attention (the value-value path is only
for training's first stage). `gelu="exact"` builds the backbone with exact
GELU, which the reference code runs by accident on OpenAI weights; its
checkpoints were trained that way. QuickGELU, OpenAI's own, is the default.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.execution import full_precision
from zsad_desktop.detection.interface import DetectorError, register_method
from zsad_desktop.detection.methods.aaclip import scoring
from zsad_desktop.detection.methods.aaclip.checkpoint import load_adapters
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout, standard_features
from zsad_desktop.detection.methods.aaclip.scoring import ScoreCalibration
from zsad_desktop.detection.preprocess import to_model_input
from zsad_desktop.detection.text_cache import cached_text

log = logging.getLogger(__name__)
GELUS = ("quick", "exact")

NEEDS_TRAINING = (
    "AA-CLIP needs trained adapters, and its authors publish none. Train them on an auxiliary dataset "
    "(MVTec or VisA layout; zero-shot use on other products, as in the paper) with "
    "`zsad train --method aaclip --data DATASET_ROOT --layout mvtec|visa|folder --out MODEL_DIR`, "
    "or on this workspace's reviews with Retrain in the window; then choose MODEL_DIR as the model. "
    "A folder trained with the authors' code (text_adapter.pth, image_adapter.pth) works too: "
    "pass it as checkpoint_dir with gelu='exact'."
)


@register_method("aaclip")
class AACLIPDetector(ClipDetector):
    pass_note = "edits the backbone's own path with its adapters, so the normal memory's features take a second backbone pass"

    def __init__(
        self,
        *,
        checkpoint_dir: str | Path | None = None,
        checkpoint: str | Path | None = None,  # the same: saved model folders pass `checkpoint`
        gelu: str = "quick",
        domain: str = "industrial",
        levels: Sequence[int] | None = None,
        image_adapt_until: int | None = None,
        text_adapt_until: int | None = None,
        image_adapt_weight: float | None = None,
        text_adapt_weight: float | None = None,
        projection_relu: bool | None = None,
        calibration: dict[str, float] | None = None,
        adapters: AACLIPAdapters | None = None,
        adapt_text: bool = True,
        **common: Any,
    ):
        if gelu not in GELUS:
            raise DetectorError(
                f"gelu must be one of {GELUS} ('exact' for checkpoints of the reference code), not {gelu!r}"
            )
        if domain not in scoring.DOMAINS:
            raise DetectorError(f"domain must be one of {scoring.DOMAINS}, not {domain!r}")
        folder = checkpoint_dir or checkpoint
        if adapters is None and not folder:
            raise DetectorError(NEEDS_TRAINING)
        common["quick_gelu"] = gelu == "quick"
        common["grid_sigma"] = 0.0  # AA-CLIP blurs on the grid itself
        super().__init__(**common)
        self.gelu, self.domain = gelu, domain
        if adapters is None:
            layout = AdapterLayout.for_backbone(
                self.backbone,
                levels=levels,
                image_adapt_until=image_adapt_until,
                text_adapt_until=text_adapt_until,
                image_adapt_weight=image_adapt_weight,
                text_adapt_weight=text_adapt_weight,
                projection_relu=projection_relu,
            )
            adapters = AACLIPAdapters.for_backbone(self.backbone, layout)
            adapt_text = load_adapters(adapters, Path(folder)).adapt_text
            adapters.eval().requires_grad_(False)
            if calibration is None:
                log.warning(
                    "AA-CLIP model %s has no score calibration: image scores fuse raw map and detection values "
                    "until calibrate(images) is called on a set of images",
                    folder,
                )
        # adapters handed in (training's held-out checks) are used as they are, not frozen
        self._frozen_adapters = (
            bool(folder) and not adapters.training and not any(p.requires_grad for p in adapters.parameters())
        )
        self.adapters = adapters.to(self.device)
        self.adapt_text = adapt_text
        self.checkpoint_dir = Path(folder) if folder else None
        self.checkpoint = self.checkpoint_dir
        self.calibration = ScoreCalibration.from_dict(calibration)
        self.extractor = standard_features(self.backbone, self.adapters.layout.levels, self.engine)
        self._anchors: torch.Tensor | None = None
        self._digest = _weights_digest(self.adapters)

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            **self.adapters.layout.to_dict(),
            "gelu": self.gelu,
            "domain": self.domain,
            "adapt_text": self.adapt_text,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "adapters": self._digest,
        }

    def anchors(self) -> torch.Tensor:
        """(2, E) normal and abnormal anchors of this detector's object name (cached)."""
        if self._anchors is None:

            def compute() -> torch.Tensor:
                with torch.no_grad(), full_precision(self.device):  # float32 at any precision: computed once
                    return self.adapters.text_anchors(self.backbone, [self.object_name], self.adapt_text)[0]

            if self._frozen_adapters:  # loaded from a folder: the digest names them for good
                identity = {
                    "adapters": self._digest,
                    "object": self.object_name,
                    "adapt_text": self.adapt_text,
                    "layout": self.adapters.layout.to_dict(),
                }
                self._anchors = cached_text("aaclip", self.backbone, identity, compute)
            else:
                self._anchors = compute()
        return self._anchors

    def raw_outputs(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        return adapted_outputs(
            self.adapters, self.extractor, pixels, self.anchors().to(pixels.device), self.domain
        )

    def calibrate(self, images: Sequence[np.ndarray]) -> ScoreCalibration:
        """Set the score ranges from the outputs on a set of RGB uint8 images (a dataset, never one
        image), as training does for its models; for folders trained with the reference code."""
        lows, highs, detections = [], [], []
        for start in range(0, len(images), self.batch_size):
            pixels = to_model_input(
                images[start : start + self.batch_size],
                self.backbone.spec.image_size,
                self.backbone.mean,
                self.backbone.std,
                self.device,
            )
            with torch.inference_mode(), self.autocast():
                out = self.raw_outputs(pixels)
            lows += out["map_low"].float().cpu().tolist()
            highs += out["map_high"].float().cpu().tolist()
            detections += out["detection"].float().cpu().tolist()
        if len(highs) < 2:
            raise DetectorError("calibrating AA-CLIP's scores needs at least two images")
        self.calibration = ScoreCalibration.from_outputs(lows, highs, detections)
        return self.calibration

    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.raw_outputs(pixels)
        calibration = self.calibration or ScoreCalibration()
        return out["maps"], calibration.image_score(out["map_high"], out["detection"], self.domain)

    def finish_map(self, grid_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return scoring.upsample(torch.from_numpy(grid_map)[None], shape)[0].numpy().astype(np.float32)


def adapted_outputs(
    adapters: AACLIPAdapters, extractor, pixels: torch.Tensor, anchors: torch.Tensor, domain: str
) -> dict[str, torch.Tensor]:
    """Uncalibrated outputs for (2, E) or per-image (B, 2, E) anchors: grid maps (B, h, w),
    their minimum and maximum at input size (where the reference takes the maximum), detection scores."""
    seg, det, grid = adapters.image_features(extractor, pixels)
    with full_precision(pixels.device):  # 100 x cosine in bf16 would move maps by ~0.1
        maps = scoring.anomaly_grid(seg, anchors, grid, domain)
        flat = scoring.upsample(maps, tuple(pixels.shape[-2:])).flatten(1)
        return {
            "maps": maps,
            "map_low": flat.min(1).values,
            "map_high": flat.max(1).values,
            "detection": scoring.detection_score(det, anchors),
        }


def _weights_digest(adapters: AACLIPAdapters) -> str:
    digest = hashlib.sha1()
    for name, tensor in sorted(adapters.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:12]
