"""How good each model version's proposals were, from the reviews: the model's original proposal
(kept with every review) against the reviewer's final mask, plus the held-out metrics of retraining.

Per version, over the reviews made on its proposals (`Review.model_version`):
- proposal Dice and IoU: mean over images the reviewer corrected;
- false-alarm rate: share of images marked normal on which the version proposed any pixel;
- accepted-as-is rate: share of decided images (accepted, corrected, normal, rejected) accepted unchanged;
- held-out pixel and image AUROC and proposal Dice: what retraining measured (`ModelVersion.metrics`);
- median actions per corrected image: the corrective actions (clicks, brush strokes, polygon
  vertices, removed regions, snaps) of the corrected images whose actions were counted.
A measure without images to measure it on is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select

from zsad_desktop.app.training import model_versions
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.evaluation import dice, iou
from zsad_desktop.store import Review, ReviewStatus

DECIDED = (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED, ReviewStatus.NORMAL, ReviewStatus.REJECTED)
#: (column heading, attribute) of the table `zsad models list` prints and the Models dialog charts
MEASURES = (
    ("proposal Dice", "proposal_dice"),
    ("proposal IoU", "proposal_iou"),
    ("false alarms", "false_alarm_rate"),
    ("accepted as is", "accepted_rate"),
    ("held-out pixel AUROC", "held_out_pixel_auroc"),
    ("held-out image AUROC", "held_out_image_auroc"),
    ("held-out Dice", "held_out_dice"),
)


@dataclass(frozen=True)
class VersionQuality:
    name: str
    method: str
    parent: str | None
    active: bool
    created_at: datetime
    decided: int  # reviews decided on this version's proposals
    corrected: int
    normal: int
    proposal_dice: float | None
    proposal_iou: float | None
    false_alarm_rate: float | None
    accepted_rate: float | None
    held_out_pixel_auroc: float | None
    held_out_image_auroc: float | None
    held_out_dice: float | None
    median_actions: float | None = None  # per corrected image, over those whose actions were counted


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _held_out(metrics: dict, key: str) -> float | None:
    value = (metrics.get("held_out") or {}).get(key)
    return None if value is None or not np.isfinite(value) else float(value)


def version_quality(workspace: Workspace) -> list[VersionQuality]:
    """One row per model version, oldest first."""
    versions = model_versions.list_versions(workspace)
    known = {v.model_id for v in versions}
    with workspace.database.read() as session:
        reviews = [
            (r.model_version, r.status, r.proposal_file, r.mask_file, Effort.of_row(r))
            for r in session.scalars(
                select(Review).where(
                    Review.model_version.in_(known), Review.status.in_([s.value for s in DECIDED])
                )
            )
        ]
    out = []
    for version in versions:
        mine = [r for r in reviews if r[0] == version.model_id]
        dices, ious, alarms = [], [], []
        for _, status, proposal_file, mask_file, _effort in mine:
            if proposal_file is None:
                continue  # decided before a proposal arrived: nothing of the model's to measure
            proposal = workspace.files.read_mask(proposal_file)
            if status is ReviewStatus.CORRECTED and mask_file is not None:
                final = workspace.files.read_mask(mask_file)
                dices.append(dice(proposal, final))
                ious.append(iou(proposal, final))
            elif status is ReviewStatus.NORMAL:
                alarms.append(float(proposal.any()))
        accepted = sum(1 for r in mine if r[1] is ReviewStatus.ACCEPTED)
        actions = [r[4].total for r in mine if r[1] is ReviewStatus.CORRECTED and r[4] is not None]
        out.append(
            VersionQuality(
                version.name,
                version.method,
                version.parent,
                version.active,
                version.created_at,
                len(mine),
                sum(1 for r in mine if r[1] is ReviewStatus.CORRECTED),
                sum(1 for r in mine if r[1] is ReviewStatus.NORMAL),
                _mean(dices),
                _mean(ious),
                _mean(alarms),
                accepted / len(mine) if mine else None,
                _held_out(version.metrics, "pixel_auroc"),
                _held_out(version.metrics, "image_auroc"),
                _held_out(version.metrics, "proposal_dice"),
                float(np.median(actions)) if actions else None,
            )
        )
    return out


def table_lines(rows: list[VersionQuality]) -> list[str]:
    """The table as text: a heading, then one line per version ('*' marks the active one, '-' no figure)."""
    heads = ["", "version", "method", "parent", "created", "reviews"] + [head for head, _ in MEASURES]
    heads.append("actions per correction")
    cells = [
        [
            "*" if r.active else "",
            r.name,
            r.method,
            r.parent or "-",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            str(r.decided),
        ]
        + ["-" if getattr(r, attr) is None else f"{getattr(r, attr):.3f}" for _, attr in MEASURES]
        + [actions_text(r.median_actions)]
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(heads, *cells)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [heads, *cells]]


def actions_text(median: float | None) -> str:
    """The median actions per corrected image as shown: "3", "2.5", or "-" when none were counted."""
    return "-" if median is None else f"{median:g}"
