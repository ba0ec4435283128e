"""The "most informative first" order: each prediction's score (app.review.informative_score),
computed from the cached scores of the active version and its parent, stored with the prediction
(`Prediction.informativeness`), refreshed by a background job when the version or its scores change.

The second opinion is the parent version's scores; a version without a parent is compared with the
newest version of another method (baseline against Crane, say). `informative_threshold` (a workspace
setting, on the active version's score scale) is the decision threshold; without it, the median score.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select, update

from zsad_desktop.app.prediction.jobs import Job, JobQueue, Priority
from zsad_desktop.app.review.informative_score import informativeness
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.image_queries import ImageRow
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Prediction, ReviewStatus

JOB_KEY = "informativeness"


def second_opinion(workspace: Workspace, active: model_versions.VersionInfo) -> str | None:
    """The model id the active version is compared with: its parent, else the newest other method."""
    versions = model_versions.list_versions(workspace)
    parent = next((v for v in versions if v.name == active.parent), None)
    if parent is not None:
        return parent.model_id
    others = [v for v in versions if v.method != active.method]
    return others[-1].model_id if others else None


def refresh_informativeness(workspace: Workspace, cancel: threading.Event | None = None) -> int:
    """Compute and store the score of every prediction of the active version; returns how many."""
    active = model_versions.active_version(workspace)
    if active is None:
        return 0
    other = second_opinion(workspace, active)
    threshold = workspace.setting("informative_threshold", None)
    with workspace.database.read() as session:
        mine = session.execute(
            select(Prediction.id, Prediction.image_hash, Prediction.detector_input, Prediction.score).where(
                Prediction.model_version == active.model_id
            )
        ).all()
        theirs = (
            {}
            if other is None
            else {
                (h, k): s
                for h, k, s in session.execute(
                    select(Prediction.image_hash, Prediction.detector_input, Prediction.score).where(
                        Prediction.model_version == other
                    )
                )
            }
        )
    # quantiles only compare predictions made from the same detector input
    groups: dict[str, list] = defaultdict(list)
    for row in mine:
        groups[row.detector_input].append(row)
    values: dict[int, float] = {}
    for key, rows in groups.items():
        if cancel is not None and cancel.is_set():
            return 0
        scores = {r.id: r.score for r in rows}
        others = {r.id: theirs[(r.image_hash, key)] for r in rows if (r.image_hash, key) in theirs}
        values |= informativeness(scores, others, threshold)
    if values:
        with workspace.database.session() as session:
            session.execute(update(Prediction), [{"id": i, "informativeness": v} for i, v in values.items()])
    return len(values)


def queue_informativeness(
    queue: JobQueue,
    workspace: Workspace,
    on_done: Callable[[int], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Job:
    """Refresh the scores off the GUI thread, after the folder's predictions already queued; a newer
    request replaces one still waiting."""
    return queue.submit(
        "most informative order",
        lambda _progress, cancel: refresh_informativeness(workspace, cancel),
        Priority.FOLDER,
        on_done,
        on_error,
        key=JOB_KEY,
    )


def next_most_informative(workspace: Workspace) -> ImageRow | None:
    """The unreviewed readable image whose review would teach the model most; before the scores are
    computed, the usual next image (highest score first)."""
    rows = workspace.images(
        statuses=[ReviewStatus.UNREVIEWED], order="informative", limit=1, include_errors=False
    )
    if rows and rows[0].informativeness is not None:
        return rows[0]
    return workspace.next_unreviewed()
