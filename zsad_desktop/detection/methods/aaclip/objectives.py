"""AA-CLIP's training losses (the reference's forward_utils.py and train.py).

Per level: logits 100 x cosine of each patch to the two anchors, upsampled
bilinear (aligned corners) to the mask size, softmax over the two states;
focal loss (gamma 2) on both channels, Dice of the normal channel against
the inverted mask and of the abnormal channel against the mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zsad_desktop.detection.losses import dice_loss, focal_loss
from zsad_desktop.detection.methods.aaclip.scoring import similarities


def state_probabilities(
    features: torch.Tensor, anchors: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]
) -> torch.Tensor:
    """(B, N, E) features, (B, 2, E) anchors -> (B, 2, H, W) probabilities of normal and abnormal."""
    logits = similarities(features, anchors).transpose(1, 2).reshape(features.shape[0], 2, *grid)
    return torch.softmax(F.interpolate(logits, size=size, mode="bilinear", align_corners=True), dim=1)


def segmentation_loss(
    features: list[torch.Tensor],
    anchors: torch.Tensor,
    grid: tuple[int, int],
    masks: torch.Tensor,
    mask_known: torch.Tensor,
) -> torch.Tensor:
    """Summed over levels; images whose mask is unknown (anomalous, unmasked) are left out."""
    if not bool(mask_known.any()):
        return features[0].new_zeros(())
    masks, anchors = masks[mask_known], anchors[mask_known]
    total = features[0].new_zeros((), dtype=torch.float32)
    for level in features:
        probs = state_probabilities(level[mask_known], anchors, grid, tuple(masks.shape[-2:]))
        total = (
            total
            + focal_loss(probs, masks)
            + dice_loss(probs[:, 0], 1 - masks)
            + dice_loss(probs[:, 1], masks)
        )
    return total


def anchor_similarity(anchors: torch.Tensor) -> torch.Tensor:
    """(mean over images of t_normal . t_abnormal)^2, pushing the two anchors apart."""
    return (anchors[:, 0] * anchors[:, 1]).sum(-1).mean() ** 2


def detection_loss(det: torch.Tensor, anchors: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the detection token's plain cosines to the anchors (no temperature, as the reference)."""
    return F.cross_entropy(torch.einsum("be,bke->bk", det.float(), anchors.float()), labels)
