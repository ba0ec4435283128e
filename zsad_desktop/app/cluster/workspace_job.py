"""The window's "Score on a Ray cluster": the open workspace scored with the window's detector settings,
as a job (progress, cancel, result) its own queue runs, so the device queue stays free for the image
on screen."""

from __future__ import annotations

import threading
from collections.abc import Callable

from zsad_desktop.app.cluster.cluster_run import (
    ClusterChoice,
    ClusterProgress,
    ClusterResult,
    score_on_cluster,
)
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.ray_engine import AUTO, ClusterUnavailable, require_ray
from zsad_desktop.app.cluster.scoring_worker import WorkerFacts
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.workspace import Workspace

Work = Callable[[Callable[[int, int], None], threading.Event], ClusterResult]


def recipe_of_settings(settings: DetectorSettings) -> DetectorRecipe:
    """The recipe of the window's detector settings (a `DetectorSettings`)."""
    values = {
        "model_name": settings.model_name,
        "pretrained": settings.pretrained,
        "image_size": settings.image_size,
        "object_name": settings.object_name,
        **settings.extra,
    }
    if settings.checkpoint:
        values["checkpoint"] = settings.checkpoint
    return DetectorRecipe(settings.method, values, device=settings.device)


def cluster_work(
    workspace: Workspace,
    settings: DetectorSettings,
    address: str,
    on_progress: Callable[[ClusterProgress], None] | None = None,
) -> Work:
    """The job's work; refused at once (ClusterUnavailable) without Ray, or when workers on other machines
    would have to share this workspace's SQLite file."""
    require_ray()
    if address != AUTO and workspace.database.is_sqlite:
        raise ClusterUnavailable(
            "workers on a cluster need the team's shared database: open the workspace on "
            "PostgreSQL (zsad gui FOLDER --db postgresql+psycopg2://...) or use 'auto'"
        )
    recipe = recipe_of_settings(settings)

    def register(facts: WorkerFacts) -> None:  # as the window registers its own detector: the active version
        model_versions.register_version(
            workspace,
            facts.model_id,
            settings.method,
            {
                "model_name": settings.model_name,
                "pretrained": settings.pretrained,
                "image_size": settings.image_size,
            },
            settings={"object_name": settings.object_name, **settings.extra},
            checkpoint=settings.checkpoint or None,
            activate=True,
        )

    def work(progress: Callable[[int, int], None], cancel: threading.Event) -> ClusterResult:
        def report(state: ClusterProgress) -> None:
            progress(state.done, state.total)
            if on_progress is not None:
                on_progress(state)

        return score_on_cluster(workspace, recipe, ClusterChoice(address), report, cancel, on_model=register)

    return work
