"""`zsad predict FOLDER --cluster ... --db ...`: score a workspace's folder on Ray into its database.

The driver (this process) scans nothing and loads no model: one task where an actor would run says
which model the recipe builds, the driver plans what the store does not have yet (`work_plan`), and
Ray Data runs the batches through an actor pool of `ScoringStage`s (`scoring_stage`). What stays here is
what Ray Data does not do: the plan, the progress and cancel of the window and the command line, and a
readable end to each way a run can stop. A rerun finds the rows and has nothing left to do.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from zsad_desktop.app.cluster.batch_commit import DatabaseUnavailable
from zsad_desktop.app.cluster.client_run import run_through_client
from zsad_desktop.app.cluster.cluster_progress import ClusterProgress, ClusterResult, ProgressCount
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.placement import actor_resources, check_placeable, placement_facts
from zsad_desktop.app.cluster.ray_engine import (
    AUTO,
    ClusterUnavailable,
    connected,
    keep_data_notes_off_console,
)
from zsad_desktop.app.cluster.scoring_stage import (
    MAX_RESTARTS,
    ScoringStage,
    StopFlag,
    bounded_restarts,
    outcomes_of,
    packed,
)
from zsad_desktop.app.cluster.scoring_worker import WorkerFacts, describe_recipe
from zsad_desktop.app.cluster.work_plan import WorkItem, plan_work
from zsad_desktop.app.workspace.detector_input import WorkspaceInput
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image
from zsad_desktop.store.database import display_url

__all__ = ["ClusterChoice", "ClusterProgress", "ClusterResult", "ClusterStopped", "score_on_cluster"]


@dataclass(frozen=True)
class ClusterChoice:
    address: str = AUTO  # "auto" (the cluster of a Ray job, else a local Ray) or ray://HOST:PORT
    workers: int | None = None  # default: one per GPU of the cluster, else one per CPU
    chunk_size: int | None = None  # images per batch (one transaction); default: `batch_images`
    num_cpus: int | None = None  # a local Ray's CPUs (auto only)
    object_store_mb: int | None = None  # a local Ray's object store (auto only)
    cpus_per_worker: int | None = None  # default: a GPU node's CPUs per GPU, or 1 without GPUs
    retry_failed: bool = False  # score again the images earlier runs recorded as failed
    start_timeout_s: float = 300.0  # for the first worker to be placed and load its detector
    stall_timeout_s: float = 900.0  # with no batch finished for this long, the run stops
    cancel_deadline_s: float = 10.0  # a cancelled run returns by then, batches in flight or not


# One image a batch scored 5.7 to 7.2 images/s on 2 workers, 8 a batch 21 to 36 (tiny model, loaded
# 2-core machine): Ray Data's cost is per batch. 16 keeps a lost or cancelled batch small on a GPU.
BATCH_IMAGES = 16


class ClusterStopped(ClusterUnavailable):
    """The run ended before its work did; what it committed is kept and the message says how to resume."""


def score_on_cluster(
    workspace: Workspace,
    recipe: DetectorRecipe,
    choice: ClusterChoice = ClusterChoice(),
    progress: Callable[[ClusterProgress], None] | None = None,
    cancel: threading.Event | None = None,
    on_model: Callable[[WorkerFacts], None] | None = None,
) -> ClusterResult:
    """Score every image of the (scanned) workspace that the recipe's model has not scored, on Ray.
    `on_model` hears which model the actors hold, before the first batch is handed out."""
    cancel = cancel or threading.Event()
    started = time.perf_counter()
    with connected(choice.address, choice.num_cpus, choice.object_store_mb) as ray:
        if choice.address.startswith("ray://"):  # Ray Data's executor runs on the cluster, not in a client
            return run_through_client(
                ray, workspace, recipe, choice, progress, cancel, on_model, score_on_cluster
            )
        use_gpu = ray.cluster_resources().get("GPU", 0) >= 1 and recipe.device != "cpu"
        asked = actor_resources(ray, use_gpu, choice.cpus_per_worker)
        check_placeable(ray, asked)
        facts = _describe(ray, recipe, asked, choice, cancel)
        if facts is None:
            return ClusterResult(cancelled=True, seconds=time.perf_counter() - started)
        if on_model is not None:
            on_model(facts)
        if choice.retry_failed:
            _forget_failures(workspace)
        plan = plan_work(
            workspace, facts.model_id, WorkspaceInput.of(workspace, facts.input_size, facts.batch_size)
        )
        result = ClusterResult(facts.model_id, already_done=plan.already_done)
        slots = (
            ray.cluster_resources().get("GPU" if use_gpu else "CPU", 1)
            // asked["num_gpus" if use_gpu else "num_cpus"]
        )
        wanted = choice.workers or int(slots)
        batch = choice.chunk_size or batch_images(facts.batch_size, len(plan.items), wanted)
        workers = max(1, min(wanted, math.ceil(len(plan.items) / batch) or 1))
        count = ProgressCount(sum(len(i.image_ids) for i in plan.items), workers, result)
        if plan.items:
            run = _Stream(ray, workspace, recipe, choice, asked, workers, count, progress, cancel)
            run.run(plan.items, batch)
        result.cancelled = cancel.is_set()
        result.seconds = time.perf_counter() - started
        return result


def batch_images(detector_batch: int, items: int, workers: int) -> int:
    """Images per Ray Data batch. Ray Data's cost is per batch (a task, its blocks, their bookkeeping:
    50 ms or more on a loaded 2-core machine), so a batch holds `BATCH_IMAGES` where the folder gives
    each worker that many, fewer for a small folder, never less than the detector's own batch."""
    return max(detector_batch, min(BATCH_IMAGES, math.ceil(items / max(workers, 1))))


