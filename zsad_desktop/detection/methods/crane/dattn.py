"""Crane+'s D-Attn: attention weights from DINOv2 patch similarity at CLIP's last block.

Facts of the reference code (AlirezaSalehy/Crane, `Transformer.custom_attn`
and `clip_vit_refined_forward`), reproduced here:
- DINOv2 (ViT-B/14 with registers in the paper) sees the same pixels,
  re-normalised from CLIP's to ImageNet's mean and std; its last block's
  patch tokens, after its final norm, are normalised over channels and
  compared patch to patch (cosine similarity).
- Similarities become attention weights: (s - beta * mean(s)) * gamma with
  beta 1.2, gamma 3, negatives masked out, softmax over the key patches.
- They weight the values of CLIP's last block (no class token) and go out
  through that block's output projection, with no residual and no MLP; the
  result is one more feature level beside the E-Attn stream.
- The last block's input there is the original stream *after* its own
  attention residual (the reference adds it in place before D-Attn reads it).

Departures, each a setting: the mean of the similarities is taken per image
("image"; the reference takes it over the whole batch: "batch", which makes
an image's heatmap depend on the other images batched with it), and a patch
always keeps itself as a key, so a row can never be all masked (the
reference then gives NaN).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from zsad_desktop.detection.interface import DetectorError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BETA = 1.2
GAMMA = 3.0


class Dinov2Features(nn.Module):
    """A DINOv2 ViT (via timm) giving last-block patch tokens (B, C, h, w) after its final norm."""

    def __init__(self, vit: nn.Module, clip_mean, clip_std):
        super().__init__()
        self.vit = vit
        self.register_buffer("clip_mean", torch.tensor(clip_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("clip_std", torch.tensor(clip_std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, clip_pixels: torch.Tensor) -> torch.Tensor:
        raw = (clip_pixels * self.clip_std + self.clip_mean).clamp(0, 1)
        x = self.vit.forward_features((raw - self.mean) / self.std)
        patches = x[:, self.vit.num_prefix_tokens :]
        h, w = (
            clip_pixels.shape[-2] // self.vit.patch_embed.patch_size[0],
            clip_pixels.shape[-1] // self.vit.patch_embed.patch_size[1],
        )
        return patches.reshape(x.shape[0], h, w, -1).permute(0, 3, 1, 2)


def load_dinov2(path: Path | str, clip_mean, clip_std, device: torch.device | str = "cpu") -> Dinov2Features:
    """Build a DINOv2 ViT from its checkpoint: Meta's `dinov2_vit*14[_reg4]_pretrain.pth`
    or timm's converted weights; architecture read from the shapes."""
    import timm.models.vision_transformer as vit_module

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DetectorError(f"DINOv2 checkpoint not found: {path}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file in any way
        raise DetectorError(f"{path} is not a readable DINOv2 checkpoint: {exc}") from None
    state = state.get("model", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or "pos_embed" not in state or "patch_embed.proj.weight" not in state:
        raise DetectorError(f"{path} is not a DINOv2 checkpoint (no pos_embed / patch_embed.proj.weight)")
    if any(".mlp.w12." in k for k in state):
        raise DetectorError(
            f"{path}: DINOv2 with SwiGLU (ViT-g) is not supported; use ViT-S/B/L (the paper uses ViT-B/14 with registers)"
        )
    width, _, patch, _ = state["patch_embed.proj.weight"].shape
    depth = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k)))
    registers = (
        state["register_tokens"].shape[1]
        if "register_tokens" in state
        else (state["reg_token"].shape[1] if "reg_token" in state else 0)
    )
    patches = state["pos_embed"].shape[1] - (0 if registers and "register_tokens" not in state else 1)
    grid = int(round(patches**0.5))
    vit = vit_module.VisionTransformer(
        img_size=grid * patch,
        patch_size=patch,
        embed_dim=width,
        depth=depth,
        num_heads=width // 64,
        init_values=1e-5,
        reg_tokens=registers,
        no_embed_class=registers > 0,
        num_classes=0,
        dynamic_img_size=True,
    )
    state = vit_module.checkpoint_filter_fn(dict(state), vit)
    missing, unexpected = vit.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DetectorError(
            f"{path} does not fit a DINOv2 ViT (width {width}, depth {depth}, {registers} registers): "
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    return Dinov2Features(vit, clip_mean, clip_std).eval().requires_grad_(False).to(device)


def dino_attention(
    block: nn.Module,
    block_input: torch.Tensor,
    dino: torch.Tensor,
    grid: tuple[int, int],
    mean_over: str = "image",
    beta: float = BETA,
    gamma: float = GAMMA,
) -> torch.Tensor:
    """D-Attn output tokens (B, h*w, width) of CLIP's last `block`, before ln_post.

    `block_input` (B, 1+N, width) is the original stream entering the block;
    `dino` (B, C, H, W) DINOv2's patch tokens.
    """
    attn = block.attn
    width = block_input.shape[-1]
    after_attention = block_input + block.ls_1(block.attention(block.ln_1(block_input)))
    values = F.linear(
        block.ln_1(after_attention), attn.in_proj_weight[2 * width :], attn.in_proj_bias[2 * width :]
    )
    b = values.shape[0]
    _, _, h, w = dino.shape
    values = values[:, 1:].reshape(b, grid[0], grid[1], width).permute(0, 3, 1, 2)
    if (h, w) != tuple(grid):
        values = F.interpolate(values, size=(h, w), mode="bilinear", align_corners=False)
    values = values.flatten(2).transpose(1, 2)  # (B, HW, width)
    features = F.normalize(dino.flatten(2).float(), dim=1)
    similarity = features.transpose(1, 2) @ features  # (B, HW, HW)
    if mean_over == "image":
        mean = similarity.mean(dim=(1, 2), keepdim=True)
    elif mean_over == "batch":
        mean = similarity.mean()
    else:
        raise ValueError(f"D-Attn mean is over 'image' or 'batch', not {mean_over!r}")
    similarity = (similarity - mean * beta) * gamma
    keep_self = torch.eye(similarity.shape[-1], dtype=torch.bool, device=similarity.device)
    similarity = similarity.masked_fill((similarity < 0) & ~keep_self, float("-inf"))
    weights = similarity.softmax(dim=-1).to(values.dtype)
    return attn.out_proj(weights @ values)
