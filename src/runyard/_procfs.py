"""Reading processes from /proc (Linux), standard library only."""

from __future__ import annotations

import os
from collections.abc import Iterator


def _state(stat: bytes) -> bytes:
    # the command name may hold spaces and parentheses: the state follows the last ')'
    end = stat.rfind(b")")
    return stat[end + 2:end + 3]


def all_stats() -> Iterator[tuple[int, list[bytes]]]:
    """`(pid, fields)` of every process: the fields of /proc/<pid>/stat after the command
    name (which may hold spaces and parentheses), so fields[0] is the state, [1] the
    parent's pid, [3] the session."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        yield int(entry), stat[stat.rfind(b")") + 2:].split()


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return _state(handle.read()) != b"Z"
    except OSError:
        return False


def start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (with the pid, it names one process:
    pids get reused, start times do not repeat); None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # fields after the command name start at the state (field 3); starttime is field 22
    return int(stat[stat.rfind(b")") + 2:].split()[19])


def is_supervisor_of(pid: int, run_id: str) -> bool:
    """True if `pid` is alive and is the supervisor of `run_id` (guards against pid reuse)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read()
    except OSError:
        return False
    return b"runyard.supervisor" in command and run_id.encode() in command and alive(pid)


def supervisors_of(run_id: str) -> list[int]:
    """Live processes of `run_id`'s supervisor (the supervisor and its keeper)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_supervisor_of(int(entry), run_id):
            found.append(int(entry))
    return found


#: In the environment of a process runyard starts for something that outlives the run
#: (a worker node an owned Ray cluster gets while a run waits for it): re-parented to the
#: run's supervisor or keeper as an orphan, it and everything below it are not the run's.
OUTLIVES_RUN = "RUNYARD_OUTLIVES_RUN"
_MARK = f"{OUTLIVES_RUN}=1".encode()


def outlives_the_run(pid: int) -> bool:
    """Whether `pid` was started with OUTLIVES_RUN=1 (its initial environment says so)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return _MARK in f.read().split(b"\0")
    except OSError:
        return False
