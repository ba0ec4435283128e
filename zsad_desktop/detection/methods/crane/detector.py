"""Crane: learned prompts against E-Attn dense features, with score-based pooling.

Reproduces the reference code's inference (../shared/docs/METHODS.md):
E-Attn (softmax(qq^T) + softmax(kk^T) + softmax(vv^T), one scale, no division,
no MLP) from block 6 of 24, position embedding resized bilinear; per level the
patch-to-text logits / 0.07; the pixel map and the image score of `scoring.py`;
a Gaussian of sigma 4 on the map at the input size. Crane+ adds D-Attn
(`dattn.py`) at the last block when a DINOv2 checkpoint is given.

Settings that depart from, or choose within, the reference:
- `features`: "reference" reads only the E-Attn stream after the last block
  and uses it for every level of `layers` (the reference's stored levels all
  alias that stream); "per_layer" reads true per-level features.
- `map_softmax`: "per_layer" (the reference's `--soft_mean True`, its
  published setting) or "after_mean".
- `image_token`: condition the prompts on the image (the reference trains
  with it and tests without it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor
from zsad_desktop.detection.execution import full_precision
from zsad_desktop.detection.interface import DetectorError, register_method
from zsad_desktop.detection.methods.crane import scoring
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint
from zsad_desktop.detection.methods.crane.dattn import dino_attention, load_dinov2
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.detection.methods.crane.text_encoder import encode_prompts
from zsad_desktop.detection.preprocess import grid_to_image, smooth
from zsad_desktop.locations import models_dir

DEFAULT_CHECKPOINT = Path("crane") / "trained_on_mvtec_crane" / "epoch_5.pth"
CHECKPOINT_NAME = "prompt_learner.pth"  # inside a model folder trained by this application
DEFAULT_DINOV2 = "dinov2_vitb14_reg4_pretrain.pth"  # torch.hub's dinov2_vitb14_reg, as the reference uses
DINOV2_URL = "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_reg4_pretrain.pth"
VARIANTS = ("auto", "crane", "crane+")


def resolve_checkpoint(checkpoint: str | Path | None) -> Path:
    """A prompt checkpoint file: the one given, the one in a model folder, or the default released one."""
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
            "(AlirezaSalehy/Crane, checkpoints/trained_on_mvtec_crane/epoch_5.pth; the other released ones go to "
            f"{models_dir() / 'crane'}/<name>/epoch_5.pth), give one with --checkpoint, "
            "or train your own with `zsad train --method crane`."
        )
    return path


def resolve_dinov2(dinov2_checkpoint: str | Path | None) -> Path | None:
    """The DINOv2 file given (a relative name is also looked for in models/), else models/<DEFAULT_DINOV2> if present."""
    if dinov2_checkpoint:
        path = Path(dinov2_checkpoint).expanduser()
        if not path.is_absolute() and not path.exists() and (models_dir() / path).exists():
            path = models_dir() / path
        return path
    default = models_dir() / DEFAULT_DINOV2
    return default if default.is_file() else None


def default_layers(depth: int) -> tuple[int, ...]:
    """6, 12, 18, 24 for 24 blocks: every quarter of the depth."""
    return tuple(sorted({max(1, depth * q // 4) for q in (1, 2, 3, 4)}))


@dataclass
class CraneForward:
    """What inference and training share for a batch."""

    logits: torch.Tensor  # (L, B, N, 2) patch-to-text / 0.07
    levels: torch.Tensor  # (L, B, N, D) normalised patch features
    global_embedding: torch.Tensor  # (B, D) normalised
    text: torch.Tensor  # (B, 2, D) normalised (normal, abnormal)
    grid: tuple[int, int]

    def image_features(self) -> torch.Tensor:
        return scoring.pooled_image_features(self.levels, self.logits, self.global_embedding)


@register_method("crane")
class CraneDetector(ClipDetector):
    pass_note = "resizes positions bilinearly (musc's features: bicubic), so the normal memory's features take a second backbone pass"

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        variant: str = "auto",
        dinov2_checkpoint: str | None = None,
        image_token: bool = False,
        map_softmax: str = "per_layer",
        features: str = "reference",
        layers: tuple[int, ...] | list[int] | None = None,
        eattn_from_layer: int | None = None,
        sigma: float = 4.0,
        fp16_deep_prompts: bool = True,
        dattn_mean: str = "image",
        trained_prompts: CranePromptLearner | None = None,
        **common: Any,
    ):
        common.setdefault("grid_sigma", 0.0)
        super().__init__(**common)
        if map_softmax not in ("after_mean", "per_layer"):
            raise DetectorError(f"Crane's map_softmax is 'per_layer' or 'after_mean', not {map_softmax!r}")
        if features not in ("reference", "per_layer"):
            raise DetectorError(f"Crane's features are 'reference' or 'per_layer', not {features!r}")
        if variant not in VARIANTS:
            raise DetectorError(f"Crane's variant is one of {', '.join(VARIANTS)}, not {variant!r}")
        if dattn_mean not in ("image", "batch"):
            raise DetectorError(f"Crane's dattn_mean is 'image' or 'batch', not {dattn_mean!r}")
        self.checkpoint = None if trained_prompts is not None else resolve_checkpoint(checkpoint)
        if variant == "auto":
            named_plus = self.checkpoint is not None and "cranep" in str(self.checkpoint).lower()
            variant = "crane+" if named_plus or dinov2_checkpoint else "crane"
        dinov2 = resolve_dinov2(dinov2_checkpoint) if variant == "crane+" else None
        if variant == "crane+" and dinov2 is None:
            raise DetectorError(
                f"{self.checkpoint or 'These prompts'} are Crane+ prompts, trained with D-Attn, which needs DINOv2 ViT-B/14 "
                f"with registers: put {DEFAULT_DINOV2} ({DINOV2_URL}, about 350 MB) at {models_dir() / DEFAULT_DINOV2}, give the "
                "file as dinov2_checkpoint (--dinov2-checkpoint), or choose variant 'crane' to use these prompts with E-Attn alone."
            )
        self.variant = variant
        self.dinov2_checkpoint = str(dinov2) if dinov2 is not None else None
        depth = self.backbone.vision_layers
        if dinov2 is not None and depth < 2:
            raise DetectorError(
                "Crane+ needs a backbone of at least 2 blocks (D-Attn reads the last block's input)"
            )
        # Crane reads levels 6/12/18/24; Crane+ reads level 24 (plus D-Attn there), as the reference's scripts.
        self.layers = tuple(layers) if layers else (default_layers(depth) if variant == "crane" else (depth,))
        self.eattn_from_layer = eattn_from_layer or max(
            1, depth // 4
        )  # reference: E-Attn replaces blocks 6..24
        if not all(1 <= layer <= depth for layer in self.layers) or not 1 <= self.eattn_from_layer <= min(
            self.layers
        ):
            raise DetectorError(
                f"Crane layers {self.layers} (E-Attn from {self.eattn_from_layer}) do not fit a {depth}-block backbone"
            )
        self.features_mode = features
        read = (depth,) if features == "reference" else self.layers
        config = DenseConfig(
            layers=read,
            attention=DenseAttention.QKV,
            start_layer=self.eattn_from_layer,
            pos_interpolation="bilinear",
            pos_antialias=False,
        )
        self.extractor = DenseFeatureExtractor(self.backbone, config, self.engine)
        self.dino = (
            load_dinov2(dinov2, self.backbone.mean, self.backbone.std, self.device)
            if dinov2 is not None
            else None
        )
        self.prompts = trained_prompts if trained_prompts is not None else CranePromptLearner(self.backbone)
        if self.checkpoint is not None:
            load_prompt_checkpoint(self.prompts, self.checkpoint)
        self.prompts.to(self.device)
        if trained_prompts is None:
            self.prompts.requires_grad_(False)
        self.image_token = image_token
        self.map_softmax = map_softmax
        self.sigma = sigma
        self.fp16_deep_prompts = fp16_deep_prompts
        self.dattn_mean = dattn_mean
        self._text_cache: tuple[tuple, torch.Tensor] | None = None
        # Released or loaded prompts never change: their text features are also kept on disk.
        self._frozen_prompts = trained_prompts is None

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "checkpoint": str(self.checkpoint),
            "variant": self.variant,
            "dinov2_checkpoint": self.dinov2_checkpoint,
            "image_token": self.image_token,
            "map_softmax": self.map_softmax,
            "features": self.features_mode,
            "layers": self.layers,
            "eattn_from_layer": self.eattn_from_layer,
            "sigma": self.sigma,
            "fp16_deep_prompts": self.fp16_deep_prompts,
            "dattn_mean": self.dattn_mean,
        }

    # text ----------------------------------------------------------------------------
    def text_features(self, image_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised text features: (2, D) from the prompts alone, or (B, 2, D)
        with each image's normalised global embedding as the image token."""
        if image_embedding is None:
            # Cached while the prompts are unchanged (an optimiser step bumps their versions).
            key = tuple(p._version for p in self.prompts.parameters()) + (str(self.device),)
            if torch.is_grad_enabled() or self._text_cache is None or self._text_cache[0] != key:
                if torch.is_grad_enabled():
                    return self._encode(*self.prompts())
                with full_precision(self.device):  # float32 at any precision: computed once
                    if self._frozen_prompts:
                        from zsad_desktop.detection.text_cache import cached_text, tensor_digest

                        identity = {
                            "prompts": tensor_digest(self.prompts.state_dict()),
                            "fp16_deep": self.fp16_deep_prompts,
                        }
                        text = cached_text(
                            "crane", self.backbone, identity, lambda: self._encode(*self.prompts())
                        )
                    else:
                        text = self._encode(*self.prompts())
                self._text_cache = (key, text)
            return self._text_cache[1]
        prompts, tokens = self.prompts(F.normalize(image_embedding.float(), dim=-1))
        b = prompts.shape[0]
        return self._encode(prompts.flatten(0, 1), tokens.flatten(0, 1)).reshape(b, 2, -1)

    def _encode(self, prompts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        text = encode_prompts(
            self.backbone, prompts, tokens, self.prompts.compound_prompts_text, self.fp16_deep_prompts
        )
        return F.normalize(text.float(), dim=-1)

    # image ---------------------------------------------------------------------------
    def feature_levels(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Normalised global embedding (B, D), normalised patch features per level (L, B, N, D), grid."""
        global_embedding, distinct, index, grid = self.distinct_levels(pixels)
        return global_embedding, distinct[index], grid

    def distinct_levels(
        self, pixels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, list[int], tuple[int, int]]:
        """Like `feature_levels`, with each distinct level once (U, B, N, D) and, per level, its row there:
        in reference mode the four levels are one tensor, projected and scored once."""
        depth = self.backbone.vision_layers
        before_last: dict[str, torch.Tensor] = {}

        def keep_last_input(index: int, x: torch.Tensor) -> torch.Tensor:
            if index == depth - 1:
                before_last["x"] = x
            return x

        feats = self.extractor(pixels, block_hook=keep_last_input if self.dino is not None else None)
        project = self.extractor.project
        with full_precision(pixels.device):  # the joint-space features feed logits / 0.07: kept in float32
            levels = [F.normalize(project(t.float()), dim=-1) for t in feats.patch_tokens]
        index = list(range(len(levels)))
        if self.features_mode == "reference":
            index = index * len(self.layers)  # every level is the last block's stream, as in the reference
        if self.dino is not None:
            visual = self.backbone.model.visual
            block = visual.transformer.resblocks[depth - 1]
            tokens = dino_attention(block, before_last["x"], self.dino(pixels), feats.grid, self.dattn_mean)
            dattn = visual.ln_post(tokens) @ visual.proj
            levels = [F.normalize(dattn.float(), dim=-1)] + levels
            index = [0] + [i + 1 for i in index]
        return F.normalize(feats.global_embedding.float(), dim=-1), torch.stack(levels), index, feats.grid

    # both ----------------------------------------------------------------------------
    def forward_batch(self, pixels: torch.Tensor, image_token: bool | None = None) -> CraneForward:
        """Patch logits and features for a normalised batch (B, 3, S, S); shared by inference and training."""
        global_embedding, distinct, index, grid = self.distinct_levels(pixels)
        use_token = self.image_token if image_token is None else image_token
        if use_token:
            text = self.text_features(global_embedding)
        else:
            text = self.text_features().unsqueeze(0).expand(pixels.shape[0], -1, -1)
        # Logits of each distinct level once, then repeated per level: the same values as scoring every copy.
        with full_precision(pixels.device):
            logits = scoring.patch_logits(distinct, text)[index]
        return CraneForward(logits, distinct[index], global_embedding, text, grid)

    def score_grid(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.forward_batch(pixels)
        maps = scoring.anomaly_map(out.logits, out.grid, pixels.shape[-1], self.map_softmax)
        scores = scoring.image_logits(out.image_features(), out.text).softmax(dim=-1)[:, 1]
        return maps, scores

    def finish_map(self, score_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        # The reference smooths at the model's input size (518), then the map is resized to the image.
        return grid_to_image(smooth(score_map, self.sigma), shape)
