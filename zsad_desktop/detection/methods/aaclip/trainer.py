"""AA-CLIP's two training stages.

Stage 1 (text anchors): only the text adapters train, on frozen value-value
patch features plus the global embedding; segmentation loss summed over all
levels (the reference keeps only the last) plus 0.1 x the squared
normal-abnormal anchor similarity. Stage 2 (patch alignment): only the
visual adapters and projections train, with standard attention; focal and
Dice on both channels summed over levels, plus cross-entropy of the
detection token against the anchors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F

from zsad_desktop.detection.backbone import load_backbone
from zsad_desktop.detection.dense import DenseFeatureExtractor
from zsad_desktop.detection.device import select_device
from zsad_desktop.detection.losses import dice_loss, focal_loss
from zsad_desktop.detection.methods.aaclip.checkpoint import FILES, load_adapters, save_adapters
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, default_levels, dense_config
from zsad_desktop.detection.training import StepTimer, TrainingContext, TrainingProgress, register_trainer
from zsad_desktop.detection.training_data import SegmentationDataset, augmentation


@dataclass
class AACLIPTrainingConfig:
    text_epochs: int = 5
    text_lr: float = 1e-5
    text_batch_size: int = 16
    image_epochs: int = 20
    image_lr: float = 5e-4
    image_batch_size: int = 2
    betas: tuple[float, float] = (0.5, 0.999)
    anchor_similarity_weight: float = 0.1
    object_name: str = "object"
    gelu: str = "quick"
    domain: str = "industrial"
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "AACLIPTrainingConfig":
        known = {f.name for f in fields(cls)}
        values = dict(values)
        if "epochs" in values:  # one number for both stages: the paper's 5:20 ratio
            epochs = int(values.pop("epochs"))
            values.setdefault("text_epochs", max(1, epochs // 4))
            values.setdefault("image_epochs", epochs)
        if "batch_size" in values:
            values.setdefault("image_batch_size", values.pop("batch_size"))
        return cls(**{k: v for k, v in values.items() if k in known})


def segmentation_loss(features: torch.Tensor, anchors: torch.Tensor, grid, masks: torch.Tensor) -> torch.Tensor:
    """Focal + Dice on both channels of the upsampled 100 x cosine softmax."""
    b = features.shape[0]
    logits = (100.0 * features @ anchors.T).transpose(1, 2).reshape(b, 2, *grid)
    probs = torch.softmax(F.interpolate(logits, size=masks.shape[-2:], mode="bilinear", align_corners=True), dim=1)
    return focal_loss(probs, masks) + dice_loss(probs[:, 0], 1 - masks) + dice_loss(probs[:, 1], masks)


def _loader(context, backbone, batch_size, augment, seed):
    dataset = SegmentationDataset(context.train_samples, backbone.spec.image_size, backbone.mean, backbone.std, augment)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))


@register_trainer("aaclip")
def train_aaclip(context: TrainingContext) -> tuple[dict[str, Any], list[float]]:
    config = AACLIPTrainingConfig.from_dict(context.config)
    torch.manual_seed(config.seed)
    device = select_device(context.device)
    spec = context.backbone_spec
    backbone = load_backbone(replace(spec, quick_gelu=config.gelu == "quick"), device)
    levels = default_levels(backbone.vision_layers)
    adapters = AACLIPAdapters(backbone, levels).to(device)
    state = context.epoch_state()
    if all((context.work_dir / f).is_file() for f in FILES.values()) and state:
        load_adapters(adapters, context.work_dir)  # resume the interrupted run
    losses: list[float] = list(state.get("losses", []))
    text_done, image_done = int(state.get("text_epoch", 0)), int(state.get("image_epoch", 0))

    def checkpoint(text_epoch: int, image_epoch: int) -> None:
        save_adapters(adapters, context.work_dir)
        context.save_epoch_state({"text_epoch": text_epoch, "image_epoch": image_epoch, "losses": losses, "config": asdict(config)})

    # Stage 1: text adapters on frozen value-value features.
    vv = DenseFeatureExtractor(backbone, dense_config(backbone, levels, value_value=True))
    loader = _loader(context, backbone, config.text_batch_size, augmentation(), config.seed)
    optimiser = torch.optim.Adam(adapters.text_adapter.parameters(), lr=config.text_lr, betas=tuple(config.betas))
    timer = StepTimer((config.text_epochs - text_done) * len(loader) + (config.image_epochs - image_done) * 1)
    for epoch in range(text_done, config.text_epochs):
        total = 0.0
        for step, (pixels, masks, _labels) in enumerate(loader, start=1):
            context.check_cancel()
            pixels, masks = pixels.to(device), masks.to(device)
            with torch.no_grad():
                feats = vv(pixels)
                cls = F.normalize(feats.global_embedding.float(), dim=-1)[:, None]
                levels_f = [F.normalize(vv.project(t).float(), dim=-1) + cls for t in feats.patch_tokens]
            anchors = adapters.text_anchors(backbone, config.object_name)
            loss = sum(segmentation_loss(f, anchors, feats.grid, masks) for f in levels_f)
            loss = loss + config.anchor_similarity_weight * (anchors[0] @ anchors[1]) ** 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
            context.progress(TrainingProgress("text anchors", epoch + 1, config.text_epochs, step, len(loader), loss.item(), timer.tick()))
        losses.append(total / max(1, len(loader)))
        checkpoint(epoch + 1, image_done)

    # Stage 2: visual adapters and projections, anchors fixed.
    with torch.no_grad():
        anchors = adapters.text_anchors(backbone, config.object_name).detach()
    standard = DenseFeatureExtractor(backbone, dense_config(backbone, levels, value_value=False))
    loader = _loader(context, backbone, config.image_batch_size, augmentation(colour_jitter=True), config.seed + 1)
    optimiser = torch.optim.Adam(adapters.image_adapter.parameters(), lr=config.image_lr, betas=tuple(config.betas))
    for epoch in range(image_done, config.image_epochs):
        total = 0.0
        for step, (pixels, masks, labels) in enumerate(loader, start=1):
            context.check_cancel()
            pixels, masks, labels = pixels.to(device), masks.to(device), labels.to(device)
            seg, det, grid = adapters.image_features(standard, pixels)
            loss = F.cross_entropy(det.float() @ anchors.T, labels)
            loss = loss + sum(segmentation_loss(f.float(), anchors, grid, masks) for f in seg)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
            context.progress(TrainingProgress("patch alignment", epoch + 1, config.image_epochs, step, len(loader), loss.item(), timer.tick()))
        losses.append(total / max(1, len(loader)))
        checkpoint(config.text_epochs, epoch + 1)
    settings = {"gelu": config.gelu, "domain": config.domain, "levels": list(levels), "object_name": config.object_name}
    return settings, losses
