"""Crane: learned prompts against E-Attn dense features, with score-based pooling.

Follows the reference code's inference (see ../shared/docs/METHODS.md):
E-Attn (q-q + k-k + v-v self-correlation, no MLP) from block 6 of 24; the
pixel map is the softmax of patch-to-text logits / 0.07, upsampled bilinear
to the input size, abnormal channel, Gaussian sigma 4; the image score pools
patch features weighted by their anomaly probability, mixes them half and
half with the global embedding and compares with the text at 0.07.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor
from zsad_desktop.detection.interface import DetectorError, register_method
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner, encode_prompts
from zsad_desktop.detection.preprocess import grid_to_image, smooth
from zsad_desktop.locations import models_dir

TEMPERATURE = 0.07
DEFAULT_CHECKPOINT = Path("crane") / "trained_on_mvtec_crane" / "epoch_5.pth"
CHECKPOINT_NAME = "prompt_learner.pth"  # inside a model folder trained by this application


def resolve_checkpoint(checkpoint: str | Path | None) -> Path:
    if checkpoint:
        path = Path(checkpoint)
        if path.is_dir():
            candidates = [path / CHECKPOINT_NAME] + sorted(path.glob("epoch_*.pth"))[-1:]
            path = next((c for c in candidates if c.is_file()), path / CHECKPOINT_NAME)
        return path
    path = models_dir() / DEFAULT_CHECKPOINT
    if not path.is_file():
        raise DetectorError(
            f"Crane needs trained prompts: put the authors' released checkpoint at {path} "
            "(AlirezaSalehy/Crane, checkpoints/trained_on_mvtec_crane/epoch_5.pth), give one with --checkpoint, "
            "or train your own with `zsad train --method crane`."
        )
    return path


def default_layers(depth: int) -> tuple[int, ...]:
    return tuple(sorted({max(1, depth * q // 4) for q in (1, 2, 3, 4)}))


@register_method("crane")
class CraneDetector(ClipDetector):
    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        variant: str = "auto",
        dinov2_checkpoint: str | None = None,
        image_token: bool = False,
        map_softmax: str = "after_mean",
        features: str = "reference",
        layers: tuple[int, ...] | None = None,
        sigma: float = 4.0,
        fp16_deep_prompts: bool = True,
        trained_prompts: CranePromptLearner | None = None,
        **common: Any,
    ):
        common.setdefault("grid_sigma", 0.0)
        super().__init__(**common)
        if map_softmax not in ("after_mean", "per_layer") or features not in ("reference", "per_layer"):
            raise DetectorError("map_softmax is after_mean|per_layer; features is reference|per_layer")
        self.checkpoint = None if trained_prompts is not None else resolve_checkpoint(checkpoint)
        self.variant = variant if variant != "auto" else ("crane+" if self.checkpoint and "cranep" in str(self.checkpoint) else "crane")
        if self.variant == "crane+" and not dinov2_checkpoint:
            raise DetectorError(
                f"{self.checkpoint} is a Crane+ checkpoint, which also needs DINOv2 features (D-Attn): give a DINOv2 "
                "checkpoint file, or choose variant 'crane' to use its prompts with E-Attn alone."
            )
        if self.variant == "crane+":
            raise DetectorError("Crane+ (D-Attn with DINOv2) is not supported by this version; use variant 'crane'.")
        depth = self.backbone.vision_layers
        self.layers = tuple(layers) if layers else default_layers(depth)
        read = (depth,) if features == "reference" else self.layers
        config = DenseConfig(layers=read, attention=DenseAttention.QKV, start_layer=min(self.layers),
                             pos_interpolation="bilinear", pos_antialias=False)
        self.features_mode = features
        self.extractor = DenseFeatureExtractor(self.backbone, config)
        self.prompts = trained_prompts or CranePromptLearner(self.backbone).to(self.device)
        if self.checkpoint is not None:
            load_prompt_checkpoint(self.prompts, self.checkpoint)
            self.prompts.to(self.device)
        self.prompts.requires_grad_(False)
        self.image_token = image_token
        self.map_softmax = map_softmax
        self.sigma = sigma
        self.fp16_deep_prompts = fp16_deep_prompts
        self._text: torch.Tensor | None = None

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "checkpoint": str(self.checkpoint), "image_token": self.image_token,
                "map_softmax": self.map_softmax, "features": self.features_mode, "layers": self.layers, "sigma": self.sigma}

    # text ----------------------------------------------------------------------------
    def text_features(self, global_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """(2, D) normalised, or (B, 2, D) when conditioned on image embeddings."""
        if global_embedding is None:
            if self._text is None or torch.is_grad_enabled():
                prompts, tokens = self.prompts()
                text = F.normalize(encode_prompts(self.backbone, prompts, tokens, self.prompts.compound_prompts_text,
                                                  self.fp16_deep_prompts).float(), dim=-1)
                if torch.is_grad_enabled():
                    return text
                self._text = text
            return self._text
        prompts, tokens = self.prompts(F.normalize(global_embedding.float(), dim=-1))
        b = prompts.shape[0]
        text = encode_prompts(self.backbone, prompts.flatten(0, 1), tokens.flatten(0, 1), self.prompts.compound_prompts_text,
                              self.fp16_deep_prompts)
        return F.normalize(text.float(), dim=-1).reshape(b, 2, -1)

    # inference ------------------------------------------------------------------------
    def forward_logits(self, pixels: torch.Tensor, image_token: bool | None = None):
        """Per-layer patch logits (L, B, N, 2), grid, image logits (B, 2): shared by inference and training."""
        feats = self.extractor(pixels)
        g = F.normalize(feats.global_embedding.float(), dim=-1)
        use_token = self.image_token if image_token is None else image_token
        text = self.text_features(feats.global_embedding if use_token else None)
        text_b = text if text.dim() == 3 else text.unsqueeze(0).expand(pixels.shape[0], -1, -1)
        patches = [F.normalize(self.extractor.project(t).float(), dim=-1) for t in feats.patch_tokens]
        if self.features_mode == "reference":
            patches = patches * len(self.layers)  # every level is the last layer's stream, as in the reference
        logits = torch.stack([p @ text_b.transpose(1, 2) / TEMPERATURE for p in patches])
        weights = torch.softmax(logits.mean(0), dim=-1)[..., 1:]  # (B, N, 1)
        pooled = F.normalize((weights * torch.stack(patches).mean(0)).sum(1), dim=-1)
        image_features = F.normalize(0.5 * pooled + 0.5 * g, dim=-1)
        image_logits = torch.einsum("bd,bkd->bk", image_features, text_b) / TEMPERATURE
        return logits, feats.grid, image_logits

    def pixel_probabilities(self, logits: torch.Tensor, grid: tuple[int, int], size: int) -> torch.Tensor:
        """Abnormal probability (B, size, size) from per-layer logits (L, B, N, 2)."""
        layers, b, _, _ = logits.shape
        maps = logits.reshape(layers * b, grid[0], grid[1], 2).permute(0, 3, 1, 2)
        up = F.interpolate(maps, size=(size, size), mode="bilinear", align_corners=False).reshape(layers, b, 2, size, size)
        if self.map_softmax == "after_mean":
            return torch.softmax(up.mean(0), dim=1)[:, 1]
        return torch.softmax(up, dim=2).mean(0)[:, 1]

    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, grid, image_logits = self.forward_logits(pixels)
        maps = self.pixel_probabilities(logits, grid, pixels.shape[-1])
        return maps, torch.softmax(image_logits, dim=-1)[:, 1]

    def finish_map(self, score_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return grid_to_image(smooth(score_map, self.sigma), shape)
