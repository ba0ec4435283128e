"""AA-CLIP's residual adapters around a frozen CLIP (Ma et al.; Mwxinnn/AA-CLIP, model/adapter.py).

Module and parameter names follow the reference, so its checkpoints load
here and ours load there:

- ``image_adapter.layer_adapters.{i}.fc.0.weight`` (i < 6): a bias-free
  linear layer and LeakyReLU after block i+1, on all tokens (class token too);
- ``image_adapter.seg_proj.{j}.fc.weight``: per level, width -> joint space;
- ``image_adapter.det_proj.fc.weight``: on the last level's patch tokens;
- ``text_adapter.{i}.fc.0.weight`` (i < 3) after text block i+1, and
  ``text_adapter.3.fc.0.weight`` + LeakyReLU on the end-of-text token in
  place of CLIP's text projection.

Projections carry ``fc.0`` (with LeakyReLU) only when trained with the
reference's ``--relu``; its published runs leave it off. An adapter's output
is rescaled to the norm of its input and mixed as 0.1 x adapter + 0.9 x input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from zsad_desktop.detection.backbone import Backbone
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor
from zsad_desktop.detection.methods.aaclip.prompts import ABNORMAL_STATES, NORMAL_STATES, state_sentences


class SimpleAdapter(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c_in, c_out, bias=False), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class SimpleProj(nn.Module):
    def __init__(self, c_in: int, c_out: int, relu: bool):
        super().__init__()
        self.fc = (
            nn.Sequential(nn.Linear(c_in, c_out, bias=False), nn.LeakyReLU())
            if relu
            else nn.Linear(c_in, c_out, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


@dataclass(frozen=True)
class AdapterLayout:
    """Where the adapters sit and how strongly they act (the reference's defaults for ViT-L-14)."""

    levels: tuple[int, ...] = (6, 12, 18, 24)  # 1-based blocks whose patch tokens are read
    image_adapt_until: int = 6  # adapters after blocks 1..6
    text_adapt_until: int = 3  # adapters after text blocks 1..3
    image_adapt_weight: float = 0.1
    text_adapt_weight: float = 0.1
    projection_relu: bool = False  # the reference's --relu (off in its runs)

    @classmethod
    def for_backbone(cls, backbone: Backbone, **settings: Any) -> AdapterLayout:
        """The defaults, with levels at quarters of the depth and adapters capped at the depth."""
        settings = {k: v for k, v in settings.items() if v is not None}
        if "levels" in settings:
            settings["levels"] = tuple(int(v) for v in settings["levels"])
        layout = cls(**settings)
        if "levels" not in settings:
            layout = replace(layout, levels=default_levels(backbone.vision_layers))
        return replace(
            layout,
            image_adapt_until=min(layout.image_adapt_until, backbone.vision_layers),
            text_adapt_until=min(layout.text_adapt_until, len(backbone.model.transformer.resblocks)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "levels": list(self.levels)}


def default_levels(depth: int) -> tuple[int, ...]:
    """6, 12, 18, 24 for 24 blocks; the same quarters for other depths."""
    return tuple(sorted({max(1, depth * q // 4) for q in (1, 2, 3, 4)}))


def residual_mix(x: torch.Tensor, adapter: nn.Module, weight: float) -> torch.Tensor:
    out = adapter(x)
    out = out * x.norm(dim=-1, keepdim=True) / out.norm(dim=-1, keepdim=True)
    return weight * out + (1 - weight) * x


def standard_features(
    backbone: Backbone, levels: tuple[int, ...], engine: str = "fast"
) -> DenseFeatureExtractor:
    """CLIP's own attention at every block, position embedding resized bicubic with antialias."""
    return DenseFeatureExtractor(
        backbone,
        DenseConfig(
            layers=tuple(levels),
            attention=DenseAttention.NONE,
            pos_interpolation="bicubic",
            pos_antialias=True,
        ),
        engine,
    )


class AACLIPAdapters(nn.Module):
    """The trainable part: `image_adapter` and `text_adapter`, as in the reference."""

    def __init__(
        self, vision_width: int, text_width: int, embed_dim: int, layout: AdapterLayout = AdapterLayout()
    ):
        super().__init__()
        self.layout = layout
        self.image_adapter = nn.ModuleDict(
            {
                "layer_adapters": nn.ModuleList(
                    [SimpleAdapter(vision_width, vision_width) for _ in range(layout.image_adapt_until)]
                ),
                "seg_proj": nn.ModuleList(
                    [SimpleProj(vision_width, embed_dim, layout.projection_relu) for _ in layout.levels]
                ),
                "det_proj": SimpleProj(vision_width, embed_dim, layout.projection_relu),
            }
        )
        self.text_adapter = nn.ModuleList(
            [SimpleAdapter(text_width, text_width) for _ in range(layout.text_adapt_until)]
            + [SimpleProj(text_width, embed_dim, relu=True)]
        )
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    @classmethod
    def for_backbone(cls, backbone: Backbone, layout: AdapterLayout) -> AACLIPAdapters:
        model = backbone.model
        return cls(backbone.vision_width, model.ln_final.weight.shape[0], backbone.embed_dim, layout).to(
            backbone.device
        )

    # image ----------------------------------------------------------------------------
    def image_features(self, extractor: DenseFeatureExtractor, pixels: torch.Tensor):
        """Per level the adapted, normalised patch features (B, N, E); the detection token (B, E); the grid."""
        layers = self.image_adapter["layer_adapters"]
        weight = self.layout.image_adapt_weight

        def adapt(index: int, x: torch.Tensor) -> torch.Tensor:
            return residual_mix(x, layers[index - 1], weight) if index <= len(layers) else x

        feats = extractor(pixels, block_hook=adapt)
        ln_post = extractor.backbone.model.visual.ln_post
        tokens = [ln_post(t[:, 1:]) for t in feats.patch_tokens]
        seg = [F.normalize(proj(t), dim=-1) for proj, t in zip(self.image_adapter["seg_proj"], tokens)]
        det = F.normalize(self.image_adapter["det_proj"](tokens[-1]), dim=-1).mean(
            1
        )  # a mean of unit vectors, not renormalised
        return seg, det, feats.grid

    # text -------------------------------------------------------------------------------
    def encode_text(self, backbone: Backbone, tokens: torch.Tensor) -> torch.Tensor:
        """Adapted text embeddings (n, E) of tokenised sentences, end-of-text token through the final adapter."""
        model = backbone.model
        x = model.token_embedding(tokens) + model.positional_embedding
        batch_first = getattr(model.transformer, "batch_first", True)
        x = x if batch_first else x.transpose(0, 1)
        weight = self.layout.text_adapt_weight
        for index, block in enumerate(model.transformer.resblocks):
            x = block(x, attn_mask=model.attn_mask)
            if index < self.layout.text_adapt_until:
                x = residual_mix(x, self.text_adapter[index], weight)
        x = x if batch_first else x.transpose(0, 1)
        x = model.ln_final(x)
        return self.text_adapter[-1](x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)])

    def text_anchors(
        self, backbone: Backbone, object_names: list[str], adapt_text: bool = True
    ) -> torch.Tensor:
        """(K, 2, E) per object name: normal and abnormal anchors, each the normalised
        mean of its normalised sentence embeddings. Without `adapt_text`, CLIP's own
        text encoder (the reference's choice when it has no text adapter)."""
        per_name = []
        for name in object_names:
            anchors = []
            for states in (NORMAL_STATES, ABNORMAL_STATES):
                tokens = backbone.tokenizer(state_sentences(states, name)).to(backbone.device)
                embedded = (
                    self.encode_text(backbone, tokens) if adapt_text else backbone.model.encode_text(tokens)
                )
                anchors.append(F.normalize(F.normalize(embedded.float(), dim=-1).mean(0), dim=-1))
            per_name.append(torch.stack(anchors))
        return torch.stack(per_name)
