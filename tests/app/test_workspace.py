import os

import pytest

from zsad_desktop.app.workspace.workspace import DATA_DIR, DEFAULT_SETTINGS, Workspace
from zsad_desktop.store import NewerSchemaError, open_database, sqlite_url
from zsad_desktop.store.errors import StoreError


def test_a_workspace_lives_in_the_folders_data_dir_or_where_told(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    with Workspace.open(folder) as ws:
        assert ws.files.root == folder / DATA_DIR and (folder / DATA_DIR / "reviews.sqlite").is_file()
    elsewhere = tmp_path / "shared-db"
    with Workspace.open(
        folder, db_url=sqlite_url(elsewhere / "team.sqlite"), data_dir=tmp_path / "pixels"
    ) as ws:
        assert ws.files.root == tmp_path / "pixels" and ws.database.url.endswith("team.sqlite")
    with pytest.raises(StoreError, match="is not a folder"):
        Workspace.open(tmp_path / "nowhere")


def test_settings_round_trip_with_defaults(tmp_path):
    with Workspace.open(tmp_path) as ws:
        assert ws.setting("object_name") == DEFAULT_SETTINGS["object_name"]
        assert ws.setting("unknown", 7) == 7 and ws.setting("unknown") is None
        ws.set_setting("object_name", "hazelnut")
        ws.set_setting("display_threshold", 0.3)
        ws.set_setting("split", {"a": "train"})
    with Workspace.open(tmp_path) as ws:
        assert ws.setting("object_name") == "hazelnut" and ws.setting("display_threshold") == 0.3
        assert ws.setting("split") == {"a": "train"}


def test_a_newer_workspace_database_is_refused(tmp_path):
    Workspace.open(tmp_path).close()
    database = open_database(sqlite_url(tmp_path / DATA_DIR / "reviews.sqlite"))
    with database.engine.begin() as connection:
        connection.exec_driver_sql("update alembic_version set version_num='9999_future'")
    database.dispose()
    with pytest.raises(NewerSchemaError, match="Update the application"):
        Workspace.open(tmp_path)


def test_read_only_folder_keeps_its_database_in_the_user_data_dir(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = shared_data / "mvtec_ad" / "hazelnut"
    if os.access(folder, os.W_OK):
        pytest.skip("the shared data is writable here")
    with Workspace.open(folder) as ws:
        assert str(ws.files.root).startswith(str(tmp_path))
