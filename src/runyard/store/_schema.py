"""The run history's tables, as SQLAlchemy Core metadata.

Invariant: this module describes the newest schema; every change to it comes with an
Alembic revision under `migrations/versions/`, and a test checks the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("tags", sa.JSON, nullable=True),  # None: no tags yet
    sa.Column("archived_at", sa.Float, nullable=True),  # None: active
)

runs = sa.Table(
    "runs",
    metadata,
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
    sa.Index("ix_runs_experiment", "experiment_id", "created_at"),
    sa.Index("ix_runs_parent", "parent_id"),
)

status_events = sa.Table(
    "status_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_status_events_run", "run_id", "id"),
)

# One row per logged point. Scalars keep their number in `value` (strings in `text`);
# the list/row/table/image kinds keep their JSON in `text`.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(300), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_metrics_run_name", "run_id", "name", "id"),
)

# Kept at ingest, in the transaction that inserts the points (store/_summaries.py): per
# run and numeric metric its count, exact extremes, latest point and whether its steps and
# times only went forwards; and its points in insertion order in blocks of 64, each block's
# count, exact extremes, sum and x ranges. A page sorted by a metric and a downsampled
# series read these instead of every point.
metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    sa.Column("run_id", sa.String(300), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("min_value", sa.Float, nullable=True),
    sa.Column("max_value", sa.Float, nullable=True),
    sa.Column("last_value", sa.Float, nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=True),
    sa.Column("last_time", sa.Float, nullable=True),
    sa.Column("last_x", sa.Float, nullable=True),  # the step, or the position without one
    sa.Column("first_time", sa.Float, nullable=True),
    sa.Column("step_ordered", sa.Boolean, nullable=False),
    sa.Column("time_ordered", sa.Boolean, nullable=False),
    sa.Column("steps_complete", sa.Boolean, nullable=False),  # no point without a step
    sa.Index("ix_metric_summaries_name_last", "name", "last_value"),
)

metric_blocks = sa.Table(
    "metric_blocks",
    metadata,
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

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
)

properties = sa.Table(
    "properties",
    metadata,
    sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
)

run_files = sa.Table(
    "run_files",
    metadata,
    sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# What a run's supervisor could not store or follow (a metric refused, a file skipped),
# kept with the run for the user: `run.get_details()["warnings"]`.
run_warnings = sa.Table(
    "run_warnings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(300), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Index("ix_run_warnings_run", "run_id", "id"),
)

compute_targets = sa.Table(
    "compute_targets",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("spec_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

datastores = sa.Table(
    "datastores",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(300), nullable=True),
    sa.Column("experiment", sa.String(255), nullable=True),
    sa.Column("source_path", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("framework", sa.String(64), nullable=True),
    sa.Column("framework_version", sa.String(64), nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
