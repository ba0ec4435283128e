"""Decisions the reviewer made that could not be written yet (a full disk, a share gone).

Every decision passes through here: it is kept in memory first, then
written; one that fails for a reason the user can fix stays, and is written
with the next decision or when the reviewer retries, in the order made (a
later decision on the same image replaces an unwritten earlier one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zsad_desktop.app.user_errors import can_be_written_later
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.store import ReviewStatus


@dataclass
class Decision:
    image_id: int
    status: ReviewStatus
    mask: np.ndarray | None = None
    proposal: np.ndarray | None = None
    note: str | None = None
    effort: Effort | None = None  # the clicks and strokes it took (kept with the review)


class PendingDecisions:
    def __init__(self) -> None:
        self._waiting: dict[int, Decision] = {}
        self._lock = threading.Lock()
        self.last_error: BaseException | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def image_ids(self) -> list[int]:
        with self._lock:
            return list(self._waiting)

    def write(self, decision: Decision | None, write: Callable[[Decision], None]) -> list[int]:
        """Keep `decision` (if any), then write every waiting one in order; the ids written. Raises the
        first error: the decisions not written stay, except one that can never be (a bad mask)."""
        with self._lock:
            if decision is not None:
                self._waiting.pop(decision.image_id, None)
                self._waiting[decision.image_id] = decision
            written = []
            for image_id, waiting in list(self._waiting.items()):
                try:
                    write(waiting)
                except Exception as error:
                    if not can_be_written_later(error):
                        del self._waiting[image_id]  # the same error every time: said, not kept
                    self.last_error = error
                    raise
                del self._waiting[image_id]
                written.append(image_id)
            self.last_error = None
            return written
