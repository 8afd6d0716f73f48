"""Experiments get v1's tags (`Experiment.tag`, `set_tags`, `remove_tags`) and archival
(`archive`, `reactivate`, `Experiment.list(view_type=...)`).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("tags", sa.JSON, nullable=True))
        batch.add_column(sa.Column("archived_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("archived_at")
        batch.drop_column("tags")
