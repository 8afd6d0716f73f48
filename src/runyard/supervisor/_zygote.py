"""The supervisors' fork server ("zygote"): one per user and start key (see
`runyard.supervisor._start`, its client), with a supervisor's imports loaded, forking a
new supervisor per request, so a run's supervisor starts in milliseconds, not the ~0.3 s
of a Python start and its imports.

`python -m runyard.supervisor._zygote FOLDER KEY PADDING`, started by the client in the
background on a submit that found none:
- holds `KEY.lock` (flock) while it lives, so there is one per key; loads `PRELOAD`;
  only then listens on `KEY.sock` (mode 0600, in a folder only the user can enter) and
  answers only peers of its own uid;
- per request (the supervisor's arguments, environment, working directory, umask, log):
  refuses what it cannot do as exec would (its files changed: "stale", and it exits; a
  working folder holding a module it has loaded, which a fresh interpreter would import
  from there; a command line longer than its own), else forks; the child forks again in
  a new session (detached, as by exec) and becomes the supervisor: its environment, cwd,
  umask, `sys.argv`, `sys.path[0]`, stdio (stdin /dev/null, stdout and stderr appended to
  the log), signal dispositions as exec gives them (SIGINT and SIGQUIT ignored, as a
  background job of sh), and its command line as `ps` and /proc show it
  (`python -m runyard.supervisor WORKSPACE RUN_ID`, written over the server's own, which
  PADDING makes long enough; runyard finds a run's supervisor by it). It answers
  `ready PID`, waits for the client's `go` (exits without it), then runs
  `runyard.supervisor.__main__.main`: keeper, supervisor, recovery, all as on exec;
- "stale": every file of the modules it loaded, every file of the runyard package, the
  folders on `sys.path` (a package installed or removed) and the interpreter are stat'ed
  at start and on every request (about 1 ms); any change and it stops, so an upgraded
  runyard (or SQLAlchemy) never runs old code;
- exits after `RUNYARD_ZYGOTE_IDLE_SECONDS` (default 300) without a request. It holds no
  workspace, no store, no thread: the child opens its workspace as exec would.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import importlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from runyard.supervisor._start import _read_line, paths, start_key

# what a supervisor on the local compute imports up to its script's start, and soon after
PRELOAD = ("runyard.supervisor.__main__", "runyard.supervisor._driver", "runyard.workspace",
           "runyard.store.sql", "sqlalchemy.dialects.sqlite", "sqlite3",
           "runyard.artifacts.local", "runyard.artifacts.snapshot",
           "runyard.artifacts._run_files", "runyard.environment._shim",
           "runyard.compute.local_executor", "runyard.supervisor._ingest",
           "runyard.supervisor._recover")
ARGV_ROOM = 4400  # bytes of command line kept for the supervisors (a path is ≤ 4096)
IDLE_SECONDS = 300.0
CHECK_SECONDS = 10.0  # while idle, look for changed files this often
LOG_LIMIT = 1 << 20  # the server's log is emptied at a start past this size
SUPERVISOR_MODULE = "runyard.supervisor"


def say(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with contextlib.suppress(OSError, ValueError):
        print(f"[{stamp}Z] zygote {os.getpid()}: {message}", flush=True)


class ArgvArea:
    """This process's command line in memory, as /proc/PID/cmdline shows it: rewritable
    in place (as setproctitle does), never longer than it was at exec."""

    def __init__(self) -> None:
        stat = Path("/proc/self/stat").read_bytes()
        fields = stat[stat.rfind(b")") + 2:].split()
        self.start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end
        self.size = end - self.start
        if ctypes.string_at(self.start, self.size) != Path("/proc/self/cmdline").read_bytes():
            raise RuntimeError("the command line in memory is not the one /proc shows")

    def encode(self, args: list[str]) -> bytes | None:
        data = b"\0".join(os.fsencode(a) for a in args) + b"\0"
        return data.ljust(self.size, b"\0") if len(data) <= self.size else None

    def write(self, data: bytes) -> None:
        assert len(data) == self.size
        ctypes.memmove(self.start, data, self.size)


class Fingerprint:
    """What the loaded code came from; `changed()` names the first file that changed."""

    def __init__(self) -> None:
        import runyard

        watched = {sys.executable}
        for module in list(sys.modules.values()):
            if isinstance(path := getattr(module, "__file__", None), str):
                watched.add(path)
        for folder, _dirs, files in os.walk(Path(runyard.__file__).parent):
            watched.update(os.path.join(folder, f) for f in files if f.endswith(".py"))
        watched.update(p for p in sys.path[1:] if os.path.isdir(p))
        self.seen = {path: self._stat(path) for path in sorted(watched)}

    @staticmethod
    def _stat(path: str) -> tuple[int, int, int] | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    def changed(self) -> str | None:
        for path, seen in self.seen.items():
            if self._stat(path) != seen:
                return path
        return None


def shadowed(cwd: str, loaded: set[str]) -> str | None:
    """A module in `cwd` that a fresh interpreter (sys.path[0] = cwd) would import instead
    of the one loaded here, if any."""
    try:
        entries = os.listdir(cwd)
    except OSError:
        return None
    for entry in entries:
        stem, dot, suffix = entry.partition(".")
        if stem not in loaded:
            continue
        if not dot and os.path.isfile(os.path.join(cwd, entry, "__init__.py")):
            return entry
        if dot and (suffix in ("py", "pyc") or suffix.endswith("so")):
            return entry
    return None


class Server:
    def __init__(self, folder: Path, key: str, area: ArgvArea, lock: int) -> None:
        self.key = key
        self.area = area
        self.lock = lock  # flock'ed: the one server of this key
        self.retired = False
        self.sock_path, _lock, _log = paths(folder, key)
        self.fingerprint = Fingerprint()
        self.loaded = {name.partition(".")[0] for name in sys.modules}
        self.idle = float(os.environ.get("RUNYARD_ZYGOTE_IDLE_SECONDS", IDLE_SECONDS))
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()  # a dead server's; ours while we hold the lock
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.sock_path))
        os.chmod(self.sock_path, 0o600)
        self.listener.listen(64)

    def serve(self) -> None:
        last = time.monotonic()
        try:
            while (remaining := self.idle - (time.monotonic() - last)) > 0:
                self.listener.settimeout(min(remaining, CHECK_SECONDS))
                try:
                    connection, _address = self.listener.accept()
                except TimeoutError:
                    if (path := self.fingerprint.changed()) is not None:
                        say(f"stopping: {path} changed")
                        self.retire()
                        return
                    continue
                last = time.monotonic()
                with connection:
                    if not self.handle(connection):
                        return
            say(f"stopping: idle for {self.idle:.0f} s")
        finally:
            self.retire()

    def retire(self) -> None:
        """Stop taking requests and let a successor start (its socket, its lock)."""
        if self.retired:
            return
        self.retired = True
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()
        self.listener.close()
        fcntl.flock(self.lock, fcntl.LOCK_UN)

    def handle(self, connection: socket.socket) -> bool:
        """One request; False when this server must stop (stale)."""
        try:
            connection.settimeout(5.0)
            credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", credentials)
            if uid != os.getuid():
                say(f"refused a peer of uid {uid}")
                return True
            request = json.loads(_read_line(connection))
            refusal = self.refusal(request)
            if refusal == "stale":  # a successor may start at once: the client starts it
                path = self.fingerprint.changed()
                say(f"stopping: {path} changed")
                self.retire()
                connection.sendall(f"stale: {path} changed since the server started\n".encode())
                return False
            if refusal:
                connection.sendall(f"refused: {refusal}\n".encode())
                return True
            title = self.area.encode([sys.executable, "-m", SUPERVISOR_MODULE,
                                      *request["argv"]])
            assert title is not None  # checked by refusal()
            read_end, write_end = os.pipe()
            child = os.fork()
            if child == 0:
                try:
                    os.close(read_end)
                    os.close(self.lock)  # the server's alone: it goes with the server
                    detach_and_run(self.listener, connection, request, self.area, title,
                                   write_end)
                finally:
                    os._exit(1)
            os.close(write_end)
            with os.fdopen(read_end, "rb") as told:
                forked = told.read().decode().strip()
            os.waitpid(child, 0)
            say(f"forked the supervisor of {request['argv'][1]}: pid {forked or '?'}")
        except (OSError, ValueError, KeyError, TypeError) as e:
            say(f"request failed: {type(e).__name__}: {e}")
        return True

    def refusal(self, request: dict[str, Any]) -> str | None:
        if request.get("key") != self.key:
            return "another start key"
        if self.fingerprint.changed() is not None:
            return "stale"
        if self.area.encode([sys.executable, "-m", SUPERVISOR_MODULE, *request["argv"]]) \
                is None:
            return "the supervisor's command line is longer than the server's"
        if (name := shadowed(request["cwd"], self.loaded)) is not None:
            return (f"the working folder holds {name}, which a new interpreter would import "
                    f"from there")
        return None


def detach_and_run(listener: socket.socket, connection: socket.socket,
                   request: dict[str, Any], area: ArgvArea, title: bytes,
                   tell: int) -> NoReturn:
    """In the server's child: a new session, a grandchild that becomes the supervisor
    (its pid written to `tell` for the server's log)."""
    os.setsid()
    if (grandchild := os.fork()) != 0:
        os.write(tell, str(grandchild).encode())
        os._exit(0)  # the grandchild is nobody's child now, as after sh's `&`
    os.close(tell)
    code = 1
    try:
        listener.close()
        argv = list(request["argv"])
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        null = os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((null, 0), (log, 1), (log, 2)):
            os.dup2(fd, target)
        os.close(null)
        os.close(log)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        for signum in signal.valid_signals():
            if signum in (signal.SIGKILL, signal.SIGSTOP):
                continue
            handler = signal.SIG_IGN if signum in (signal.SIGINT, signal.SIGQUIT,
                                                   signal.SIGPIPE, signal.SIGXFSZ) \
                else signal.SIG_DFL
            with contextlib.suppress(OSError, ValueError):
                signal.signal(signum, handler)
        import runyard.supervisor.__main__ as entry

        sys.argv = [entry.__file__ or "-m", *argv]
        sys.orig_argv = [sys.executable, "-m", SUPERVISOR_MODULE, *argv]
        sys.path[0] = os.getcwd()
        area.write(title)
    except BaseException as e:  # noqa: BLE001 - said to the client, which uses exec
        with contextlib.suppress(OSError):
            connection.sendall(f"error: {type(e).__name__}: {e}\n".encode())
        os._exit(1)
    try:
        connection.sendall(f"ready {os.getpid()}\n".encode())
        if _read_line(connection) != "go":
            os._exit(0)  # the client gave up waiting and starts one by exec
        connection.close()
        os.closerange(3, 1 << 16)  # the server's lock and log are not ours
        code = entry.main(argv)
    except BaseException:  # noqa: BLE001 - said in the supervisor's log, as on exec
        traceback.print_exc()
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m runyard.supervisor._zygote FOLDER KEY PADDING",
              file=sys.stderr)
        return 2
    folder, key = Path(argv[0]), argv[1]
    _sock, lock_path, log_path = paths(folder, key)
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another server of this key is alive (or starting)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if os.fstat(log).st_size > LOG_LIMIT:
        os.ftruncate(log, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        if start_key(os.environ) != key:
            raise RuntimeError("started with another start key than its name says")
        for name in PRELOAD:
            importlib.import_module(name)
        if threading.active_count() != 1:  # a fork copies only the forking thread
            raise RuntimeError(f"{threading.active_count()} threads after the imports; "
                               f"forking would not be safe")
        gc.freeze()  # what is loaded now is never collected: children's collections skip
        # it and do not touch (copy) the pages it shares with them
        area = ArgvArea()
        title = area.encode([sys.executable, "-m", "runyard.supervisor._zygote", key])
        if title is not None:  # shorter than what started it: always
            area.write(title)
        server = Server(folder, key, area, lock)
    except Exception:  # noqa: BLE001 - clients use exec; they retry after a while
        traceback.print_exc()
        (folder / f"{key}.failed").touch()
        return 1
    with contextlib.suppress(FileNotFoundError):
        (folder / f"{key}.failed").unlink()
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    say(f"serving on {server.sock_path} ({len(server.fingerprint.seen)} files watched)")
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
