"""How a run's times read for people: one rule for the CLI's tables and the web pages."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from runyard import _status


def duration_text(seconds: float | None) -> str:
    """`12.3s`, `4m 05s`, `2h 03m`; `-` when there is none."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def run_duration(row: Mapping[str, Any]) -> float | None:
    """Seconds from a run's start to its end, or to now while it is active."""
    start = row.get("start_time")
    if start is None:
        return None
    end = row.get("end_time") if row["status"] in _status.TERMINAL else time.time()
    return None if end is None else max(0.0, end - start)
