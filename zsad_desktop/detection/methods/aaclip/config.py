"""AA-CLIP's training hyper-parameters: the paper's and reference code's defaults, as data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.aaclip.detector import GELUS
from zsad_desktop.detection.methods.aaclip.scoring import DOMAINS

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class AACLIPTrainingConfig:
    # stage 1: text anchors
    text_epochs: int = 5
    text_lr: float = 1e-5
    text_batch_size: int = 16
    anchor_similarity_weight: float = 0.1  # x (t_normal . t_abnormal)^2; the reference's --text_norm_weight
    # stage 2: patch alignment
    image_epochs: int = 20
    image_lr: float = 5e-4
    image_batch_size: int = 2
    image_lr_milestones: tuple[int, ...] = (16000, 32000)  # steps; the reference's MultiStepLR
    image_lr_gamma: float = 0.5
    betas: tuple[float, float] = (0.5, 0.999)
    # adapters (see model.AdapterLayout); None: the defaults scaled to the backbone
    levels: tuple[int, ...] | None = None
    image_adapt_until: int = 6
    text_adapt_until: int = 3
    image_adapt_weight: float = 0.1
    text_adapt_weight: float = 0.1
    projection_relu: bool = False
    first_value_value_block: int | None = None  # None: 6 of 24 (the reference's DPAM_layer 20)
    # augmentation (both stages; colour jitter in stage 2 only)
    rotation: float = 30.0
    translate: float = 0.15
    augment_probability: float = 0.5
    flips: bool = True
    colour_jitter: bool = True
    # prompts, inference and running
    object_name: str | None = (
        None  # the model's object name; None: the training images' one category, else "object"
    )
    gelu: str = "quick"
    domain: str = "industrial"
    precision: str = "fp32"  # "bf16": autocast on a GPU (not the reference's)
    num_workers: int | None = None  # None: 4 on a GPU, 0 on the CPU
    validation_images: int = 200  # held-out images scored after every epoch (at most)
    calibration_images: int = 200  # images whose outputs set the stored score ranges (at most)
    seed: int = 111

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> AACLIPTrainingConfig:
        """From user settings; `epochs` and `batch_size` mean stage 2's (stage 1 gets a quarter of the epochs)."""
        values = dict(values or {})
        if "epochs" in values:
            epochs = int(values.pop("epochs"))
            values.setdefault("image_epochs", epochs)
            values.setdefault("text_epochs", max(1, epochs // 4))
        if "batch_size" in values:
            values.setdefault("image_batch_size", values.pop("batch_size"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DetectorError(
                f"unknown AA-CLIP training settings {unknown}; known: {', '.join(sorted(known | {'epochs', 'batch_size'}))}"
            )
        for key in ("betas", "levels", "image_lr_milestones"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        problems = []
        if self.gelu not in GELUS:
            problems.append(f"gelu must be one of {GELUS}")
        if self.domain not in DOMAINS:
            problems.append(f"domain must be one of {DOMAINS}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}")
        if self.text_epochs < 0 or self.image_epochs < 1:
            problems.append("text_epochs must be >= 0 and image_epochs >= 1")
        if self.text_batch_size < 1 or self.image_batch_size < 1:
            problems.append("batch sizes must be >= 1")
        if problems:
            raise DetectorError("AA-CLIP training settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
