"""One job queue that owns the device: long work off the GUI thread.

Jobs run on worker threads (one by default: one GPU, one model), highest
priority first: the image on screen, then the next images in the gallery,
then the rest of the folder, then training. Within a priority, first come
first served. Each job gets a progress callback and a cancel event; its
result or error goes to the callbacks it was submitted with, called on the
worker thread (the window adapts them to Qt signals).
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class Priority(enum.IntEnum):
    ON_SCREEN = 0
    NEXT_IN_GALLERY = 1
    FOLDER = 2
    TRAINING = 3


Progress = Callable[[int, int], None]
Work = Callable[[Progress, threading.Event], Any]


class JobState(str, enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(order=True)
class Job:
    priority: int
    sequence: int
    name: str = field(compare=False)
    work: Work = field(compare=False, repr=False)
    on_result: Callable[[Any], None] | None = field(compare=False, default=None, repr=False)
    on_error: Callable[[BaseException], None] | None = field(compare=False, default=None, repr=False)
    on_progress: Progress | None = field(compare=False, default=None, repr=False)
    key: str | None = field(compare=False, default=None)
    cancel: threading.Event = field(compare=False, default_factory=threading.Event, repr=False)
    state: JobState = field(compare=False, default=JobState.WAITING)
    done: threading.Event = field(compare=False, default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job finished, failed or was dropped (not from the GUI thread)."""
        return self.done.wait(timeout)


class JobQueue:
    def __init__(self, name: str = "device", workers: int = 1):
        self._heap: list[Job] = []
        self._lock = threading.Condition()
        self._counter = itertools.count()
        self._running: list[Job] = []
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"jobs-{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        name: str,
        work: Work,
        priority: Priority = Priority.FOLDER,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Progress | None = None,
        key: str | None = None,
    ) -> Job:
        """Queue `work(progress, cancel)`. A job with the same `key` still waiting is replaced."""
        job = Job(int(priority), next(self._counter), name, work, on_result, on_error, on_progress, key)
        with self._lock:
            if self._stopped:
                raise RuntimeError("the job queue was shut down")
            if key is not None:
                for waiting in self._heap:
                    if waiting.key == key:
                        waiting.cancel.set()
            heapq.heappush(self._heap, job)
            self._lock.notify()
        return job

    def reprioritise(self, key: str, priority: Priority) -> bool:
        """Move a waiting job (the image the reviewer just opened) up or down the queue."""
        with self._lock:
            for waiting in self._heap:
                if waiting.key == key and not waiting.cancel.is_set():
                    waiting.priority = int(priority)
                    heapq.heapify(self._heap)
                    return True
        return False

    def cancel_all(self, below: Priority | None = None, keep: tuple[str, ...] = ()) -> None:
        """Cancel waiting and running jobs (only those of lower priority than `below`, if given),
        except those whose key is in `keep`."""
        with self._lock:
            for job in self._heap + self._running:
                if (below is None or job.priority > below) and not (job.key and job.key in keep):
                    job.cancel.set()

    def cancel_keyed(self, prefix: str) -> None:
        """Cancel the jobs whose key starts with `prefix` (e.g. every "folder:" chunk)."""
        with self._lock:
            for job in self._heap + self._running:
                if job.key and job.key.startswith(prefix):
                    job.cancel.set()

    def pending(self) -> int:
        """Jobs waiting or running, not counting cancelled ones."""
        with self._lock:
            return sum(1 for j in self._heap + self._running if not j.cancel.is_set())

    def waiting(self) -> list[Job]:
        """The live waiting jobs in the order they will run."""
        with self._lock:
            return [j for j in sorted(self._heap) if not j.cancel.is_set()]

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._running and all(j.cancel.is_set() for j in self._heap), timeout
            )

    def run_waiting(self, better_than: Priority) -> int:
        """From inside a long job (a training step), run the waiting jobs that
        matter more, so the image on screen is not stuck behind training."""
        ran = 0
        while True:
            with self._lock:
                while self._heap and self._heap[0].cancel.is_set():
                    self._drop(heapq.heappop(self._heap))
                if not self._heap or self._heap[0].priority >= better_than:
                    return ran
                job = heapq.heappop(self._heap)
            self._execute(job)
            ran += 1

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel everything and stop the workers (a running job stops at its next cancel check)."""
        self.cancel_all()
        with self._lock:
            self._stopped = True
            for job in self._heap:
                self._drop(job)
            self._heap.clear()
            self._lock.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and not self._heap:
                    self._lock.wait()
                if self._stopped:
                    return
                job = heapq.heappop(self._heap)
                if job.cancel.is_set():
                    self._drop(job)
                    self._lock.notify_all()
                    continue
                self._running.append(job)
            try:
                self._execute(job)
            finally:
                with self._lock:
                    self._running.remove(job)
                    self._lock.notify_all()

    @staticmethod
    def _drop(job: Job) -> None:
        job.state = JobState.CANCELLED
        job.done.set()

    @staticmethod
    def _execute(job: Job) -> None:
        if job.cancel.is_set():
            JobQueue._drop(job)
            return
        job.state = JobState.RUNNING
        try:
            progress = job.on_progress or (lambda done, total: None)
            result = job.work(progress, job.cancel)
            job.state = JobState.CANCELLED if job.cancel.is_set() else JobState.FINISHED
            if job.on_result is not None and job.state is JobState.FINISHED:
                job.on_result(result)
        except BaseException as error:  # noqa: BLE001 - every failure goes to the job's owner
            job.state = JobState.FAILED
            if job.on_error is not None:
                job.on_error(error)
            else:
                log.error("job %s failed", job.name, exc_info=True)
        finally:
            job.done.set()


def prediction_order(
    gallery_ids: Sequence[int],
    on_screen: int | None,
    needed: Collection[int] | None = None,
    lookahead: int = 8,
) -> list[tuple[Priority, list[int]]]:
    """Which images to predict, in which order: the one on screen, then the next
    `lookahead` in gallery order, then the rest of the folder from there on,
    wrapping around to the start. Only images in `needed` (default: all) are
    planned, so cached and unreadable ones are left out."""
    ids = list(gallery_ids)
    needed = set(ids) if needed is None else set(needed)
    at = ids.index(on_screen) if on_screen in ids else -1
    order = ids[at:] + ids[:at] if at >= 0 else ids
    todo = [i for i in order if i in needed]
    plan: list[tuple[Priority, list[int]]] = []
    if todo and todo[0] == on_screen:
        plan.append((Priority.ON_SCREEN, todo[:1]))
        todo = todo[1:]
    if at >= 0 and todo[:lookahead]:
        plan.append((Priority.NEXT_IN_GALLERY, todo[:lookahead]))
        todo = todo[lookahead:]
    if todo:
        plan.append((Priority.FOLDER, todo))
    return plan


def leave_a_core_for_the_window() -> None:
    """Keep one CPU core free of torch's compute threads, so the window stays smooth while the CPU predicts.

    On a small machine torch would otherwise take every core and the event
    loop would wait for the scheduler."""
    import torch  # only the window calls this, when it starts

    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)


def prepare_detection_in_background() -> threading.Thread:
    """Import torch and the detection methods on a thread of their own, leaving a core for the window
    first: the window shows without waiting the seconds these imports take (about 9 s of its 11 s start
    on a 2-core CPU), and the first detector built finds them loaded."""

    def prepare() -> None:
        leave_a_core_for_the_window()
        import zsad_desktop.detection.methods  # noqa: F401 - registers the methods, imports open_clip

    thread = threading.Thread(target=prepare, name="zsad-detection-imports", daemon=True)
    thread.start()
    return thread
