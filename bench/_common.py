"""What the benchmark scripts share: printing, and stopping the runs they started."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from runyard._procfs import is_supervisor_of

TERMINAL = ("Completed", "Failed", "Canceled")

# A script that writes the time its first line ran into the file named by its argument:
# submit → first line, measured the same way on every compute
SCRIPT = """import time
stamp = time.time()
import sys
with open(sys.argv[1], "w") as handle:
    handle.write(repr(stamp))
"""


def wait_stamp(path: Path, timeout: float = 120) -> float:
    """The time SCRIPT wrote into `path`, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return float(path.read_text())
        time.sleep(0.005)
    raise TimeoutError(f"no stamp in {path} after {timeout} s")


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
