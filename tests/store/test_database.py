import threading

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.store.concurrent_writers import count_with_concurrent_writers
from zsad_desktop.store import (
    Database,
    ModelActivation,
    ModelVersion,
    NewerSchemaError,
    Setting,
    StoreError,
    open_database,
    sqlite_url,
)
from zsad_desktop.store.database import _alembic_config

HEAD = ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_migrations_run_on_open_and_are_idempotent(tmp_path):
    url = sqlite_url(tmp_path / "r.sqlite")
    open_database(url).dispose()
    second = open_database(url)
    with second.engine.connect() as connection:
        tables = {
            row[0] for row in connection.execute(text("select name from sqlite_master where type='table'"))
        }
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
        timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
    assert {
        "images",
        "predictions",
        "reviews",
        "review_events",
        "model_versions",
        "model_activations",
        "training_runs",
        "settings",
    } <= tables
    assert mode == "wal" and timeout > 0 and second.schema_revision() == HEAD
    second.dispose()


def test_upgrade_from_the_first_schema_keeps_the_data(tmp_path):
    url = sqlite_url(tmp_path / "old.sqlite")
    old = Database(url)
    with old.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "insert into model_versions (name, model_id, method, backbone, settings, metrics, active, created_at) values "
                "('v1', 'm1', 'baseline', '{}', '{}', '{}', 1, '2026-01-01'),"
                "('v2', 'm2', 'crane', '{}', '{}', '{}', 1, '2026-01-02')"
            )
        )
        connection.execute(
            text('insert into settings (key, value) values (\'activation_history\', \'{"v": ["v1", "v2"]}\')')
        )
        connection.execute(
            text(
                "insert into reviews (image_hash, status, updated_at) values ('abc', 'normal', '2026-01-03')"
            )
        )
        connection.execute(
            text(
                "insert into images (rel_path, content_hash, size_bytes, mtime_ns, frames, missing, added_at) values "
                "('a.png', 'abc', 1, 1, 1, 0, '2026-01-01'), ('b.png', 'def', 1, 1, 1, 0, '2026-01-01')"
            )
        )
    old.dispose()
    upgraded = open_database(url)
    assert upgraded.schema_revision() == HEAD
    with upgraded.read() as session:
        assert session.scalars(select(ModelVersion.name).where(ModelVersion.active)).all() == ["v2"]
        assert [
            a.version_id for a in session.scalars(select(ModelActivation).order_by(ModelActivation.id))
        ] == [1, 2]
        assert session.get(Setting, "activation_history") is None
        assert session.execute(text("select status, mask_area from reviews")).one() == ("normal", None)
        assert session.execute(
            text("select rel_path, review_status from images order by rel_path")
        ).all() == [("a.png", "normal"), ("b.png", "unreviewed")]
    upgraded.dispose()


def test_database_from_a_newer_application_is_refused_untouched(tmp_path):
    url = sqlite_url(tmp_path / "r.sqlite")
    database = open_database(url)
    with database.engine.begin() as connection:
        connection.execute(text("update alembic_version set version_num='9999_future'"))
    database.dispose()
    with pytest.raises(
        NewerSchemaError, match="newer version of zsad-desktop .*9999_future.*Update the application"
    ):
        open_database(url)
    again = Database(url)
    assert again.schema_revision() == "9999_future"
    again.dispose()


def test_a_file_that_is_no_database_is_refused_with_its_name(tmp_path):
    (tmp_path / "r.sqlite").write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(StoreError, match="cannot use the review database .*r.sqlite.*not a database"):
        open_database(sqlite_url(tmp_path / "r.sqlite"))


def test_bad_urls_are_refused_without_showing_the_password():
    with pytest.raises(StoreError, match="cannot use the database URL"):
        Database("nosuchdialect://x")
    with pytest.raises(StoreError) as error:
        open_database("postgresql+psycopg2://team:secret@127.0.0.1:1/reviews")
    assert "secret" not in str(error.value) and "127.0.0.1" in str(error.value)


def test_at_most_one_model_version_is_active(database):
    with database.session() as session:
        session.add(ModelVersion(name="v1", model_id="a", method="m", backbone={}, active=True))
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(ModelVersion(name="v2", model_id="b", method="m", backbone={}, active=True))
    with database.session() as session:
        session.add(ModelVersion(name="v2", model_id="b", method="m", backbone={}, active=False))


def test_writers_take_turns_so_no_read_then_write_is_lost(tmp_path):
    """Each writer reads a counter and writes it back plus one: with interleaving, increments would vanish."""
    url = sqlite_url(tmp_path / "r.sqlite")
    open_database(url).dispose()
    assert count_with_concurrent_writers(url, writers=4, times=40) == 160


def test_readers_are_not_blocked_by_a_writer(database):
    with database.session() as session:
        session.add(Setting(key="k", value={"v": 1}))
    writing, read_done = threading.Event(), threading.Event()
    seen = []

    def writer():
        with database.session() as session:
            session.merge(Setting(key="k", value={"v": 2}))
            session.flush()
            writing.set()
            read_done.wait(timeout=20)  # hold the write lock until the reader is through

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(timeout=20)
    with database.read() as session:
        seen.append(session.get(Setting, "k").value["v"])
    read_done.set()
    thread.join()
    assert seen == [1]  # the committed value, read while the writer held the lock
    with database.read() as session:
        assert session.get(Setting, "k").value["v"] == 2


def test_planner_statistics_follow_the_tables_as_rows_arrive(database, monkeypatch):
    import zsad_desktop.store.database as store_database
    from zsad_desktop.store import Image

    monkeypatch.setattr(store_database, "ANALYZE_AFTER_ROWS", 4)

    def analysed_images() -> int:
        with database.engine.connect() as connection:
            if not connection.execute(
                text("select 1 from sqlite_master where name = 'sqlite_stat1'")
            ).first():
                return 0  # never analysed
            rows = (
                connection.execute(text("select stat from sqlite_stat1 where tbl = 'images'")).scalars().all()
            )
        return max((int(stat.split()[0]) for stat in rows), default=0)

    for index in range(3):
        with database.session() as session:
            session.add(Image(rel_path=f"{index}.png", size_bytes=1, mtime_ns=1))
    assert analysed_images() == 0
    with database.session() as session:
        session.add(Image(rel_path="3.png", size_bytes=1, mtime_ns=1))
    assert analysed_images() == 4
