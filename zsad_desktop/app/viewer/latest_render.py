"""Work where only the newest request matters (re-windowing while the reviewer drags), off the caller's thread.

One worker thread of its own, so a re-render never waits behind predictions
on the device queue. A request made while another runs supersedes every one
before it: older ones not yet started are skipped, and an older result that
finishes anyway is dropped before it is delivered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class LatestRender:
    def __init__(self, name: str = "window-render"):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._latest = 0
        self._shown = 0

    def ticket(self) -> int:
        """A new request number; every earlier request is stale from now on (also for work done in place)."""
        with self._lock:
            self._latest += 1
            return self._latest

    def is_latest(self, ticket: int) -> bool:
        return ticket == self._latest

    @property
    def busy(self) -> bool:
        """A request is still on its way (its result not yet marked `done`)."""
        return self._shown != self._latest

    def done(self, ticket: int) -> None:
        """The result of `ticket` is on screen (or, for a stale one, never will be)."""
        with self._lock:
            if ticket == self._latest:
                self._shown = ticket

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every request made so far has run or been skipped (tests; closing)."""
        try:
            self._executor.submit(lambda: None).result(timeout)
        except FuturesTimeout:
            return False
        return True

    def submit(self, work: Callable[[], T], deliver: Callable[[int, T], None]) -> int:
        """Run `work` on the worker; `deliver(ticket, result)` is called there unless superseded meanwhile.
        The receiver checks `is_latest` again on its own thread: a newer request may come in between."""
        ticket = self.ticket()

        def run() -> None:
            if not self.is_latest(ticket):
                return
            try:
                result = work()
            except Exception:  # noqa: BLE001 - the last good view stays on screen; the log says why
                log.exception("rendering the view failed")
                self.done(ticket)
                return
            if self.is_latest(ticket):
                deliver(ticket, result)

        self._executor.submit(run)
        return ticket
