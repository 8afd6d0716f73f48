"""Copying many files between this machine and a datastore: plans, skips, parallel copies
and the progress bar.

Invariants:
- Everything is checked before the first byte moves: paths, missing sources, and files
  in the way. Bad input writes nothing.
- Without overwrite, a destination file of the same size counts as already there and is
  skipped; one of another size is an error (FileExistsNoOverwriteError naming them),
  so a changed source is never silently left stale nor silently replaced.
- Copies run on a few threads (`Backend.workers`; file and network I/O release the GIL);
  the first failure stops the rest and is raised.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard._local import human_size
from runyard._validation import artifact_path, file_name_problem
from runyard.artifacts._walk import make_folders, shown, walk
from runyard.data._filesystems import Backend, local_sizes
from runyard.errors import FileExistsNoOverwriteError, SourceNotFoundError, ValidationError

_CHUNK = 16  # files per task: fewer hand-offs between threads for small files


@dataclass
class TransferReport:
    """What one upload or download did."""

    copied: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def summary(self, verb: str, where: str) -> str:
        text = (f"{verb} {self.copied} file(s), {human_size(self.bytes)} {where} in "
                f"{self.seconds:.2f} s")
        if self.skipped:
            text += (f"; skipped {self.skipped} already there (same size; pass "
                     f"overwrite=True to copy them again)")
        return text


@dataclass(frozen=True)
class _Copy:
    source: str       # a local path (upload) or a key (download)
    destination: str  # a key (upload) or a local path (download)
    size: int


# -- plans -----------------------------------------------------------------------------
def folder_files(src_dir: str | os.PathLike[str]) -> list[tuple[str, str, int]]:
    """(path, relative POSIX path, size) of every file below `src_dir`, sorted.

    Links follow `runyard.artifacts._walk`'s rule with `src_dir` as the boundary: linked
    files and folders inside it are copied under the link's name; a link out of it, a
    dangling link or a cycle is left out with a warning naming it. A name a datastore
    cannot keep as it is (not UTF-8, a backslash) is an error before any byte moves."""
    root = os.path.expanduser(os.fspath(src_dir))
    if not os.path.isdir(root):
        raise SourceNotFoundError(f"src_dir {str(src_dir)!r} is not a folder "
                                  f"(resolved to {Path(root).resolve()})", path=root)
    found = walk(root)
    for warning in found.warnings:
        warnings.warn(f"upload of {root}: {warning}", stacklevel=3)
    refused = [(file.name, problem) for file in found.files
               if (problem := file_name_problem(file.name)) is not None]
    if refused:
        name, problem = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise ValidationError(f"src_dir {str(src_dir)!r} has a file {shown(name)!r}{more} "
                              f"that a datastore cannot keep under its name: it {problem}; "
                              f"rename it first", paths=[n for n, _ in refused])
    return [(file.path, file.name, file.size) for file in found.files]


def listed_files(files: Sequence[str | os.PathLike[str]],
                 relative_root: str | os.PathLike[str] | None) -> list[tuple[str, str, int]]:
    """(path, path relative to `relative_root`, size) of each of `files`; the root defaults
    to the folder the files share, so files of one folder keep their names."""
    if isinstance(files, str | os.PathLike) or not files:
        raise ValidationError("files must be a non-empty list of file paths", files=files)
    paths = [Path(f).expanduser().resolve() for f in files]
    for given, path in zip(files, paths, strict=True):
        if not path.is_file():
            what = "a folder; use upload(src_dir=...) for folders" if path.is_dir() \
                else "not there"
            raise SourceNotFoundError(f"file {str(given)!r} is {what}", path=str(path))
    root = (Path(relative_root).expanduser().resolve() if relative_root is not None
            else Path(os.path.commonpath([p.parent for p in paths])))
    found = []
    for given, path in zip(files, paths, strict=True):
        if not path.is_relative_to(root):
            raise ValidationError(
                f"file {str(given)!r} is not inside relative_root {str(root)!r}; "
                f"its path on the datastore is taken relative to that folder",
                path=str(path), relative_root=str(root))
        found.append((str(path), path.relative_to(root).as_posix(), path.stat().st_size))
    return found


def join_key(prefix: str, relative: str) -> str:
    return artifact_path(f"{prefix}/{relative}" if prefix else relative)


# -- upload and download ---------------------------------------------------------------
def upload(backend: Backend, files: list[tuple[str, str, int]], *, overwrite: bool,
           show_progress: bool, description: str) -> TransferReport:
    """Copy local files to keys: `files` is [(local path, key, size)]."""
    started = time.perf_counter()
    keys = [key for _, key, _ in files]
    duplicates = sorted(k for k, n in Counter(keys).items() if n > 1)
    if duplicates:
        raise ValidationError(f"{len(duplicates)} path(s) on the datastore would be written "
                              f"twice, e.g. {duplicates[0]!r}; give the files distinct "
                              f"relative paths", paths=duplicates)
    copies = [_Copy(path, key, size) for path, key, size in files]
    todo, skipped = _decide(copies, backend.sizes(keys), overwrite,
                            where=f"datastore {backend.url}")
    backend.prepare_folders([c.destination for c in todo])
    _run(todo, lambda c: backend.put(c.source, c.destination), show_progress, description,
         backend.workers)
    return TransferReport(len(todo), skipped, sum(c.size for c in todo),
                          time.perf_counter() - started)


def download(backend: Backend, files: list[tuple[str, int, str]], *, overwrite: bool,
             show_progress: bool, description: str) -> TransferReport:
    """Copy keys to local files: `files` is [(key, size, local path)]."""
    started = time.perf_counter()
    copies = [_Copy(key, path, size) for key, size, path in files]
    existing = local_sizes([c.destination for c in copies])
    todo, skipped = _decide(copies, existing, overwrite, where="the target folder")
    for folder in sorted({os.path.dirname(c.destination) for c in todo}):
        make_folders(folder)
    _run(todo, lambda c: backend.get(c.source, c.destination), show_progress, description,
         backend.workers)
    return TransferReport(len(todo), skipped, sum(c.size for c in todo),
                          time.perf_counter() - started)


def files_under(backend: Backend, prefix: str) -> list[tuple[str, int]]:
    """(key, size) of the datastore's files whose key starts with `prefix` (a blob
    prefix, as Azure's: 'mnist' matches 'mnist/...' and 'mnist2/...'; 'mnist/' only the
    folder)."""
    folder = prefix.rstrip("/") if prefix.endswith("/") else prefix.rpartition("/")[0]
    return [(key, size) for key, size in backend.list_files(folder) if key.startswith(prefix)]


def _decide(copies: list[_Copy], existing: dict[str, int], overwrite: bool,
            where: str) -> tuple[list[_Copy], int]:
    blocked = [c.destination for c in copies if existing.get(c.destination) == -1]
    if blocked:
        raise FileExistsNoOverwriteError(
            f"{len(blocked)} destination(s) in {where} are folders, where files would go, "
            f"e.g. {blocked[0]}", paths=blocked)
    if overwrite:
        return copies, 0
    conflicts = [c.destination for c in copies
                 if c.destination in existing and existing[c.destination] != c.size]
    if conflicts:
        raise FileExistsNoOverwriteError(
            f"{len(conflicts)} file(s) already exist in {where} with other content, e.g. "
            f"{conflicts[0]}; pass overwrite=True to replace them", paths=conflicts)
    todo = [c for c in copies if c.destination not in existing]
    return todo, len(copies) - len(todo)


def _chunks(copies: list[_Copy]) -> Iterator[list[_Copy]]:
    for start in range(0, len(copies), _CHUNK):
        yield copies[start:start + _CHUNK]


def _run(copies: list[_Copy], copy_one: Callable[[_Copy], None], show_progress: bool,
         description: str, workers: int) -> None:
    if not copies:
        return
    with _Progress(description, copies, show_progress) as progress:
        if workers <= 1 or len(copies) <= _CHUNK:
            for copy in copies:
                copy_one(copy)
                progress.advance(copy.size)
            return
        failed = threading.Event()

        def work(chunk: list[_Copy]) -> None:
            for copy in chunk:
                if failed.is_set():
                    return
                try:
                    copy_one(copy)
                except BaseException:
                    failed.set()
                    raise
                progress.advance(copy.size)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="datastore") as pool:
            futures = [pool.submit(work, chunk) for chunk in _chunks(copies)]
            for future in futures:
                future.result()  # the first failure, after the others stopped


class _Progress:
    """A rich progress bar on stderr (files and bytes), or nothing."""

    def __init__(self, description: str, copies: list[_Copy], show: bool) -> None:
        self.show = show
        self.files = len(copies)
        self.total = sum(c.size for c in copies)
        self.description = description
        self.done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.show:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TransferSpeedColumn,
            )

            console = Console(file=sys.stderr, markup=False, highlight=False, emoji=False)
            if not console.is_terminal:  # a log file or a pipe: one line, not wrapped
                console = Console(file=sys.stderr, markup=False, highlight=False,
                                  emoji=False, width=160)
            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.fields[done]}/{task.fields[files]} files"),
                DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeElapsedColumn(),
                console=console,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total,
                                             done=0, files=self.files)
        return self

    def advance(self, size: int) -> None:
        if self._bar is None:
            return
        with self._lock:
            self.done += 1
            self._bar.update(self._task, advance=size, done=self.done)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()
