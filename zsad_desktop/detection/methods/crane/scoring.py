"""Crane's pixel map and score-based pooling, as the reference computes them.

Shapes: L feature levels, B images, N = h*w patches, D joint width; the two
text states are (normal, abnormal).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TEMPERATURE = 0.07  # patch and image logits at inference
TRAINING_IMAGE_TEMPERATURE = 0.01  # image logits in the training loss
POOLING_ALPHA = 0.5  # weight of the pooled patch feature against the global embedding


def patch_logits(levels: torch.Tensor, text: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """Normalised patch features (L, B, N, D) against text (B, 2, D) -> logits (L, B, N, 2)."""
    return levels @ text.unsqueeze(0).transpose(-1, -2) / temperature


def upsample(
    grid_values: torch.Tensor, grid: tuple[int, int], size: int, mode: str = "bilinear"
) -> torch.Tensor:
    """Per-patch values (B, N, C) to (B, C, size, size); align_corners=False as the reference."""
    b, _, c = grid_values.shape
    maps = grid_values.reshape(b, grid[0], grid[1], c).permute(0, 3, 1, 2)
    return F.interpolate(
        maps, size=(size, size), mode=mode, **({"align_corners": False} if mode != "nearest" else {})
    )


def state_probabilities(
    logits: torch.Tensor, grid: tuple[int, int], size: int, mode: str = "bilinear"
) -> torch.Tensor:
    """One level's logits (B, N, 2): softmax on the grid, then upsampled -> (B, 2, size, size)."""
    return upsample(logits.softmax(dim=-1), grid, size, mode)


def anomaly_map(
    logits: torch.Tensor, grid: tuple[int, int], size: int, softmax: str = "per_layer"
) -> torch.Tensor:
    """Abnormal probability (B, size, size) from per-level logits (L, B, N, 2).

    "per_layer" (the reference's `--soft_mean True`, used for Crane's published
    numbers): softmax per level on the grid, bilinear upsampling of the
    probabilities, mean over levels. "after_mean": logits upsampled, averaged
    over levels, then softmax.
    """
    if softmax == "per_layer":
        return torch.stack([state_probabilities(level, grid, size) for level in logits]).mean(0)[:, 1]
    if softmax == "after_mean":
        return torch.stack([upsample(level, grid, size) for level in logits]).mean(0).softmax(dim=1)[:, 1]
    raise ValueError(f"map softmax is 'per_layer' or 'after_mean', not {softmax!r}")


def pooled_image_features(
    levels: torch.Tensor, logits: torch.Tensor, global_embedding: torch.Tensor
) -> torch.Tensor:
    """Score-based pooling (B, D), normalised.

    Level-averaged logits give each patch its abnormal probability; the
    level-averaged normalised patch features (not renormalised) weighted by it
    are summed and normalised, then mixed half and half with the normalised
    global embedding and normalised again.
    """
    weights = logits.mean(0).softmax(dim=-1)[..., 1:]  # (B, N, 1)
    pooled = F.normalize((levels.mean(0) * weights).sum(1), dim=-1)
    return F.normalize(POOLING_ALPHA * pooled + (1 - POOLING_ALPHA) * global_embedding, dim=-1)


def image_logits(
    image_features: torch.Tensor, text: torch.Tensor, temperature: float = TEMPERATURE
) -> torch.Tensor:
    """(B, D) against (B, 2, D) -> (B, 2)."""
    return torch.einsum("bd,bkd->bk", image_features, text) / temperature
