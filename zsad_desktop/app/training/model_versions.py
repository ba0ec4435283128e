"""Model versions and training runs of a workspace: register, list, promote, roll back.

One version is active per workspace (the database enforces it); its
`model_id` is what predictions are tagged with, so switching versions
switches the scores the gallery shows, and old predictions stay cached.
Every activation is logged; a rollback marks the current one undone and
returns to the one before, so rolling back twice walks back two steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ModelActivation, ModelVersion, TrainingRun, TrainingStatus
from zsad_desktop.store.errors import StoreError
from zsad_desktop.store.schema import utcnow


@dataclass(frozen=True)
class VersionInfo:
    name: str
    model_id: str
    method: str
    backbone: dict[str, Any]
    settings: dict[str, Any]
    checkpoint: str | None
    parent: str | None
    metrics: dict[str, Any]
    active: bool
    created_at: datetime
    training_run_id: int | None


@dataclass(frozen=True)
class TrainingRunInfo:
    id: int
    method: str
    status: TrainingStatus
    train_review_ids: list[int]
    held_out_review_ids: list[int]
    config: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    version: str | None  # the version it produced, if any


def _info(version: ModelVersion, parent: str | None) -> VersionInfo:
    return VersionInfo(
        version.name,
        version.model_id,
        version.method,
        version.backbone,
        version.settings or {},
        version.checkpoint,
        parent,
        version.metrics or {},
        version.active,
        version.created_at,
        version.training_run_id,
    )


def register_version(
    workspace: Workspace,
    model_id: str,
    method: str,
    backbone: dict[str, Any],
    settings: dict[str, Any] | None = None,
    checkpoint: str | None = None,
    parent: str | None = None,
    metrics: dict[str, Any] | None = None,
    training_run_id: int | None = None,
    activate: bool = False,
    by: str | None = None,
) -> VersionInfo:
    """Add a version (named v1, v2, ...) or return the existing one with this model_id."""
    with workspace.database.session() as session:
        existing = session.scalar(select(ModelVersion).where(ModelVersion.model_id == model_id))
        if existing is None:
            count = session.scalar(select(func.count()).select_from(ModelVersion)) or 0
            parent_row = _by_name(session, parent) if parent else None
            existing = ModelVersion(
                name=f"v{count + 1}",
                model_id=model_id,
                method=method,
                backbone=backbone,
                settings=settings or {},
                checkpoint=checkpoint,
                parent_id=parent_row.id if parent_row else None,
                metrics=metrics or {},
                training_run_id=training_run_id,
                active=False,
            )
            session.add(existing)
            session.flush()
        if activate and not existing.active:
            _activate(session, existing, by)
        name = existing.name
    return get_version(workspace, name)


def list_versions(workspace: Workspace) -> list[VersionInfo]:
    with workspace.database.read() as session:
        versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
        names = {v.id: v.name for v in versions}
        return [_info(v, names.get(v.parent_id) if v.parent_id is not None else None) for v in versions]


def get_version(workspace: Workspace, name: str) -> VersionInfo:
    for version in list_versions(workspace):
        if version.name == name:
            return version
    raise StoreError(f"no model version {name!r} in this workspace")


def active_version(workspace: Workspace) -> VersionInfo | None:
    return next((v for v in list_versions(workspace) if v.active), None)


def promote(workspace: Workspace, name: str, by: str | None = None) -> VersionInfo:
    """Make `name` the active version (any earlier version can be restored this way)."""
    with workspace.database.session() as session:
        target = _by_name(session, name)
        if target is None:
            raise StoreError(f"no model version {name!r} in this workspace")
        if not target.active:
            _activate(session, target, by)
    return get_version(workspace, name)


def rollback(workspace: Workspace) -> VersionInfo:
    """Go back to the version that was active before the current one."""
    with workspace.database.session() as session:
        log = session.scalars(
            select(ModelActivation)
            .where(ModelActivation.undone_at.is_(None))
            .order_by(ModelActivation.id.desc())
        ).all()
        current = session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))
        earlier = [a for a in log if current is None or a.version_id != current.id]
        if not earlier:
            raise StoreError("there is no earlier active model version to roll back to")
        now = utcnow()
        for activation in log:
            if activation is earlier[0]:
                break
            activation.undone_at = now  # the activations being rolled back
        target = session.get(ModelVersion, earlier[0].version_id)
        if target is None:  # the activation log references versions, never deleted
            raise StoreError("the earlier active model version is missing")
        _set_active(session, target)
        name = target.name
    return get_version(workspace, name)


def activations(workspace: Workspace) -> list[tuple[str, datetime, str | None, datetime | None]]:
    """(version name, when, by whom, undone when) of every activation, oldest first."""
    with workspace.database.read() as session:
        rows = session.execute(
            select(
                ModelVersion.name, ModelActivation.at, ModelActivation.activated_by, ModelActivation.undone_at
            )
            .join(ModelVersion, ModelVersion.id == ModelActivation.version_id)
            .order_by(ModelActivation.id)
        )
        return [(name, at, by, undone) for name, at, by, undone in rows]


def update_metrics(workspace: Workspace, name: str, metrics: dict[str, Any]) -> None:
    with workspace.database.session() as session:
        version = _by_name(session, name)
        if version is None:
            raise StoreError(f"no model version {name!r} in this workspace")
        version.metrics = {**(version.metrics or {}), **metrics}


def _by_name(session: Session, name: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.name == name))


def _set_active(session: Session, target: ModelVersion) -> None:
    # Clear first and flush: the unique index allows one active row at any moment.
    session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    session.flush()
    session.execute(update(ModelVersion).where(ModelVersion.id == target.id).values(active=True))
    session.expire(target)


def _activate(session: Session, target: ModelVersion, by: str | None) -> None:
    _set_active(session, target)
    session.add(ModelActivation(version_id=target.id, activated_by=by))


# training runs -------------------------------------------------------------------
def start_training_run(
    workspace: Workspace,
    method: str,
    train_review_ids: Sequence[int],
    held_out_review_ids: Sequence[int] = (),
    config: dict[str, Any] | None = None,
) -> int:
    """Record a run that starts now, with the reviews it trains and is judged on; returns its id."""
    with workspace.database.session() as session:
        run = TrainingRun(
            method=method,
            train_review_ids=list(train_review_ids),
            held_out_review_ids=list(held_out_review_ids),
            config=dict(config or {}),
        )
        session.add(run)
        session.flush()
        return run.id


def finish_training_run(
    workspace: Workspace,
    run_id: int,
    status: TrainingStatus,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    with workspace.database.session() as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise StoreError(f"no training run {run_id} in this workspace")
        run.status, run.finished_at, run.error = TrainingStatus(status), utcnow(), error
        if metrics:
            run.metrics = metrics


def training_runs(workspace: Workspace) -> list[TrainingRunInfo]:
    with workspace.database.read() as session:
        produced = dict(
            session.execute(
                select(ModelVersion.training_run_id, ModelVersion.name).where(
                    ModelVersion.training_run_id.is_not(None)
                )
            ).all()
        )
        return [
            TrainingRunInfo(
                r.id,
                r.method,
                r.status,
                list(r.train_review_ids or []),
                list(r.held_out_review_ids or []),
                r.config or {},
                r.metrics or {},
                r.error,
                r.started_at,
                r.finished_at,
                produced.get(r.id),
            )
            for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id))
        ]
