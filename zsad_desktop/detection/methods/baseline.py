"""Training-free detector: a prompt ensemble against dense CLIP patch features.

Per layer, each patch's cosine similarity to the normal and abnormal text
anchors goes through a softmax with temperature; the abnormal probability is
averaged over layers. The image score fuses the map with the global
embedding's own abnormal probability (a setting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor
from zsad_desktop.detection.execution import full_precision
from zsad_desktop.detection.interface import register_method
from zsad_desktop.detection.prompts import PromptEnsemble, TextAnchorCache

SCORE_FUSIONS = ("mean", "max", "global")


@register_method("baseline")
class PromptEnsembleDetector(ClipDetector):
    shares_pass = True  # its original path is plain CLIP's: musc and the normal memory read it

    def __init__(
        self,
        *,
        layers: tuple[int, ...] | None = None,
        dense_attention: str = "vv",
        temperature: float = 0.07,
        score_fusion: str = "mean",
        prompts_file: str | Path | None = None,
        **common: Any,
    ):
        super().__init__(**common)
        if score_fusion not in SCORE_FUSIONS:
            raise ValueError(f"score_fusion must be one of {SCORE_FUSIONS}")
        depth = self.backbone.vision_layers
        layers = (
            tuple(layers) if layers else tuple(sorted({depth // 4, depth // 2, 3 * depth // 4, depth} - {0}))
        )
        config = DenseConfig(
            layers=layers, attention=DenseAttention(dense_attention), start_layer=min(layers)
        )
        self.features = DenseFeatureExtractor(self.backbone, config, self.engine)
        self.temperature = temperature
        self.score_fusion = score_fusion
        self.ensemble = PromptEnsemble.from_file(prompts_file)
        self.anchor_cache = TextAnchorCache(self.backbone)

    def settings(self) -> dict[str, Any]:
        cfg = self.features.config
        return {
            **super().settings(),
            "layers": cfg.layers,
            "attention": cfg.attention.value,
            "temperature": self.temperature,
            "score_fusion": self.score_fusion,
            "prompts": self.ensemble,
        }

    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.score_features(self.features(pixels))

    def pass_features(self) -> DenseFeatureExtractor:
        return self.features

    def score_features(self, feats) -> tuple[torch.Tensor, torch.Tensor]:
        device = feats.global_embedding.device
        anchors = self.anchor_cache.anchors(self.ensemble, self.object_name).to(device)
        h, w = feats.grid
        probs = []
        with full_precision(device):  # cosines / 0.07 in bf16 would move probabilities by ~1e-3
            for tokens in feats.patch_tokens:
                patches = F.normalize(self.features.project(tokens.float()), dim=-1)
                probs.append(torch.softmax(patches @ anchors.T / self.temperature, dim=-1)[..., 1])
            maps = torch.stack(probs).mean(0).reshape(-1, h, w)
            global_prob = torch.softmax(
                F.normalize(feats.global_embedding.float(), dim=-1) @ anchors.T / self.temperature, -1
            )[:, 1]
        peak = maps.flatten(1).max(dim=1).values
        scores = {"mean": (peak + global_prob) / 2, "max": peak, "global": global_prob}[self.score_fusion]
        return maps, scores
