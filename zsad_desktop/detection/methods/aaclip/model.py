"""AA-CLIP's residual adapters around a frozen CLIP (Ma et al., Mwxinnn/AA-CLIP).

Module and parameter names follow the reference (`image_adapter.layer_adapters.N.fc.0`,
`seg_proj.N.fc`, `det_proj.fc`, `text_adapter.N.fc.0`), so checkpoints move
between the two code bases. Adapter outputs are rescaled to the norm of their
input and mixed as 0.1 x adapter + 0.9 x input.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from zsad_desktop.detection.backbone import Backbone
from zsad_desktop.detection.dense import DenseConfig, DenseFeatureExtractor

NORMAL_STATES = ("{}", "a {}", "the {}")
ABNORMAL_STATES = ("a damaged {}", "a broken {}", "a {} with flaw", "a {} with defect", "a {} with damage")
TEMPLATES = ("{}.", "a photo of {}.")


class SimpleAdapter(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c_in, c_out, bias=False), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class SimpleProj(nn.Module):
    def __init__(self, c_in: int, c_out: int, relu: bool):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c_in, c_out, bias=False), nn.LeakyReLU()) if relu else nn.Linear(c_in, c_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def residual_mix(x: torch.Tensor, adapter: nn.Module, weight: float) -> torch.Tensor:
    out = adapter(x)
    out = out * x.norm(dim=-1, keepdim=True) / out.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return weight * out + (1 - weight) * x


class AACLIPAdapters(nn.Module):
    def __init__(self, backbone: Backbone, levels=(6, 12, 18, 24), image_adapt_until: int = 6, text_adapt_until: int = 3,
                 adapt_weight: float = 0.1, projection_relu: bool = False):
        super().__init__()
        vision, text, embed = backbone.vision_width, backbone.model.ln_final.weight.shape[0], backbone.embed_dim
        self.levels = tuple(levels)
        self.image_adapt_until = min(image_adapt_until, backbone.vision_layers)
        self.text_adapt_until = min(text_adapt_until, len(backbone.model.transformer.resblocks))
        self.adapt_weight = adapt_weight
        self.image_adapter = nn.ModuleDict({
            "layer_adapters": nn.ModuleList([SimpleAdapter(vision, vision) for _ in range(self.image_adapt_until)]),
            "seg_proj": nn.ModuleList([SimpleProj(vision, embed, projection_relu) for _ in self.levels]),
            "det_proj": SimpleProj(vision, embed, projection_relu),
        })
        self.text_adapter = nn.ModuleList([SimpleAdapter(text, text) for _ in range(self.text_adapt_until)]
                                          + [SimpleProj(text, embed, relu=True)])
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    # image ----------------------------------------------------------------------------
    def image_features(self, extractor: DenseFeatureExtractor, pixels: torch.Tensor):
        """Adapted, normalised patch features per level (B, N, E) and the detection token (B, E)."""
        def hook(index: int, x: torch.Tensor) -> torch.Tensor:
            if index <= self.image_adapt_until:
                return residual_mix(x, self.image_adapter["layer_adapters"][index - 1], self.adapt_weight)
            return x

        feats = extractor(pixels, block_hook=hook)
        ln_post = extractor.backbone.model.visual.ln_post
        tokens = [ln_post(t[:, 1:]) for t in feats.patch_tokens]
        seg = [F.normalize(proj(t), dim=-1) for proj, t in zip(self.image_adapter["seg_proj"], tokens)]
        det = F.normalize(self.image_adapter["det_proj"](tokens[-1]), dim=-1).mean(1)  # a mean of unit vectors, not renormalised
        return seg, det, feats.grid

    # text -------------------------------------------------------------------------------
    def encode_text(self, backbone: Backbone, tokens: torch.Tensor) -> torch.Tensor:
        model = backbone.model
        x = model.token_embedding(tokens) + model.positional_embedding
        for index, block in enumerate(model.transformer.resblocks):
            x = block(x, attn_mask=model.attn_mask)
            if index < self.text_adapt_until:
                x = residual_mix(x, self.text_adapter[index], self.adapt_weight)
        x = model.ln_final(x)
        return self.text_adapter[-1](x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)])

    def text_anchors(self, backbone: Backbone, object_name: str) -> torch.Tensor:
        """(2, E): per state, sentence embeddings normalised, averaged, normalised again."""
        anchors = []
        for states in (NORMAL_STATES, ABNORMAL_STATES):
            sentences = [t.format(s.format(object_name)) for s in states for t in TEMPLATES]
            embedded = F.normalize(self.encode_text(backbone, backbone.tokenizer(sentences).to(backbone.device)), dim=-1)
            anchors.append(F.normalize(embedded.mean(0), dim=-1))
        return torch.stack(anchors)


def dense_config(backbone: Backbone, levels, value_value: bool) -> DenseConfig:
    """Standard attention for inference and stage 2; the value-value path (from the
    sixth block of 24 on) for stage 1's frozen features."""
    from zsad_desktop.detection.dense import DenseAttention

    start = max(1, backbone.vision_layers - 18)
    return DenseConfig(layers=tuple(levels), attention=DenseAttention.VV if value_value else DenseAttention.NONE,
                       start_layer=start, pos_interpolation="bicubic", pos_antialias=True)


def default_levels(depth: int) -> tuple[int, ...]:
    return tuple(sorted({max(1, depth * q // 4) for q in (1, 2, 3, 4)}))
