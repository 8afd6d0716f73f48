"""Warnings on a run: what its supervisor could not store or follow, kept for the user.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "run_warnings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
    )
    op.create_index("ix_run_warnings_run", "run_warnings", ["run_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_run_warnings_run", "run_warnings")
    op.drop_table("run_warnings")
