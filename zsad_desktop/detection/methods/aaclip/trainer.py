"""AA-CLIP's two training stages (the paper; Mwxinnn/AA-CLIP train.py for the details).

Stage 1, text anchors: only the text adapters train, on frozen value-value
patch features plus the global embedding (anchor_features.py). Loss: the
segmentation loss summed over all levels (the reference keeps only the last
level's, a bug) plus 0.1 x the squared normal-abnormal anchor similarity.
Adam, lr 1e-5, betas (0.5, 0.999), 5 epochs, batch 16.

Stage 2, patch alignment: the anchors are fixed; only the visual adapters and
projections train, with CLIP's standard attention. Loss: the segmentation
loss summed over levels plus cross-entropy of the detection token's cosines
to the anchors. Adam, lr 5e-4, betas (0.5, 0.999), 20 epochs, batch 2, the
learning rate halved after 16000 and 32000 steps. Colour jitter joins the
augmentation.

Each sample's prompts name its category (the reference's per-class names).
After every epoch the adapters are saved in the reference's format with the
optimiser state, so a run resumes from its last finished epoch.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from zsad_desktop.detection.backbone import shared_backbone
from zsad_desktop.detection.device import select_device
from zsad_desktop.detection.methods.aaclip import checkpoint, objectives, validation
from zsad_desktop.detection.methods.aaclip.anchor_features import AnchorFeatures
from zsad_desktop.detection.methods.aaclip.config import AACLIPTrainingConfig
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters, AdapterLayout, standard_features
from zsad_desktop.detection.methods.aaclip.prompts import object_name_for
from zsad_desktop.detection.training import StepTimer, TrainingContext, TrainingProgress, register_trainer
from zsad_desktop.detection.training_data import SegmentationDataset, augmentation, mean_fill

TEXT_STAGE = "text anchors"
IMAGE_STAGE = "patch alignment"


def model_object_name(configured: str | None, samples) -> str:
    """What the trained detector calls the object: as configured, else the one category trained on, else "object"."""
    if configured:
        return configured
    categories = {s.category for s in samples}
    return object_name_for(categories.pop()) if len(categories) == 1 and None not in categories else "object"


@register_trainer("aaclip")
def train_aaclip(context: TrainingContext) -> tuple[dict[str, Any], list[float]]:
    return AACLIPTraining(context).run()


def train_step(loss_of, batch: tuple, optimiser, scheduler=None) -> float:
    """One optimiser step on one batch (pixels, masks, labels, info); the loss as a number."""
    loss = loss_of(*batch)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


class AACLIPTraining:
    def __init__(self, context: TrainingContext):
        self.context = context
        self.config = config = AACLIPTrainingConfig.from_dict(context.config)
        for seed in (torch.manual_seed, random.seed, np.random.seed):
            seed(config.seed)
        self.device = select_device(context.device)
        spec = replace(context.backbone_spec, quick_gelu=config.gelu == "quick")
        self.backbone = shared_backbone(spec, self.device)
        self.layout = AdapterLayout.for_backbone(
            self.backbone,
            levels=config.levels,
            image_adapt_until=config.image_adapt_until,
            text_adapt_until=config.text_adapt_until,
            image_adapt_weight=config.image_adapt_weight,
            text_adapt_weight=config.text_adapt_weight,
            projection_relu=config.projection_relu,
        )
        self.adapters = AACLIPAdapters.for_backbone(self.backbone, self.layout)
        self.resumed = checkpoint.load_adapters(self.adapters, context.work_dir, require_image=False)
        self.losses: list[float] = list(context.epoch_state().get("losses", []))
        self.text_done = min(self.resumed.text_epoch or 0, config.text_epochs)
        self.image_done = min(self.resumed.image_epoch or 0, config.image_epochs)
        self.adapt_text = config.text_epochs > 0
        self.object_name = model_object_name(config.object_name, context.train_samples)
        self._fixed_anchors: dict[str, torch.Tensor] = {}
        self.anchor_features = AnchorFeatures(
            self.backbone, self.layout.levels, config.first_value_value_block
        )
        self.extractor = standard_features(self.backbone, self.layout.levels)

    # data -------------------------------------------------------------------------------------
    def loader(self, samples, batch_size: int, augment, shuffle: bool, seed_offset: int = 0):
        backbone, config = self.backbone, self.config
        dataset = SegmentationDataset(
            samples, backbone.spec.image_size, backbone.mean, backbone.std, augment, with_info=True
        )
        workers = (
            config.num_workers if config.num_workers is not None else (4 if self.device.type == "cuda" else 0)
        )
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(config.seed + seed_offset),
        )

    def training_augmentation(self, colour_jitter: bool):
        c = self.config
        return augmentation(
            c.rotation,
            c.translate,
            c.flips,
            colour_jitter,
            c.augment_probability,
            mean_fill(self.backbone.mean),
        )

    def held_out(self, limit: int):
        samples = list(self.context.val_samples)
        return samples[:: max(1, -(-len(samples) // limit))] if samples else []

    def names(self, categories) -> list[str]:
        return [object_name_for(c, self.object_name) for c in categories]

    def autocast(self):
        if self.config.precision == "bf16" and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # anchors ----------------------------------------------------------------------------------
    def anchors_with_grad(self, names: list[str]) -> torch.Tensor:
        unique = sorted(set(names))
        anchors = self.adapters.text_anchors(self.backbone, unique)
        return anchors[[unique.index(n) for n in names]]

    def fixed_anchors(self, categories) -> torch.Tensor:
        """(B, 2, E) anchors of each sample's category, without gradients (stage 2 and held-out checks)."""
        names = self.names(categories)
        missing = sorted(set(names) - set(self._fixed_anchors))
        if missing:
            with torch.no_grad():
                for name, pair in zip(
                    missing, self.adapters.text_anchors(self.backbone, missing, self.adapt_text)
                ):
                    self._fixed_anchors[name] = pair
        return torch.stack([self._fixed_anchors[n] for n in names])

    # the run ----------------------------------------------------------------------------------
    def run(self) -> tuple[dict[str, Any], list[float]]:
        c = self.config
        samples = self.context.train_samples
        text_loader = self.loader(samples, c.text_batch_size, self.training_augmentation(False), True)
        image_loader = self.loader(
            samples, c.image_batch_size, self.training_augmentation(c.colour_jitter), True, 1
        )
        self.timer = StepTimer(
            (c.text_epochs - self.text_done) * len(text_loader)
            + (c.image_epochs - self.image_done) * len(image_loader)
        )
        if self.text_done < c.text_epochs:
            self.train_text_anchors(text_loader)
        self.train_patch_alignment(image_loader)
        calibration = self.calibrate()
        checkpoint.finish_folder(
            self.adapters, self.context.work_dir, c.text_epochs if self.adapt_text else None, c.image_epochs
        )
        settings = {
            **self.layout.to_dict(),
            "gelu": c.gelu,
            "domain": c.domain,
            "object_name": self.object_name,
            "calibration": calibration.to_dict(),
        }
        return settings, self.losses

    # the two stages' losses and optimisers (bench/train.py times these) ------------------------
    def text_loss(self, pixels, masks, labels, info) -> torch.Tensor:
        """Stage 1: segmentation loss summed over levels + weight x (t_normal . t_abnormal)^2."""
        with self.autocast():
            levels, grid = self.anchor_features(pixels)
        anchors = self.anchors_with_grad(self.names(info["category"]))
        seg = objectives.segmentation_loss(levels, anchors, grid, masks, info["mask_known"].to(self.device))
        return seg + self.config.anchor_similarity_weight * objectives.anchor_similarity(anchors)

    def image_loss(self, pixels, masks, labels, info) -> torch.Tensor:
        """Stage 2: detection cross-entropy + segmentation loss summed over levels, anchors fixed."""
        anchors = self.fixed_anchors(info["category"])
        with self.autocast():
            seg, det, grid = self.adapters.image_features(self.extractor, pixels)
        known = info["mask_known"].to(self.device)
        return objectives.detection_loss(det, anchors, labels) + objectives.segmentation_loss(
            seg, anchors, grid, masks, known
        )

    def text_optimiser(self) -> torch.optim.Optimizer:
        c = self.config
        optimiser = torch.optim.Adam(
            self.adapters.text_adapter.parameters(), lr=c.text_lr, betas=tuple(c.betas)
        )
        if self.resumed.text.get("text_optimizer"):
            optimiser.load_state_dict(self.resumed.text["text_optimizer"])
        return optimiser

    def image_optimiser(self) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        c = self.config
        optimiser = torch.optim.Adam(
            self.adapters.image_adapter.parameters(), lr=c.image_lr, betas=tuple(c.betas)
        )
        scheduler = torch.optim.lr_scheduler.MultiStepLR(
            optimiser, milestones=list(c.image_lr_milestones), gamma=c.image_lr_gamma
        )
        if self.resumed.image.get("image_optimizer"):
            optimiser.load_state_dict(self.resumed.image["image_optimizer"])
        if self.resumed.image.get("image_scheduler"):
            scheduler.load_state_dict(self.resumed.image["image_scheduler"])
        return optimiser, scheduler

    # the stages -------------------------------------------------------------------------------
    def train_text_anchors(self, loader) -> None:
        c, context = self.config, self.context
        optimiser = self.text_optimiser()
        held_out = self.held_out(c.validation_images)
        held_out_loader = self.loader(held_out, c.text_batch_size, None, False) if held_out else None
        self.adapters.text_adapter.train()
        for epoch in range(self.text_done, c.text_epochs):

            def save(epoch=epoch):
                checkpoint.save_text_adapter(
                    self.adapters, context.work_dir, epoch + 1, optimiser.state_dict()
                )

            self.run_epoch(
                TEXT_STAGE,
                epoch,
                c.text_epochs,
                loader,
                optimiser,
                None,
                self.text_loss,
                save,
                held_out_loader,
            )

    def train_patch_alignment(self, loader) -> None:
        c, context = self.config, self.context
        optimiser, scheduler = self.image_optimiser()
        held_out = self.held_out(c.validation_images)
        held_out_loader = self.loader(held_out, c.image_batch_size, None, False) if held_out else None

        def metrics() -> dict[str, float]:
            out = validation.collect_outputs(
                self.adapters,
                self.extractor,
                held_out,
                self.fixed_anchors,
                c.domain,
                c.image_batch_size,
                check_cancel=context.check_cancel,
            )
            return validation.held_out_metrics(out, c.domain)

        self.adapters.image_adapter.train()
        for epoch in range(self.image_done, c.image_epochs):

            def save(epoch=epoch):
                checkpoint.save_image_adapter(
                    self.adapters, context.work_dir, epoch + 1, optimiser.state_dict(), scheduler.state_dict()
                )

            self.run_epoch(
                IMAGE_STAGE,
                epoch,
                c.image_epochs,
                loader,
                optimiser,
                scheduler,
                self.image_loss,
                save,
                held_out_loader,
                metrics,
            )
        self.adapters.eval()

    def run_epoch(
        self, stage, epoch, epochs, loader, optimiser, scheduler, loss_of, save, held_out_loader, metrics=None
    ) -> None:
        """One epoch, then its checkpoint (`save`) and its record; the last step is reported
        after the held-out check, with the epoch's metrics."""
        context = self.context
        total, steps, last = 0.0, len(loader), None
        for step, (pixels, masks, labels, info) in enumerate(loader, start=1):
            context.check_cancel()
            pixels, masks, labels = pixels.to(self.device), masks.to(self.device), labels.to(self.device)
            loss = train_step(loss_of, (pixels, masks, labels, info), optimiser, scheduler)
            total += loss
            last = TrainingProgress(stage, epoch + 1, epochs, step, steps, loss, self.timer.tick())
            if step < steps:
                context.progress(last)
        save()
        record = {"stage": stage, "epoch": epoch + 1, "loss": total / max(1, steps)}
        if held_out_loader is not None:
            record["val_loss"] = self.held_out_loss(held_out_loader, loss_of)
            record.update(metrics() if metrics else {})
        self.losses.append(record["loss"])
        context.record_epoch(record, losses=self.losses)
        if last is not None:
            context.progress(
                replace(last, metrics={k: v for k, v in record.items() if k not in ("stage", "epoch")})
            )

    @torch.no_grad()
    def held_out_loss(self, loader, loss_of) -> float:
        total, count = 0.0, 0
        for pixels, masks, labels, info in loader:
            self.context.check_cancel()
            pixels, masks, labels = pixels.to(self.device), masks.to(self.device), labels.to(self.device)
            loss = loss_of(pixels, masks, labels, info)
            total, count = total + loss.item() * len(pixels), count + len(pixels)
        return total / max(1, count)

    def calibrate(self):
        """Score ranges from the trained model's outputs on held-out images (else training images), as the
        saved detector will compute them: inference preprocessing, the model's object name for every image."""
        c = self.config
        train = list(self.context.train_samples)
        samples = (
            self.held_out(c.calibration_images) or train[:: max(1, -(-len(train) // c.calibration_images))]
        )
        out = validation.collect_outputs(
            self.adapters,
            self.extractor,
            samples,
            lambda categories: self.fixed_anchors([None] * len(categories)),
            c.domain,
            c.image_batch_size,
            keep_maps=False,
            check_cancel=self.context.check_cancel,
        )
        return out.calibration()
