"""The first run history: experiments, runs, status events, metrics, tags, properties,
run files, compute targets.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("parent_id", sa.String(300), sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("display_name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("compute_target", sa.String(255), nullable=True),
        sa.Column("config", sa.JSON, nullable=True),
        sa.Column("snapshot_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("start_time", sa.Float, nullable=True),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("supervisor_pid", sa.Integer, nullable=True),
        sa.Column("supervisor_host", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.Float, nullable=True),
        sa.Column("cancel_requested_at", sa.Float, nullable=True),
    )
    op.create_index("ix_runs_experiment", "runs", ["experiment_id", "created_at"])
    op.create_index("ix_runs_parent", "runs", ["parent_id"])
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_status_events_run", "status_events", ["run_id", "id"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(300), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_metrics_run_name", "metrics", ["run_id", "name", "id"])
    op.create_table(
        "tags",
        sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=True),
    )
    op.create_table(
        "properties",
        sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=True),
    )
    op.create_table(
        "run_files",
        sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "compute_targets",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "compute_targets", "run_files", "properties", "tags", "metrics", "status_events",
        "runs", "experiments",
    ):
        op.drop_table(table)
