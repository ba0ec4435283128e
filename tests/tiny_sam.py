"""A tiny random-weight SAM for the click model's tests: the architecture of Meta's SAM at a size
that runs in milliseconds, saved as the released checkpoints are (a plain state dict)."""

from __future__ import annotations

from pathlib import Path

import torch

from zsad_desktop.detection.sam_click_model import SamShape, build_sam

# mask_in_chans stays 16 (SAM's own): at 4 the mask branch's first LayerNorm sees one channel and
# outputs a constant, so the mask prompt would reach the decoder as nothing
TINY_SAM = SamShape(
    embed_dim=32,
    depth=2,
    num_heads=2,
    global_attn_indexes=(1,),
    image_size=128,
    window_size=4,
    prompt_dim=32,
    decoder_mlp_dim=64,
    decoder_heads=2,
    iou_head_hidden=32,
)


def save_tiny_sam(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build_sam(TINY_SAM).state_dict(), path)
    return path
