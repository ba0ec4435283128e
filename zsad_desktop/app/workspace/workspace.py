"""A workspace: one image folder, its review database and its pixel files.

The database lives in the folder's `.zsad/` (or at a given URL, such as a
PostgreSQL server a team shares; or on this computer for a folder that is
read-only or on a network share: `location.py`); masks and heatmaps sit in the
data folder (`.zsad/` again unless told otherwise, so a team sharing the image
folder shares them too). Every method opens its own short transaction, so the
window's thread and the workers' threads can use one `Workspace` at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select

from zsad_desktop.app.workspace import image_queries
from zsad_desktop.app.workspace.detector_input import WorkspaceInput, model_input_size
from zsad_desktop.app.workspace.gallery_listing import GalleryListing
from zsad_desktop.app.workspace.image_queries import SORT_ORDERS, ImageRow
from zsad_desktop.app.workspace.location import (
    DATA_DIR,
    DATABASE_FILE,
    Placement,
    WorkspaceLocation,
    choose_location,
    per_user_dir,
)
from zsad_desktop.store import (
    Database,
    ModelVersion,
    PixelFiles,
    ReviewStatus,
    Setting,
    open_database,
)
from zsad_desktop.store.backups import backups_dir, newest_good_backup
from zsad_desktop.store.errors import NewerSchemaError, StoreError

DEFAULT_SETTINGS: dict[str, Any] = {"object_name": "object", "method": "baseline", "display_threshold": 0.5}

__all__ = [
    "DATA_DIR",
    "DATABASE_FILE",
    "DEFAULT_SETTINGS",
    "ImageRow",
    "SORT_ORDERS",
    "Workspace",
    "WorkspaceLocation",
    "default_data_dir",
    "locate",
    "per_user_dir",
]


class Workspace:
    def __init__(
        self, folder: Path, database: Database, files: PixelFiles, location: WorkspaceLocation | None = None
    ):
        self.folder = folder
        self.database = database
        self.files = files
        # Built without `open` (a cluster worker): where its driver was told the data is.
        self.location = location or WorkspaceLocation(folder, files.root, Placement.CHOSEN)

    @classmethod
    def open(
        cls,
        folder: Path | str,
        db_url: str | None = None,
        data_dir: Path | str | None = None,
        keep_on_share: bool = False,
    ) -> Workspace:
        """Open (creating if needed) the workspace of `folder`; migrates an older database, refuses a newer one.
        `location.notice()` says what the reviewer must know about where the reviews are kept."""
        location = locate(folder, db_url, data_dir, keep_on_share)
        data = location.data_dir
        try:
            data.mkdir(parents=True, exist_ok=True)
            files = PixelFiles(data)
        except OSError as error:
            raise StoreError(
                f"cannot create the workspace data folder {data}: {error.strerror or error}"
            ) from None
        try:
            database = open_database(location.database_url)
        except NewerSchemaError:
            raise  # a newer version's database is whole: no backup to point to
        except StoreError as error:
            raise StoreError(f"{error}{_backup_hint(location)}") from error.__cause__
        database.analyze()  # fresh planner statistics for the gallery's queries
        files.sweep_temporary()
        return cls(location.folder, database, files, location)

    def close(self) -> None:
        self.database.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # settings ---------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        """A stored setting, else `default`, else the workspace default (object name, method, threshold)."""
        with self.database.read() as session:
            row = session.get(Setting, key)
            if row is not None:
                return row.value.get("v")
        return DEFAULT_SETTINGS.get(key) if default is None else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.database.session() as session:
            session.merge(Setting(key=key, value={"v": value}))

    # queries ----------------------------------------------------------------
    def active_model_id(self) -> str | None:
        with self.database.read() as session:
            return session.scalar(select(ModelVersion.model_id).where(ModelVersion.active.is_(True)))

    def images(
        self,
        statuses: Iterable[ReviewStatus] | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        order: str = "score",
        model_id: str | None = None,
        limit: int | None = None,
        include_errors: bool = True,
    ) -> list[ImageRow]:
        """Images present in the folder with their review state and the score of `model_id`
        (default: the active model), filtered by review state and score range (inclusive)."""
        model_id, input_key = self._scores_of(model_id)
        with self.database.read() as session:
            return image_queries.image_rows(
                session,
                model_id,
                statuses,
                min_score,
                max_score,
                order,
                limit,
                include_errors,
                input_key=input_key,
            )

    def listing(
        self,
        statuses: Iterable[ReviewStatus] | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        order: str = "score",
        model_id: str | None = None,
        include_errors: bool = True,
    ) -> GalleryListing:
        """The same rows as `images(...)`, read a page at a time (the gallery of a 100,000-image folder)."""
        model_id, input_key = self._scores_of(model_id)
        return GalleryListing(
            self.database, model_id, order, statuses, min_score, max_score, include_errors, input_key
        )

    def image(self, image_id: int, model_id: str | None = None) -> ImageRow:
        model_id, input_key = self._scores_of(model_id)
        with self.database.read() as session:
            row = image_queries.one_row(session, image_id, model_id, input_key)
        if row is None:
            raise StoreError(f"no image with id {image_id} in this workspace")
        return row

    def next_unreviewed(self, model_id: str | None = None) -> ImageRow | None:
        """The unreviewed image the reviewer should see next: highest score first."""
        model_id, input_key = self._scores_of(model_id)
        with self.database.read() as session:
            return image_queries.next_unreviewed(session, model_id, input_key)

    def input_key(self, model_id: str) -> ColumnElement[str]:
        """SQL: the detector-input key each image's prediction by `model_id` has under this workspace's
        choices (`detector_input`), so that a query sees one prediction per image."""
        return WorkspaceInput.of(self, model_input_size(self, model_id)).key_column()

    def _scores_of(self, model_id: str | None) -> tuple[str, Any]:
        """`model_id` (default: the active model's) and the input key its predictions are joined on."""
        model_id = model_id or self.active_model_id() or ""
        return model_id, self.input_key(model_id)

    def ids_to_predict(self, model_id: str | None = None) -> list[int]:
        """Readable images, by name, that `model_id` has not scored under the current detector input
        (all readable images when None: a new detector finds its own cached ones)."""
        input_key = self.input_key(model_id) if model_id is not None else None
        with self.database.read() as session:
            return image_queries.ids_to_predict(session, model_id, input_key)

    def counts(self) -> dict[ReviewStatus, int]:
        with self.database.read() as session:
            return image_queries.status_counts(session)

    def absolute_path(self, row: ImageRow) -> Path:
        return self.folder / row.rel_path


def locate(
    folder: Path | str,
    db_url: str | None = None,
    data_dir: Path | str | None = None,
    keep_on_share: bool = False,
) -> WorkspaceLocation:
    """Where the workspace of `folder` is (or would be) kept: see `location.py`."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise StoreError(f"{folder} is not a folder")
    chosen = Path(data_dir).expanduser().resolve() if data_dir else None
    return choose_location(folder, chosen, db_url, keep_on_share)


def _backup_hint(location: WorkspaceLocation) -> str:
    """For a SQLite database that cannot be opened: the newest good copy and how to bring it back."""
    if location.db_url is not None:
        return ""
    backup = newest_good_backup(backups_dir(location.data_dir / DATABASE_FILE))
    if backup is None:
        return ""
    chosen = f" --data-dir {location.data_dir}" if location.placement is Placement.CHOSEN else ""
    return (
        f". The newest good backup is {backup.path} ({backup.at:%Y-%m-%d %H:%M} UTC); "
        f"restore it with: zsad db restore {location.folder}{chosen}"
    )


def default_data_dir(folder: Path) -> Path:
    """`<folder>/.zsad`, or a per-user folder when the image folder is read-only (a DVD, a shared archive)
    or on a network share."""
    return choose_location(folder).data_dir
