"""corrective actions counted with each review and history event

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:30:00

reviews and review_events get five integer columns: effort_clicks,
effort_brush_strokes, effort_polygon_vertices, effort_removed_regions and
effort_snaps. Separate integers rather than one JSON document: the action
kinds are a fixed set, and sums and medians over them stay plain SQL on
SQLite and PostgreSQL alike. They stay NULL on existing rows: those
decisions were made before actions were counted, which is not zero actions.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    "effort_clicks",
    "effort_brush_strokes",
    "effort_polygon_vertices",
    "effort_removed_regions",
    "effort_snaps",
)


def upgrade() -> None:
    for table in ("reviews", "review_events"):
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                batch.add_column(sa.Column(column, sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ("reviews", "review_events"):
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                batch.drop_column(column)
