"""What a training run reports while it runs, and how it ends when cancelled. No torch: the window
shows both before any model is loaded."""

from __future__ import annotations

from dataclasses import dataclass


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
    #: set once per epoch, on its last report: mean loss and held-out metrics of that epoch
    metrics: dict[str, float] | None = None
