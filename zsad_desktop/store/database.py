"""Engine, sessions and automatic migrations.

SQLite runs in WAL mode with a busy timeout so a second copy of the
application (or a worker process) can write without corrupting anything;
the same code runs against PostgreSQL when a database URL is given.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from zsad_desktop.store.errors import NewerSchemaError, StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed review survives a power cut
    cursor.close()


class Database:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to this application's newest revision; refuse newer ones."""
        script = ScriptDirectory.from_config(_alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        try:
            with self.engine.begin() as connection:
                current = MigrationContext.configure(connection).get_current_heads()
                unknown = [rev for rev in current if rev not in known]
                if unknown:
                    raise NewerSchemaError(
                        f"The review database {self.url} was written by a newer version of zsad-desktop "
                        f"(schema {', '.join(unknown)}); update the application to open it. Nothing was changed."
                    )
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot open the review database {self.url}: {exc.orig}") from None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    database = Database(url)
    database.migrate()
    return database


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"
