import pytest

from zsad_desktop.app.training import model_versions as mv
from zsad_desktop.store import TrainingStatus
from zsad_desktop.store.errors import StoreError


def test_register_is_idempotent_and_names_versions_in_order(workspace):
    first = mv.register_version(
        workspace, "m1", "baseline", {"model_name": "ViT-L-14"}, settings={"object_name": "nut"}
    )
    again = mv.register_version(workspace, "m1", "baseline", {})
    second = mv.register_version(
        workspace, "m2", "crane", {}, parent="v1", checkpoint="/models/run-1", metrics={"a": 1}
    )
    assert (first.name, again.name, second.name) == ("v1", "v1", "v2")
    assert second.parent == "v1" and second.checkpoint == "/models/run-1" and second.metrics == {"a": 1}
    assert first.backbone == {"model_name": "ViT-L-14"} and first.settings == {"object_name": "nut"}
    assert not first.active and mv.active_version(workspace) is None and workspace.active_model_id() is None
    mv.update_metrics(workspace, "v2", {"b": 2})
    assert mv.get_version(workspace, "v2").metrics == {"a": 1, "b": 2}
    with pytest.raises(StoreError, match="no model version 'v9'"):
        mv.get_version(workspace, "v9")


def test_one_version_is_active_and_rollback_walks_back(workspace):
    for index in range(1, 4):
        mv.register_version(workspace, f"m{index}", "baseline", {}, activate=True, by="ana")
    assert [v.name for v in mv.list_versions(workspace) if v.active] == ["v3"]
    assert workspace.active_model_id() == "m3"
    assert mv.rollback(workspace).name == "v2"
    assert mv.rollback(workspace).name == "v1"
    with pytest.raises(StoreError, match="no earlier active model version"):
        mv.rollback(workspace)
    mv.promote(workspace, "v3")
    mv.promote(workspace, "v3")  # already active: nothing new to log
    assert mv.rollback(workspace).name == "v1"
    log = mv.activations(workspace)
    assert [name for name, *_ in log] == ["v1", "v2", "v3", "v3"]
    assert [undone is not None for *_, undone in log] == [False, True, True, True]
    assert log[0][2] == "ana"
    with pytest.raises(StoreError, match="no model version"):
        mv.promote(workspace, "v7")


def test_training_runs_record_their_reviews_and_outcome(workspace):
    run = mv.start_training_run(workspace, "crane", [3, 1, 2], [4], config={"epochs": 2})
    mv.register_version(workspace, "trained", "crane", {}, parent=None, training_run_id=run)
    mv.finish_training_run(workspace, run, TrainingStatus.FINISHED, metrics={"pixel_auroc": 0.9})
    failed = mv.start_training_run(workspace, "aaclip", [1])
    mv.finish_training_run(workspace, failed, TrainingStatus.FAILED, error="out of memory")
    runs = mv.training_runs(workspace)
    assert [(r.method, r.status, r.version) for r in runs] == [
        ("crane", TrainingStatus.FINISHED, "v1"),
        ("aaclip", TrainingStatus.FAILED, None),
    ]
    assert runs[0].train_review_ids == [3, 1, 2] and runs[0].held_out_review_ids == [4]
    assert runs[0].config == {"epochs": 2} and runs[0].metrics == {"pixel_auroc": 0.9}
    assert runs[1].error == "out of memory" and runs[1].finished_at >= runs[1].started_at
    with pytest.raises(StoreError, match="no training run"):
        mv.finish_training_run(workspace, 99, TrainingStatus.FINISHED)
