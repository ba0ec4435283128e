"""Review writers run as separate processes by the crash and concurrency tests.

Each round writes a final mask (and sometimes a proposal) and a heatmap, then
commits; after each commit it tells the parent which round is safe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zsad_desktop.app.prediction.workspace_predictions import store_prediction
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.workspace import DATA_DIR, DATABASE_FILE, Workspace
from zsad_desktop.detection.interface import Detection
from zsad_desktop.store import Database, PixelFiles, ReviewStatus, sqlite_url

STATUSES = [ReviewStatus.CORRECTED, ReviewStatus.ACCEPTED, ReviewStatus.NORMAL, ReviewStatus.REJECTED]


class EveryCallADayLater:
    """A clock for the daily backups that makes every review change due for one."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        self.now += 24 * 3600
        return self.now


def _open_quickly(folder: str) -> Workspace:
    """The workspace as `Workspace.open` makes it, without the schema check (the test opened it already),
    the statistics refresh and the sweep of temporary files: a writer that lives a few milliseconds."""
    data = Path(folder) / DATA_DIR
    return Workspace(Path(folder), Database(sqlite_url(data / DATABASE_FILE)), PixelFiles(data))


def write_reviews(
    folder: str, life: int, rounds: int, reviewer: str, pipe, backup_every_round: bool = False
) -> None:
    if backup_every_round:  # a tight loop of reviews, each followed by a backup: kills land inside both
        workspace = _open_quickly(folder)
        workspace.database.backups.clock = EveryCallADayLater(life * 1e6)
    else:
        workspace = Workspace.open(folder)
    rows = workspace.images(order="name")
    rng = np.random.default_rng(life)
    pipe.send(("ready", -1))
    for round_ in range(rounds):
        row = rows[int(rng.integers(len(rows)))]
        status = STATUSES[int(rng.integers(len(STATUSES)))]
        shape = (row.height, row.width)
        mask = rng.random(shape) > 0.7
        proposal = rng.random(shape) > 0.9 if round_ % 2 else None
        record_review(
            workspace,
            row.id,
            status,
            mask=mask,
            proposal=proposal,
            reviewer=reviewer,
            note=f"{reviewer}:{life}:{round_}",
        )
        if not backup_every_round:
            store_prediction(
                workspace,
                row.id,
                Detection(float(round_), rng.random(shape, np.float32), f"crash:{life}:{round_}"),
            )
        pipe.send(("committed", round_))
    workspace.close()
    pipe.send(("done", rounds))


def review_one_image(folder: str, rounds: int, reviewer: str, go, pipe) -> None:
    """A second window: decide on the first image, `rounds` times, as soon as `go` is set."""
    workspace = Workspace.open(folder)
    row = workspace.images(order="name")[0]
    mask = np.zeros((row.height, row.width), bool)
    mask[: row.height // 2] = True
    pipe.send(("ready", -1))
    go.wait()
    for round_ in range(rounds):
        status = STATUSES[round_ % len(STATUSES)]
        record_review(workspace, row.id, status, mask=mask, reviewer=reviewer, note=f"{reviewer}:{round_}")
        pipe.send(("committed", round_))
    workspace.close()
    pipe.send(("done", rounds))
