"""Training runs of any trainable method, behind one registry.

A run writes into `<out>.partial/` and puts it in place of `<out>` only when
it is complete: a cancelled or failed run leaves the previous model untouched,
and the next run with the same `out`, method, backbone, configuration and
samples resumes from the last epoch saved there (a different run starts over).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.detection.interface import DetectorError, NormalisationStats
from zsad_desktop.detection.training_data import TrainingSample
from zsad_desktop.detection.training_progress import TrainingCancelled, TrainingProgress

RUN_FILE = "run.json"  # what the partial folder belongs to
PROGRESS_FILE = "progress.json"  # per-epoch history of the run so far


@dataclass
class TrainingResult:
    model_dir: Path
    method: str
    losses: list[float] = field(default_factory=list)  # mean training loss per epoch, all stages in order
    normalisation: NormalisationStats = field(default_factory=NormalisationStats)
    #: {"epochs": [one dict per epoch: stage, epoch, loss, held-out metrics], "held_out": last held-out metrics}
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def checkpoint_dir(self) -> Path:
        return self.model_dir


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
    val_samples: Sequence[TrainingSample] = ()  # held out: per-epoch metrics, never trained on

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise TrainingCancelled("training cancelled: the previous model is kept")

    def epoch_state(self) -> dict[str, Any]:
        path = self.work_dir / PROGRESS_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def save_epoch_state(self, state: dict[str, Any]) -> None:
        tmp = self.work_dir / (PROGRESS_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.work_dir / PROGRESS_FILE)

    def epoch_metrics(self) -> list[dict[str, Any]]:
        """Per-epoch records of this run so far (an interrupted run's included)."""
        return list(self.epoch_state().get("epochs", []))

    def record_epoch(self, record: dict[str, Any], **state: Any) -> None:
        """Add one epoch's record ({"stage", "epoch", "loss", held-out metrics...}) with the trainer's own state."""
        current = self.epoch_state()
        current.update(state)
        current["epochs"] = [*current.get("epochs", []), _plain(record)]
        self.save_epoch_state(current)


class StepTimer:
    """Estimates time left from the mean duration of the steps so far."""

    def __init__(self, total_steps: int):
        self.total = max(1, total_steps)
        self.done = 0
        self.start = time.monotonic()

    def tick(self) -> float:
        self.done += 1
        per_step = (time.monotonic() - self.start) / self.done
        return per_step * max(0, self.total - self.done)


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
    val_samples: Sequence[TrainingSample] = (),
    normalisation_samples: Sequence[TrainingSample] = (),
) -> TrainingResult:
    """Train `method` into `out_dir` (a model folder `load_saved_model` reads).

    `val_samples` are held out: the trainer reports metrics on them after
    every epoch. The heatmap display scale is computed on
    `normalisation_samples` (default: the held-out samples, else the
    training samples) and stored in the folder's model.json.
    """
    from zsad_desktop.detection.saved_model import write_manifest

    if method not in trainable_methods():
        raise DetectorError(
            f"{method!r} cannot be trained; trainable methods: {', '.join(trainable_methods())}"
        )
    if not train_samples:
        raise DetectorError("no training images: at least one reviewed or labelled image is needed")
    out_dir = Path(out_dir)
    work = out_dir.with_name(out_dir.name + ".partial")
    _prepare_work_dir(work, _run_identity(method, backbone_spec, config or {}, train_samples, val_samples))
    context = TrainingContext(
        backbone_spec,
        list(train_samples),
        work,
        dict(config or {}),
        device,
        progress or (lambda p: None),
        cancel or threading.Event(),
        list(val_samples),
    )
    settings, losses = _TRAINERS[method](context)
    context.check_cancel()
    write_manifest(work, method, backbone_spec, settings)
    stats = _normalisation(work, device, normalisation_samples or val_samples or train_samples)
    write_manifest(work, method, backbone_spec, settings, stats)
    epochs = context.epoch_metrics()
    held_out = next((dict(e) for e in reversed(epochs) if any(k.startswith("val_") for k in e)), {})
    _replace_folder(work, out_dir)
    return TrainingResult(out_dir, method, losses, stats, {"epochs": epochs, "held_out": held_out})


def _run_identity(
    method: str,
    spec: BackboneSpec,
    config: dict,
    train: Sequence[TrainingSample],
    val: Sequence[TrainingSample],
) -> dict:
    digest = hashlib.sha1()
    for part, samples in (("train", train), ("val", val)):
        for s in samples:
            digest.update(f"{part}|{s.image_path}|{s.frame}|{s.mask_path}|{s.label}|{s.category}\n".encode())
    return {
        "method": method,
        "backbone": asdict(spec),
        "config": _plain(config),
        "samples": digest.hexdigest(),
    }


def _prepare_work_dir(work: Path, identity: dict) -> None:
    """Keep an interrupted run's folder only if it belongs to the same run."""
    run_file = work / RUN_FILE
    if work.exists():
        try:
            same = json.loads(run_file.read_text()) == identity
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if not run_file.is_file():
        run_file.write_text(json.dumps(identity, indent=2))


def _replace_folder(work: Path, out_dir: Path) -> None:
    """Put the finished folder in place; the old model is moved aside first, then removed."""
    (work / RUN_FILE).unlink(missing_ok=True)
    (work / PROGRESS_FILE).unlink(missing_ok=True)
    old = out_dir.with_name(out_dir.name + ".previous")
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    work.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _plain(value: Any) -> Any:
    """JSON-safe copy: tuples as lists, numpy scalars as numbers, paths as text."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _normalisation(model_dir: Path, device: str, samples: Sequence[TrainingSample]) -> NormalisationStats:
    """Display scale from the trained model's own heatmaps on data, never per image."""
    from zsad_desktop.detection.saved_model import load_saved_model

    detector = load_saved_model(model_dir, device=device)
    chosen = list(samples)[:: max(1, len(samples) // 16)][:16]
    maps = [d.heatmap for d in detector.predict([s.read_rgb8() for s in chosen])]
    return NormalisationStats.from_heatmaps(maps) if maps else NormalisationStats()


def samples_from_dataset(
    root: Path, layout: str = "mvtec", split: str = "test", categories: list[str] | None = None
) -> list[TrainingSample]:
    """Every sample of a benchmark dataset (an auxiliary dataset for zero-shot training), with its category."""
    from zsad_desktop.evaluation import read_dataset

    return [
        TrainingSample(s.image_path, s.mask_path, s.label, getattr(s, "category", None) or category)
        for category, samples in read_dataset(root, layout, split, categories).items()
        for s in samples
    ]


def split_samples(
    samples: Sequence[TrainingSample], held_out: float = 0.2, seed: int = 0
) -> tuple[list, list]:
    """(train, held out), stratified by label: both normal and anomalous images are held out (where
    there are at least two of a kind), so the held-out image AUROC is defined."""
    rng = np.random.default_rng(seed)
    train, kept = [], []
    for label in sorted({int(s.label) for s in samples}):
        group = [s for s in samples if int(s.label) == label]
        order = rng.permutation(len(group))
        count = int(round(len(group) * held_out))
        if held_out > 0 and len(group) >= 2:
            count = min(len(group) - 1, max(1, count))
        kept += [group[i] for i in order[:count]]
        train += [group[i] for i in order[count:]]
    return train, kept
