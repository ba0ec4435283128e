"""A run through Ray Client (ray://, the window's path): Ray Data's executor cannot run in a Ray Client
process, so the driver runs on the cluster as a task, and this side follows it through a small
actor: the model's facts, progress and the result come back; cancel goes out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from zsad_desktop.app.cluster.cluster_progress import ClusterProgress, ClusterResult
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.scoring_worker import WorkerFacts
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import PixelFiles, open_database

POLL_S = 0.5


class RunBoard:
    """The actor both sides share: the remote driver writes, the Ray Client side reads and cancels."""

    def __init__(self) -> None:
        self.facts: WorkerFacts | None = None
        self.progress: ClusterProgress | None = None
        self.cancelled = False

    def set_facts(self, facts: WorkerFacts) -> None:
        self.facts = facts

    def set_progress(self, progress: ClusterProgress) -> None:
        self.progress = progress

    def cancel(self) -> None:
        self.cancelled = True

    def is_cancelled(self) -> bool:
        return self.cancelled

    def state(self) -> tuple[WorkerFacts | None, ClusterProgress | None]:
        return self.facts, self.progress


def run_through_client(
    ray: Any,
    workspace: Workspace,
    recipe: DetectorRecipe,
    choice: Any,
    progress: Callable[[ClusterProgress], None] | None,
    cancel: threading.Event,
    on_model: Callable[[WorkerFacts], None] | None,
    score: Callable[..., ClusterResult],
) -> ClusterResult:
    """`score` (`score_on_cluster`) run on the cluster, followed from here."""
    board = ray.remote(num_cpus=0)(RunBoard).remote()
    where = (str(workspace.folder), workspace.database.url, str(workspace.files.root))
    # On the cluster it is a Ray job's driver: the address there is its own cluster.
    done = ray.remote(num_cpus=0, max_retries=0)(drive).remote(
        where, recipe, replace(choice, address="auto"), board, score
    )
    facts_heard = cancel_sent = finished = False
    while not finished:  # one more look at the board once the run is done: its last progress
        finished = bool(ray.wait([done], timeout=POLL_S)[0])
        if cancel.is_set() and not cancel_sent:
            board.cancel.remote()
            cancel_sent = True
        facts, state = ray.get(board.state.remote())
        if facts is not None and not facts_heard and on_model is not None:
            on_model(facts)
            facts_heard = True
        if state is not None and progress is not None:
            progress(state)
    try:
        result: ClusterResult = ray.get(done)
    except ray.exceptions.RayTaskError as error:
        raise error.as_instanceof_cause() from None
    return result


def drive(
    where: tuple[str, str, str],
    recipe: DetectorRecipe,
    choice: Any,
    board: Any,
    score: Callable[..., ClusterResult],
) -> ClusterResult:
    """The run, on the cluster (a Ray task): `score` with the board for progress and cancel."""
    import ray

    folder, db_url, data_dir = where
    workspace = Workspace(Path(folder), open_database(db_url), PixelFiles(Path(data_dir)))
    cancel = threading.Event()
    finished = threading.Event()

    def follow_cancel() -> None:
        while not finished.wait(POLL_S):
            if ray.get(board.is_cancelled.remote()):
                cancel.set()
                return

    threading.Thread(target=follow_cancel, daemon=True).start()
    try:
        return score(
            workspace,
            recipe,
            choice,
            progress=lambda state: board.set_progress.remote(state),
            cancel=cancel,
            on_model=lambda facts: ray.get(board.set_facts.remote(facts)),
        )
    finally:
        finished.set()
        workspace.database.engine.dispose()
