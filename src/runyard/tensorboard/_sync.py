"""A run's TensorBoard event files copied into a local folder, and kept growing.

Where they come from: an active run on this machine writes them in its working directory
(`<run folder>/wd/logs`, `wd/outputs`), read live; every run's stored files under `logs/`
and `outputs/` (uploaded when it ends) are read from the artifact store. Both land in
`<target>/<path in the run>` (`outputs/tb/events.out.tfevents...`).

Invariant: event files only grow, so a sync appends the bytes past the local copy's size
and never rewrites one; TensorBoard, reading the copy, sees the new events at its next
reload. A file that shrank (rewritten by the script) is copied again whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from runyard import _status, _validation
from runyard.errors import ArtifactNotFoundError

if TYPE_CHECKING:
    from runyard.run import Run

PREFIXES = ("logs/", "outputs/")
CHUNK = 1 << 20


def is_event_file(name: str) -> bool:
    return "tfevents" in name.rpartition("/")[2]


def _append(source: IO[bytes], target: Path) -> int:
    """Append what `source` has past `target`'s size; the bytes copied."""
    size = target.stat().st_size if target.exists() else 0
    source.seek(0, 2)
    end = source.tell()
    if end < size:  # rewritten smaller: start again
        target.unlink()
        size = 0
    if end == size:
        return 0
    source.seek(size)
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = 0
    with open(target, "ab") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            copied += len(chunk)
    return copied


class RunEvents:
    """`run`'s event files mirrored into `target`."""

    def __init__(self, run: Run, target: Path) -> None:
        self.run = run
        self.target = target
        self.active = True

    def _live(self) -> Iterator[tuple[str, Path]]:
        workdir = self.run.workspace.run_dir(self.run.id) / "wd"
        for prefix in PREFIXES:
            folder = workdir / prefix.rstrip("/")
            with contextlib.suppress(OSError):  # the folder goes when the run ends
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.is_symlink() and is_event_file(path.name):
                        yield f"{prefix}{path.relative_to(folder).as_posix()}", path

    def _stored(self) -> Iterator[str]:
        for prefix in PREFIXES:
            for record in self.run.workspace.store.list_files(self.run.id, prefix):
                if is_event_file(record["path"]):
                    yield str(record["path"])

    def sync(self) -> int:
        """Copy what is new; returns the bytes copied. Sets `active` False once the run
        has ended and its stored files were read."""
        status = self.run.get_status()
        ended = status in _status.TERMINAL
        copied = 0
        for name, path in self._live():
            with contextlib.suppress(OSError), open(path, "rb") as source:
                copied += _append(source, self.target / _validation.artifact_path(name))
        for name in self._stored():
            key = f"runs/{self.run.id}/{name}"
            with contextlib.suppress(ArtifactNotFoundError), \
                    self.run.workspace.artifacts.open(key) as stored:
                copied += _append(stored, self.target / _validation.artifact_path(name))
        if ended:
            self.active = False
        return copied
