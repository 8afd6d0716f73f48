"""`runyard ui`'s server: one uvicorn process serving `create_app` for a workspace.

    serve(workspace, host="127.0.0.1", port=8765, token=None)   until Ctrl-C
    portal_url(workspace, run_id)                                a run page's address

Invariants:
- The default port, 8765, is none of the neighbours' defaults: MLflow's UI 5000, Ray's
  dashboard 8265, TensorBoard 6006, Jupyter 8888, the common 8000/8080.
- A loopback bind (127.0.0.0/8, ::1, localhost) needs no token. Any other bind has one:
  `--token`, else the one stored in the workspace (`.runyard/ui-token`, mode 0600), else a
  new one, written there (mode 0600 from its first byte, atomically) and printed once.
- While it serves, the server's address is in `.runyard/ui-server.json` (url, pid, host),
  written once the socket is bound and removed when it stops; `portal_url` reads it, and
  falls back to the default address when no live server of this machine wrote it.
- Ctrl-C (SIGINT) or SIGTERM stops it within about `GRACEFUL_SECONDS`: open log streams
  are closed rather than waited for.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import quote

from runyard._atomic import atomic_open, atomic_write
from runyard.errors import MissingExtraError, ValidationError

if TYPE_CHECKING:
    from runyard.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
GRACEFUL_SECONDS = 2
TOKEN_FILE = "ui-token"
ADDRESS_FILE = "ui-server.json"


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves this machine alone."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_path(workspace: Workspace) -> Path:
    return workspace.config_dir / TOKEN_FILE


def address_path(workspace: Workspace) -> Path:
    return workspace.config_dir / ADDRESS_FILE


def stored_token(workspace: Workspace) -> str | None:
    """The token kept in the workspace, or None."""
    try:
        token = token_path(workspace).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return token or None


def store_token(workspace: Workspace, token: str) -> Path:
    """Keep `token` in the workspace, readable by its owner alone (0600 before any byte of
    it is written)."""
    path = token_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(token + "\n")
    return path


@dataclass(frozen=True)
class Access:
    """The token a server runs with and what to tell the user about it."""

    token: str | None
    note: str | None


def choose_token(workspace: Workspace, host: str, token: str | None) -> Access:
    """The token for a server binding `host`: the one given, else (not loopback) the
    stored one, else a new one stored and shown once."""
    if token is not None:
        if not token.strip() or any(c.isspace() for c in token) or not token.isprintable():
            raise ValidationError("--token must be printable text without spaces")
        return Access(token, None)
    if is_loopback(host):
        return Access(None, None)
    existing = stored_token(workspace)
    if existing is not None:
        return Access(existing, f"token: the one stored in {token_path(workspace)}")
    from runyard.ui._auth import new_token

    created = new_token()
    path = store_token(workspace, created)
    return Access(created, f"token: {created}\n  (shown once; kept in {path}, mode 0600; "
                           f"open the pages with ?token=TOKEN, call the API with "
                           f"'Authorization: Bearer TOKEN')")


def display_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a clear error naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ValidationError(f"port {port} on {host} is in use (another `runyard ui`?); "
                                  f"pass --port with another number", port=port) from e
        raise ValidationError(f"cannot listen on {host}:{port}: {e.strerror or e}",
                              host=host, port=port) from e
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(workspace: Workspace, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          token: str | None = None, out: TextIO | None = None) -> None:
    """Serve `workspace`'s UI and API on host:port until Ctrl-C or SIGTERM."""
    try:
        import uvicorn

        from runyard.ui.app import create_app
    except ModuleNotFoundError as e:
        raise MissingExtraError(
            f"`runyard ui` needs the ui extra ({e.name} is not installed): "
            f"pip install 'runyard[ui]'", package=e.name) from e
    out = out or sys.stdout
    access = choose_token(workspace, host, token)
    app = create_app(workspace, token=access.token, loopback_only=is_loopback(host))
    workspace.store  # noqa: B018 - open (and migrate) the run history before serving
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    url = display_url(host, actual_port)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SECONDS,
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    record = address_path(workspace)
    atomic_write(record, json.dumps({"url": url, "host": host, "port": actual_port,
                                     "pid": os.getpid(), "hostname": socket.gethostname()}))
    try:
        print(f"runyard ui: workspace {workspace.name} at {url}", file=out)
        if access.note:
            print(f"  {access.note}", file=out)
        print("  Ctrl-C stops it", file=out)
        out.flush()
        # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the handler
        # that was there before: SIGTERM's is made to end this function like Ctrl-C does
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        sock.close()
        _remove_record(record)
        print("runyard ui: stopped", file=out)
        out.flush()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _remove_record(record: Path) -> None:
    """Remove the address file if it is still this process's."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(record.read_text(encoding="utf-8")).get("pid") == os.getpid():
            record.unlink()


def running_url(workspace: Workspace) -> str | None:
    """The address of a `runyard ui` serving `workspace` on this machine now, or None."""
    try:
        found = json.loads(address_path(workspace).read_text(encoding="utf-8"))
        pid, url = int(found["pid"]), str(found["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found.get("hostname") != socket.gethostname():
        return url  # written on another machine sharing the workspace: trust it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return url


def portal_url(workspace: Workspace, run_id: str) -> str:
    """The address of run `run_id`'s page: on the `runyard ui` serving the workspace now,
    else where `runyard ui` serves by default."""
    base = running_url(workspace) or display_url(DEFAULT_HOST, DEFAULT_PORT)
    return f"{base}/runs/{quote(run_id, safe='')}"
