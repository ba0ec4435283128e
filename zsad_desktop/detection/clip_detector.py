"""What every CLIP-based method shares: backbone, batching, device, resizing.

A method subclasses `ClipDetector` and implements `score_grid`, which turns a
preprocessed batch into anomaly maps on the patch grid and image scores.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from zsad_desktop.detection.backbone import Backbone, BackboneSpec, shared_backbone
from zsad_desktop.detection.device import default_batch_size, map_in_batches, select_device
from zsad_desktop.detection.execution import Execution
from zsad_desktop.detection.interface import Detection, Detector, DetectorError
from zsad_desktop.detection.preprocess import grid_to_image, smooth, to_model_input
from zsad_desktop.detection.shared_pass import PassRequest, PassTokens


class ClipDetector(Detector):
    #: whether its pass can also hand plain CLIP tokens to musc and the normal memory (shared_pass.py)
    shares_pass: ClassVar[bool] = False
    #: why not, where it cannot: shown where the method is chosen
    pass_note: ClassVar[str] = "computes the normal memory's features with a second backbone pass"

    def __init__(
        self,
        backbone: Backbone | None = None,
        *,
        model_name: str = "ViT-L-14-336",
        pretrained: str = "openai",
        image_size: int = 518,
        quick_gelu: bool | None = None,
        device: str = "auto",
        batch_size: int | None = None,
        object_name: str = "object",
        grid_sigma: float = 1.0,
        engine: str = "fast",
        precision: str = "auto",
    ):
        if backbone is None:
            spec = BackboneSpec(model_name, pretrained, image_size, quick_gelu)
            backbone = shared_backbone(spec, select_device(device))
        self.backbone = backbone
        self.device = backbone.device
        self.batch_size = batch_size or default_batch_size(self.device, backbone.spec.image_size)
        self.object_name = object_name
        self.grid_sigma = grid_sigma
        # How it runs, not what it computes: outside settings() and the model id (execution.py).
        self.execution = Execution(engine, precision)

    @property
    def engine(self) -> str:
        return self.execution.engine

    def autocast(self):
        """The detector's precision for a forward pass (nothing in float32)."""
        return self.execution.autocast(self.device)

    def settings(self) -> dict[str, Any]:
        """Everything besides the backbone that changes the output (part of `model_id`)."""
        return {"object_name": self.object_name, "grid_sigma": self.grid_sigma}

    @property
    def model_id(self) -> str:
        digest = hashlib.sha1(json.dumps(self.settings(), sort_keys=True, default=str).encode()).hexdigest()[
            :10
        ]
        return f"{self.method}:{self.backbone.spec.identifier}:{digest}"

    @abc.abstractmethod
    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) normalised input -> maps (B, h, w) on the grid, scores (B,)."""

    def finish_map(self, grid_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Grid map to a heatmap at the image's size; smoothing on the grid by default."""
        return grid_to_image(smooth(grid_map, self.grid_sigma), shape)

    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        return map_in_batches(self._predict_batch, list(images), self.batch_size)

    def _predict_batch(self, images: Sequence[np.ndarray]) -> list[Detection]:
        spec = self.backbone.spec
        pixels = to_model_input(images, spec.image_size, self.backbone.mean, self.backbone.std, self.device)
        with torch.inference_mode(), self.autocast():
            maps, scores = self.score_grid(pixels)
        return self._batch_detections(images, maps, scores)

    def _batch_detections(self, images, maps: torch.Tensor, scores: torch.Tensor) -> list[Detection]:
        maps_np = maps.float().cpu().numpy()
        scores_np = scores.float().cpu().numpy()
        model_id = self.model_id
        return [
            Detection(float(score), self.finish_map(grid_map, img.shape[:2]), model_id)
            for img, grid_map, score in zip(images, maps_np, scores_np)
        ]

    # -- one pass for every consumer (shared_pass.py) -------------------------------------------------
    def pass_features(self):
        """The `DenseFeatureExtractor` whose pass it shares (methods with `shares_pass`)."""
        raise DetectorError(f"{self.method} cannot share its backbone pass: it {self.pass_note}")

    def score_features(self, feats) -> tuple[torch.Tensor, torch.Tensor]:
        """Maps (B, h, w) and scores (B,) from its pass's features (methods with `shares_pass`)."""
        raise DetectorError(f"{self.method} cannot share its backbone pass: it {self.pass_note}")

    def can_share(self, request: PassRequest) -> bool:
        return self.shares_pass and request.met_by(self.pass_features().config)

    def predict_with_tokens(
        self, images: Sequence[np.ndarray], request: PassRequest
    ) -> tuple[list[Detection], PassTokens]:
        """`predict`, and from the same forward pass the plain path's tokens of `request.layers`."""
        if not self.can_share(request):
            raise DetectorError(f"{self.method} cannot share its backbone pass: it {self.pass_note}")
        images = list(images)
        spec = self.backbone.spec
        detections: list[Detection] = []
        parts: list[PassTokens] = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            pixels = to_model_input(
                batch, spec.image_size, self.backbone.mean, self.backbone.std, self.device
            )
            with torch.inference_mode(), self.autocast():
                feats = self.pass_features()(pixels, keep=request.layers)
                maps, scores = self.score_features(feats)
            parts.append(
                PassTokens(
                    [t.float().cpu() for t in feats.original_tokens],
                    torch.nn.functional.normalize(feats.global_embedding.float(), dim=-1).cpu(),
                    feats.grid,
                )
            )
            detections += self._batch_detections(batch, maps, scores)
        return detections, PassTokens.concatenate(parts)
