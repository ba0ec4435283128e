"""One job queue that owns the device: long work off the GUI thread.

Jobs run one at a time on a worker thread, highest priority first (the image
on screen before the next images in the gallery, before the rest of the
folder, before training steps). Each job gets a progress callback and a
cancel event; its result or error goes to the callbacks it was submitted
with, called on the worker thread (the window adapts them to Qt signals).
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


class Priority(enum.IntEnum):
    ON_SCREEN = 0
    NEXT_IN_GALLERY = 1
    FOLDER = 2
    TRAINING = 3


Progress = Callable[[int, int], None]


@dataclass(order=True)
class Job:
    priority: int
    sequence: int
    name: str = field(compare=False)
    work: Callable[[Progress, threading.Event], Any] = field(compare=False, repr=False)
    on_result: Callable[[Any], None] | None = field(compare=False, default=None, repr=False)
    on_error: Callable[[BaseException], None] | None = field(compare=False, default=None, repr=False)
    on_progress: Callable[[int, int], None] | None = field(compare=False, default=None, repr=False)
    key: str | None = field(compare=False, default=None)
    cancel: threading.Event = field(compare=False, default_factory=threading.Event, repr=False)


class JobQueue:
    def __init__(self, name: str = "device"):
        self._heap: list[Job] = []
        self._lock = threading.Condition()
        self._counter = itertools.count()
        self._running: Job | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=f"jobs-{name}", daemon=True)
        self._thread.start()

    def submit(
        self,
        name: str,
        work: Callable[[Progress, threading.Event], Any],
        priority: Priority = Priority.FOLDER,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        key: str | None = None,
    ) -> Job:
        """Queue `work(progress, cancel)`. A job with the same `key` still waiting is replaced."""
        job = Job(int(priority), next(self._counter), name, work, on_result, on_error, on_progress, key)
        with self._lock:
            if key is not None:
                for waiting in self._heap:
                    if waiting.key == key:
                        waiting.cancel.set()
            heapq.heappush(self._heap, job)
            self._lock.notify()
        return job

    def reprioritise(self, key: str, priority: Priority) -> bool:
        """Move a waiting job (the image the reviewer just opened) to the front."""
        with self._lock:
            for waiting in self._heap:
                if waiting.key == key and not waiting.cancel.is_set():
                    waiting.priority = int(priority)
                    heapq.heapify(self._heap)
                    return True
        return False

    def cancel_all(self, below: Priority | None = None) -> None:
        """Cancel waiting and running jobs (only those of lower priority than `below`, if given)."""
        with self._lock:
            for job in self._heap + ([self._running] if self._running else []):
                if below is None or job.priority > below:
                    job.cancel.set()

    def cancel_keyed(self, prefix: str) -> None:
        """Cancel the jobs whose key starts with `prefix` (e.g. every "folder:" chunk)."""
        with self._lock:
            for job in self._heap + ([self._running] if self._running else []):
                if job.key and job.key.startswith(prefix):
                    job.cancel.set()

    def pending(self) -> int:
        with self._lock:
            return sum(1 for j in self._heap if not j.cancel.is_set()) + (1 if self._running else 0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: not self._running and not any(not j.cancel.is_set() for j in self._heap), timeout)

    def run_waiting(self, better_than: Priority) -> int:
        """From inside a long job (a training step), run the waiting jobs that
        matter more, so the image on screen is not stuck behind training."""
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0].priority >= better_than:
                    return ran
                job = heapq.heappop(self._heap)
            if not job.cancel.is_set():
                self._execute(job)
                ran += 1

    def shutdown(self, timeout: float = 5.0) -> None:
        self.cancel_all()
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and not self._heap:
                    self._lock.wait()
                if self._stopped:
                    return
                job = heapq.heappop(self._heap)
                if job.cancel.is_set():
                    self._lock.notify_all()
                    continue
                self._running = job
            try:
                self._execute(job)
            finally:
                with self._lock:
                    self._running = None
                    self._lock.notify_all()

    @staticmethod
    def _execute(job: Job) -> None:
        try:
            progress = job.on_progress or (lambda done, total: None)
            result = job.work(progress, job.cancel)
            if job.on_result is not None and not job.cancel.is_set():
                job.on_result(result)
        except BaseException as error:  # noqa: BLE001 - every failure goes to the job's owner
            log.debug("job %s failed", job.name, exc_info=True)
            if job.on_error is not None:
                job.on_error(error)
