"""Retrain the active method on the workspace's reviews, as a new model version.

Training data are reviewer decisions only: accepted and corrected masks as
anomalies, images marked normal as normal; never unreviewed proposals. A
held-out part of the reviews, chosen once per image and kept fixed, measures
the new version against the active one before the reviewer promotes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detector, NormalisationStats, create_detector
from zsad_desktop.detection.training_progress import TrainingCancelled as TrainingCancelled  # for the window
from zsad_desktop.detection.training_progress import TrainingProgress as TrainingProgress
from zsad_desktop.evaluation import dice, evaluate, load_mask
from zsad_desktop.store import Image, Review, ReviewStatus, TrainingStatus
from zsad_desktop.store.errors import StoreError

if TYPE_CHECKING:  # torch and open_clip: imported where a model trains or loads, off the window's start
    from zsad_desktop.detection.backbone import BackboneSpec
    from zsad_desktop.detection.training_data import TrainingSample

TRAINING_STATUSES = (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED, ReviewStatus.NORMAL)
HELD_OUT_SHARE = 0.2
DEFAULT_MINIMUM = 8
PROPOSAL_THRESHOLD = 0.5  # on the model's normalised scale


@dataclass(frozen=True)
class ReviewedImage:
    review_id: int
    image_hash: str
    sample: TrainingSample


@dataclass
class RetrainOutcome:
    version: model_versions.VersionInfo
    new_metrics: dict[str, float]
    active_metrics: dict[str, float]
    held_out: list[ReviewedImage]
    run_id: int
    #: a few held-out images as (RGB, the active version's heatmap, the new one's), each heatmap on its
    #: model's own 0..1 scale; filled by `comparison_examples` where the window shows them
    examples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


def comparison_examples(
    outcome: RetrainOutcome, active: model_versions.VersionInfo | None, device: str = "auto", count: int = 3
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The first `count` held-out images with both versions' heatmaps (loads both models: run it off the
    window's thread)."""
    items = outcome.held_out[:count]
    if not items:
        return []
    images = [i.sample.read_rgb8() for i in items]
    new = detector_for(outcome.version, device)
    old = detector_for(active, device) if active else new
    return [
        (rgb, old.normalisation.normalise(a.heatmap), new.normalisation.normalise(n.heatmap))
        for rgb, a, n in zip(images, old.predict(images), new.predict(images))
    ]


def reviewed_images(workspace: Workspace) -> list[ReviewedImage]:
    from zsad_desktop.detection.training_data import TrainingSample

    query = (
        select(Review, Image.rel_path, Image.frame)
        .join(Image, Image.content_hash == Review.image_hash)
        .where(Review.status.in_([s.value for s in TRAINING_STATUSES]), Image.missing.is_(False))
        .order_by(Review.id)
    )
    seen: set[str] = set()
    out = []
    with workspace.database.session() as session:
        for review, rel_path, frame in session.execute(query):
            if review.image_hash in seen:  # the same pixels at two paths count once
                continue
            seen.add(review.image_hash)
            anomalous = review.status is not ReviewStatus.NORMAL and review.mask_file is not None
            mask = workspace.files.path(review.mask_file) if anomalous else None
            out.append(
                ReviewedImage(
                    review.id,
                    review.image_hash,
                    TrainingSample(workspace.folder / rel_path, mask, int(anomalous), frame=frame),
                )
            )
    return out


def minimum_reviews(workspace: Workspace) -> int:
    return int(workspace.setting("retrain_minimum", DEFAULT_MINIMUM))


def readiness(workspace: Workspace) -> tuple[bool, str]:
    """Whether retraining can start, and what the window should say."""
    items = reviewed_images(workspace)
    anomalous = sum(i.sample.label for i in items)
    needed = minimum_reviews(workspace) - len(items)
    if needed > 0:
        return (
            False,
            f"Review {needed} more image{'s' if needed > 1 else ''} to retrain ({len(items)} of {minimum_reviews(workspace)}).",
        )
    if anomalous == 0 or anomalous == len(items):
        return False, "Retraining needs both anomalous (accepted or corrected) and normal reviews."
    return True, f"{len(items)} reviewed images ({anomalous} anomalous) are ready for retraining."


def split(
    workspace: Workspace, items: list[ReviewedImage]
) -> tuple[list[ReviewedImage], list[ReviewedImage]]:
    """Train and held-out parts. An image's side is chosen once and stored, so the
    held-out set stays fixed as reviews accumulate; each class keeps about 20% aside."""
    assigned: dict[str, str] = dict(workspace.setting("held_out_split", {}) or {})
    for label in (0, 1):
        group = [i for i in items if i.sample.label == label]
        held = sum(1 for i in group if assigned.get(i.image_hash) == "held_out")
        for position, item in enumerate(group, start=1):
            if item.image_hash in assigned:
                continue
            if held < round(HELD_OUT_SHARE * position) or (
                position == len(group) and held == 0 and len(group) > 1
            ):
                assigned[item.image_hash] = "held_out"
                held += 1
            else:
                assigned[item.image_hash] = "train"
    workspace.set_setting("held_out_split", assigned)
    train = [i for i in items if assigned[i.image_hash] == "train"]
    return train, [i for i in items if assigned[i.image_hash] == "held_out"]


