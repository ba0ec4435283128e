"""frames of multi-frame files as images; detector input recorded with predictions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 15:40:00

images.frame (None for single-frame files) lets each frame of a multi-frame
DICOM file be an image with its own review; the unique key becomes
(rel_path, frame). images.label keeps DICOM's patient-safe label (series
description, instance number) for the gallery. predictions.detector_input records how wide-range pixels
were mapped to the detector's 8-bit input and joins the cache key.
The old unique constraints were unnamed: SQLite's are found through a naming
convention while the table is rebuilt, PostgreSQL's by their default names.
"""

from contextlib import AbstractContextManager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
_OLD_IMAGE_KEY = {"sqlite": "uq_images_rel_path", "postgresql": "images_rel_path_key"}
_OLD_PREDICTION_KEY = {
    "sqlite": "uq_predictions_image_hash_model_version",
    "postgresql": "predictions_image_hash_model_version_key",
}


def _batch(table: str) -> AbstractContextManager[BatchOperations]:
    if op.get_bind().dialect.name == "sqlite":
        return op.batch_alter_table(table, naming_convention=_CONVENTION, recreate="always")
    return op.batch_alter_table(table)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with _batch("images") as batch:
        batch.drop_constraint(_OLD_IMAGE_KEY[dialect], type_="unique")
        batch.add_column(sa.Column("frame", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("label", sa.String(256), nullable=True))
    op.create_index(
        "uq_images_rel_path_frame", "images", ["rel_path", sa.text("coalesce(frame, -1)")], unique=True
    )
    with _batch("predictions") as batch:
        batch.drop_constraint(_OLD_PREDICTION_KEY[dialect], type_="unique")
        batch.add_column(sa.Column("detector_input", sa.String(64), nullable=False, server_default=""))
        batch.create_unique_constraint(
            "uq_predictions_image_model_input", ["image_hash", "model_version", "detector_input"]
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DELETE FROM predictions WHERE detector_input <> ''")
    with _batch("predictions") as batch:
        batch.drop_constraint("uq_predictions_image_model_input", type_="unique")
        batch.drop_column("detector_input")
        batch.create_unique_constraint(_OLD_PREDICTION_KEY[dialect], ["image_hash", "model_version"])
    op.drop_index("uq_images_rel_path_frame", table_name="images")
    op.execute("DELETE FROM images WHERE frame IS NOT NULL AND frame > 0")
    with _batch("images") as batch:
        batch.drop_column("label")
        batch.drop_column("frame")
        batch.create_unique_constraint(_OLD_IMAGE_KEY[dialect], ["rel_path"])
