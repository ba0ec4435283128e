"""Multi-layer dense patch features from a CLIP vision tower.

Both papers read patch tokens from several layers at 518 px (a 37x37 grid for
patch 14), and run a second "dense" path through the last blocks whose
attention is a self-correlation (value-value, or q-q + k-k + v-v as Crane's
E-Attn) without the MLP. With engine "exact" the original path is left untouched, so
its global embedding is exactly plain CLIP's; engine "fast" computes each
block's q, k, v once for both paths and every attention with
`scaled_dot_product_attention` (equal within float rounding, ~1e-6); for CPU
inference its blocks run through block_kernels.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import torch
import torch.nn.functional as F

from zsad_desktop.detection import block_kernels
from zsad_desktop.detection.backbone import Backbone
from zsad_desktop.detection.block_kernels import merge_heads, shares_projection, split_heads


class DenseAttention(str, Enum):
    NONE = "none"  # patch tokens of the original path
    VV = "vv"  # softmax(v v^T) v
    QKV = "qkv"  # (softmax(q q^T) + softmax(k k^T) + softmax(v v^T)) v


@dataclass(frozen=True)
class DenseConfig:
    layers: tuple[int, ...] = (6, 12, 18, 24)  # 1-based block indices whose output is read
    attention: DenseAttention = DenseAttention.VV
    start_layer: int = 6  # 1-based first block the dense path replaces
    pos_interpolation: str = "bicubic"  # "bicubic" (AA-CLIP) or "bilinear" (Crane)
    pos_antialias: bool = True


@dataclass
class DenseFeatures:
    global_embedding: torch.Tensor  # (B, D) projected, not normalised
    patch_tokens: list[torch.Tensor]  # per layer (B, N, width), before ln_post
    grid: tuple[int, int]
    original_tokens: list[torch.Tensor] = field(default_factory=list)  # per `keep` layer, the plain CLIP path


def cached_pos_embedding(
    backbone: Backbone, grid: tuple[int, int], mode: str, antialias: bool
) -> torch.Tensor:
    """Resized once per model, grid and method: every detector sharing the model reuses it."""
    cache = backbone.model.visual.__dict__.setdefault("_resized_pos_embeddings", {})
    pos = backbone.model.visual.positional_embedding
    key = (tuple(grid), mode, antialias, pos.device, pos.dtype)
    if key not in cache:
        # A plain tensor (not an inference tensor), so training may use it too; the backbone is frozen.
        with torch.inference_mode(False), torch.no_grad():
            cache[key] = interpolated_pos_embedding(backbone, grid, mode, antialias).clone()
    return cache[key]


def interpolated_pos_embedding(
    backbone: Backbone, grid: tuple[int, int], mode: str, antialias: bool
) -> torch.Tensor:
    visual = backbone.model.visual
    pos = visual.positional_embedding
    old = int(round((pos.shape[0] - 1) ** 0.5))
    if (old, old) == tuple(grid):
        return pos
    cls_pos, patch_pos = pos[:1], pos[1:]
    patch_pos = patch_pos.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(
        patch_pos.float(),
        size=grid,
        mode=mode,
        align_corners=False,
        antialias=antialias and mode in ("bilinear", "bicubic"),
    ).to(pos.dtype)
    return torch.cat([cls_pos, patch_pos.permute(0, 2, 3, 1).reshape(-1, pos.shape[1])])


class DenseFeatureExtractor(torch.nn.Module):
    """Runs a CLIP vision tower block by block and collects dense features."""

    def __init__(self, backbone: Backbone, config: DenseConfig = DenseConfig(), engine: str = "fast"):
        super().__init__()
        if engine not in ("fast", "exact"):
            raise ValueError(f"engine is 'fast' or 'exact', not {engine!r}")
        self.backbone = backbone
        self.config = config
        self.engine = engine
        n = backbone.vision_layers
        for layer in config.layers:
            if not 1 <= layer <= n:
                raise ValueError(f"layer {layer} outside 1..{n} of {backbone.spec.model_name}")

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        visual = self.backbone.model.visual
        x = visual.conv1(images)
        grid = (x.shape[-2], x.shape[-1])
        x = x.flatten(2).transpose(1, 2)
        cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        pos = cached_pos_embedding(
            self.backbone, grid, self.config.pos_interpolation, self.config.pos_antialias
        )
        return visual.ln_pre(x + pos.to(x.dtype)), grid

    def forward(self, images: torch.Tensor, block_hook=None, keep: tuple[int, ...] = ()) -> DenseFeatures:
        """`block_hook(index, tokens) -> tokens`, if given, edits the original
        path after each 1-based block (AA-CLIP's visual adapters). `keep`: 1-based
        blocks whose original-path tokens are also returned (`original_tokens`), so
        another consumer (musc, the normal memory) reads them from this same pass."""
        visual = self.backbone.model.visual
        x, grid = self.embed(images)
        cfg = self.config
        dense = None
        taken: list[torch.Tensor] = []
        original: list[torch.Tensor] = []
        for index, block in enumerate(visual.transformer.resblocks, start=1):
            if cfg.attention is not DenseAttention.NONE and index == cfg.start_layer:
                dense = x
            done = None
            if self.engine == "fast" and block_kernels.applies(x) and block_kernels.supports(block):
                # The last block's patch tokens are read from the dense path: the original needs its class token only.
                last = index == len(visual.transformer.resblocks) and dense is not None and block_hook is None
                last = last and index not in keep
                done = block_kernels.try_kernel_block(
                    block, x, dense, cfg.attention.value, class_token_only=last
                )
            if done is not None:
                x, dense = done
            elif dense is not None and self.engine == "fast" and shares_projection(block):
                x, dense = fast_block(block, x, dense, cfg.attention)
            else:
                if dense is not None:
                    # Both paths take their attention input from the original stream.
                    dense = dense + block.ls_1(
                        self_correlation_attention(block, block.ln_1(x), cfg.attention, self.engine)
                    )
                x = block(x)
            if block_hook is not None:
                x = block_hook(index, x)
            if index in cfg.layers:
                taken.append(dense if dense is not None and index >= cfg.start_layer else x)
            if index in keep:
                original.append(x)
        pooled = visual.ln_post(x[:, 0])
        global_embedding = pooled @ visual.proj if visual.proj is not None else pooled
        return DenseFeatures(global_embedding, taken, grid, original)

    def project(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens (B, N, width) to the joint space (B, N, D), class token dropped."""
        visual = self.backbone.model.visual
        tokens = visual.ln_post(tokens[:, 1:])
        return tokens @ visual.proj if visual.proj is not None else tokens


def self_correlation_attention(
    block: torch.nn.Module, x: torch.Tensor, mode: DenseAttention, engine: str = "exact"
) -> torch.Tensor:
    """Attention of one block whose weights come from token self-similarity.

    Computed per image (batch dimension kept apart), using the block's own
    projections; output projected like the block's attention output.
    """
    attn = block.attn
    q, k, v = split_heads(F.linear(x, attn.in_proj_weight, attn.in_proj_bias), attn.num_heads)
    if engine == "fast":
        return attn.out_proj(merge_heads(self_correlation_sdpa(q, k, v, mode)))
    b, n, width = x.shape
    scale = q.shape[-1] ** -0.5
    if mode is DenseAttention.VV:
        weights = torch.softmax(v @ v.transpose(-2, -1) * scale, dim=-1)
    elif mode is DenseAttention.QKV:
        weights = sum(torch.softmax(t @ t.transpose(-2, -1) * scale, dim=-1) for t in (q, k, v))
    else:
        raise ValueError(f"no self-correlation for {mode}")
    out = (weights @ v).transpose(1, 2).reshape(b, n, width)
    return attn.out_proj(out)


def self_correlation_sdpa(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mode: DenseAttention
) -> torch.Tensor:
    """softmax(t t^T / sqrt(d)) v summed over t in (v,) or (q, k, v): the same as the explicit
    weights (a sum of attentions is the attention of the summed weights), in memory linear in N."""
    if mode is DenseAttention.VV:
        return F.scaled_dot_product_attention(v, v, v)
    if mode is DenseAttention.QKV:
        return (
            F.scaled_dot_product_attention(q, q, v)
            + F.scaled_dot_product_attention(k, k, v)
            + F.scaled_dot_product_attention(v, v, v)
        )
    raise ValueError(f"no self-correlation for {mode}")


def fast_block(
    block: torch.nn.Module, x: torch.Tensor, dense: torch.Tensor, mode: DenseAttention
) -> tuple[torch.Tensor, torch.Tensor]:
    """One block of the original path and of the dense path beside it, from one q, k, v projection."""
    attn = block.attn
    q, k, v = split_heads(F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias), attn.num_heads)
    dense = dense + block.ls_1(attn.out_proj(merge_heads(self_correlation_sdpa(q, k, v, mode))))
    x = x + block.ls_1(attn.out_proj(merge_heads(F.scaled_dot_product_attention(q, k, v))))
    x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x, dense
