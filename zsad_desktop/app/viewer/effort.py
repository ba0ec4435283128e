"""How many corrective actions a review took: clicks, brush strokes, polygon vertices, removed
regions and snaps to edges. The window counts them on the image on screen; a decision stores them
with the review (added to what earlier visits took) and with its history event (this visit's)."""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Effort's fields and the store's columns (reviews and review_events) that hold them
COLUMNS = {
    "clicks": "effort_clicks",
    "brush_strokes": "effort_brush_strokes",
    "polygon_vertices": "effort_polygon_vertices",
    "removed_regions": "effort_removed_regions",
    "snaps": "effort_snaps",
}


@dataclass
class Effort:
    clicks: int = 0
    brush_strokes: int = 0
    polygon_vertices: int = 0
    removed_regions: int = 0
    snaps: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} counts actions and cannot be negative")

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: Effort) -> Effort:
        return Effort(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def columns(self) -> dict[str, int]:
        """The values by store column name."""
        return {column: getattr(self, name) for name, column in COLUMNS.items()}

    @classmethod
    def of_row(cls, row: object) -> Effort | None:
        """The effort a review or event row holds; None for one stored before effort was counted."""
        values = {name: getattr(row, column) for name, column in COLUMNS.items()}
        if all(v is None for v in values.values()):
            return None
        return cls(**{name: int(v or 0) for name, v in values.items()})
