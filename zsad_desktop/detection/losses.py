"""Segmentation losses of both papers' training code."""

from __future__ import annotations

import torch


def focal_loss(
    probabilities: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, smooth: float = 1e-5
) -> torch.Tensor:
    """Focal loss on class probabilities (B, C, H, W) against class indices (B, H, W).

    As the reference implementations: the one-hot target is clamped by
    `smooth`, which also keeps the logarithm finite.
    """
    classes = probabilities.shape[1]
    probs = probabilities.permute(0, 2, 3, 1).reshape(-1, classes)
    one_hot = torch.nn.functional.one_hot(target.reshape(-1).long(), classes).to(probs.dtype)
    one_hot = one_hot.clamp(smooth / (classes - 1), 1.0 - smooth)
    pt = (one_hot * probs).sum(1) + smooth
    return (-((1 - pt) ** gamma) * pt.log()).mean()


def dice_loss(prediction: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - Dice of a soft map (B, H, W) against a binary mask, averaged over images."""
    n = target.shape[0]
    p = prediction.reshape(n, -1)
    t = target.reshape(n, -1).to(p.dtype)
    dice = (2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)
    return 1 - dice.mean()
