"""Starting a run's supervisor on this machine: `start_supervisor(workspace_path, run_id,
log_path)`, used by the local compute's submit and usable by any process that starts
runs here (a sweep's parent run starting its trials).

A new supervisor is `sys.executable -m runyard.supervisor WORKSPACE RUN_ID`, detached
(its own session, stdin from /dev/null, stdout and stderr appended to `log_path`), with
the caller's environment and working directory. Started by exec, its Python start and
imports (SQLAlchemy first) are most of submit → the script's first line. So a *fork
server* (`runyard.supervisor._zygote`) keeps those imports loaded and forks supervisors
on request; this module is its client:

- One server per user and per *start key*: the interpreter (`sys.executable`) and what
  shapes an interpreter's start or its process and cannot be handed over on a fork
  (the `PYTHON*`, `LD_*`, locale, `TZ`, `HOME` and `SQLALCHEMY*` variables, uid, gids,
  resource limits, niceness, CPU affinity, cgroup, namespaces). The environment, the
  working directory and the umask are sent with each request and set in the new process.
  A server holds no workspace: the workspace is the supervisor's argument, as on exec.
- Its socket lives in a folder only the user can enter (`$RUNYARD_ZYGOTE_DIR`, else
  `$XDG_RUNTIME_DIR/runyard`, else `/tmp/runyard-<uid>`); the server also checks the
  peer's uid. Any doubt (no server yet, a folder that is not safe, a refusal, a stale
  server, no answer in time) falls back to exec, so a run always starts; the first
  submit starts the server, in the background, for the next ones (unless it comes from
  inside a run's process tree, where the server would die with that run).
- The handshake is unambiguous: the new supervisor says `ready`, and runs only once this
  side answers `go`; without the `go` it exits, and this side starts one by exec.
- `RUNYARD_ZYGOTE=0` turns the server off (every start by exec).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

# environment variables read while an interpreter starts or its imports run; a server is
# only used by callers whose values are the same as the ones it started with
STARTUP_PREFIXES = ("PYTHON", "LD_", "LC_", "SQLALCHEMY")
STARTUP_NAMES = ("LANG", "LANGUAGE", "TZ", "HOME")
SERVER_NAMES = ("PATH", "RUNYARD_ZYGOTE_IDLE_SECONDS")  # the server's own, besides those
READY_TIMEOUT_SECONDS = 5.0  # the server forks in milliseconds; this is for a loaded machine
RETRY_START_SECONDS = 30.0   # after a server failed to start, exec only for this long
_FAILED = "failed"


def start_supervisor(workspace_path: str | os.PathLike[str], run_id: str,
                     log_path: str | os.PathLike[str],
                     env: Mapping[str, str] | None = None) -> str:
    """Start the supervisor of `run_id`, detached, and return how: "fork server", or
    "exec" with why not by the server (also logged at debug level, `runyard.supervisor`).

    `env` (default: this process's environment) is the supervisor's environment, with
    RUNYARD_SUPERVISOR_LOG set to `log_path`; its working directory is this process's.
    """
    environment = {**(os.environ if env is None else env),
                   "RUNYARD_SUPERVISOR_LOG": str(log_path)}
    argv = [str(workspace_path), run_id]
    why: str | None
    if environment.get("RUNYARD_ZYGOTE") == "0":
        why = "RUNYARD_ZYGOTE=0"
    else:
        try:
            why = _through_server(argv, environment, str(log_path))
        except Exception as e:  # noqa: BLE001 - before `go` nothing started: use exec
            why = f"{type(e).__name__}: {e}"
        if why is None:
            return "fork server"
    import logging

    logging.getLogger("runyard.supervisor").debug("supervisor of %s started by exec: %s",
                                                  run_id, why)
    _exec(argv, environment)
    return f"exec ({why})"


# -- the start key and the server's folder --------------------------------------------------
def _startup(name: str) -> bool:
    return name.startswith(STARTUP_PREFIXES) or name in STARTUP_NAMES


def start_key(env: Mapping[str, str]) -> str:
    """What a server must share with a caller to fork the caller's supervisors (see the
    module's docstring), hashed."""
    import resource

    parts: list[object] = [
        sys.executable, sys.version, os.getuid(), os.geteuid(), os.getgid(), os.getegid(),
        sorted(os.getgroups()), os.getpriority(os.PRIO_PROCESS, 0),
        sorted(os.sched_getaffinity(0)),
        sorted((k, v) for k, v in env.items() if _startup(k)),
        [(name, resource.getrlimit(getattr(resource, name))) for name in sorted(dir(resource))
         if name.startswith("RLIMIT_")],
    ]
    for name in ("cgroup",):
        with contextlib.suppress(OSError):
            parts.append(Path(f"/proc/self/{name}").read_text())
    for space in ("mnt", "pid", "net", "ipc", "uts", "user", "cgroup"):
        with contextlib.suppress(OSError):
            parts.append(os.readlink(f"/proc/self/ns/{space}"))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def server_folder(env: Mapping[str, str]) -> Path | None:
    """The folder of this user's servers, made if needed; None if it is not safe (not
    ours, open to others, a link) or cannot be made."""
    if env.get("RUNYARD_ZYGOTE_DIR"):
        folder = Path(env["RUNYARD_ZYGOTE_DIR"])
    elif env.get("XDG_RUNTIME_DIR"):
        folder = Path(env["XDG_RUNTIME_DIR"]) / "runyard"
    else:
        folder = Path("/tmp") / f"runyard-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def paths(folder: Path, key: str) -> tuple[Path, Path, Path]:
    """The server's socket, lock file (held while it lives; holds its pid) and log."""
    return folder / f"{key}.sock", folder / f"{key}.lock", folder / f"{key}.log"


# -- the client -----------------------------------------------------------------------------
def _through_server(argv: list[str], env: dict[str, str], log_path: str) -> str | None:
    """Have the server fork the supervisor; None if it did, else why not."""
    folder = server_folder(env)
    if folder is None:
        return "the fork server's folder is not private to this user"
    key = start_key(env)
    sock_path, lock_path, _log = paths(folder, key)
    if len(os.fsencode(sock_path)) >= 108:  # sockaddr_un's limit
        return f"the fork server's socket path is too long ({sock_path})"
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            connection.connect(str(sock_path))
        except (FileNotFoundError, ConnectionRefusedError):
            if _inside_a_run():  # _spawn_server starts none from there
                return "no fork server yet (none is started from inside a run)"
            _spawn_server(folder, key, lock_path, env)
            return "no fork server yet (starting one for the next runs)"
        connection.settimeout(READY_TIMEOUT_SECONDS)
        umask = os.umask(0o022)
        os.umask(umask)
        request = {"key": key, "argv": argv, "env": env, "cwd": os.getcwd(),
                   "umask": umask, "log": log_path}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = _read_line(connection)
        if answer.startswith("ready "):
            connection.sendall(b"go\n")
            return None
        if answer.startswith("stale"):  # it has let go of its lock: start its successor
            _spawn_server(folder, key, lock_path, env)
        return answer or "the fork server closed the connection"
    except OSError as e:  # a timeout, a reset: without our `go` nothing was started
        return f"{type(e).__name__}: {e}"
    finally:
        connection.close()


def _read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _inside_a_run() -> bool:
    """True when this process or an ancestor is a run's supervisor (a sweep's driver
    starting its trials, a script submitting runs). A server started from there would be
    re-parented into that run's process tree (its keeper and supervisor are child
    subreapers), and so would every supervisor it forks: the run's end (`kill_tree`)
    would SIGTERM them all, cancelling other runs."""
    pid = os.getpid()
    while pid > 1:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat_line = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if b"runyard.supervisor\0" in command:  # -m runyard.supervisor WS RUN, not ._zygote
            return True
        pid = int(stat_line.rsplit(")", 1)[1].split()[1])
    return False


def _spawn_server(folder: Path, key: str, lock_path: Path, env: Mapping[str, str]) -> None:
    """Start the server in the background, unless one is starting or failed lately, or
    this process is inside a run's process tree (`_inside_a_run`)."""
    if _inside_a_run():
        return
    with contextlib.suppress(OSError):
        if time.time() - os.stat(folder / f"{key}.{_FAILED}").st_mtime < RETRY_START_SECONDS:
            return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # a server holds it: starting, or just stopping
    finally:
        os.close(fd)  # the server takes the lock itself; a race loses there, harmlessly
    from runyard.supervisor._zygote import ARGV_ROOM

    command = [sys.executable, "-m", "runyard.supervisor._zygote", str(folder), key,
               "." * ARGV_ROOM]
    # only what its start needs: its own environment mentions no run, workspace or test
    # (each supervisor it forks gets the caller's in the request)
    kept = {k: v for k, v in env.items() if _startup(k) or k in SERVER_NAMES}
    _detached(command, {**kept, "RUNYARD_SUPERVISOR_LOG": "/dev/null"}, cwd=str(folder))


# -- exec, as before the server -------------------------------------------------------------
def _exec(argv: list[str], env: dict[str, str]) -> None:
    _detached([sys.executable, "-m", "runyard.supervisor", *argv], env)


def _detached(command: list[str], env: Mapping[str, str], cwd: str | None = None) -> None:
    """`command` in the background, output appended to $RUNYARD_SUPERVISOR_LOG: sh starts
    it and exits at once, so it is nobody's child here, outlives this process and leaves
    no zombie behind (and starts, as a background job of sh, with SIGINT and SIGQUIT
    ignored)."""
    subprocess.run(["/bin/sh", "-c", '"$@" </dev/null >>"$RUNYARD_SUPERVISOR_LOG" 2>&1 &',
                    "sh", *command], env=env, cwd=cwd, start_new_session=True, check=True,
                   stdin=subprocess.DEVNULL)

