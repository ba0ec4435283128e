"""defect areas on reviews, fuller history, model activation log, one active version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:00:00

- reviews.mask_area and review_events.mask_area: the report no longer reads every mask file;
  review_events also keep the proposal file and the model version of each decision.
- model_activations: every promotion, and rollbacks as "undone" marks (was a settings list).
- at most one active model version, enforced by a partial unique index.
- no index on images.missing: SQLite's planner drove every gallery join from it.
"""

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reviews", sa.Column("mask_area", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("review_events") as batch:
        batch.add_column(sa.Column("mask_area", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("proposal_file", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("model_version", sa.String(length=255), nullable=True))
    op.create_table(
        "model_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("activated_by", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.drop_index("ix_images_missing", table_name="images")
    op.create_index("ix_model_activations_version_id", "model_activations", ["version_id"])
    _carry_over_activations()
    op.create_index(
        "uq_model_versions_one_active",
        "model_versions",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )


def _carry_over_activations() -> None:
    """Keep one active version (the newest) and turn the old settings list into activation rows."""
    bind = op.get_bind()
    versions = sa.table(
        "model_versions",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("active", sa.Boolean),
    )
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON))
    activations = sa.table(
        "model_activations", sa.column("version_id", sa.Integer), sa.column("at", sa.DateTime(timezone=True))
    )
    active = [
        row.id
        for row in bind.execute(sa.select(versions.c.id).where(versions.c.active).order_by(versions.c.id))
    ]
    if len(active) > 1:
        bind.execute(sa.update(versions).where(versions.c.id.in_(active[:-1])).values(active=False))
    ids = {row.name: row.id for row in bind.execute(sa.select(versions.c.name, versions.c.id))}
    stored = bind.execute(sa.select(settings.c.value).where(settings.c.key == "activation_history")).scalar()
    if isinstance(stored, str):
        stored = json.loads(stored)
    names = [n for n in (stored or {}).get("v", []) if n in ids]
    if not names and active:
        names = [next(name for name, id_ in ids.items() if id_ == active[-1])]
    now = datetime.now(timezone.utc)
    for name in names:
        bind.execute(sa.insert(activations).values(version_id=ids[name], at=now))
    bind.execute(sa.delete(settings).where(settings.c.key == "activation_history"))


def downgrade() -> None:
    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
    op.drop_index("ix_model_activations_version_id", table_name="model_activations")
    op.drop_table("model_activations")
    op.create_index("ix_images_missing", "images", ["missing"])
    with op.batch_alter_table("review_events") as batch:
        batch.drop_column("model_version")
        batch.drop_column("proposal_file")
        batch.drop_column("mask_area")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("mask_area")
