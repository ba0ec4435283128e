"""The Ray Data stage of a cluster run: `Dataset.map_batches` over `ScoringStage`, one actor per GPU
(or CPU slot), each holding one `ScoringWorker`. Ray Data sizes the pool, streams the batches with
backpressure, restarts a lost actor and retries its batches; the restarts are bounded here."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np

from zsad_desktop.app.cluster.batch_commit import ItemOutcome
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.scoring_worker import CAREFUL_BATCHES, ScoringWorker, outcome_of

# A crashing image costs its actor two lives (its batch, then itself alone): room for a few per actor.
# Ray Data's default is to restart for ever; its batches are retried until the restarts are spent
# (its default too), so a node that is slow to be declared dead does not use up a batch's retries.
MAX_RESTARTS = 4


def bounded_restarts(map_batches: Any, *args: Any, **kwargs: Any) -> Any:
    """`map_batches` with the actors' restarts bounded. Ray 2.60 has no named parameter for
    `max_restarts` (its actor pool still reads it from the remote arguments it deprecates), so that one
    deprecation warning is silenced here, where the choice is made, and nowhere else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return map_batches(*args, max_restarts=MAX_RESTARTS, **kwargs)


class StopFlag:
    """Set by the driver on cancel: the batches not started yet come back unscored, at once."""

    def __init__(self) -> None:
        self.stopped = False

    def set(self) -> None:
        self.stopped = True

    def is_set(self) -> bool:
        return self.stopped


class ScoringStage:
    def __init__(self, recipe: DetectorRecipe, folder: str, db_url: str, data_dir: str, stop_flag: Any):
        import ray

        self.ray, self.stop_flag = ray, stop_flag
        self.worker = ScoringWorker(recipe, folder, db_url, data_dir)
        with warnings.catch_warnings():  # Ray's own property reads its deprecated `actor_id`
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if restarted:  # Ray restarted it after a crash
            self.worker.careful_left = CAREFUL_BATCHES

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        items = [pickle.loads(row) for row in batch["item"]]
        if self.ray.get(self.stop_flag.is_set.remote()):
            return {
                "outcome": packed([outcome_of(i) for i in items]),
                "skipped": np.ones(len(items), dtype=bool),
            }
        outcomes = self.worker.score(items)
        return {"outcome": packed(outcomes), "skipped": np.zeros(len(outcomes), dtype=bool)}


def packed(values: list) -> np.ndarray:
    """Work items and outcomes travel through Ray Data pickled: Arrow holds bytes as they are, where
    it would first try (and fail, with a warning on the console) to read a dataclass as a table row."""
    array = np.empty(len(values), dtype=object)  # filled one by one: never a 2-D array of bytes
    array[:] = [pickle.dumps(v) for v in values]
    return array


def outcomes_of(batch: dict[str, np.ndarray]) -> list[ItemOutcome]:
    """The outcomes of a batch the stage returned, less those it skipped (the run was cancelled)."""
    return [pickle.loads(row) for row, skipped in zip(batch["outcome"], batch["skipped"]) if not skipped]
