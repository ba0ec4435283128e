"""review state on each image, for joinless counts and filters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:30:00

images.review_status repeats reviews.status for the image's content hash
('unreviewed' without a review); the application updates both in one
transaction. Counting 100,000 images per state then reads one small index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STATES = ("unreviewed", "normal", "accepted", "corrected", "rejected", "skipped")


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(
            sa.Column(
                "review_status",
                sa.Enum(*_STATES, name="review_status", native_enum=False, length=16),
                nullable=False,
                server_default="unreviewed",
            )
        )
    op.execute(
        "UPDATE images SET review_status = "
        "(SELECT reviews.status FROM reviews WHERE reviews.image_hash = images.content_hash) "
        "WHERE EXISTS (SELECT 1 FROM reviews WHERE reviews.image_hash = images.content_hash)"
    )
    op.create_index("ix_images_review_status", "images", ["review_status", "missing"])


def downgrade() -> None:
    op.drop_index("ix_images_review_status", table_name="images")
    with op.batch_alter_table("images") as batch:
        batch.drop_column("review_status")
