"""Stage 1's frozen image features: value-value attention in the late blocks.

The reference (train.py with `DAPM_replace(DPAM_layer=20)`) swaps the
attention of the last 19 blocks of ViT-L-14 (blocks 6 to 24) for
softmax(v v^T / sqrt(d)) v and keeps each block's MLP and residuals: one
stream, not a second path beside the original. It reads that stream after the
levels' blocks, projects the patch tokens (ln_post, proj), normalises them and
adds the normalised global embedding of the unchanged CLIP.

Departure, on purpose: the reference runs those blocks on (tokens,
batch, width) tensors as if they were (batch, tokens, width), so its
"attention" mixes the same token of different images; here it is computed
per image, as the paper describes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zsad_desktop.detection.backbone import Backbone
from zsad_desktop.detection.dense import DenseAttention, self_correlation_attention
from zsad_desktop.detection.methods.aaclip.model import standard_features

REFERENCE_REPLACED_BLOCKS = 19  # DPAM_layer 20 replaces resblocks[-1] .. resblocks[-19]


def first_value_value_block(depth: int) -> int:
    """1-based first block with value-value attention: 6 of 24, every block of shallow test models."""
    return max(1, depth - REFERENCE_REPLACED_BLOCKS + 1)


class AnchorFeatures:
    """(B, 3, S, S) -> per level (B, N, E): normalised value-value patch features plus the normalised global embedding."""

    def __init__(
        self,
        backbone: Backbone,
        levels: tuple[int, ...],
        first_block: int | None = None,
        engine: str = "fast",
    ):
        self.backbone = backbone
        self.levels = tuple(levels)
        self.first_block = first_block or first_value_value_block(backbone.vision_layers)
        self.engine = engine  # "fast": value-value attention on scaled_dot_product_attention
        self.standard = standard_features(backbone, self.levels, engine)

    @torch.no_grad()
    def __call__(self, pixels: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, int]]:
        visual = self.backbone.model.visual
        x, grid = self.standard.embed(pixels)
        vv = None
        taken = []
        for index, block in enumerate(visual.transformer.resblocks, start=1):
            if index == self.first_block:
                vv = x  # the two streams agree up to here
            if vv is not None:
                vv = vv + block.ls_1(
                    self_correlation_attention(block, block.ln_1(vv), DenseAttention.VV, self.engine)
                )
                vv = vv + block.ls_2(block.mlp(block.ln_2(vv)))
            x = block(x)
            if index in self.levels:
                taken.append(vv if vv is not None else x)
        global_embedding = visual.ln_post(x[:, 0])
        global_embedding = global_embedding @ visual.proj if visual.proj is not None else global_embedding
        cls = F.normalize(global_embedding.float(), dim=-1)[:, None]
        return [F.normalize(self.standard.project(t).float(), dim=-1) + cls for t in taken], grid
