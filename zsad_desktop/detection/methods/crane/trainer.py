"""Train Crane's prompt learner (both encoders frozen), as the reference's train.py.

Per feature level: softmax of the patch logits on the grid, upsampled to the
input size (nearest, the reference's training default), focal loss on both
channels and Dice on (1 - p_normal + p_abnormal) / 2; plus cross-entropy of
the score-pooled image logits at temperature 0.01. Loss = 2 x focal + 2 x
Dice + 0.2 x image CE. Adam, lr 1e-3, betas (0.6, 0.999), 5 epochs, batch 8,
no augmentation; the prompts carry the image token during training and not
at test time. The checkpoint is saved after every epoch in the released format.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F

from zsad_desktop.detection.backbone import shared_backbone
from zsad_desktop.detection.device import select_device
from zsad_desktop.detection.held_out import detector_metrics
from zsad_desktop.detection.losses import dice_loss, focal_loss
from zsad_desktop.detection.methods.crane import scoring
from zsad_desktop.detection.methods.crane.checkpoint import load_prompt_checkpoint, save_prompt_checkpoint
from zsad_desktop.detection.methods.crane.detector import CHECKPOINT_NAME, CraneDetector
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner
from zsad_desktop.detection.training import StepTimer, TrainingContext, TrainingProgress, register_trainer
from zsad_desktop.detection.training_data import SegmentationDataset, augmentation


@dataclass
class CraneTrainingConfig:
    epochs: int = 5
    batch_size: int = 8
    learning_rate: float = 1e-3
    betas: tuple[float, float] = (0.6, 0.999)
    image_token: bool = True  # the reference trains with the image token ("pad_suffix", probability 1)...
    image_token_at_test: bool = False  # ...and tests without it
    features: str = "reference"  # or "per_layer": true per-level features (a different model)
    upsampling: str = (
        "nearest"  # of the per-level probabilities in the loss (reference: --interpolation nearest)
    )
    image_temperature: float = scoring.TRAINING_IMAGE_TEMPERATURE
    focal_weight: float = 2.0
    dice_weight: float = 2.0
    image_weight: float = 0.2
    augment: bool = False  # the reference trains without augmentation
    dinov2_checkpoint: str | None = None  # given: train Crane+ (D-Attn) prompts
    seed: int = 111

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CraneTrainingConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def crane_loss(
    detector: CraneDetector,
    pixels: torch.Tensor,
    masks: torch.Tensor,
    labels: torch.Tensor,
    config: CraneTrainingConfig,
) -> torch.Tensor:
    """The reference's training loss for one batch: masks (B, S, S) 0/1, labels (B,) 0/1."""
    out = detector.forward_batch(pixels, image_token=config.image_token)
    focal = dice = 0.0
    for level in out.logits:
        probs = scoring.state_probabilities(
            level, out.grid, pixels.shape[-1], config.upsampling
        )  # (B, 2, S, S)
        focal = focal + focal_loss(probs, masks)
        dice = dice + dice_loss((1 - probs[:, 0] + probs[:, 1]) / 2, masks)
    logits = scoring.image_logits(out.image_features(), out.text, config.image_temperature)
    image = F.cross_entropy(logits, labels.long())
    return config.focal_weight * focal + config.dice_weight * dice + config.image_weight * image


@register_trainer("crane")
def train_crane(context: TrainingContext) -> tuple[dict[str, Any], list[float]]:
    config = CraneTrainingConfig.from_dict(context.config)
    torch.manual_seed(config.seed)
    device = select_device(context.device)
    backbone = shared_backbone(context.backbone_spec, device)  # frozen: shared with inference
    learner = CranePromptLearner(backbone).to(device)
    checkpoint = context.work_dir / CHECKPOINT_NAME
    state = context.epoch_state()
    if checkpoint.is_file() and state.get("epoch"):
        load_prompt_checkpoint(learner, checkpoint)  # resume where the interrupted run stopped
    variant = "crane+" if config.dinov2_checkpoint else "crane"
    detector = CraneDetector(
        backbone=backbone,
        trained_prompts=learner,
        features=config.features,
        variant=variant,
        dinov2_checkpoint=config.dinov2_checkpoint,
    )
    learner.train().requires_grad_(True)
    optimiser = torch.optim.Adam(learner.parameters(), lr=config.learning_rate, betas=tuple(config.betas))
    dataset = SegmentationDataset(
        context.train_samples,
        backbone.spec.image_size,
        backbone.mean,
        backbone.std,
        augmentation() if config.augment else None,
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(config.seed),
    )
    losses: list[float] = list(state.get("losses", []))
    first = int(state.get("epoch", 0))
    timer = StepTimer((config.epochs - first) * len(loader))
    last = TrainingProgress("prompts", first, config.epochs, 0, len(loader), float("nan"), 0.0)  # no step yet
    for epoch in range(first, config.epochs):
        total = 0.0
        for step, (pixels, masks, labels) in enumerate(loader, start=1):
            context.check_cancel()
            loss = crane_loss(detector, pixels.to(device), masks.to(device), labels.to(device), config)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
            last = TrainingProgress(
                "prompts", epoch + 1, config.epochs, step, len(loader), loss.item(), timer.tick()
            )
            if step < len(loader):
                context.progress(last)
        losses.append(total / max(1, len(loader)))
        save_prompt_checkpoint(learner, checkpoint)
        record = {"stage": "prompts", "epoch": epoch + 1, "loss": losses[-1]}
        if context.val_samples:
            learner.eval()
            record.update(
                detector_metrics(detector, list(context.val_samples), config.batch_size, context.check_cancel)
            )
            learner.train()
        context.record_epoch(record, epoch=epoch + 1, losses=losses, config=asdict(config))
        context.progress(
            replace(last, metrics={k: v for k, v in record.items() if k not in ("stage", "epoch")})
        )
    settings = {
        "features": config.features,
        "image_token": config.image_token_at_test,
        "variant": variant,
        "dinov2_checkpoint": config.dinov2_checkpoint,
        "layers": list(detector.layers),
    }
    return settings, losses
