"""Run statuses and the order a run goes through them (standard library only).

`RunStatus` is a str-Enum: a member is the plain string the store holds and v1's
`get_status()` returns ("Running"), and compares equal to it; `RunStatus("Running")` reads
one back. The module's constants are its members, kept under their old names.
"""

from __future__ import annotations

import enum


class RunStatus(enum.StrEnum):
    """A run's status, in the order a run goes through them."""

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

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended (Completed, Failed, Canceled): nothing changes it."""
        return self in TERMINAL


NOT_STARTED = RunStatus.NOT_STARTED
PREPARING = RunStatus.PREPARING
QUEUED = RunStatus.QUEUED
SCALING = RunStatus.SCALING
STARTING = RunStatus.STARTING
RUNNING = RunStatus.RUNNING
FINALIZING = RunStatus.FINALIZING
CANCEL_REQUESTED = RunStatus.CANCEL_REQUESTED
COMPLETED = RunStatus.COMPLETED
FAILED = RunStatus.FAILED
CANCELED = RunStatus.CANCELED

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
ACTIVE = frozenset(
    {NOT_STARTED, PREPARING, QUEUED, SCALING, STARTING, RUNNING, FINALIZING, CANCEL_REQUESTED}
)
LIFECYCLE = tuple(RunStatus)
