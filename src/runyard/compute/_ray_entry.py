"""`python -m runyard.compute._ray_entry WORKSPACE RUN_ID`: the entrypoint of a direct Ray
job (`RayCompute._launch`), which starts the run's supervisor and lasts as long as it.

Started by exec, a supervisor pays a Python start and its imports (SQLAlchemy first,
about half a second on a 2-core machine) before the run's first stage. So, as on the
local compute, it is forked by the user's fork server (`runyard.supervisor._zygote`,
whose client helpers `runyard.supervisor._start` are used here) when one answers, and
this process, the job's, stays as the supervisor's stand-in for Ray:

- it waits until the supervisor (its keeper, the process the server forked) has ended,
  so Ray holds the job's resources (the run's node) exactly as long as the run;
- what Ray sends the job (SIGTERM when the job is stopped, SIGINT, SIGHUP) it passes on
  to the supervisor, which cancels the run as on any SIGTERM;
- anything in doubt (no server yet, which it then starts for the next run, a refusal, no
  answer in time, `RUNYARD_ZYGOTE=0`) and it becomes the supervisor itself: it execs
  `python -m runyard.supervisor WORKSPACE RUN_ID` in its own place, as before.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


def _forked(argv: list[str], env: dict[str, str], log: str) -> int | None:
    """The pid of a supervisor the fork server started for `argv`, or None (then nothing
    was started)."""
    from runyard.supervisor import _start

    folder = _start.server_folder(env)
    if folder is None:
        return None
    key = _start.start_key(env)
    sock_path, lock_path, _log = _start.paths(folder, key)
    if len(os.fsencode(sock_path)) >= 108:  # sockaddr_un's limit
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            connection.connect(str(sock_path))
        except (FileNotFoundError, ConnectionRefusedError):
            _start._spawn_server(folder, key, lock_path, env)
            return None
        connection.settimeout(_start.READY_TIMEOUT_SECONDS)
        umask = os.umask(0o022)
        os.umask(umask)
        request = {"key": key, "argv": argv, "env": env, "cwd": os.getcwd(),
                   "umask": umask, "log": log}
        import json

        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = _start._read_line(connection)
        if not answer.startswith("ready "):
            return None
        pid = int(answer.split()[1])
        connection.sendall(b"go\n")
        return pid
    except (OSError, ValueError):  # without our `go` nothing was started
        return None
    finally:
        connection.close()


def _wait(pid: int) -> None:
    """Until process `pid` (not our child) has ended."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        while True:
            with contextlib.suppress(InterruptedError):
                if select.select([handle], [], [])[0]:
                    return
    finally:
        os.close(handle)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m runyard.compute._ray_entry WORKSPACE_PATH RUN_ID",
              file=sys.stderr)
        return 2
    env = dict(os.environ)
    log = env.get("RUNYARD_SUPERVISOR_LOG", os.devnull)
    supervisor: list[int] = []
    early: list[int] = []  # what came before the supervisor was there to take it

    def forward(signum: int, _frame: object) -> None:
        if not supervisor:
            early.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisor[0], signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)
    pid = None
    if env.get("RUNYARD_ZYGOTE") != "0":
        try:
            pid = _forked(argv, {**env, "RUNYARD_SUPERVISOR_LOG": log}, log)
        except Exception:  # noqa: BLE001 - before `go` nothing started: exec instead
            pid = None
    if pid is None:
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        if early:  # stopped before anything started: as an exec'ed supervisor would be
            return 1
        os.execv(sys.executable, [sys.executable, "-m", "runyard.supervisor", *argv])
    supervisor.append(pid)
    for number in early:
        forward(number, None)
    _wait(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
