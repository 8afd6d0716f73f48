"""What the keeper does after a run's supervisor died without ending the run.

By then every process of the run is gone (the keeper killed what was left below it).
Each step is best effort and independent: the end state first, then the logs, then the
half-written files and the scratch folder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from runyard import _status
from runyard._local import read_tail
from runyard.artifacts._walk import remove_tree


def _last_words(run_dir: Path) -> str:
    """The supervisor's last error line: its stderr, else the end of its own log."""
    for path in (run_dir / "supervisor.log", run_dir / "logs" / "supervisor.txt"):
        lines = [line.strip() for line in read_tail(path, 4000).splitlines() if line.strip()]
        errors = [line for line in lines if "Error" in line or "error" in line]
        if errors:
            return errors[-1][:500]
    return ""


def _free_scratch(run_dir: Path) -> None:
    """Make room on a full disk: what the run's processes wrote is lost anyway."""
    for name in ("wd", "staged", "channel"):
        remove_tree(run_dir / name)


def _end(store: object, run_id: str, pid: int, how: str, run_dir: Path) -> None:
    from runyard.store import AbstractStore

    assert isinstance(store, AbstractStore)
    row = store.get_run(run_id)
    status = row["status"]
    if status in _status.TERMINAL:
        return
    said = _last_words(run_dir)
    error = f"run failed: its supervisor (pid {pid}) died while the run was {status}: " \
            f"it {how}" + (f"; its last words: {said}" if said else "")
    try:
        store.set_status(run_id, _status.FAILED, error=error, only_if=[status])
    except Exception as e:  # noqa: BLE001 - a full disk: free the scratch space, try again
        _free_scratch(run_dir)
        from runyard.supervisor._driver import disk_full

        if disk_full(e):
            error += "; the disk is full (no space left on device)"
        store.set_status(run_id, _status.FAILED, error=error, only_if=[status])


def _keep_logs(workspace: object, run_id: str, run_dir: Path) -> None:
    from runyard.workspace import Workspace

    assert isinstance(workspace, Workspace)
    saved: list[tuple[str, int]] = []
    logs = run_dir / "logs"
    files = sorted(p for p in logs.iterdir() if p.is_file()) if logs.is_dir() else []
    crash = run_dir / "supervisor.log"
    for path, name in [*((p, f"logs/{p.name}") for p in files),
                       (crash, "logs/supervisor-crash.txt")]:
        with contextlib.suppress(OSError, ValueError):
            if path.is_file() and (path != crash or path.stat().st_size):
                saved.append((name, workspace.artifacts.put_file(
                    path, f"runs/{run_id}/{name}")))
    if saved:
        workspace.store.add_files(run_id, saved)


def _drop_temporaries(workspace: object, run_id: str) -> None:
    """Half-written artifact files (`.<name>.tmp-*`) of the run: a write the supervisor
    did not finish never finishes now."""
    from runyard._atomic import is_temporary
    from runyard.workspace import Workspace

    assert isinstance(workspace, Workspace)
    folder = workspace.artifacts.local_path(f"runs/{run_id}")
    if folder is None:  # not a folder here: the store's listings skip temporaries
        return
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            if is_temporary(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(parent, name))


def recover(workspace_path: str, run_id: str, pid: int, how: str) -> None:
    """End `run_id` as Failed (if still active), keep its logs, clean its scratch."""
    from runyard.workspace import Workspace

    workspace = Workspace.from_config(workspace_path)
    run_dir = workspace.run_dir(run_id)
    with contextlib.suppress(Exception):
        _end(workspace.store, run_id, pid, how, run_dir)
    with contextlib.suppress(Exception):  # a sweep's children do not outlive its driver
        from runyard.supervisor._sweep import cancel_orphans

        cancel_orphans(workspace, run_id)
    with contextlib.suppress(Exception):
        _keep_logs(workspace, run_id, run_dir)
    with contextlib.suppress(Exception):
        _drop_temporaries(workspace, run_id)
    remove_tree(run_dir)