def _describe(
    ray: Any, recipe: DetectorRecipe, asked: dict[str, float], choice: ClusterChoice, cancel: threading.Event
) -> WorkerFacts | None:
    """The model's facts from a task placed as an actor would be; None when cancelled meanwhile."""
    ref = ray.remote(describe_recipe).options(**asked, max_retries=0).remote(recipe)
    deadline = time.monotonic() + choice.start_timeout_s
    while not ray.wait([ref], timeout=0.5)[0]:
        if cancel.is_set() or time.monotonic() > deadline:
            ray.cancel(ref, force=True)
            if cancel.is_set():
                return None
            raise ClusterUnavailable(
                f"no scoring worker started within {choice.start_timeout_s:.0f} s "
                f"(not placed, or still loading its detector): {placement_facts(ray, asked)}"
            )
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:  # the detector cannot be built there (no weights, say)
        raise error.as_instanceof_cause() from None


def _forget_failures(workspace: Workspace) -> None:
    with workspace.database.session() as session:
        session.execute(update(Image).where(Image.load_error.is_not(None)).values(load_error=None))


@dataclass
class _Stream:
    ray: Any
    workspace: Workspace
    recipe: DetectorRecipe
    choice: ClusterChoice
    asked: dict[str, float]
    workers: int
    count: ProgressCount
    report: Callable[[ClusterProgress], None] | None
    cancel: threading.Event
    batches: queue.Queue = field(default_factory=queue.Queue)
    last: float = field(default_factory=time.monotonic)
    cancelled_at: float | None = None

    def run(self, items: list[WorkItem], batch_size: int) -> None:
        # On the driver's node: the flag must outlive any other node the run loses.
        here = self.ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            self.ray.get_runtime_context().get_node_id(), soft=False
        )
        stop_flag = self.ray.remote(num_cpus=0, scheduling_strategy=here)(StopFlag).remote()
        dataset = self._dataset(items, batch_size, stop_flag)
        threading.Thread(target=self._consume, args=(dataset,), name="zsad-cluster", daemon=True).start()
        self.count.started = time.perf_counter()
        self._progress()
        self.last, self.cancelled_at = time.monotonic(), None
        while True:
            if self._cancelled(stop_flag):
                return
            try:
                kind, payload = self.batches.get(timeout=0.5)
            except queue.Empty:
                self._check_stall(stop_flag)
                continue
            if kind == "end":
                return
            if kind == "error":
                if self.cancel.is_set():
                    return
                raise self._stopped(self._reason(payload)) from payload
            self.last = time.monotonic()
            for outcome in outcomes_of(payload):
                self.count.add(outcome)
            self._progress()

    def _cancelled(self, stop_flag: Any) -> bool:
        """True once a cancelled run is past its deadline, a batch stuck in flight or not (it ends on its own)."""
        if not self.cancel.is_set():
            return False
        if self.cancelled_at is None:  # the batches not started come back at once, unscored
            self.cancelled_at = time.monotonic()
            stop_flag.set.remote()
        return time.monotonic() - self.cancelled_at > self.choice.cancel_deadline_s

    def _check_stall(self, stop_flag: Any) -> None:
        if self.cancelled_at is None and time.monotonic() - self.last > self.choice.stall_timeout_s:
            stop_flag.set.remote()
            raise self._stopped(
                f"no batch finished for {self.choice.stall_timeout_s:.0f} s ({placement_facts(self.ray, self.asked)})"
            )

    def _dataset(self, items: list[WorkItem], batch_size: int, stop_flag: Any) -> Any:
        data = self.ray.data
        context = data.DataContext.get_current()
        context.enable_progress_bars = False  # the command line and the window show their own
        context.print_on_execution_start = False  # its plan and log folder, between the progress lines
        keep_data_notes_off_console()
        context.wait_for_min_actors_s = int(self.choice.start_timeout_s)
        context.max_errored_blocks = 0
        rows = data.from_items(
            [{"item": row} for row in packed(items)], override_num_blocks=math.ceil(len(items) / batch_size)
        )
        return bounded_restarts(
            rows.map_batches,
            ScoringStage,
            fn_constructor_args=(
                self.recipe,
                str(self.workspace.folder),
                self.workspace.database.url,
                str(self.workspace.files.root),
                stop_flag,
            ),
            batch_size=batch_size,
            batch_format="numpy",
            compute=data.ActorPoolStrategy(min_size=1, max_size=self.workers, initial_size=self.workers),
            **self.asked,  # num_cpus, num_gpus
        )

    def _consume(self, dataset: Any) -> None:
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                self.batches.put(("batch", batch))
            self.batches.put(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the driver's loop, which says what it means
            self.batches.put(("error", error))

    def _progress(self) -> None:
        if self.report is not None:
            self.report(self.count.now())

    def _reason(self, error: BaseException) -> str:
        chain = _chain(error)
        text = " ".join(f"{type(e).__name__}: {e}" for e in chain)  # a cause Ray kept only as text too
        database = next((e for e in chain if isinstance(e, DatabaseUnavailable)), None)
        if database is not None or "DatabaseUnavailable" in text:
            return str(database or "the database stayed unreachable")
        if "Timed out while starting actors" in text:
            return f"no scoring worker could be placed: {placement_facts(self.ray, self.asked)}"
        exceptions = self.ray.exceptions
        lost = (exceptions.RayActorError, exceptions.NodeDiedError, exceptions.WorkerCrashedError)
        if any(isinstance(e, lost) for e in chain) or "ActorDiedError" in text or "RayActorError" in text:
            return (
                f"every scoring worker was lost (Ray restarts each up to {MAX_RESTARTS} times and "
                "retries its batches meanwhile)"
            )
        return f"a scoring worker failed: {chain[-1]}"

    def _stopped(self, reason: str) -> ClusterStopped:
        result = self.count.result
        try:
            remaining = len(self.workspace.ids_to_predict(result.model_id))
        except Exception:  # noqa: BLE001 - the database may be the reason: count from the run instead
            remaining = self.count.total - self.count.done
        return ClusterStopped(
            f"the cluster run stopped: {reason}. {result.scored} images scored by this run are kept; "
            f"{remaining} remain. To resume, run again: {resume_command(self.workspace, self.choice)}"
        )


def resume_command(workspace: Workspace, choice: ClusterChoice) -> str:
    db = "" if workspace.database.is_sqlite else f" --db '{display_url(workspace.database.url)}'"
    return f"zsad predict '{workspace.folder}' --cluster {choice.address}{db}"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen
