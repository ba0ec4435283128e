"""Automatic backups of the review database, `zsad db backup|restore|check`, and the message that names a
backup when the database is damaged."""

import sqlite3

import numpy as np
import pytest
from alembic import command
from sqlalchemy import select

from zsad_desktop import cli
from zsad_desktop.app.review.decisions import history, record_review
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Database, ReviewStatus, sqlite_url
from zsad_desktop.store.backups import DAY_S, list_backups, make_backup, problems_of
from zsad_desktop.store.database import _alembic_config
from zsad_desktop.store.errors import StoreError

START = 1_780_000_000.0  # a fixed moment for the test's clock


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> float:
        return self.now


def _review_all(workspace, status=ReviewStatus.NORMAL, note="n"):
    for row in workspace.images(order="name"):
        record_review(workspace, row.id, status, note=note)


def _backups(workspace, kind=None):
    if workspace.database.backups is not None:
        workspace.database.backups.wait()  # a daily copy is made on a thread of its own
    found = list_backups(workspace.database.file.parent / "backups")
    return [b for b in found if kind is None or b.kind == kind]


def _reviews_in(path):
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM review_events").fetchone()[0]


def test_a_backup_is_made_before_a_schema_migration_with_the_old_schema(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    database_file = folder / ".zsad" / "reviews.sqlite"
    old = Database(sqlite_url(database_file))
    with old.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    old.dispose()
    with Workspace.open(folder) as workspace:
        backups = _backups(workspace, "migration")
        assert len(backups) == 1 and not problems_of(backups[0].path)
        with sqlite3.connect(backups[0].path) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0004"
        assert workspace.database.schema_revision() != "0004"
    with Workspace.open(folder) as workspace:  # up to date: no second copy
        assert len(_backups(workspace, "migration")) == 1


def test_a_fresh_database_is_not_backed_up_before_its_first_schema(tmp_path):
    with Workspace.open(tmp_path) as workspace:
        assert _backups(workspace) == []


def test_daily_backups_while_reviews_change_keep_the_newest_seven(workspace):
    clock = Clock()
    workspace.database.backups.clock = clock
    _review_all(workspace)
    daily = _backups(workspace, "daily")
    assert len(daily) == 1  # the first change of the day makes one, the others none
    clock.now += DAY_S - 60
    _review_all(workspace, ReviewStatus.REJECTED)
    assert len(_backups(workspace, "daily")) == 1  # not a day yet
    for day in range(1, 10):
        clock.now = START + day * DAY_S
        _review_all(workspace, note=f"day {day}")
    daily = _backups(workspace, "daily")
    assert len(daily) == 7
    assert daily[0].at.timestamp() == START + 9 * DAY_S  # the newest kept, the oldest dropped
    assert all(not problems_of(b.path) for b in daily)
    # the copy made on the first change of a day holds that change: it is taken after the commit
    assert len(workspace.images()) * (2 + 8) + 1 <= _reviews_in(daily[0].path) <= len(workspace.images()) * 11


def test_a_decision_does_not_wait_for_the_daily_copy(workspace, monkeypatch):
    import threading

    from zsad_desktop.store import backups

    release, copying = threading.Event(), threading.Event()
    real_copy = backups.copy_database

    def slow_copy(source, target):
        copying.set()
        assert release.wait(30)
        real_copy(source, target)

    monkeypatch.setattr(backups, "copy_database", slow_copy)
    workspace.database.backups.clock = Clock()
    row = workspace.images(order="name")[0]
    record_review(workspace, row.id, ReviewStatus.NORMAL, note="first of the day")  # returns at once
    assert copying.wait(30) and not _copies_on_disk(workspace)
    record_review(workspace, row.id, ReviewStatus.REJECTED, note="while it copies")  # no second copy
    release.set()
    daily = _backups(workspace, "daily")
    assert len(daily) == 1 and not problems_of(daily[0].path)
    assert workspace.database.backups.newest == daily[0].path


def _copies_on_disk(workspace):
    folder = workspace.database.file.parent / "backups"
    return [p for p in folder.glob("*.sqlite")] if folder.is_dir() else []


def test_no_backup_without_a_review_change(workspace):
    workspace.database.backups.clock = Clock()
    workspace.set_setting("object_name", "nut")
    assert _backups(workspace) == []


def _damage(database_file, keep_bytes=3072):
    with open(database_file, "r+b") as handle:
        handle.truncate(keep_bytes)
    for companion in ("-wal", "-shm"):
        database_file.with_name(database_file.name + companion).unlink(missing_ok=True)


def test_a_damaged_database_names_its_newest_good_backup_and_restore_brings_every_review_back(
    workspace, capsys
):
    _review_all(workspace, ReviewStatus.REJECTED, note="kept")
    row = workspace.images(order="name")[0]
    record_review(workspace, row.id, ReviewStatus.NORMAL, note="last")
    assert cli.main(["db", "backup", str(workspace.folder)]) == 0
    folder, database_file = workspace.folder, workspace.database.file
    reviews = {(r.id, r.status) for r in workspace.images()}
    events = len(history(workspace, row.id))
    workspace.close()
    _damage(database_file)
    damaged_bytes = database_file.read_bytes()
    (database_file.parent / "backups" / "reviews-20991231T000000Z-daily.sqlite").write_bytes(b"not sqlite")

    with pytest.raises(StoreError) as refused:
        Workspace.open(folder)
    message = str(refused.value)
    newest_good = _newest_manual(database_file)
    assert "\n" not in message and str(newest_good) in message
    assert f"zsad db restore {folder}" in message

    capsys.readouterr()
    assert cli.main(["db", "restore", str(folder)]) == 0
    printed = capsys.readouterr().out
    kept = [p for p in database_file.parent.iterdir() if p.name.startswith("reviews.sqlite.damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged_bytes and str(kept[0]) in printed
    with Workspace.open(folder) as restored:
        assert {(r.id, r.status) for r in restored.images()} == reviews
        assert len(history(restored, row.id)) == events
    assert cli.main(["db", "check", str(folder)]) == 0
    assert "ok" in capsys.readouterr().out


def _newest_manual(database_file):
    return [b for b in list_backups(database_file.parent / "backups") if b.kind == "manual"][0].path


def test_check_finds_damage_and_a_missing_mask_file(workspace, capsys):
    row = workspace.images(order="name")[0]
    mask = np.zeros((row.height, row.width), bool)
    mask[:4, :4] = True
    review = record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)
    folder = workspace.folder
    assert cli.main(["db", "check", str(folder)]) == 0
    workspace.files.path(review.mask_file).unlink()
    capsys.readouterr()
    assert cli.main(["db", "check", str(folder)]) == 1
    assert review.mask_file in capsys.readouterr().err
    database_file = workspace.database.file
    workspace.close()
    _damage(database_file)
    assert cli.main(["db", "check", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "integrity" in err and f"zsad db restore {folder}" in err  # the daily copy of the first review


def test_restore_refuses_a_damaged_backup_and_changes_nothing(workspace, tmp_path, capsys):
    _review_all(workspace)
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    before = workspace.database.file.read_bytes()
    assert cli.main(["db", "restore", str(workspace.folder), "--from", str(bad)]) == 2
    assert "damaged" in capsys.readouterr().err
    assert workspace.database.file.read_bytes() == before


def test_a_postgresql_workspace_is_pointed_to_pg_dump(tmp_path, capsys):
    code = cli.main(["db", "backup", str(tmp_path), "--db", "postgresql+psycopg2://u@h/reviews"])
    assert code == 2 and "pg_dump" in capsys.readouterr().err


def test_a_backup_killed_midway_leaves_no_partial_copy_among_the_backups(workspace, monkeypatch):
    _review_all(workspace)

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zsad_desktop.store.backups.os.replace", fail)
    with pytest.raises(OSError):
        make_backup(workspace.database.file, "manual")
    folder = workspace.database.file.parent / "backups"
    assert list(folder.iterdir()) == [] or all(b.kind != "manual" for b in list_backups(folder))
    assert not any(p.name.endswith(".partial") for p in folder.iterdir())


def test_restore_leaves_a_wal_of_the_damaged_file_beside_it_not_in_the_restored_one(workspace):
    _review_all(workspace)
    assert cli.main(["db", "backup", str(workspace.folder)]) == 0
    folder, database_file = workspace.folder, workspace.database.file
    with workspace.database.read() as session:
        assert session.scalar(select(1)) == 1
    wal = database_file.with_name(database_file.name + "-wal")
    workspace.close()
    wal.write_bytes(b"stale journal of the damaged file")
    assert cli.main(["db", "restore", str(folder)]) == 0
    assert not wal.exists()
    assert any(p.name.startswith("reviews.sqlite-wal.damaged-") for p in database_file.parent.iterdir())
    with Workspace.open(folder) as restored:
        scan(restored)
        assert restored.counts()[ReviewStatus.NORMAL] == len(restored.images())
