"""Scoring on Ray into a PostgreSQL workspace: the same scores and heatmaps as one process, a rerun
with nothing to do, a cancelled run resumed. Local Ray with 2 CPUs, tiny backbone."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from tests.app.cluster_fixtures import (  # noqa: F401
    hazelnut_folder,
    local_ray,
    new_postgres_url,
    postgres_server,
    tiny_recipe,
)
from zsad_desktop.app.cluster.cluster_run import ClusterChoice, score_on_cluster
from zsad_desktop.app.prediction.workspace_predictions import (
    PredictionFailure,
    cached_prediction,
    predict_images,
)
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Prediction

READABLE = 10  # the hazelnut test images; the truncated copy fails when its pixels are read


@pytest.fixture(scope="module")
def scored_on_cluster(local_ray, new_postgres_url, hazelnut_folder):
    workspace = Workspace.open(hazelnut_folder, db_url=new_postgres_url())
    scan(workspace)
    result = score_on_cluster(workspace, tiny_recipe(), ClusterChoice(workers=2, chunk_size=2))
    yield workspace, result
    workspace.close()


def _by_path(workspace: Workspace, model_id: str) -> dict[str, object]:
    return {row.rel_path: row for row in workspace.images(model_id=model_id)}


def test_cluster_scores_equal_the_single_process_path(scored_on_cluster, hazelnut_folder, tmp_path):
    workspace, result = scored_on_cluster
    assert (result.scored, result.found, len(result.failed)) == (READABLE, 0, 1)
    assert result.failed[0].path.endswith("truncated.png") and "truncated" in result.failed[0].error

    single = Workspace.open(hazelnut_folder, data_dir=tmp_path / "single")  # its own SQLite and heatmaps
    scan(single)
    detector = tiny_recipe().build()
    outcomes = list(predict_images(single, detector, [row.id for row in single.images()]))
    assert sum(isinstance(o, PredictionFailure) for o in outcomes) == 1
    assert detector.model_id == result.model_id

    on_cluster, alone = _by_path(workspace, result.model_id), _by_path(single, result.model_id)
    assert sorted(on_cluster) == sorted(alone) and len(alone) == READABLE + 1
    for rel_path, row in alone.items():
        other = on_cluster[rel_path]
        if row.load_error:
            assert other.load_error == row.load_error and other.score is None
            continue
        assert abs(other.score - row.score) <= 1e-6, rel_path
        mine = cached_prediction(workspace, other.id, result.model_id)
        theirs = cached_prediction(single, row.id, result.model_id)
        np.testing.assert_allclose(
            workspace.files.read_heatmap(mine.heatmap_file),
            single.files.read_heatmap(theirs.heatmap_file),
            rtol=0,
            atol=1e-6,
        )
    single.close()


def test_a_rerun_recomputes_nothing(scored_on_cluster, local_ray):
    workspace, first = scored_on_cluster
    with workspace.database.read() as session:
        before = session.execute(select(Prediction.id, Prediction.heatmap_file).order_by(Prediction.id)).all()
    heatmaps_before = sorted(workspace.files.root.glob("heatmaps/*/*.npz"))

    again = score_on_cluster(workspace, tiny_recipe(), ClusterChoice(workers=1, chunk_size=2))

    assert (again.scored, again.found, len(again.failed), again.already_done) == (0, 0, 0, READABLE)
    with workspace.database.read() as session:
        assert (
            session.execute(select(Prediction.id, Prediction.heatmap_file).order_by(Prediction.id)).all()
            == before
        )
    assert sorted(workspace.files.root.glob("heatmaps/*/*.npz")) == heatmaps_before


def test_the_command_scores_into_the_folders_workspace(local_ray, hazelnut_folder, tmp_path, capfd):
    from zsad_desktop.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("crack/000.png", "good/000.png", "good/truncated.png"):
        (folder / name.replace("/", "_")).write_bytes((hazelnut_folder / name).read_bytes())
    tiny = [
        "--model-name",
        "ZSAD-Tiny-ViT-14",
        "--pretrained",
        "random",
        "--image-size",
        "112",
        "--device",
        "cpu",
    ]

    assert (
        main(["predict", str(folder), "--cluster", "auto", "--workers", "1", *tiny]) == 0
    )  # the Ray running

    out, err = capfd.readouterr()
    assert "2 images scored, 0 already done, 1 failed" in out and "good_truncated.png" in err
    # the progress line is not broken up by Ray Data's notes (its plan, its progress bars, its rows)
    for note in (
        "Starting execution",
        "Progress bars disabled",
        "execution finished",
        "ArrowConversionError",
    ):
        assert note not in err
    with Workspace.open(folder) as workspace:
        assert sorted(r.score is not None for r in workspace.images()) == [False, True, True]


def test_a_cancelled_run_keeps_what_it_scored_and_a_rerun_does_the_rest(
    local_ray, new_postgres_url, hazelnut_folder, tmp_path
):
    import threading

    workspace = Workspace.open(hazelnut_folder, db_url=new_postgres_url(), data_dir=tmp_path / "data")
    scan(workspace)
    cancel = threading.Event()

    first = score_on_cluster(
        workspace,
        tiny_recipe(),
        ClusterChoice(workers=1, chunk_size=2),
        cancel=cancel,
        progress=lambda progress: progress.done and cancel.set(),
    )
    rest = score_on_cluster(workspace, tiny_recipe(), ClusterChoice(workers=1, chunk_size=2))

    assert first.cancelled and 0 < first.scored < READABLE  # the chunks in flight at the cancel are kept
    assert rest.already_done == first.scored and first.scored + rest.scored == READABLE
    assert len(first.failed) + len(rest.failed) == 1
    workspace.close()
