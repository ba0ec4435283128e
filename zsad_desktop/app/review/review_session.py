"""The review loop as the window drives it, without Qt.

A `ReviewSession` holds the open workspace, builds the detector from the
settings, queues predictions on the device's job queue (the image on screen
first) and records the reviewer's decisions. Heatmaps are normalised per
model and workspace, with statistics taken from the workspace's own cached
predictions, never per image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from zsad_desktop.app.prediction import workspace_predictions
from zsad_desktop.app.prediction.jobs import Job, JobQueue, Priority, Progress
from zsad_desktop.app.review import decisions
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.image_view import ImageView
from zsad_desktop.app.review.musc_upkeep import MuscUpkeep
from zsad_desktop.app.review.normal_memory_upkeep import NormalsUpkeep
from zsad_desktop.app.review.pending_decisions import Decision, PendingDecisions
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.viewer import window_level
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.app.workspace import detector_input, scanning
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detector, NormalisationStats
from zsad_desktop.imaging import load_image
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError

NORMALISATION_SAMPLE = 24  # predictions used to fix a model's display scale in a workspace
NORMALISATION_MAX_SIDE = 1024  # heatmaps are sampled for the scale: no full-size map of a very large image
#: the longest side of the heatmap the viewer holds: a 20,000 px image's map is stretched by the view, not in memory
VIEW_HEATMAP_MAX_SIDE = 4096


class ReviewSession:
    def __init__(
        self,
        workspace: Workspace,
        settings: DetectorSettings,
        queue: JobQueue | None = None,
        reviewer: str = "",
    ):
        self.workspace = workspace
        self.settings = settings
        self.queue = queue or JobQueue()
        self.reviewer = reviewer
        self._detector: Detector | None = None
        # a version chosen in the window, whose model loads on the worker thread
        self._version_to_load: model_versions.VersionInfo | None = None
        self._first_look: Detector | None = None
        self._first_look_on = True  # off while a trained version, which has no first-look twin, is active
        self._detector_lock = threading.Lock()
        self._normalisation: dict[str, NormalisationStats] = {}  # fixed for good
        self._provisional: dict[str, NormalisationStats] = {}  # from the few predictions so far
        self.normals = NormalsUpkeep(self)  # the images reviewed NORMAL fused into predictions
        self.musc = MuscUpkeep(self)  # musc's references and the folder's mutual scoring
        self.pending = PendingDecisions()  # decisions not written yet (a full disk): kept until they can be

    @classmethod
    def open(
        cls,
        folder: Path | str,
        settings: DetectorSettings,
        queue: JobQueue | None = None,
        reviewer: str = "",
        db_url: str | None = None,
        keep_on_share: bool = False,
    ) -> ReviewSession:
        workspace = Workspace.open(folder, db_url=db_url, keep_on_share=keep_on_share)
        settings.object_name = workspace.setting("object_name", settings.object_name)
        return cls(workspace, settings, queue, reviewer)

    # detector -----------------------------------------------------------------
    def detector(self) -> Detector:
        """Built on first use (on the worker thread: loading weights takes a while)."""
        with self._detector_lock:
            if self._detector is None and self._version_to_load is not None:
                from zsad_desktop.app.training.retraining import detector_for

                self._detector = detector_for(self._version_to_load, self.settings.device)
                self._version_to_load = None
            if self._detector is None:
                detector = self.musc.prepare(self.settings.build())  # musc: its references first
                model_versions.register_version(
                    self.workspace,
                    detector.model_id,
                    self.settings.method,
                    {
                        k: v
                        for k, v in asdict(self.settings).items()
                        if k in ("model_name", "pretrained", "image_size")
                    },
                    settings={"object_name": self.settings.object_name, **self.settings.extra},
                    checkpoint=self.settings.checkpoint or None,
                    activate=True,
                )
                if self.musc.applies(detector):  # its normals join the references instead of a memory
                    self._detector = detector
                else:
                    self._detector = self.normals.detector_for(detector)  # with the normal memory, if any
                self._first_look_on = self._detector is detector  # the first look has no memory
            return self._detector

    def replace_detector(self, current: Detector, new: Detector, first_look: bool = True) -> bool:
        """Predict with `new` from now on if `current` is still the detector (not after a change of settings
        or version meanwhile); True when replaced."""
        with self._detector_lock:
            if self._detector is not current:
                return False
            self._detector, self._first_look_on = new, first_look
            return True

    def first_look_detector(self) -> Detector | None:
        """The active detector at the first-look size (built on first use), or None when there is none."""
        first = self.settings.first_look_settings()
        if first is None or not self._first_look_on:
            return None
        with self._detector_lock:
            if self._first_look is None:
                self._first_look = first.build()
            return self._first_look

    def use_version(self, name: str) -> None:
        """Make a model version active and predict with it from now on (old predictions stay cached). Its
        model loads with the next prediction, on the worker thread: loading weights takes a while."""
        version = model_versions.get_version(self.workspace, name)
        if version.checkpoint and not Path(version.checkpoint).exists():  # said now, not by a later job
            raise StoreError(f"model version {name}'s weights are gone from {version.checkpoint}")
        model_versions.promote(self.workspace, name)
        with self._detector_lock:
            self._detector, self._version_to_load = None, version
            self._first_look_on = False
        self.queue.cancel_keyed("folder:")  # those chunks were for the previous version

    def retrain(
        self,
        on_progress: Callable[[Any], None],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        config: dict | None = None,
    ) -> Job:
        """Queue a training run; while it trains, the image on screen still gets its prediction."""
        from zsad_desktop.app.training.retraining import comparison_examples, retrain

        def work(_progress: Progress, cancel: threading.Event) -> Any:
            def report(p: Any) -> None:
                on_progress(p)
                self.queue.run_waiting(Priority.TRAINING)

            outcome = retrain(
                self.workspace, config=config, device=self.settings.device, progress=report, cancel=cancel
            )
            active = model_versions.active_version(self.workspace)  # the new version is not active yet
            outcome.examples = comparison_examples(outcome, active, self.settings.device)
            return outcome

        return self.queue.submit("retrain", work, Priority.TRAINING, on_done, on_error, key="retrain")

    def change_settings(self, settings: DetectorSettings) -> None:
        with self._detector_lock:
            self.settings = settings
            self._detector = self._first_look = self._version_to_load = None
            self._first_look_on = True
        # Predictions of the old detector are moot; a training run and a folder scan are not.
        self.queue.cancel_all(keep=("retrain", "scan"))
        self.workspace.set_setting("object_name", settings.object_name)

    def model_id(self) -> str | None:
        return self.workspace.active_model_id()

    def choose_window(self, choice: window_level.WindowChoice | None) -> bool:
        """Keep the reviewer's window for the workspace. True when the detector sees it (the "current
        window" input): the predictions made through the old window no longer apply, and the caller
        predicts again; those made before through this window are found again, not recomputed."""
        before = detector_input.current_window(self.workspace)
        window_level.remember_window(self.workspace, choice)
        feeds_detector = detector_input.input_choice(self.workspace).mode == detector_input.CURRENT_WINDOW
        return feeds_detector and detector_input.current_window(self.workspace) != before

    # background work ---------------------------------------------------------
    def scan(
        self,
        on_done: Callable[[scanning.ScanReport], None],
        on_error: Callable[[BaseException], None],
        on_progress: Progress | None = None,
    ) -> Job:
        return self.queue.submit(
            "scan",
            lambda progress, cancel: scanning.scan(self.workspace, progress, cancel),
            Priority.ON_SCREEN,
            on_done,
            on_error,
            on_progress,
            key="scan",
        )

    def predict(
        self,
        image_ids: list[int],
        priority: Priority,
        on_result: Callable[
            [workspace_predictions.PredictionRow | workspace_predictions.PredictionFailure], None
        ],
        on_error: Callable[[BaseException], None],
        on_progress: Progress | None = None,
        key: str | None = None,
    ) -> Job:
        """Queue predictions; each result is reported as soon as it exists."""

        def work(progress: Progress, cancel: threading.Event) -> None:
            detector = self.detector()
            for outcome in workspace_predictions.predict_images(
                self.workspace, detector, image_ids, progress=progress, cancel=cancel
            ):
                on_result(outcome)
            self.normalisation(detector.model_id, compute=True)  # here, not on the GUI thread

        return self.queue.submit(
            f"predict {len(image_ids)}", work, priority, None, on_error, on_progress, key=key
        )

    def predict_first_look(
        self,
        image_id: int,
        on_result: Callable[
            [workspace_predictions.PredictionRow | workspace_predictions.PredictionFailure], None
        ],
        on_error: Callable[[BaseException], None],
    ) -> Job:
        """Queue a quick low-resolution heatmap of the image on screen, ahead of its full one (queue it
        first, at the same priority); nothing when the full one exists or there is no first look."""

        def work(progress: Progress, cancel: threading.Event) -> None:
            model_id = self.model_id()
            if model_id and workspace_predictions.cached_prediction(self.workspace, image_id, model_id):
                return
            detector = self.first_look_detector()
            if detector is None:
                return
            # Whole, never tiled: one pass a few seconds long, even for an image the full one tiles.
            for outcome in workspace_predictions.predict_images(
                self.workspace, detector, [image_id], cancel=cancel, whole=True
            ):
                on_result(outcome)

        return self.queue.submit(
            "first look", work, Priority.ON_SCREEN, None, on_error, key=f"image:{image_id}:first"
        )

    def predict_folder(
        self,
        ordered_ids: list[int],
        on_result: Callable[
            [workspace_predictions.PredictionRow | workspace_predictions.PredictionFailure], None
        ],
        on_error: Callable[[BaseException], None],
        on_progress: Progress | None = None,
        chunk: int = 8,
    ) -> None:
        """The rest of the folder in gallery order, in chunks so the image on screen can jump the queue."""
        for start in range(0, len(ordered_ids), chunk):
            part = ordered_ids[start : start + chunk]
            self.predict(part, Priority.FOLDER, on_result, on_error, on_progress, key=f"folder:{start}")

    # viewing -------------------------------------------------------------------
    def normalisation(self, model_id: str, compute: bool = False) -> NormalisationStats:
        """Display scale of `model_id` in this workspace, from its cached heatmaps.

        The window only reads it (`compute=False`); the worker computes it after predicting.
        """
        if model_id in self._normalisation:
            return self._normalisation[model_id]
        stored = self.workspace.setting(f"normalisation:{model_id}", {})
        if stored:
            stats = NormalisationStats(**stored)
            self._normalisation[model_id] = stats
            return stats
        if not compute:
            return self._provisional.get(model_id, NormalisationStats(0.0, 1.0))
        rows = [r for r in self.workspace.images(order="name", model_id=model_id) if r.score is not None]
        if len(rows) < 2:
            return NormalisationStats(0.0, 1.0)  # too few to judge: the raw 0..1 probability scale
        step = max(1, len(rows) // NORMALISATION_SAMPLE)
        maps = []
        for row in rows[::step][:NORMALISATION_SAMPLE]:
            cached = workspace_predictions.cached_prediction(self.workspace, row.id, model_id)
            if cached is not None:  # scored with an earlier detector input only: not on this scale
                maps.append(
                    workspace_predictions.heatmap(self.workspace, cached, max_side=NORMALISATION_MAX_SIDE)
                )
        if not maps:
            return NormalisationStats(0.0, 1.0)
        stats = NormalisationStats.from_heatmaps(maps)
        self._provisional[model_id] = stats
        if len(rows) >= NORMALISATION_SAMPLE:  # enough seen: fix it so colours stay comparable
            self.workspace.set_setting(f"normalisation:{model_id}", stats.to_dict())
            self._normalisation[model_id] = stats
        return stats

    def view(self, image_id: int, window: tuple[float, float] | None = None) -> ImageView:
        """The image through `window`, else through the workspace's window where it suits the image, else its own."""
        row = self.workspace.image(image_id)
        loaded = load_image(self.workspace.absolute_path(row), row.frame)
        levels = window_level.WindowLevel.of(loaded)
        levels.follow(
            window_level.chosen_window(self.workspace)
            if window is None
            else window_level.WindowChoice(window_level.Window(*window))
        )
        pixels8 = levels.render()
        shown = None
        raw, scale, first_look = self.heatmap_for(image_id)
        if raw is not None and scale is not None:  # a map always comes with its scale
            shown = scale.normalise(raw)
        return ImageView(
            row,
            pixels8,
            shown,
            raw,
            decisions.final_mask(self.workspace, image_id),
            decisions.proposal_mask(self.workspace, image_id),
            decisions.history(self.workspace, image_id),
            levels,
            scale,
            first_look,
        )

    def heatmap_for(self, image_id: int) -> tuple[np.ndarray | None, NormalisationStats | None, bool]:
        """(raw heatmap as the viewer holds it, display scale, whether it is the first look): the active
        model's, else its first look (shown on the active model's scale, so colours do not jump)."""
        model_id = self.model_id()  # None until the full detector has loaded in a new workspace
        cached = (
            workspace_predictions.cached_prediction(self.workspace, image_id, model_id) if model_id else None
        )
        look = self._first_look
        first_look = cached is None and look is not None and self._first_look_on
        if first_look and look is not None:
            cached = workspace_predictions.cached_prediction(
                self.workspace, image_id, look.model_id, whole=True
            )
        if cached is None:
            return None, None, False
        raw = workspace_predictions.heatmap(self.workspace, cached, max_side=VIEW_HEATMAP_MAX_SIDE)
        return raw, self.normalisation(model_id) if model_id else NormalisationStats(0.0, 1.0), first_look

    # decisions ------------------------------------------------------------------
    def decide(
        self,
        image_id: int,
        status: ReviewStatus,
        mask: np.ndarray | None = None,
        proposal: np.ndarray | None = None,
        note: str | None = None,
        effort: Effort | None = None,
    ) -> list[int]:
        """Record a decision; it is kept in memory until it can be written (`pending`: a full disk, a
        share gone). The ids of the images whose decisions were written now, earlier waiting ones included."""
        counted = replace(effort) if effort is not None else None  # the window counts on in its own
        decision = Decision(image_id, ReviewStatus(status), mask, proposal, note, counted)
        return self.pending.write(decision, self._write_decision)

    def write_pending(self) -> list[int]:
        """Try again to write the decisions kept in memory; the ids written."""
        return self.pending.write(None, self._write_decision)

    def _write_decision(self, decision: Decision) -> None:
        before = self.workspace.image(decision.image_id).status
        decisions.record_review(
            self.workspace,
            decision.image_id,
            decision.status,
            mask=decision.mask,
            proposal=decision.proposal,
            reviewer=self.reviewer or None,
            note=decision.note,
            model_version=self.model_id(),
            effort=decision.effort,
        )
        self.normals.review_changed(before, decision.status)
        self.musc.review_changed(before, decision.status)

    def close(self) -> None:
        self.queue.shutdown()
        self.workspace.close()
