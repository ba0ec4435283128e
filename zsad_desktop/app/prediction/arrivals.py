"""Whether predictions landed in a workspace since last asked, whoever stored them (a cluster run, a
colleague's window): one indexed lookup, cheap enough to ask every few seconds."""

from __future__ import annotations

from sqlalchemy import func, select

from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Prediction


def newest_prediction(workspace: Workspace) -> int:
    """The id of the newest stored prediction (0: none). Rows are only ever added, so a larger id
    means new predictions."""
    with workspace.database.read() as session:
        return session.scalar(select(func.max(Prediction.id))) or 0
