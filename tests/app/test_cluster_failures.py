"""How a cluster run ends when its workers cannot be placed, crash on an image, are all lost, or are
cancelled while stuck: each stops or goes on with a message a user can act on, never hangs."""

from __future__ import annotations

import threading
from dataclasses import replace

import cv2
import pytest

from tests.app.cluster_fixtures import TINY_SETTINGS, hazelnut_folder, local_ray  # noqa: F401
from tests.app.misbehaving_detector import CRASH_SIDE, STUCK_SIDE
from zsad_desktop.app.cluster.cluster_run import ClusterChoice, ClusterStopped, score_on_cluster
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.ray_engine import ClusterUnavailable
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace

MISBEHAVING = DetectorRecipe(
    "baseline", dict(TINY_SETTINGS), device="cpu", factory="tests.app.misbehaving_detector:build"
)


def _folder(tmp_path, hazelnut_folder, good: int, sides: dict[str, int]):  # noqa: F811
    """`good` hazelnut images, and for each name in `sides` an image that high."""
    folder = tmp_path / "images"
    folder.mkdir()
    sources = sorted(hazelnut_folder.rglob("0*.png"))
    for index in range(good):
        (folder / f"good{index}.png").write_bytes(sources[index].read_bytes())
    pixels = cv2.imread(str(sources[0]))
    for name, side in sides.items():
        cv2.imwrite(str(folder / name), pixels[:side, :side])
    workspace = Workspace.open(folder)
    scan(workspace)
    return workspace


def test_no_node_that_can_hold_a_worker_is_said_at_once(local_ray, tmp_path, hazelnut_folder):  # noqa: F811
    workspace = _folder(tmp_path, hazelnut_folder, 1, {})
    with pytest.raises(ClusterUnavailable, match=r"each asks for 8 CPU; .* has 2 CPU"):
        score_on_cluster(workspace, MISBEHAVING, ClusterChoice(cpus_per_worker=8))
    workspace.close()


def test_workers_that_cannot_be_placed_in_time_stop_the_run(local_ray, tmp_path, hazelnut_folder):  # noqa: F811
    workspace = _folder(tmp_path, hazelnut_folder, 1, {})
    blocker = local_ray.remote(num_cpus=2)(_Holder).remote()  # every CPU taken
    local_ray.get(blocker.ready.remote())
    try:
        with pytest.raises(
            ClusterUnavailable, match=r"no scoring worker started within 2 s .*each asks for 1 CPU"
        ):
            score_on_cluster(workspace, MISBEHAVING, ClusterChoice(start_timeout_s=2))
    finally:
        local_ray.kill(blocker)
    workspace.close()


def test_an_image_that_kills_its_worker_is_recorded_failed_and_the_run_goes_on(
    local_ray,
    tmp_path,
    hazelnut_folder,  # noqa: F811
):
    workspace = _folder(tmp_path, hazelnut_folder, 3, {"crash.png": CRASH_SIDE})

    first = score_on_cluster(workspace, MISBEHAVING, ClusterChoice(workers=1, chunk_size=2))
    again = score_on_cluster(workspace, MISBEHAVING, ClusterChoice(workers=1, chunk_size=2))
    retried = score_on_cluster(workspace, MISBEHAVING, ClusterChoice(workers=1, retry_failed=True))

    assert first.scored == 3 and [o.path.rsplit("/", 1)[1] for o in first.failed] == ["crash.png"]
    assert "worker process died 2 times" in first.failed[0].error
    assert (again.scored, again.already_done, again.failed) == (0, 3, [])  # not tried again
    assert retried.scored == 0 and len(retried.failed) == 1  # tried again when asked
    crash_row = next(r for r in workspace.images() if r.rel_path == "crash.png")
    assert "--retry-failed" in crash_row.load_error
    workspace.close()


def test_when_every_worker_is_lost_the_run_says_what_remains_and_how_to_resume(
    local_ray,
    tmp_path,
    hazelnut_folder,  # noqa: F811
):
    workspace = _folder(tmp_path, hazelnut_folder, 2, {"zcrash.png": CRASH_SIDE})
    lost_for_good = replace(MISBEHAVING, factory="tests.app.misbehaving_detector:build_lost_for_good")

    with pytest.raises(ClusterStopped) as stopped:
        score_on_cluster(workspace, lost_for_good, ClusterChoice(workers=1, chunk_size=1))

    message = str(stopped.value)
    assert "every scoring worker was lost" in message
    left = len(workspace.ids_to_predict(MISBEHAVING.build().model_id))
    assert left == 1 and "1 remain" in message  # the batches before the crash are kept
    assert f"zsad predict '{workspace.folder}' --cluster auto" in message
    workspace.close()


def test_a_cancel_returns_by_its_deadline_while_a_batch_is_stuck(
    local_ray,
    tmp_path,
    hazelnut_folder,  # noqa: F811
):
    workspace = _folder(tmp_path, hazelnut_folder, 4, {"good1stuck.png": STUCK_SIDE})
    cancel = threading.Event()

    result = score_on_cluster(
        workspace,
        MISBEHAVING,
        ClusterChoice(workers=1, chunk_size=1, cancel_deadline_s=2),
        progress=lambda progress: progress.done and cancel.set(),
        cancel=cancel,
    )

    assert result.cancelled and 1 <= result.scored < 4  # the stuck image never came back
    workspace.close()


class _Holder:
    def ready(self) -> bool:
        return True
