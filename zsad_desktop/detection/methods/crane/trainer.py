"""Train Crane's prompt learner (both encoders frozen), as the reference does.

Loss: 2 x focal + 2 x Dice on the per-layer pixel probabilities, plus 0.2 x
cross-entropy of the image logits at temperature 0.01. Adam, lr 1e-3,
betas (0.6, 0.999), 5 epochs, batch 8 by default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

from zsad_desktop.detection.backbone import load_backbone
from zsad_desktop.detection.device import select_device
from zsad_desktop.detection.losses import dice_loss, focal_loss
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint, save_prompt_checkpoint
from zsad_desktop.detection.methods.crane.detector import CHECKPOINT_NAME, TEMPERATURE, CraneDetector
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.detection.training import StepTimer, TrainingContext, TrainingProgress, register_trainer
from zsad_desktop.detection.training_data import SegmentationDataset, augmentation


@dataclass
class CraneTrainingConfig:
    epochs: int = 5
    batch_size: int = 8
    learning_rate: float = 1e-3
    betas: tuple[float, float] = (0.6, 0.999)
    image_token: bool = True  # the reference trains with the image token ("pad_suffix")...
    image_token_at_test: bool = False  # ...and tests without it
    features: str = "reference"
    image_temperature: float = 0.01
    augment: bool = False  # the reference trains without augmentation
    seed: int = 111

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "CraneTrainingConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def crane_loss(detector: CraneDetector, pixels, masks, labels, config: CraneTrainingConfig) -> torch.Tensor:
    logits, grid, image_logits = detector.forward_logits(pixels, image_token=config.image_token)
    size = pixels.shape[-1]
    focal = dice = 0.0
    for layer_logits in logits:
        probs = detector.pixel_probabilities(layer_logits[None], grid, size)  # abnormal probability
        both = torch.stack([1 - probs, probs], dim=1)
        focal = focal + focal_loss(both, masks)
        dice = dice + dice_loss(probs, masks)  # (1 - p_normal + p_abnormal) / 2 equals p_abnormal here
    image = F.cross_entropy(image_logits * (TEMPERATURE / config.image_temperature), labels)
    return 2 * focal + 2 * dice + 0.2 * image


@register_trainer("crane")
def train_crane(context: TrainingContext) -> tuple[dict[str, Any], list[float]]:
    config = CraneTrainingConfig.from_dict(context.config)
    torch.manual_seed(config.seed)
    device = select_device(context.device)
    backbone = load_backbone(context.backbone_spec, device)
    learner = CranePromptLearner(backbone).to(device)
    checkpoint = context.work_dir / CHECKPOINT_NAME
    state = context.epoch_state()
    if checkpoint.is_file() and state.get("epoch"):
        load_prompt_checkpoint(learner, checkpoint)  # resume where the interrupted run stopped
    detector = CraneDetector(backbone=backbone, trained_prompts=learner, features=config.features, device=str(device))
    learner.requires_grad_(True)
    optimiser = torch.optim.Adam(learner.parameters(), lr=config.learning_rate, betas=tuple(config.betas))
    dataset = SegmentationDataset(context.train_samples, backbone.spec.image_size, backbone.mean, backbone.std,
                                  augmentation() if config.augment else None)
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(config.seed))
    losses: list[float] = list(state.get("losses", []))
    first = int(state.get("epoch", 0))
    timer = StepTimer((config.epochs - first) * len(loader))
    for epoch in range(first, config.epochs):
        total = 0.0
        for step, (pixels, masks, labels) in enumerate(loader, start=1):
            context.check_cancel()
            loss = crane_loss(detector, pixels.to(device), masks.to(device), labels.to(device), config)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
            context.progress(TrainingProgress("prompts", epoch + 1, config.epochs, step, len(loader), loss.item(), timer.tick()))
        losses.append(total / max(1, len(loader)))
        save_prompt_checkpoint(learner, checkpoint)
        context.save_epoch_state({"epoch": epoch + 1, "losses": losses, "config": asdict(config)})
    settings = {"features": config.features, "image_token": config.image_token_at_test}
    return settings, losses
