"""how informative reviewing each predicted image would be, cached with the prediction

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 04:50:00

predictions.informativeness is the "most informative first" order's score of
the image under the prediction's model version (closeness of the image score
to the decision threshold, disagreement with the parent version): NULL until
the background job computes it. The (model_version, informativeness) index
lets the gallery page through that order as it does through scores.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("informativeness", sa.Float(), nullable=True))
    op.create_index(
        "ix_predictions_model_informativeness", "predictions", ["model_version", "informativeness"]
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_model_informativeness", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("informativeness")
