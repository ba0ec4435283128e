"""The Ray Data stage of a cluster run: `Dataset.map_batches` over `ScoringStage`, one actor per GPU
(or CPU slot), each holding one `ScoringWorker`. Ray Data sizes the pool, streams the batches with
backpressure, restarts a lost actor and retries its batches within the bounds set here."""

from __future__ import annotations

from typing import Any

import numpy as np

from zsad_desktop.app.cluster.batch_commit import ItemOutcome
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.scoring_worker import CAREFUL_BATCHES, ScoringWorker

# A crashing image costs its actor two lives (its batch, then itself alone): room for a few per actor.
MAX_RESTARTS = 4
MAX_TASK_RETRIES = 4
COLUMNS = ("image_hash", "key", "image_ids", "path", "score", "heatmap_file", "error", "computed", "skipped")


def actor_options() -> dict[str, Any]:
    """Ray's fault tolerance, bounded (Ray Data's default is to restart and retry for ever)."""
    return {"max_restarts": MAX_RESTARTS, "max_task_retries": MAX_TASK_RETRIES}


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
        if ray.get_runtime_context().was_current_actor_reconstructed:  # Ray restarted it after a crash
            self.worker.careful_left = CAREFUL_BATCHES

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        items = list(batch["item"])
        if self.stop_flag is not None and self.ray.get(self.stop_flag.is_set.remote()):
            return skipped_columns(items)
        return outcome_columns(self.worker.score(items))


def outcome_columns(outcomes: list[ItemOutcome], skipped: bool = False) -> dict[str, np.ndarray]:
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for o in outcomes:
        columns["image_hash"].append(o.image_hash)
        columns["key"].append(o.key)
        columns["image_ids"].append(list(o.image_ids))
        columns["path"].append(o.path)
        columns["score"].append(np.nan if o.score is None else o.score)
        columns["heatmap_file"].append(o.heatmap_file or "")
        columns["error"].append(o.error or "")
        columns["computed"].append(o.computed)
        columns["skipped"].append(skipped)
    arrays = {name: _object_array(values) for name, values in columns.items()}
    arrays["score"] = np.asarray(columns["score"], dtype=np.float64)
    arrays["computed"] = np.asarray(columns["computed"], dtype=bool)
    arrays["skipped"] = np.asarray(columns["skipped"], dtype=bool)
    return arrays


def skipped_columns(items: list) -> dict[str, np.ndarray]:
    return outcome_columns(
        [ItemOutcome(i.image_hash, i.key, i.image_ids, str(i.source.path), computed=False) for i in items],
        skipped=True,
    )


def outcomes_of(columns: dict[str, np.ndarray]) -> list[tuple[ItemOutcome, bool]]:
    """(outcome, skipped) of each row of a batch the stage returned."""
    return [
        (
            ItemOutcome(
                str(columns["image_hash"][i]),
                str(columns["key"][i]),
                tuple(int(v) for v in columns["image_ids"][i]),
                str(columns["path"][i]),
                None if np.isnan(columns["score"][i]) else float(columns["score"][i]),
                str(columns["heatmap_file"][i]) or None,
                str(columns["error"][i]) or None,
                bool(columns["computed"][i]),
            ),
            bool(columns["skipped"][i]),
        )
        for i in range(len(columns["image_hash"]))
    ]


def _object_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):  # one by one: lists of equal length must not become a 2-D array
        array[index] = value
    return array
