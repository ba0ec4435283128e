"""Training runs of any trainable method, behind one registry.

A run writes into `<out>.partial/` and renames it to `<out>` only when it is
complete: a cancelled or failed run leaves the previous model untouched, and
the next run with the same `out` resumes from the last epoch saved there.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.detection.interface import DetectorError, NormalisationStats
from zsad_desktop.detection.training_data import TrainingSample


class TrainingCancelled(InterruptedError):
    pass


@dataclass
class TrainingProgress:
    stage: str
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    eta_s: float


@dataclass
class TrainingResult:
    model_dir: Path
    method: str
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    normalisation: NormalisationStats = field(default_factory=NormalisationStats)


@dataclass
class TrainingContext:
    """What a method's trainer gets: data, where to write, and how to report."""

    backbone_spec: BackboneSpec
    train_samples: Sequence[TrainingSample]
    work_dir: Path  # the .partial folder: checkpoints of this run (and of an interrupted one)
    config: dict[str, Any]
    device: str
    progress: Callable[[TrainingProgress], None]
    cancel: threading.Event

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise TrainingCancelled("training cancelled: the previous model is kept")

    def epoch_state(self) -> dict[str, Any]:
        path = self.work_dir / "progress.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def save_epoch_state(self, state: dict[str, Any]) -> None:
        tmp = self.work_dir / "progress.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.work_dir / "progress.json")


class StepTimer:
    """Estimates time left from the mean duration of the steps so far."""

    def __init__(self, total_steps: int):
        self.total = max(1, total_steps)
        self.done = 0
        self.start = time.monotonic()

    def tick(self) -> float:
        self.done += 1
        per_step = (time.monotonic() - self.start) / self.done
        return per_step * (self.total - self.done)


#: method -> trainer(context) -> (settings for model.json, per-epoch losses)
Trainer = Callable[[TrainingContext], tuple[dict[str, Any], list[float]]]
_TRAINERS: dict[str, Trainer] = {}


def register_trainer(method: str) -> Callable[[Trainer], Trainer]:
    def decorate(fn: Trainer) -> Trainer:
        _TRAINERS[method] = fn
        return fn

    return decorate


def trainable_methods() -> list[str]:
    import zsad_desktop.detection.methods  # noqa: F401 - registers the trainers

    return sorted(_TRAINERS)


def train_method(
    method: str,
    *,
    backbone_spec: BackboneSpec,
    train_samples: Sequence[TrainingSample],
    out_dir: Path,
    config: dict[str, Any] | None = None,
    device: str = "auto",
    progress: Callable[[TrainingProgress], None] | None = None,
    cancel: threading.Event | None = None,
    normalisation_samples: Sequence[TrainingSample] = (),
) -> TrainingResult:
    from zsad_desktop.detection.saved_model import load_saved_model, write_manifest

    if method not in trainable_methods():
        raise DetectorError(f"{method!r} cannot be trained; trainable methods: {', '.join(trainable_methods())}")
    if not train_samples:
        raise DetectorError("no training images: at least one reviewed or labelled image is needed")
    out_dir = Path(out_dir)
    work = out_dir.with_name(out_dir.name + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    context = TrainingContext(backbone_spec, list(train_samples), work, dict(config or {}), device,
                              progress or (lambda p: None), cancel or threading.Event())
    settings, losses = _TRAINERS[method](context)
    context.check_cancel()
    write_manifest(work, method, backbone_spec, settings)
    stats = _normalisation(work, device, normalisation_samples or train_samples)
    write_manifest(work, method, backbone_spec, settings, stats)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    work.rename(out_dir)
    return TrainingResult(out_dir, method, losses, stats)


def _normalisation(model_dir: Path, device: str, samples: Sequence[TrainingSample]) -> NormalisationStats:
    """Display scale from the trained model's own heatmaps on data, never per image."""
    from zsad_desktop.detection.saved_model import load_saved_model
    from zsad_desktop.imaging import read_rgb8

    detector = load_saved_model(model_dir, device=device)
    chosen = list(samples)[:: max(1, len(samples) // 16)][:16]
    maps = [d.heatmap for d in detector.predict([read_rgb8(s.image_path) for s in chosen])]
    return NormalisationStats.from_heatmaps(maps) if maps else NormalisationStats()


def samples_from_dataset(root: Path, layout: str = "mvtec", split: str = "test", categories: list[str] | None = None) -> list[TrainingSample]:
    """Every sample of a benchmark dataset (an auxiliary dataset for zero-shot training)."""
    from zsad_desktop.evaluation import read_dataset

    return [TrainingSample(s.image_path, s.mask_path, s.label)
            for samples in read_dataset(root, layout, split, categories).values() for s in samples]


def split_samples(samples: Sequence[TrainingSample], held_out: float = 0.2, seed: int = 0) -> tuple[list, list]:
    order = np.random.default_rng(seed).permutation(len(samples))
    cut = int(round(len(samples) * (1 - held_out)))
    return [samples[i] for i in order[:cut]], [samples[i] for i in order[cut:]]
