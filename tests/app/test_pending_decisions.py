"""Decisions that cannot be written wait in memory, in order; one that never can is said and dropped."""

import errno

import numpy as np
import pytest

from zsad_desktop.app.review.pending_decisions import Decision, PendingDecisions
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError


class Disk:
    def __init__(self):
        self.full = True
        self.written = []

    def write(self, decision):
        if decision.status is ReviewStatus.ACCEPTED and decision.mask is None:
            raise StoreError("a review marked accepted needs its mask")
        if self.full:
            raise StoreError("cannot use the review database x: database or disk is full")
        self.written.append((decision.image_id, decision.status))


def test_waiting_decisions_are_written_in_order_once_the_disk_has_room():
    disk, pending = Disk(), PendingDecisions()
    for image_id, status in ((1, ReviewStatus.NORMAL), (2, ReviewStatus.REJECTED), (1, ReviewStatus.SKIPPED)):
        with pytest.raises(StoreError):
            pending.write(Decision(image_id, status), disk.write)
    assert pending.image_ids() == [2, 1] and disk.written == []  # image 1's later decision replaced its first
    disk.full = False
    assert pending.write(None, disk.write) == [2, 1]
    assert disk.written == [(2, ReviewStatus.REJECTED), (1, ReviewStatus.SKIPPED)] and len(pending) == 0


def test_a_decision_that_can_never_be_written_is_not_kept():
    disk, pending = Disk(), PendingDecisions()
    disk.full = False
    with pytest.raises(StoreError, match="needs its mask"):
        pending.write(Decision(3, ReviewStatus.ACCEPTED), disk.write)
    assert len(pending) == 0


def test_an_os_error_from_a_full_disk_keeps_the_mask_in_memory():
    pending = PendingDecisions()
    mask = np.ones((4, 4), bool)

    def full(_decision):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        pending.write(Decision(5, ReviewStatus.CORRECTED, mask=mask), full)
    kept = []
    pending.write(None, kept.append)
    assert kept[0].mask is mask
