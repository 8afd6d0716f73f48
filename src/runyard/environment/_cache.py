"""The environment cache on this machine: built once per spec, shared by every run.

Layout under the cache root (`RUNYARD_ENV_CACHE`, default `~/.cache/runyard/environments`):

    <sha256 of spec>/              a finished environment (bin/python, .runyard-env.json)
    .<sha256>.tmp-<12 hex>/        a build in progress (`runyard._atomic.atomic_folder`:
                                   renamed into place when it is done)
    .locks/<sha256>.lock           flock: exclusive while building or pruning, shared while
                                   a run uses it
    .runtime/<sha256>/runyard/     the runtime shim put on the path of built environments

Invariants:
- A folder under its spec hash is always complete: builds happen in a temporary folder
  that is renamed into place, and a failed build is removed.
- The same spec is built once, even when several runs ask at the same moment: the
  first takes the exclusive lock and builds, the others wait, then find it built.
- An environment a run holds (shared lock) is never pruned.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from runyard._atomic import atomic_folder, is_temporary
from runyard._local import cache_dir
from runyard.environment._builders import builder_for
from runyard.environment._definition import spec_hash
from runyard.errors import EnvironmentBuildError

MARKER = ".runyard-env.json"


def default_root() -> Path:
    return cache_dir("environments", "RUNYARD_ENV_CACHE")


@dataclass
class PreparedEnvironment:
    """A built environment a run holds (shared lock) until `release()`."""

    hash: str
    path: Path
    interpreter: Path
    cache_hit: bool
    seconds: float
    _lock: int | None

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


class EnvironmentCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def _lock_file(self, digest: str) -> int:
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder / f"{digest}.lock", os.O_RDWR | os.O_CREAT, 0o644)

    def prepare(self, spec: dict[str, Any], log: IO[str],
                on_wait: Callable[[str], None] | None = None) -> PreparedEnvironment:
        """The environment for `spec`, built now if it is not in the cache."""
        started = time.monotonic()
        digest = spec_hash(spec)
        final = self.root / digest
        lock = self._lock_file(digest)
        try:
            waiting = False
            while True:  # until it is built (a hit) or ours to build (the exclusive lock)
                if (final / MARKER).is_file():
                    fcntl.flock(lock, fcntl.LOCK_SH)
                    if (final / MARKER).is_file():  # not pruned while we waited
                        return self._hit(digest, final, lock, started, log)
                    fcntl.flock(lock, fcntl.LOCK_UN)
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # a build, or runs using it (shared): wait for the build only, not
                    # for the builder's run to end (two nodes of one run on one machine)
                    if not waiting:
                        message = (f"environment {digest[:12]} is being built by another "
                                   f"run; waiting")
                        log.write(message + "\n")
                        log.flush()
                        if on_wait is not None:
                            on_wait(message)
                        waiting = True
                    time.sleep(0.2)
            if (final / MARKER).is_file():
                fcntl.flock(lock, fcntl.LOCK_SH)  # built by the run we waited for
                return self._hit(digest, final, lock, started, log)
            self._build(spec, digest, final, log)
            fcntl.flock(lock, fcntl.LOCK_SH)
            return PreparedEnvironment(digest, final, final / "bin" / "python", False,
                                       time.monotonic() - started, lock)
        except BaseException:
            os.close(lock)
            raise

    def _hit(self, digest: str, final: Path, lock: int, started: float,
             log: IO[str]) -> PreparedEnvironment:
        os.utime(final / MARKER)  # last used: what prune goes by
        log.write(f"environment {digest[:12]} found in the cache ({final})\n")
        log.flush()
        return PreparedEnvironment(digest, final, final / "bin" / "python", True,
                                   time.monotonic() - started, lock)

    def _build(self, spec: dict[str, Any], digest: str, final: Path, log: IO[str]) -> None:
        for stale in [*self.root.glob(f".{digest}.tmp-*"),  # a build that was killed
                      *self.root.glob(f".tmp-{digest}-*")]:  # (as older runyards named it)
            shutil.rmtree(stale, ignore_errors=True)
        builder = builder_for(spec["builder"])
        packages = spec["pip"] + spec["conda"]
        log.write(f"building environment {digest[:12]} with {builder.kind}: Python "
                  f"{spec['python']}, {len(packages)} package(s): {', '.join(packages)}\n")
        log.flush()
        started = time.monotonic()
        with atomic_folder(final, create=False) as temporary:  # the builder makes it
            builder.build(spec, temporary, log)
            (temporary / MARKER).write_text(json.dumps(
                {"spec": spec, "hash": digest, "built_at": time.time(),
                 "build_seconds": round(time.monotonic() - started, 3)}, indent=2))
        log.write(f"environment {digest[:12]} built in {time.monotonic() - started:.1f} s\n")
        log.flush()

    # -- looking after the cache ----------------------------------------------------------
    def _in_use(self, digest: str) -> bool:
        lock = self._lock_file(digest)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(lock)
        return False

    def entries(self) -> list[dict[str, Any]]:
        """The finished environments: hash, spec, size on disk, last use, in use."""
        found: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return found
        for folder in sorted(self.root.iterdir()):
            marker = folder / MARKER
            if folder.name.startswith(".") or not marker.is_file():
                continue
            info = json.loads(marker.read_text())
            found.append({"hash": folder.name, "path": folder, "spec": info["spec"],
                          "last_used": marker.stat().st_mtime,
                          "build_seconds": info.get("build_seconds"),
                          "bytes": disk_usage([folder]), "in_use": self._in_use(folder.name)})
        return found

    def prune(self, unused_days: float) -> list[str]:
        """Remove environments no run used for `unused_days`, never one in use, and the
        leftovers of builds that were killed. Returns the hashes removed."""
        removed: list[str] = []
        cutoff = time.time() - unused_days * 86400
        if not self.root.is_dir():
            return removed
        for folder in sorted(self.root.iterdir()):
            building = is_temporary(folder.name) or folder.name.startswith(".tmp-")
            if building:  # a build's folder: kept while its builder holds the lock
                digest = (folder.name[1:].partition(".tmp-")[0] if is_temporary(folder.name)
                          else folder.name.split("-")[1])
                if not self._in_use(digest):
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            marker = folder / MARKER
            if folder.name.startswith(".") or not marker.is_file():
                continue
            if marker.stat().st_mtime > cutoff:
                continue
            lock = self._lock_file(folder.name)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                continue  # a run holds it
            try:
                trash = self.root / f".trash-{folder.name}-{os.getpid()}"
                os.rename(folder, trash)  # gone from its name at once, whole
                shutil.rmtree(trash, ignore_errors=True)
                removed.append(folder.name)
            finally:
                os.close(lock)
        return removed


def disk_usage(paths: list[Path]) -> int:
    """Bytes on disk under `paths`, counting a hard-linked file once (like `du`)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for base in paths:
        for folder, _dirs, files in os.walk(base):
            for name in files:
                try:
                    stat = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                key = (stat.st_dev, stat.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                total += stat.st_blocks * 512
    return total


def run_logged(command: list[str], log: IO[str], env: dict[str, str] | None = None,
               what: str = "build") -> None:
    """Run `command` with its output in `log`, a progress line every 15 s; raise
    EnvironmentBuildError with the tool's own error lines if it fails."""
    log.write("$ " + " ".join(command) + "\n")
    log.flush()
    start = log.tell() if log.seekable() else None
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env)
    next_note = 15.0
    while process.poll() is None:
        time.sleep(0.1)
        elapsed = time.monotonic() - started
        if elapsed >= next_note:
            log.write(f"... still running {what} ({elapsed:.0f} s)\n")
            log.flush()
            next_note += 15.0
    if process.returncode != 0:
        log.flush()
        output = ""
        if start is not None and hasattr(log, "name"):
            with open(log.name, encoding="utf-8", errors="replace") as handle:
                handle.seek(start)
                output = handle.read()
        raise EnvironmentBuildError(
            f"{Path(command[0]).name} {command[1]} failed (exit {process.returncode}): "
            f"{_error_lines(output) or 'see logs/environment.txt'}",
            command=command, returncode=process.returncode)


def _error_lines(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.lstrip().lower().startswith("error"):
            return " ".join(part.strip() for part in lines[index:index + 8])[:2000]
    return " ".join(part.strip() for part in lines[-5:])[:2000]

