"""Model versions of a workspace: register, list, promote, roll back.

One version is active per workspace; its `model_id` is what predictions are
tagged with, so switching versions switches the scores the gallery shows,
and old predictions stay cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import ModelVersion
from zsad_desktop.store.errors import StoreError


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


def _info(version: ModelVersion, parent: str | None) -> VersionInfo:
    return VersionInfo(
        version.name, version.model_id, version.method, version.backbone, version.settings, version.checkpoint,
        parent, version.metrics or {}, version.active, version.created_at, version.training_run_id,
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
) -> VersionInfo:
    """Add a version (named v1, v2, ...) or return the existing one with this model_id."""
    with workspace.database.session() as session:
        existing = session.scalar(select(ModelVersion).where(ModelVersion.model_id == model_id))
        if existing is None:
            count = session.scalar(select(func.count()).select_from(ModelVersion)) or 0
            parent_row = session.scalar(select(ModelVersion).where(ModelVersion.name == parent)) if parent else None
            existing = ModelVersion(
                name=f"v{count + 1}", model_id=model_id, method=method, backbone=backbone, settings=settings or {},
                checkpoint=checkpoint, parent_id=parent_row.id if parent_row else None, metrics=metrics or {},
                training_run_id=training_run_id, active=False,
            )
            session.add(existing)
            session.flush()
        name = existing.name
    if activate:
        return promote(workspace, name)
    return get_version(workspace, name)


def list_versions(workspace: Workspace) -> list[VersionInfo]:
    with workspace.database.session() as session:
        versions = session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
        names = {v.id: v.name for v in versions}
        return [_info(v, names.get(v.parent_id)) for v in versions]


def get_version(workspace: Workspace, name: str) -> VersionInfo:
    for version in list_versions(workspace):
        if version.name == name:
            return version
    raise StoreError(f"no model version {name!r} in this workspace")


def active_version(workspace: Workspace) -> VersionInfo | None:
    return next((v for v in list_versions(workspace) if v.active), None)


def promote(workspace: Workspace, name: str) -> VersionInfo:
    """Make `name` the active version (any earlier version can be restored this way)."""
    with workspace.database.session() as session:
        target = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        if target is None:
            raise StoreError(f"no model version {name!r} in this workspace")
        session.execute(update(ModelVersion).values(active=False))
        target.active = True
    _push_history(workspace, name)
    return get_version(workspace, name)


def rollback(workspace: Workspace) -> VersionInfo:
    """Go back to the version that was active before the current one."""
    history = workspace.setting("activation_history", []) or []
    if len(history) < 2:
        raise StoreError("there is no earlier active model version to roll back to")
    history = history[:-1]
    workspace.set_setting("activation_history", history[:-1])
    return promote(workspace, history[-1])


def update_metrics(workspace: Workspace, name: str, metrics: dict[str, Any]) -> None:
    with workspace.database.session() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        version.metrics = {**(version.metrics or {}), **metrics}


def _push_history(workspace: Workspace, name: str) -> None:
    history = list(workspace.setting("activation_history", []) or [])
    if not history or history[-1] != name:
        history.append(name)
    workspace.set_setting("activation_history", history[-50:])
