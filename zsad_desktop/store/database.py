"""Engine, transactions and automatic migrations.

Writers take the database's write lock when their transaction begins
(SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so a read-then-write
such as "append to the history what the status was before" can never
interleave with a second copy of the application. Readers never wait for
writers: SQLite runs in WAL mode, PostgreSQL in read-committed. A busy
timeout makes a second writer wait its turn instead of failing. A SQLite file
on a network share runs with a rollback journal instead: WAL needs memory
shared by every process, which a share cannot give.

A SQLite database is copied into its folder's `backups/` before every schema
migration and once a day while reviews change (`store/backups.py`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DatabaseError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from zsad_desktop.store.backups import DailyBackups, make_backup
from zsad_desktop.store.errors import NewerSchemaError, StoreError
from zsad_desktop.store.filesystems import is_network_share
from zsad_desktop.store.schema import ReviewEvent

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 * 1024  # page cache per connection
MMAP_BYTES = 256 * 1024 * 1024
#: PostgreSQL advisory lock key that serialises writers of one review database
WRITE_LOCK_KEY = 0x7A5AD  # "zsad"
_WRITER = "zsad_writer"
_REVIEWED = "zsad_reviewed"
ANALYSIS_LIMIT = 0  # SQLite's ANALYZE reads whole indexes: a sampled count caps at the sample and misleads
#: re-analyse after this many new rows, or a fifth of the rows there were at the last analysis if more
ANALYZE_AFTER_ROWS = 500
_COUNTED_TABLES = ("images", "predictions", "reviews")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_connect(journal_mode: str) -> Callable[[Any, object], None]:
    def connect(dbapi_connection: Any, _record: object) -> None:
        _configure_sqlite(dbapi_connection, journal_mode)

    return connect


def _configure_sqlite(dbapi_connection: Any, journal_mode: str) -> None:
    # SQLAlchemy's own BEGIN is used (see _sqlite_begin), not the driver's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: switching to WAL may have to wait
    cursor.execute(f"PRAGMA journal_mode={journal_mode}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed review survives a power cut
    # The gallery's joins touch index pages all over a 100,000-image database: keep them in memory.
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    on_share = journal_mode != "WAL"
    cursor.execute(f"PRAGMA mmap_size={0 if on_share else MMAP_BYTES}")  # no memory-mapped pages over a share
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writer = connection.get_execution_options().get(_WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Database:
    """One review database. `session()` writes, `read()` only reads."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        #: the SQLite file (None for a server or an in-memory database)
        self.file: Path | None = _create_folder_of(url) if self.is_sqlite else None
        self.on_share = self.file is not None and is_network_share(self.file)
        self.backups = DailyBackups(self.file) if self.file is not None else None
        try:
            if self.is_sqlite:
                self.engine: Engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
                journal = "DELETE" if self.on_share else "WAL"
                event.listen(self.engine, "connect", _sqlite_connect(journal))
                event.listen(self.engine, "begin", _sqlite_begin)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use the database URL {display_url(url)}: {exc}") from None
        self._writers = sessionmaker(self.engine.execution_options(**{_WRITER: True}), expire_on_commit=False)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._statistics_lock = threading.Lock()
        self._new_rows = 0  # rows this process added since the planner's statistics were refreshed
        self._rows_at_analysis = 0
        event.listen(self._writers, "before_flush", self._count_new_rows)

    @property
    def name(self) -> str:
        return display_url(self.url)

    def _take_write_lock(self, connection: Connection) -> None:
        if not self.is_sqlite:  # SQLite took it with BEGIN IMMEDIATE
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: holds the write lock, committed on success, rolled back on any error."""
        with self._errors(), self._writers() as session, session.begin():
            self._take_write_lock(session.connection())
            yield session
        self._refresh_statistics_if_grown()
        if session.info.pop(_REVIEWED, False) and self.backups is not None:
            self.backups.reviews_changed()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, never waits for writers."""
        with self._errors(), self._readers() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The database cannot be used (locked too long, not a database, server gone): one clear StoreError.
        Constraint violations stay as they are: callers handle those."""
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            raise StoreError(f"cannot use the review database {self.name}: {exc.orig}") from exc
        except DatabaseError as exc:
            if type(exc) is not DatabaseError:
                raise
            raise StoreError(f"cannot use the review database {self.name}: {exc.orig}") from exc

    def migrate(self) -> None:
        """Bring the schema to this application's newest revision; refuse newer ones untouched."""
        script = ScriptDirectory.from_config(_alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        with self._errors(), self.engine.execution_options(**{_WRITER: True}).begin() as connection:
            self._take_write_lock(
                connection
            )  # two copies opening a fresh database migrate one after the other
            current = MigrationContext.configure(connection).get_current_heads()
            unknown = [rev for rev in current if rev not in known]
            if unknown:
                raise NewerSchemaError(
                    f"The review database {self.name} was written by a newer version of zsad-desktop "
                    f"(schema {', '.join(unknown)}; this version knows up to {script.get_current_head()}). "
                    "Update the application to open it. Nothing was changed."
                )
            if current and script.get_current_head() not in current and self.file is not None:
                self._backup_before_migration()
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _backup_before_migration(self) -> None:
        """A copy of the database as the older version left it; no copy, no migration."""
        if self.file is None:
            return
        try:
            make_backup(self.file, "migration")
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"cannot back up the review database {self.name} before updating its schema: {error}. "
                "Nothing was changed."
            ) from None

    def analyze(self) -> None:
        """Refresh the planner's table statistics, so that it knows a model's scores cover the whole
        folder while a review state covers a few images: about 50 ms at 100,000 images. PostgreSQL's
        autovacuum does this too; running it now helps right after a big scan."""
        with self._statistics_lock:
            self._new_rows = 0
        with self.session() as session:
            if self.is_sqlite:
                session.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
            session.execute(text("ANALYZE"))
            rows = sum(
                session.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
                for table in _COUNTED_TABLES
            )
        with self._statistics_lock:
            self._rows_at_analysis = rows

    def _count_new_rows(self, session: Session, _context: object, _instances: object) -> None:
        with self._statistics_lock:
            self._new_rows += len(session.new)
        if any(isinstance(row, ReviewEvent) for row in session.new):
            session.info[_REVIEWED] = True  # a decision: the day's backup may be due once it is committed

    def _refresh_statistics_if_grown(self) -> None:
        """Predictions and reviews arrive one by one; the planner's picture of the tables must follow."""
        with self._statistics_lock:
            due = self._new_rows >= max(ANALYZE_AFTER_ROWS, self._rows_at_analysis // 5)
        if due:
            self.analyze()

    def schema_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        if self.backups is not None:
            self.backups.wait()  # a daily copy under way is finished, not left as a partial file
        self.engine.dispose()


def _create_folder_of(url: str) -> Path | None:
    """The SQLite file of `url`, its folder created: it may be asked for in a folder that does not exist
    yet (a chosen location). None for an in-memory database."""
    try:
        path = make_url(url).database
    except ArgumentError:
        return None  # create_engine says what is wrong with it
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(
            f"cannot create the folder of the review database {path}: {error.strerror or error}"
        ) from None
    return Path(path)


def open_database(url: str) -> Database:
    """Open (creating if needed) and migrate; StoreError with the reason when it cannot be used."""
    database = Database(url)
    try:
        database.migrate()
    except BaseException:
        database.dispose()
        raise
    return database


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"
