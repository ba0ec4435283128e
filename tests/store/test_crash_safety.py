"""Kill a review writer at random moments; nothing may be half-written."""

import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select, text

from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import Review, ReviewEvent

WRITER = [sys.executable, "-m", "tests.store.writer_process"]
ROOT = Path(__file__).resolve().parents[2]


def _check_consistent(workspace):
    with workspace.database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with workspace.database.session() as session:
        files = [r.mask_file for r in session.scalars(select(Review))] + [e.mask_file for e in session.scalars(select(ReviewEvent))]
    for relative in filter(None, files):
        mask = read_mask(workspace.files.path(relative))  # raises if missing or half-written
        assert mask.shape == (256, 256)
    leftovers = [p for p in workspace.files.root.rglob("*") if p.is_file() and ".tmp" in p.name]
    return len(files), leftovers


def test_writer_killed_at_random_points_leaves_old_or_new_review(workspace):
    rng = random.Random(1234)
    kills = 0
    for attempt in range(12):
        process = subprocess.Popen(WRITER + [str(workspace.folder), str(attempt), "1000", "crash"], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait for the writer to be inside its loop, then kill it at a random moment.
        process.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.4))
        process.kill()
        process.wait()
        kills += 1
        count, _ = _check_consistent(workspace)
    assert kills == 12 and count > 12


def test_two_processes_writing_at_once_lose_nothing(workspace):
    procs = [
        subprocess.Popen(WRITER + [str(workspace.folder), str(seed), "25", f"writer{seed}"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    for process in procs:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    with workspace.database.session() as session:
        reviewers = [e.reviewer for e in session.scalars(select(ReviewEvent))]
    assert reviewers.count("writer1") == 25 and reviewers.count("writer2") == 25
    _check_consistent(workspace)
