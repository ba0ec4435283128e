"""`zsad predict FOLDER --cluster ... --db ...`: score a workspace's folder on Ray into its database.

The driver (this process) scans nothing and loads no model: it asks the first actor which model it
holds, plans the work the store does not have yet (`work_plan`), and hands chunks to the actors, two in
flight per actor so none waits for the next. Chunks of a lost actor are given to the others; a corrupt
image comes back as a recorded failure; a rerun finds the rows and has nothing left to do.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.ray_engine import AUTO, ClusterUnavailable, connected
from zsad_desktop.app.cluster.scoring_worker import ItemOutcome, WorkerFacts
from zsad_desktop.app.cluster.work_plan import WorkItem, plan_work
from zsad_desktop.app.cluster.worker_pool import Slot, WorkerPool
from zsad_desktop.app.workspace.detector_input import WorkspaceInput
from zsad_desktop.app.workspace.workspace import Workspace

IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class ClusterChoice:
    address: str = AUTO  # "auto" (a local Ray) or ray://HOST:PORT
    workers: int | None = None  # default: one per GPU of the cluster, else one per CPU
    chunk_size: int | None = None  # images per task (what a lost actor loses); default: the detector's batch
    num_cpus: int | None = None  # a local Ray's CPUs (auto only)
    object_store_mb: int | None = None  # a local Ray's object store (auto only)


@dataclass(frozen=True)
class ClusterProgress:
    done: int  # scored now or found stored meanwhile
    failed: int
    total: int
    images_per_s: float
    eta_s: float | None
    workers: tuple[str, ...]  # names of the actors working now

    def text(self) -> str:
        eta = "" if self.eta_s is None else f", ETA {self.eta_s:.0f} s"
        return f"{len(self.workers)} workers, {self.failed} failed, {self.images_per_s:.2f} images/s{eta}"


@dataclass
class ClusterResult:
    model_id: str = ""
    scored: int = 0  # predictions computed and stored by this run
    found: int = 0  # stored meanwhile by another run (not scored twice)
    already_done: int = 0  # images with a prediction before the run started
    failed: list[ItemOutcome] = field(default_factory=list)
    retried: int = 0  # images handed to another actor after theirs was lost
    workers_lost: int = 0
    cancelled: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        lost = f", {self.retried} retried after {self.workers_lost} lost workers" if self.workers_lost else ""
        return (
            f"{self.scored} images scored, {self.already_done + self.found} already done, "
            f"{len(self.failed)} failed{lost} ({self.seconds:.1f} s)"
        )


def score_on_cluster(
    workspace: Workspace,
    recipe: DetectorRecipe,
    choice: ClusterChoice = ClusterChoice(),
    progress: Callable[[ClusterProgress], None] | None = None,
    cancel: threading.Event | None = None,
    on_model: Callable[[WorkerFacts], None] | None = None,
) -> ClusterResult:
    """Score every image of the (scanned) workspace that the recipe's model has not scored, on Ray.
    `on_model` hears which model the actors hold, before the first chunk is handed out."""
    with connected(choice.address, choice.num_cpus, choice.object_store_mb) as ray:
        resources = ray.cluster_resources()
        use_gpu = resources.get("GPU", 0) >= 1 and recipe.device != "cpu"
        count = choice.workers or max(1, int(resources.get("GPU" if use_gpu else "CPU", 1)))
        args = (recipe, str(workspace.folder), workspace.database.url, str(workspace.files.root))
        cpus_per_gpu = max(1, int(resources.get("CPU", 1) // max(1, resources.get("GPU", 1))))
        pool = WorkerPool(ray, count, args, use_gpu, cpus_per_gpu)
        try:
            return _Run(ray, workspace, pool, choice, progress, cancel).run(on_model)
        finally:
            pool.stop()


class _Run:
    def __init__(
        self,
        ray: Any,
        workspace: Workspace,
        pool: WorkerPool,
        choice: ClusterChoice,
        progress: Callable[[ClusterProgress], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self.ray, self.workspace, self.pool, self.choice = ray, workspace, pool, choice
        self.report, self.cancel = progress, cancel or threading.Event()
        self.result = ClusterResult()
        self.pending: deque[list[WorkItem]] = deque()
        self.refs: dict[Any, tuple[Slot, list[WorkItem] | None]] = {}  # chunk None: the actor's `describe`
        self.total = self.done = 0
        self.facts: WorkerFacts | None = None
        self.first_error: BaseException | None = None

    def run(self, on_model: Callable[[WorkerFacts], None] | None) -> ClusterResult:
        started = time.perf_counter()
        self.refs = {ref: (slot, None) for ref, slot in self.pool.start().items()}
        while self.facts is None:  # the plan needs the model's id and input size, which the actors know
            if self.cancel.is_set():
                return self._finish(started)
            self._collect()
            if self.facts is None and not self.refs:
                raise ClusterUnavailable(f"no worker could load the detector: {self.first_error}")
        if on_model is not None:
            on_model(self.facts)
        plan = plan_work(
            self.workspace,
            self.facts.model_id,
            WorkspaceInput.of(self.workspace, self.facts.input_size, self.facts.batch_size),
        )
        self.result.model_id, self.result.already_done = self.facts.model_id, plan.already_done
        self.pending.extend(plan.chunks(self.choice.chunk_size or self.facts.batch_size))
        self.total, self.clock = len(plan.items), time.perf_counter()
        self._progress()
        while True:
            if self.cancel.is_set():  # nothing more handed out; the chunks in flight are still committed
                self.pending.clear()
            else:
                self._submit()
            if not self.pending and not any(chunk is not None for _, chunk in self.refs.values()):
                return self._finish(started)
            if not self.refs:
                raise ClusterUnavailable(
                    f"every worker was lost; {sum(map(len, self.pending))} images left "
                    f"unscored (run again to finish): {self.first_error}"
                )
            self._collect()

    def _finish(self, started: float) -> ClusterResult:
        self.result.cancelled = self.cancel.is_set()
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _submit(self) -> None:
        for slot in self.pool.ready_slots():
            while self.pending and slot.in_flight < IN_FLIGHT_PER_WORKER:
                chunk = self.pending.popleft()
                self.refs[slot.handle.score.remote(chunk)] = (slot, chunk)
                slot.in_flight += 1

    def _collect(self) -> None:
        ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=1.0)
        for ref in ready:
            slot, chunk = self.refs.pop(ref)
            try:
                answer = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as error:  # the actor (or its node) is gone
                self._lost(slot, chunk, error)
                continue
            except (
                self.ray.exceptions.RayTaskError
            ) as error:  # not an image's fault: the run stops, rerun resumes
                raise error.as_instanceof_cause() from None
            if chunk is None:
                slot.ready = True
                self.facts = self.facts or answer
                continue
            slot.in_flight -= 1
            self._tally(answer)

    def _lost(self, slot: Slot, chunk: list[WorkItem] | None, error: BaseException) -> None:
        self.first_error = self.first_error or error
        if chunk is not None:
            self.pending.appendleft(chunk)
            self.result.retried += len(chunk)
        if self.pool.slots[slot.index] is slot:  # its other chunks report the same loss: counted once
            self.result.workers_lost += 1
        # Before any actor loaded the detector, a loss is the detector's fault (no weights, say): no retry.
        replacement = self.pool.replace(slot, start_another=self.facts is not None)
        if replacement is not None:
            ref, new_slot = replacement
            self.refs[ref] = (new_slot, None)

    def _tally(self, outcomes: list[ItemOutcome]) -> None:
        for outcome in outcomes:
            if outcome.error is not None:
                self.result.failed.append(outcome)
            elif outcome.computed:
                self.result.scored += 1
            else:
                self.result.found += 1
        self.done += len(outcomes)
        self._progress()

    def _progress(self) -> None:
        if self.report is None:
            return
        elapsed = max(time.perf_counter() - self.clock, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        self.report(
            ClusterProgress(self.done, len(self.result.failed), self.total, rate, eta, self.pool.names())
        )
