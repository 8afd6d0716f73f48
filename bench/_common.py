"""What the benchmark scripts share: printing, and stopping the runs they started."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from runyard._procfs import is_supervisor_of

TERMINAL = ("Completed", "Failed", "Canceled")


def say(message: str) -> None:
    print(message, flush=True)


def status_of(run: Any) -> str:
    try:
        return str(run.get_status())
    except Exception:
        return "unknown"


def _supervisors(workspace: Any, runs: list[Any]) -> list[tuple[Any, int]]:
    found = []
    for run in runs:
        try:
            pid = workspace.store.get_run(run.id)["supervisor_pid"]
        except Exception:
            continue
        if pid:
            found.append((run, int(pid)))
    return found


def stop_runs(workspace: Any, runs: list[Any], cancel_wait: float) -> None:
    """Stop every run of ours still active: cancel, then kill its supervisor (only if it is
    that run's supervisor); wait for supervisors finishing their last upload."""
    active = [r for r in runs if status_of(r) not in TERMINAL]
    for run in active:
        try:
            run.cancel()
        except Exception as e:
            say(f"  could not cancel {run.id}: {e}")
    deadline = time.monotonic() + cancel_wait
    while active and time.monotonic() < deadline:
        active = [r for r in active if status_of(r) not in TERMINAL]
        time.sleep(0.2)
    for run in active:
        pid = workspace.store.get_run(run.id)["supervisor_pid"]
        if pid and is_supervisor_of(pid, run.id):
            say(f"  killing the supervisor of {run.id} (pid {pid})")
            os.kill(pid, signal.SIGKILL)  # its processes die with it (PDEATHSIG)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            is_supervisor_of(p, r.id) for r, p in _supervisors(workspace, runs)):
        time.sleep(0.1)
    workspace.store.close()
