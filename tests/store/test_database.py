import pytest
from sqlalchemy import text

from zsad_desktop.store import NewerSchemaError, open_database
from zsad_desktop.store.database import sqlite_url


def test_migrations_run_on_open_and_are_idempotent(tmp_path):
    url = sqlite_url(tmp_path / "r.sqlite")
    first = open_database(url)
    first.dispose()
    second = open_database(url)
    with second.engine.connect() as connection:
        tables = {row[0] for row in connection.execute(text("select name from sqlite_master where type='table'"))}
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
        version = connection.execute(text("select version_num from alembic_version")).scalar()
    assert {"images", "predictions", "reviews", "review_events", "model_versions", "training_runs"} <= tables
    assert mode == "wal" and version == "0001"


def test_database_from_a_newer_application_is_refused_untouched(tmp_path):
    url = sqlite_url(tmp_path / "r.sqlite")
    database = open_database(url)
    with database.engine.begin() as connection:
        connection.execute(text("update alembic_version set version_num='9999_future'"))
    database.dispose()
    with pytest.raises(NewerSchemaError, match="newer version of zsad-desktop"):
        open_database(url)
    again = open_database.__globals__["Database"](url)
    with again.engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar() == "9999_future"