def detector_for(version: model_versions.VersionInfo, device: str = "auto") -> Detector:
    from zsad_desktop.detection.saved_model import load_saved_model

    if version.checkpoint and (Path(version.checkpoint) / "model.json").is_file():
        return load_saved_model(Path(version.checkpoint), device=device)
    backbone = version.backbone
    return create_detector(
        version.method,
        model_name=backbone["model_name"],
        pretrained=backbone["pretrained"],
        image_size=backbone["image_size"],
        device=device,
        **version.settings,
        **({"checkpoint": version.checkpoint} if version.checkpoint else {}),
    )


def compare_on(detector: Detector, items: list[ReviewedImage]) -> dict[str, float]:
    """Image and pixel metrics, and the Dice of the proposed masks against the reviewer's final masks."""
    if not items:
        return {}
    images = [i.sample.read_rgb8() for i in items]
    detections = detector.predict(images)
    masks = [load_mask(i.sample, d.heatmap.shape) for i, d in zip(items, detections)]
    labels = np.array([i.sample.label for i in items])
    metrics = evaluate(
        labels, np.array([d.score for d in detections]), masks, [d.heatmap for d in detections]
    ).to_dict()
    stats = (
        detector.normalisation
        if detector.normalisation != NormalisationStats()
        else NormalisationStats.from_heatmaps([d.heatmap for d in detections])
    )
    proposals = [stats.normalise(d.heatmap) >= PROPOSAL_THRESHOLD for d in detections]
    metrics["proposal_dice"] = float(np.mean([dice(p, m) for p, m in zip(proposals, masks)]))
    return metrics


def retrain(
    workspace: Workspace,
    method: str | None = None,
    backbone: BackboneSpec | None = None,
    config: dict[str, Any] | None = None,
    device: str = "auto",
    progress: Callable[[TrainingProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> RetrainOutcome:
    """Train a new version on the reviews; the active version stays active."""
    from zsad_desktop.detection.backbone import BackboneSpec
    from zsad_desktop.detection.saved_model import load_saved_model
    from zsad_desktop.detection.training import train_method

    ready, message = readiness(workspace)
    if not ready:
        raise StoreError(message)
    config = config if config is not None else dict(workspace.setting("retrain_config", {}) or {})
    active = model_versions.active_version(workspace)
    if active is None and (method is None or backbone is None):
        raise StoreError("no active model in this workspace: open it in the window or predict first")
    method = method or (active.method if active.method != "baseline" else "crane")
    backbone = backbone or BackboneSpec(
        active.backbone["model_name"], active.backbone["pretrained"], active.backbone["image_size"]
    )
    train, held_out = split(workspace, reviewed_images(workspace))
    run_id = model_versions.start_training_run(
        workspace, method, [i.review_id for i in train], [i.review_id for i in held_out], config
    )
    out_dir = workspace.files.root / "models" / f"run-{run_id}"
    try:
        result = train_method(
            method,
            backbone_spec=backbone,
            train_samples=[i.sample for i in train],
            out_dir=out_dir,
            config=config,
            device=device,
            progress=progress,
            cancel=cancel,
            val_samples=[i.sample for i in held_out],
            normalisation_samples=[i.sample for i in train],
        )
    except TrainingCancelled:
        model_versions.finish_training_run(workspace, run_id, TrainingStatus.CANCELLED)
        raise
    except Exception as error:
        model_versions.finish_training_run(workspace, run_id, TrainingStatus.FAILED, error=str(error))
        raise
    new_detector = load_saved_model(result.model_dir, device=device)
    new_metrics = compare_on(new_detector, held_out)
    active_metrics = compare_on(detector_for(active, device), held_out) if active else {}
    version = model_versions.register_version(
        workspace,
        new_detector.model_id,
        method,
        {
            "model_name": backbone.model_name,
            "pretrained": backbone.pretrained,
            "image_size": backbone.image_size,
        },
        checkpoint=str(result.model_dir),
        parent=active.name if active else None,
        metrics={"held_out": new_metrics, "parent_held_out": active_metrics, "losses": result.losses},
        training_run_id=run_id,
    )
    model_versions.finish_training_run(
        workspace, run_id, TrainingStatus.FINISHED, metrics={"new": new_metrics, "active": active_metrics}
    )
    return RetrainOutcome(version, new_metrics, active_metrics, held_out, run_id)


def proposal_agreement(workspace: Workspace) -> dict[str, list[tuple[str, float]]]:
    """Per model version, over time: Dice of its original proposals against the reviewer's final masks."""
    names = {v.model_id: v.name for v in model_versions.list_versions(workspace)}
    out: dict[str, list[tuple[str, float]]] = {}
    with workspace.database.session() as session:
        reviews = session.scalars(
            select(Review).where(Review.proposal_file.is_not(None)).order_by(Review.updated_at)
        )
        for review in reviews:
            if review.model_version not in names or review.status not in (
                ReviewStatus.ACCEPTED,
                ReviewStatus.CORRECTED,
                ReviewStatus.NORMAL,
            ):
                continue
            proposal = workspace.files.read_mask(review.proposal_file)
            final = (
                workspace.files.read_mask(review.mask_file) if review.mask_file else np.zeros_like(proposal)
            )
            out.setdefault(names[review.model_version], []).append(
                (review.updated_at.isoformat(), dice(proposal, final))
            )
    return out
