"""Run statuses and the order a run goes through them (standard library only)."""

from __future__ import annotations

NOT_STARTED = "NotStarted"
PREPARING = "Preparing"
QUEUED = "Queued"
SCALING = "Scaling"
STARTING = "Starting"
RUNNING = "Running"
FINALIZING = "Finalizing"
CANCEL_REQUESTED = "CancelRequested"
COMPLETED = "Completed"
FAILED = "Failed"
CANCELED = "Canceled"

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
ACTIVE = frozenset(
    {NOT_STARTED, PREPARING, QUEUED, SCALING, STARTING, RUNNING, FINALIZING, CANCEL_REQUESTED}
)
LIFECYCLE = (
    NOT_STARTED, PREPARING, QUEUED, SCALING, STARTING, RUNNING, FINALIZING,
    CANCEL_REQUESTED, COMPLETED, FAILED, CANCELED,
)
