"""The liveness rule of a run's supervisor, in one place (standard library only: the
client's `runyard.run` and the supervisor both import it).

The supervisor writes a heartbeat every `HEARTBEAT_SECONDS`; a reader on another host
calls a supervisor dead once it has been silent for `STALE_SECONDS` (several missed
beats, so a busy store or a slow disk is no death), and marks its run Failed
(`runyard.run.reconcile`). On the supervisor's own host, its process is looked at instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0


def silent_seconds(row: Mapping[str, Any], now: float) -> float:
    """How long the run's supervisor has said nothing: since its last heartbeat, or since
    the run was created when it sent none."""
    return float(now - (row["heartbeat_at"] or row["created_at"]))


def is_stale(seconds: float) -> bool:
    """Whether a supervisor silent for `seconds` is taken for dead."""
    return seconds > STALE_SECONDS
