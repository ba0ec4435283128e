"""What a cluster run reports: progress in images (not work items: images sharing pixels are scored
once and counted each), with images/s over what this run scored (not what it found stored) and ETA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from zsad_desktop.app.cluster.batch_commit import ItemOutcome


@dataclass(frozen=True)
class ClusterProgress:
    done: int  # images scored now, found stored meanwhile, or failed
    failed: int
    total: int  # images this run had to do (those already done before it are not counted)
    images_per_s: float  # over the images this run scored itself
    eta_s: float | None
    workers: int

    def text(self) -> str:
        eta = "" if self.eta_s is None else f", ETA {self.eta_s:.0f} s"
        return (
            f"{self.done}/{self.total} images, {self.workers} workers, {self.failed} failed, "
            f"{self.images_per_s:.2f} images/s{eta}"
        )


@dataclass
class ClusterResult:
    model_id: str = ""
    scored: int = 0  # images whose prediction this run computed and stored
    found: int = 0  # images stored meanwhile by another run (not scored twice)
    already_done: int = 0  # images with a prediction before the run started
    failed: list[ItemOutcome] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        failed = sum(len(o.image_ids) for o in self.failed)
        stopped = ", cancelled" if self.cancelled else ""
        return (
            f"{self.scored} images scored, {self.already_done + self.found} already done, "
            f"{failed} failed{stopped} ({self.seconds:.1f} s)"
        )


class ProgressCount:
    def __init__(self, total: int, workers: int, result: ClusterResult):
        self.total, self.workers, self.result = total, workers, result
        self.done = 0
        self.started = time.perf_counter()

    def add(self, outcome: ItemOutcome) -> None:
        images = len(outcome.image_ids)
        if outcome.error is not None:
            self.result.failed.append(outcome)
        elif outcome.computed:
            self.result.scored += images
        else:
            self.result.found += images
        self.done += images

    def now(self, at: float | None = None) -> ClusterProgress:
        elapsed = max((time.perf_counter() if at is None else at) - self.started, 1e-9)
        rate = self.result.scored / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        failed = sum(len(o.image_ids) for o in self.result.failed)
        return ClusterProgress(self.done, failed, self.total, rate, eta, self.workers)
