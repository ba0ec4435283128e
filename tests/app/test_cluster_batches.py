"""A cluster batch's commit when the database drops out, and the run's progress counts, without Ray."""

from __future__ import annotations

import contextlib
import shutil

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.conftest import DATA
from zsad_desktop.app.cluster.batch_commit import DatabaseUnavailable, ItemOutcome, commit_batch
from zsad_desktop.app.cluster.cluster_progress import ClusterResult, ProgressCount
from zsad_desktop.app.cluster.cluster_run import batch_images
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Prediction
from zsad_desktop.store.errors import StoreError


@pytest.fixture
def workspace(tmp_path):
    source = DATA / "mvtec_ad" / "hazelnut" / "test" / "good"
    if not source.is_dir():
        pytest.skip(f"sample data not found at {source}")
    folder = tmp_path / "images"
    folder.mkdir()
    for index, path in enumerate(sorted(source.parent.rglob("0*.png"))[:4]):
        shutil.copy(path, folder / f"{index}.png")
    with Workspace.open(folder) as opened:
        scan(opened)
        yield opened


def _scored(workspace, rows) -> list[ItemOutcome]:
    return [
        ItemOutcome(
            row.content_hash,
            "",
            (row.id,),
            row.rel_path,
            0.5,
            workspace.files.write_heatmap(row.content_hash, "m", np.zeros((4, 4), np.float32)),
        )
        for row in rows
    ]


def _flaky_sessions(workspace, monkeypatch, failures: int) -> list[int]:
    """The database's write transactions fail `failures` times as a dropped server connection does."""
    real, calls = workspace.database.session, []

    @contextlib.contextmanager
    def session():
        calls.append(1)
        if len(calls) <= failures:
            dropped = OperationalError("BEGIN", {}, Exception("server closed the connection unexpectedly"))
            raise StoreError(f"cannot use the review database: {dropped.orig}") from dropped
        with real() as opened:
            yield opened

    monkeypatch.setattr(workspace.database, "session", session)
    return calls


def _stored(workspace) -> set[str]:
    with workspace.database.read() as session:
        return set(session.scalars(select(Prediction.image_hash)))


def test_a_dropped_connection_is_retried_and_the_batch_lands_once(workspace, monkeypatch):
    rows = workspace.images()[:2]
    calls = _flaky_sessions(workspace, monkeypatch, failures=2)

    committed = commit_batch(workspace, "m", _scored(workspace, rows), pause_s=0.01)

    assert len(calls) == 3 and all(o.computed for o in committed)
    assert _stored(workspace) == {row.content_hash for row in rows}


def test_a_database_that_stays_away_stops_the_batch_with_nothing_half_written(workspace, monkeypatch):
    rows = workspace.images()[:2]
    outcomes = _scored(workspace, rows)
    calls = _flaky_sessions(workspace, monkeypatch, failures=100)

    with pytest.raises(DatabaseUnavailable, match="unreachable through 5 tries: cannot use"):
        commit_batch(workspace, "m", outcomes, pause_s=0.01)

    assert len(calls) == 5 and _stored(workspace) == set()
    assert not any(workspace.files.path(o.heatmap_file).exists() for o in outcomes)  # no orphan files


def test_an_error_that_is_not_the_connection_is_not_retried(workspace, monkeypatch):
    calls = []

    @contextlib.contextmanager
    def broken():
        calls.append(1)
        raise StoreError("cluster scoring writes to PostgreSQL or SQLite, not oracle")
        yield

    monkeypatch.setattr(workspace.database, "session", broken)
    with pytest.raises(StoreError, match="not oracle"):
        commit_batch(workspace, "m", _scored(workspace, workspace.images()[:1]), pause_s=0.01)
    assert len(calls) == 1


def test_progress_counts_images_and_rates_only_what_the_run_scored():
    result = ClusterResult()
    count = ProgressCount(total=10, workers=2, result=result)
    count.add(ItemOutcome("a", "", (1, 2), "a.png", 0.1, "a.npz"))  # two images sharing pixels
    count.add(ItemOutcome("b", "", (3,), "b.png", 0.2, "b.npz", computed=False))  # stored meanwhile
    count.add(ItemOutcome("c", "", (4,), "c.png", error="truncated"))

    progress = count.now(at=count.started + 4.0)

    assert (progress.done, progress.failed, progress.total) == (4, 1, 10)
    assert progress.images_per_s == pytest.approx(0.5)  # 2 images scored in 4 s, not 4
    assert progress.eta_s == pytest.approx(12.0)  # 6 images left at 0.5 images/s
    assert "4/10 images" in progress.text() and "ETA 12 s" in progress.text()
    assert (result.scored, result.found) == (2, 1)


def test_a_run_stopped_by_the_database_says_so_with_what_remains_and_the_resume_command(workspace):
    ray = pytest.importorskip("ray")
    import threading

    from zsad_desktop.app.cluster.cluster_run import ClusterChoice, _Stream
    from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe

    count = ProgressCount(total=4, workers=1, result=ClusterResult("m"))
    stream = _Stream(
        ray, workspace, DetectorRecipe(), ClusterChoice(), {"num_cpus": 1}, 1, count, None, threading.Event()
    )
    cause = DatabaseUnavailable("the database stayed unreachable through 5 tries: server closed")
    try:  # as Ray Data hands it over: the worker's error as the cause of its own
        raise RuntimeError("UserCodeException") from cause
    except RuntimeError as error:
        stopped = stream._stopped(stream._reason(error))

    message = str(stopped)
    assert message.startswith("the cluster run stopped: the database stayed unreachable through 5 tries")
    assert "0 images scored by this run are kept; 4 remain" in message
    assert f"To resume, run again: zsad predict '{workspace.folder}' --cluster auto" in message


def test_a_batch_holds_16_images_unless_the_folder_would_leave_a_worker_idle():
    assert batch_images(detector_batch=1, items=1000, workers=2) == 16  # Ray Data's cost is per batch
    assert batch_images(detector_batch=1, items=24, workers=2) == 12  # both workers get one
    assert batch_images(detector_batch=4, items=5, workers=8) == 4  # never below the detector's batch
    assert batch_images(detector_batch=32, items=1000, workers=2) == 32
