"""Review writers run as separate processes by the crash and concurrency tests.

Each round writes a final mask (and sometimes a proposal) and a heatmap, then
commits; after each commit it tells the parent which round is safe.
"""

from __future__ import annotations

import numpy as np

from zsad_desktop.app.prediction.workspace_predictions import store_prediction
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detection
from zsad_desktop.store import ReviewStatus

STATUSES = [ReviewStatus.CORRECTED, ReviewStatus.ACCEPTED, ReviewStatus.NORMAL, ReviewStatus.REJECTED]


def write_reviews(folder: str, life: int, rounds: int, reviewer: str, pipe) -> None:
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
        store_prediction(
            workspace,
            row.id,
            Detection(float(round_), rng.random(shape, np.float32), f"crash:{life}:{round_}"),
        )
        pipe.send(("committed", round_))
    workspace.close()
    pipe.send(("done", rounds))
