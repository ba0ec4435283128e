"""The Ray actors of one run: one per GPU (or CPU slot), each a `ScoringWorker`; a lost one is replaced.

Ray places the actors and restarts nothing by itself here (max_restarts=0): the driver sees the loss,
hands the lost chunks to the others and starts a replacement, which gets work once it has loaded
its detector (a replacement that cannot be placed, on a cluster that lost a node, never gets any).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from zsad_desktop.app.cluster.scoring_worker import ScoringWorker

ACTOR_PREFIX = "zsad-scorer"


@dataclass
class Slot:
    index: int
    handle: Any
    name: str
    ready: bool = False
    in_flight: int = 0


@dataclass
class WorkerPool:
    ray: Any
    count: int
    actor_args: tuple
    use_gpu: bool
    cpus_per_gpu: int = 1  # a GPU actor's readers and heatmap writers use the node's CPUs: reserve them
    replacements_left: int = 0
    slots: list[Slot] = field(default_factory=list)
    _names: Any = field(default_factory=lambda: itertools.count())
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def start(self) -> dict[Any, Slot]:
        """Start every actor; returns {ref of its `describe`: slot}, answered once its detector is loaded."""
        self.replacements_left = 2 * self.count
        waiting = {}
        for index in range(self.count):
            slot = self._new_slot(index)
            self.slots.append(slot)
            waiting[slot.handle.describe.remote()] = slot
        return waiting

    def replace(self, lost: Slot, start_another: bool = True) -> tuple[Any, Slot] | None:
        """A new actor in the lost one's place, or None when the run has replaced enough already."""
        if self.slots[lost.index] is not lost:
            return None  # replaced already: another of its chunks reported the same loss
        self.ray.kill(lost.handle, no_restart=True)
        if self.replacements_left <= 0 or not start_another:
            self.slots[lost.index] = Slot(lost.index, None, "")
            return None
        self.replacements_left -= 1
        slot = self._new_slot(lost.index)
        self.slots[lost.index] = slot
        return slot.handle.describe.remote(), slot

    def ready_slots(self) -> list[Slot]:
        return [s for s in self.slots if s.ready and s.handle is not None]

    def alive(self) -> bool:
        return any(s.handle is not None for s in self.slots)

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.ready_slots())

    def stop(self) -> None:
        for slot in self.slots:
            if slot.handle is not None:
                self.ray.kill(slot.handle, no_restart=True)

    def _new_slot(self, index: int) -> Slot:
        resources = {"num_gpus": 1, "num_cpus": self.cpus_per_gpu} if self.use_gpu else {"num_cpus": 1}
        name = f"{ACTOR_PREFIX}-{self._run}-{next(self._names)}"
        actor = self.ray.remote(ScoringWorker).options(
            name=name, max_restarts=0, max_concurrency=1, **resources
        )
        return Slot(index, actor.remote(*self.actor_args), name)
