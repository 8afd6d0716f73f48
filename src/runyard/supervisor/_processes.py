"""Process plumbing on Linux: the supervisor as child subreaper, the script dying with
its supervisor, and killing a whole process tree (including what ignores SIGTERM or
escaped into its own session).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import time
from collections.abc import Callable

from runyard._procfs import alive, all_stats, outlives_the_run

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to us, so none escapes `descendants`."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def die_with_parent() -> Callable[[], None]:
    """A preexec_fn: the child gets SIGKILL when its parent (the supervisor) dies."""
    prctl = _libc.prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return preexec


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, fields in all_stats():
        children.setdefault(int(fields[1]), []).append(pid)
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, except those that outlive the run (OUTLIVES_RUN)
    and what is below them."""
    children = _children_map()
    found: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        if outlives_the_run(child):
            continue
        found.append(child)
        stack.extend(children.get(child, []))
    return found


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def reap_orphans(keep: set[int]) -> None:
    """Collect exited children that are not ours to wait for (re-parented orphans)."""
    for pid in _children_map().get(os.getpid(), []):
        if pid in keep:
            continue
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def kill_tree(root: int, grace: float, waited_elsewhere: set[int] | None = None) -> list[int]:
    """SIGTERM every descendant of `root`, SIGKILL what is left after `grace` seconds.

    Pids in `waited_elsewhere` are killed but not reaped here (a Popen waits for them).
    Returns the pids that needed SIGKILL.
    """
    keep = waited_elsewhere or set()
    _signal(descendants(root), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap_orphans(keep)
        if not any(alive(p) for p in descendants(root)):
            return []
        time.sleep(0.05)
    stubborn = [p for p in descendants(root) if alive(p)]
    _signal(stubborn, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in stubborn):
        reap_orphans(keep)
        time.sleep(0.02)
    reap_orphans(keep)
    return stubborn


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
