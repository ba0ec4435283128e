"""A batch's rows in one transaction, retried while the database is briefly away, and the attempts
on images that may crash a worker (kept in the settings table, one row per image being retried).

Transient errors (a PostgreSQL restart or fail-over, a dropped connection, a full disk) are retried
with a doubling pause; after the last try the batch's heatmap files are removed and the batch fails
with `DatabaseUnavailable`: nothing of it is half-written, and a rerun scores it again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Insert, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, Prediction, Setting
from zsad_desktop.store.errors import StoreError
from zsad_desktop.store.schema import utcnow

DB_TRIES = 5
FIRST_PAUSE_S = 0.5  # then 1, 2, 4 s: about 8 s for a server to come back
ATTEMPT_PREFIX = "scoring-attempt:"
T = TypeVar("T")


class DatabaseUnavailable(StoreError):
    """The database stayed unreachable through every retry of a batch."""


@dataclass(frozen=True)
class ItemOutcome:
    image_hash: str
    key: str
    image_ids: tuple[int, ...]
    path: str  # where the worker read it (the first of the images sharing these pixels)
    score: float | None = None
    heatmap_file: str | None = None
    error: str | None = None
    computed: bool = True  # False: the store already had it (a retried or second submission)


def is_transient(error: BaseException) -> bool:
    """A database error that may pass: the connection or the server, not the statement."""
    cause = error if isinstance(error, (OperationalError, InterfaceError)) else error.__cause__
    return isinstance(error, StoreError | OperationalError | InterfaceError) and isinstance(
        cause, (OperationalError, InterfaceError)
    )


def with_retries(work: Callable[[], T], pause_s: float = FIRST_PAUSE_S, tries: int = DB_TRIES) -> T:
    for attempt in range(1, tries + 1):
        try:
            return work()
        except Exception as error:
            if not is_transient(error):
                raise
            if attempt == tries:
                raise DatabaseUnavailable(
                    f"the database stayed unreachable through {tries} tries: {error}"
                ) from error
            time.sleep(pause_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def commit_batch(
    workspace: Workspace, model_id: str, computed: list[ItemOutcome], pause_s: float = FIRST_PAUSE_S
) -> list[ItemOutcome]:
    """Every row of the batch in one transaction (its attempt rows cleared in it); rows another
    worker stored first are kept and ours dropped. The batch's files go if the database never answers."""
    try:
        inserted = with_retries(lambda: _insert(workspace, model_id, computed), pause_s)
    except DatabaseUnavailable:
        for outcome in computed:
            if outcome.heatmap_file:
                workspace.files.path(outcome.heatmap_file).unlink(missing_ok=True)
        raise
    lost = [o for o in computed if o.error is None and (o.image_hash, o.key) not in inserted]
    if not lost:
        return computed
    for outcome in lost:
        if outcome.heatmap_file is not None:  # always, for a scored outcome
            workspace.files.path(outcome.heatmap_file).unlink(missing_ok=True)
    theirs = stored_keys(workspace, model_id, lost)
    return [
        replace(o, score=theirs[k][0], heatmap_file=theirs[k][1], computed=False)
        if (k := (o.image_hash, o.key)) in theirs
        else o
        for o in computed
    ]


def _insert(workspace: Workspace, model_id: str, computed: list[ItemOutcome]) -> set[tuple[str, str]]:
    scored = [o for o in computed if o.error is None]
    with workspace.database.session() as session:
        inserted: set[tuple[str, str]] = set()
        if scored:
            rows = [
                {
                    "image_hash": o.image_hash,
                    "model_version": model_id,
                    "detector_input": o.key,
                    "score": o.score,
                    "heatmap_file": o.heatmap_file,
                    "created_at": utcnow(),
                }
                for o in scored
            ]
            insert = _insert_ignoring_duplicates(session.get_bind().dialect.name)
            returned = session.execute(
                insert.returning(Prediction.image_hash, Prediction.detector_input), rows
            )
            inserted = {(h, k) for h, k in returned}
        for outcome in computed:
            if outcome.error is not None:  # recorded on the images' rows, as the window's own predictions do
                session.execute(
                    update(Image).where(Image.id.in_(outcome.image_ids)).values(load_error=outcome.error)
                )
        keys = [attempt_key(model_id, o.image_hash, o.key) for o in computed]
        session.execute(delete(Setting).where(Setting.key.in_(keys)))
        return inserted


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise StoreError(f"cluster scoring writes to PostgreSQL or SQLite, not {dialect}")
    return module.insert(Prediction).on_conflict_do_nothing(
        index_elements=["image_hash", "model_version", "detector_input"]
    )


def stored_keys(
    workspace: Workspace, model_id: str, items: Sequence[Any]
) -> dict[tuple[str, str], tuple[float, str]]:
    """{(hash, key): (score, heatmap file)} of the predictions already stored for the items' hashes
    (anything with an `image_hash`)."""
    hashes = list({item.image_hash for item in items})
    with workspace.database.read() as session:
        rows = session.execute(
            select(
                Prediction.image_hash, Prediction.detector_input, Prediction.score, Prediction.heatmap_file
            ).where(Prediction.model_version == model_id, Prediction.image_hash.in_(hashes))
        )
        return {(h, k): (score, heatmap_file) for h, k, score, heatmap_file in rows}


def attempt_key(model_id: str, image_hash: str, key: str) -> str:
    return ATTEMPT_PREFIX + hashlib.sha1(f"{model_id}|{image_hash}|{key}".encode()).hexdigest()


def begin_attempt(workspace: Workspace, model_id: str, image_hash: str, key: str) -> int:
    """Counts one more try at scoring this image alone, committed before it starts (a worker that dies
    on it leaves the count behind); returns the tries before this one."""

    def count() -> int:
        with workspace.database.session() as session:
            name = attempt_key(model_id, image_hash, key)
            row = session.get(Setting, name)
            before = int(row.value.get("attempts", 0)) if row is not None else 0
            value = {"model": model_id, "image_hash": image_hash, "key": key, "attempts": before + 1}
            if row is None:
                session.add(Setting(key=name, value=value))
            else:
                row.value = value
            return before

    return with_retries(count)
