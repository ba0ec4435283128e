"""A review writer run as a separate process by the crash and concurrency tests."""

import sys

import numpy as np

from zsad_desktop.app.reviews import record_review
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import ReviewStatus


def main(folder: str, seed: int, rounds: int, reviewer: str) -> None:
    workspace = Workspace.open(folder)
    ids = [row.id for row in workspace.images(order="name")]
    rng = np.random.default_rng(seed)
    statuses = [ReviewStatus.CORRECTED, ReviewStatus.ACCEPTED, ReviewStatus.NORMAL, ReviewStatus.REJECTED]
    for round_ in range(rounds):
        image_id = int(rng.choice(ids))
        status = statuses[round_ % len(statuses)]
        mask = rng.random((256, 256)) > 0.7 if status.has_final_mask else None
        record_review(workspace, image_id, status, mask=mask, reviewer=reviewer, note=f"round {round_}")
        print(round_, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
