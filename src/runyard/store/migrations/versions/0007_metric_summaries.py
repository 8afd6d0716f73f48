"""Metric summaries and blocks, kept at ingest, so a runs page sorted by a metric and a
downsampled series of a million points read summaries instead of every point; existing
points are summarised here.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.String(300), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("min_value", sa.Float, nullable=True),
        sa.Column("max_value", sa.Float, nullable=True),
        sa.Column("last_value", sa.Float, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("last_time", sa.Float, nullable=True),
        sa.Column("last_x", sa.Float, nullable=True),
        sa.Column("first_time", sa.Float, nullable=True),
        sa.Column("step_ordered", sa.Boolean, nullable=False),
        sa.Column("time_ordered", sa.Boolean, nullable=False),
    sa.Column("steps_complete", sa.Boolean, nullable=False),  # no point without a step
    )
    op.create_index("ix_metric_summaries_name_last", "metric_summaries",
                    ["name", "last_value"])
    op.create_table(
        "metric_blocks",
        sa.Column("run_id", sa.String(300), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("block", sa.BigInteger, primary_key=True),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("min_value", sa.Float, nullable=True),
        sa.Column("max_value", sa.Float, nullable=True),
        sa.Column("sum_value", sa.Float, nullable=True),
        sa.Column("step_lo", sa.Float, nullable=False),
        sa.Column("step_hi", sa.Float, nullable=False),
        sa.Column("time_lo", sa.Float, nullable=False),
        sa.Column("time_hi", sa.Float, nullable=False),
    )
    from runyard.store._summaries import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("metric_blocks")
    op.drop_index("ix_metric_summaries_name_last", "metric_summaries")
    op.drop_table("metric_summaries")
